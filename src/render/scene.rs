//! Every namespace side by side (`--all-netns`): the summary table first — per namespace its
//! fullest listener, drops per second, somaxconn, port use and findings — then each namespace's
//! full report; and check mode's one status over all of them, each finding naming its
//! namespace. The numbers come from [`Summary`]; this module only formats.

use std::fmt::Write as _;

use serde::Serialize;

use super::Format;
use super::json::{self, Netns};
use super::table::{Align, Table};
use crate::advise::Severity;
use crate::advise::status::{Status, unreadable};
use crate::engine::scene::Summary;
use crate::engine::{Frame, Scene, View, ViewState};
use crate::format::{self as units, sanitize};

/// Renders the scene in the chosen format.
pub fn render(scene: &Scene, format: Format) -> Result<String, serde_json::Error> {
    match format {
        Format::Text => Ok(text(scene)),
        Format::Json => json::to_text(&report(scene)),
        Format::OpenMetrics => Ok(super::metrics::render(scene, super::metrics::Exposition::OpenMetrics)),
        Format::Prometheus => Ok(super::metrics::render(scene, super::metrics::Exposition::Prometheus)),
    }
}

/// The status of one namespace: its findings' verdict, UNKNOWN when it could not be read; a
/// namespace that went away is not judged.
pub fn view_status(view: &View) -> Option<Status> {
    match (&view.state, &view.frame) {
        (ViewState::Gone { .. }, _) => None,
        (ViewState::Unavailable { .. }, _) | (ViewState::Live, None) => Some(Status::Unknown),
        (ViewState::Live, Some(frame)) => Some(frame_status(frame)),
    }
}

/// The status of a namespace's frame: its findings' verdict, UNKNOWN when nothing central could
/// be read.
pub fn frame_status(frame: &Frame) -> Status {
    if unreadable(&frame.sample).is_some() { Status::Unknown } else { Status::of(&frame.findings) }
}

/// One status over every namespace (see [`Status::combine`]).
pub fn status(scene: &Scene) -> Status {
    Status::combine(scene.views.iter().filter_map(view_status))
}

/// The text report of every namespace.
pub fn text(scene: &Scene) -> String {
    let mut out = String::from("sockscope report: every network namespace\n");
    if let Some(host) = scene.first_frame().and_then(|frame| frame.sample.host.as_ref()) {
        let _ = writeln!(out, "Host      {}  (Linux {})", sanitize(&host.hostname), sanitize(&host.kernel));
    }
    if let Some(frame) = scene.first_frame() {
        let taken = frame.sample.taken_at;
        let _ = writeln!(out, "Taken at  {}", taken.round(jiff::Unit::Second).unwrap_or(taken));
    }
    let _ = writeln!(out, "Found     {}", counts(scene));
    let _ = writeln!(out, "\nNamespaces\n==========");
    out.push_str(&summary_table(scene).render("  "));
    for view in &scene.views {
        let _ = writeln!(out, "\n\n{}", banner(view));
        match (&view.state, &view.frame) {
            (ViewState::Unavailable { reason }, _) => {
                let _ = writeln!(out, "unavailable: {}", sanitize(reason));
            }
            (state, Some(frame)) => {
                if let ViewState::Gone { reason, .. } = state {
                    let _ = writeln!(out, "gone: {}; its last numbers follow", sanitize(reason));
                }
                out.push_str(&super::text::render(frame));
            }
            (state, None) => {
                let _ = writeln!(out, "{}", state_text(state));
            }
        }
    }
    units::terminal_text(out)
}

/// `5 namespaces: 4 read, 1 unavailable, 0 gone`.
fn counts(scene: &Scene) -> String {
    let count = |wanted: fn(&ViewState) -> bool| scene.views.iter().filter(|view| wanted(&view.state)).count();
    format!(
        "{}: {} read, {} unavailable, {} gone",
        units::plural(scene.views.len() as u64, "namespace"),
        count(|state| *state == ViewState::Live),
        count(|state| matches!(state, ViewState::Unavailable { .. })),
        count(|state| matches!(state, ViewState::Gone { .. })),
    )
}

/// The heading of one namespace's part of the report.
fn banner(view: &View) -> String {
    let mut title = units::netns(&view.netns);
    if let Some(hint) = &view.netns.container {
        let _ = write!(title, "  container {}", units::container(hint));
    }
    let residents = units::residents(&view.netns);
    if !residents.is_empty() {
        let _ = write!(title, "  {residents}");
    }
    format!("{title}\n{}", "#".repeat(title.chars().count().min(100)))
}

fn state_text(state: &ViewState) -> String {
    match state {
        ViewState::Live => "read".to_string(),
        ViewState::Gone { reason, .. } => format!("gone: {}; last numbers", sanitize(reason)),
        ViewState::Unavailable { reason } => format!("unavailable: {}", sanitize(reason)),
    }
}

/// The side-by-side table: one row per namespace.
fn summary_table(scene: &Scene) -> Table {
    let columns = [
        ("NAMESPACE", Align::Left),
        ("CONTAINER", Align::Left),
        ("PROCESSES", Align::Left),
        ("LISTENERS", Align::Right),
        ("FULLEST LISTENER", Align::Left),
        ("FILL", Align::Right),
        ("DROPS/S", Align::Right),
        ("SOMAXCONN", Align::Right),
        ("PORTS", Align::Right),
        ("FINDINGS", Align::Left),
        ("STATE", Align::Left),
    ];
    let mut table = Table::new(&columns);
    for view in &scene.views {
        let mut cells = vec![
            units::netns(&view.netns),
            view.netns.container.as_ref().map_or("-".to_string(), units::container),
            processes(&view.netns),
        ];
        match &view.frame {
            Some(frame) => cells.extend(summary_cells(frame)),
            None => cells.extend(std::iter::repeat_n("-".to_string(), 7)),
        }
        cells.push(state_text(&view.state));
        table.row(cells);
    }
    table
}

fn processes(netns: &crate::sample::Netns) -> String {
    if netns.processes.is_empty() {
        return "-".to_string();
    }
    netns.processes.iter().map(|command| sanitize(command).into_owned()).collect::<Vec<_>>().join(",")
}

/// The numeric cells of a namespace's row, from its [`Summary`].
fn summary_cells(frame: &Frame) -> Vec<String> {
    let summary = Summary::of(frame);
    let (fullest, fill) = match summary.fullest {
        Some(listener) => {
            let owner = listener.accepting().first().map(|p| format!(" {}[{}]", sanitize(&p.command), p.pid));
            let fill = if listener.full {
                format!("{} FULL", units::percent(listener.fill))
            } else {
                units::percent(listener.fill)
            };
            (format!("{}{}", sanitize(&listener.endpoint.to_string()), owner.unwrap_or_default()), fill)
        }
        None => ("-".to_string(), "-".to_string()),
    };
    let [critical, warning, info] = summary.findings;
    vec![
        summary.listeners.to_string(),
        fullest,
        fill,
        units::rate(summary.drops_per_second),
        units::count(summary.somaxconn),
        summary.ports.map_or("-".to_string(), |ports| units::percent(ports.fullest_share)),
        format!("{critical} critical, {warning} warning, {info} info"),
    ]
}

/// The JSON report of every namespace.
#[derive(Serialize)]
struct ScenePayload<'a> {
    schema_version: u32,
    build: crate::build_info::Build,
    scope: &'static str,
    overview: Vec<SummaryJson<'a>>,
    namespaces: Vec<NamespaceJson<'a>>,
}

/// One row of the summary, for scripts.
#[derive(Serialize)]
struct SummaryJson<'a> {
    netns: Netns<'a>,
    state: &'static str,
    reason: Option<&'a str>,
    listeners: Option<usize>,
    fullest_listener: Option<FullestJson>,
    drops_per_second: Option<f64>,
    somaxconn: Option<i64>,
    port_use: Option<f64>,
    findings: Option<FindingCounts>,
}

#[derive(Serialize)]
struct FullestJson {
    protocol: &'static str,
    local_address: String,
    local_port: Option<u16>,
    processes: Vec<String>,
    accept_queue: u32,
    backlog: u32,
    fill: f64,
    full: bool,
}

#[derive(Serialize)]
struct FindingCounts {
    critical: usize,
    warning: usize,
    info: usize,
}

/// One namespace's full report, with its identity and state.
#[derive(Serialize)]
struct NamespaceJson<'a> {
    netns: Netns<'a>,
    state: &'static str,
    reason: Option<&'a str>,
    report: Option<json::Report<'a>>,
}

fn state_parts(state: &ViewState) -> (&'static str, Option<&str>) {
    match state {
        ViewState::Live => ("live", None),
        ViewState::Gone { reason, .. } => ("gone", Some(reason)),
        ViewState::Unavailable { reason } => ("unavailable", Some(reason)),
    }
}

fn report(scene: &Scene) -> ScenePayload<'_> {
    ScenePayload {
        schema_version: json::SCHEMA_VERSION,
        build: crate::build_info::BUILD,
        scope: "all_netns",
        overview: scene.views.iter().map(summary_json).collect(),
        namespaces: scene
            .views
            .iter()
            .map(|view| {
                let (state, reason) = state_parts(&view.state);
                NamespaceJson {
                    netns: Netns::of(&view.netns),
                    state,
                    reason,
                    report: view.frame.as_deref().map(json::report),
                }
            })
            .collect(),
    }
}

fn summary_json(view: &View) -> SummaryJson<'_> {
    let (state, reason) = state_parts(&view.state);
    let summary = view.frame.as_deref().map(Summary::of);
    SummaryJson {
        netns: Netns::of(&view.netns),
        state,
        reason,
        listeners: summary.map(|s| s.listeners),
        fullest_listener: summary.and_then(|s| s.fullest).map(|listener| FullestJson {
            protocol: listener.protocol.name(),
            local_address: listener.endpoint.address_text(),
            local_port: listener.endpoint.port(),
            processes: listener.processes.iter().map(|p| format!("{}[{}]", p.command, p.pid)).collect(),
            accept_queue: listener.accept_queue,
            backlog: listener.backlog,
            fill: listener.fill,
            full: listener.full,
        }),
        drops_per_second: summary.and_then(|s| s.drops_per_second),
        somaxconn: summary.and_then(|s| s.somaxconn),
        port_use: summary.and_then(|s| s.ports).map(|ports| ports.fullest_share),
        findings: summary.map(|s| {
            let [critical, warning, info] = s.findings;
            FindingCounts { critical, warning, info }
        }),
    }
}

/// Check mode's text over every namespace: one status line with performance data, then each
/// namespace's verdict and findings.
pub fn check(scene: &Scene) -> String {
    let mut out = format!("{} | {}\n", status_line(scene), perfdata(scene));
    for view in &scene.views {
        let verdict = view_status(view).map_or("not judged (gone)", Status::name);
        let _ = writeln!(out, "\n{}: {verdict}", banner(view).lines().next().unwrap_or_default());
        match (&view.state, &view.frame) {
            (ViewState::Live, Some(frame)) => out.push_str(&super::findings::render(frame)),
            (state, _) => {
                let _ = writeln!(out, "  {}", state_text(state));
            }
        }
    }
    units::terminal_text(out)
}

/// `SOCKSCOPE CRITICAL - 4 namespaces, 2 critical, 1 warning: accept-queue-full tcp 0.0.0.0:80 (nginx[812]) in net:[4026532290] web, ...`
pub fn status_line(scene: &Scene) -> String {
    let judged: Vec<(&View, &Frame)> = scene
        .views
        .iter()
        .filter(|view| view.state == ViewState::Live)
        .filter_map(|view| Some((view, view.frame.as_deref()?)))
        .collect();
    let total = |severity| judged.iter().map(|(_, frame)| frame.findings.count(severity)).sum::<usize>();
    let (critical, warning) = (total(Severity::Critical), total(Severity::Warning));
    let unjudged = scene.views.iter().filter(|view| view_status(view) == Some(Status::Unknown)).count();
    let mut named: Vec<(Severity, String)> = judged
        .iter()
        .flat_map(|(view, frame)| {
            frame.findings.findings.iter().filter(|f| f.severity >= Severity::Warning).map(|finding| {
                let subject = finding.subject.label();
                (finding.severity, format!("{} {subject} in {}", finding.id, units::netns(&view.netns)))
            })
        })
        .collect();
    named.sort_by_key(|(severity, _)| std::cmp::Reverse(*severity));
    let shown: Vec<String> = named.iter().take(3).map(|(_, text)| text.clone()).collect();
    let tail = match shown.len() {
        0 => String::new(),
        n if named.len() > n => format!(": {}, and {} more", shown.join(", "), named.len() - n),
        _ => format!(": {}", shown.join(", ")),
    };
    let unknown = if unjudged > 0 { format!(", {unjudged} not judged") } else { String::new() };
    format!(
        "SOCKSCOPE {} - {}{unknown}, {critical} critical, {warning} warning{}",
        status(scene).name(),
        units::plural(scene.views.len() as u64, "namespace"),
        units::plugin_text(&tail),
    )
}

/// Performance data over every namespace: sums of the rates and counts, the highest fill and
/// port use, and the fullest listeners of all, named with their namespace.
pub fn perfdata(scene: &Scene) -> String {
    let live: Vec<(String, &crate::model::Model, &crate::sample::Sample, [usize; 2])> = scene
        .frames()
        .filter(|(view, _)| view.state == ViewState::Live)
        .map(|(view, frame)| {
            let counts = [frame.findings.count(Severity::Critical), frame.findings.count(Severity::Warning)];
            (units::netns(&view.netns), &frame.model, &*frame.sample, counts)
        })
        .collect();
    let unavailable = scene.views.iter().filter(|view| matches!(view.state, ViewState::Unavailable { .. })).count();
    let measures = crate::model::perfdata::across(&live, scene.views.len(), unavailable);
    super::check::perfdata_text(&measures)
}

/// Check mode's JSON over every namespace: the status first, then the report of every namespace.
pub fn check_json(scene: &Scene) -> Result<String, serde_json::Error> {
    json::check_document(status(scene), status_line(scene), report(scene))
}
