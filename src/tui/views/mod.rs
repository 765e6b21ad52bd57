//! The nine tabs, one module each, and what they share: the detail pane, table titles, process
//! labels and the styles of the model's levels. Every tab draws from the same [`Ctx`]; tabs only
//! lay out and format, they compute nothing the report does not also show.

mod connections;
mod counters;
mod findings;
mod interfaces;
mod kernel;
mod listeners;
mod overview;
mod ports;
mod states;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::component::{Ctx, Tab};
use super::theme::Theme;
use super::widgets::{CellText, Cut};
use crate::advise::Severity;
use crate::format::sanitize;
use crate::model::Level;
use crate::sample::{ProcessRef, Source};

/// Every tab, in [`super::component::TabId::ALL`] order, with its initial state.
pub fn tabs() -> Vec<Box<dyn Tab>> {
    vec![
        Box::new(overview::Overview::default()),
        Box::new(listeners::Listeners::default()),
        Box::new(connections::Connections::default()),
        Box::new(states::States::default()),
        Box::new(ports::Ports::default()),
        Box::new(interfaces::Interfaces::default()),
        Box::new(kernel::Kernel::default()),
        Box::new(findings::Findings::default()),
        Box::new(counters::Counters::default()),
    ]
}

/// Splits a view's area between its table and, when open, the detail pane: side by side on
/// wide terminals, stacked otherwise.
fn split_detail(area: Rect, detail: bool) -> (Rect, Option<Rect>) {
    if !detail {
        return (area, None);
    }
    if area.width >= 160 {
        let [table, pane] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(area);
        return (table, Some(pane));
    }
    let [table, pane] = Layout::vertical([Constraint::Percentage(45), Constraint::Fill(1)]).areas(area);
    (table, Some(pane))
}

/// Draws a detail pane: a bordered, wrapped paragraph.
fn draw_pane(frame: &mut ratatui::Frame, area: Rect, title: String, lines: Vec<Line<'_>>, theme: &Theme) {
    let block = Block::bordered().title(Line::from(Span::styled(format!(" {title} "), theme.title)));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// A table title with the row count, `N of M` while filtered.
fn title<'a>(name: &str, shown: usize, total: usize, ctx: &Ctx<'_>) -> Line<'a> {
    let count =
        if ctx.filter.is_empty() || shown == total { format!("{total}") } else { format!("{shown} of {total}") };
    let mut line = Line::from(vec![
        Span::styled(format!(" {name} "), ctx.theme.title),
        Span::styled(format!("({count}) "), ctx.theme.muted),
    ]);
    if let Some(note) = &ctx.focus_note {
        line.push_span(Span::styled(note.clone(), ctx.theme.warning));
    }
    line
}

/// A row of a table that merges namespaces: one namespace's row, with that namespace and its
/// frame (for the detail pane and the history).
pub(super) struct InNamespace<'a, T> {
    /// The row.
    pub row: &'a T,
    /// Its namespace.
    pub view: &'a crate::engine::View,
    /// Its namespace's frame.
    pub frame: &'a crate::engine::Frame,
}

/// The rows of every namespace in scope, taken from each frame by `rows`.
pub(super) fn in_scope<'a, T>(
    ctx: &Ctx<'a>,
    rows: impl Fn(&'a crate::engine::Frame) -> &'a [T],
) -> Vec<InNamespace<'a, T>> {
    ctx.in_scope
        .iter()
        .flat_map(|(view, frame)| rows(frame).iter().map(move |row| InNamespace { row, view, frame }))
        .collect()
}

/// The fields the filter's `netns:` word looks at: inode, name, container id.
pub(super) fn netns_fields(netns: &crate::sample::Netns) -> Vec<String> {
    let container = netns.container.as_ref().and_then(|hint| hint.id.clone()).unwrap_or_default();
    vec![netns.inode.to_string(), netns.name.clone().unwrap_or_default(), container]
}

/// The namespace column's cell: its name, else its inode; sanitised.
pub(super) fn netns_cell(netns: &crate::sample::Netns) -> String {
    netns.name.as_deref().map_or_else(|| netns.inode.to_string(), |name| sanitize(name).into_owned())
}

/// Processes as `nginx[812]`, sanitised, comma-separated; `-` when unknown.
fn processes_label(processes: &[ProcessRef]) -> String {
    owners_label(processes, false)
}

/// A listener's owners as [`processes_label`] writes them, or `resolving…` while they are
/// being looked for.
fn owners_label(processes: &[ProcessRef], resolving: bool) -> String {
    if processes.is_empty() {
        return if resolving { "resolving…" } else { "-" }.to_string();
    }
    processes.iter().map(|p| format!("{}[{}]", sanitize(&p.command), p.pid)).collect::<Vec<_>>().join(", ")
}

/// A table cell naming a socket's owners: the first as `nginx[812]`, ` +3` for the others (the
/// detail pane lists them all); the name shortens with `…` when narrow, the PID never does.
fn owners_cell(processes: &[ProcessRef], resolving: bool) -> CellText<'static> {
    let Some((first, others)) = processes.split_first() else {
        return owners_label(processes, resolving).into();
    };
    let more = if others.is_empty() { String::new() } else { format!(" +{}", others.len()) };
    CellText::name(sanitize(&first.command).into_owned())
        .then(Span::raw(format!("[{}]", first.pid)), Cut::Never)
        .then(Span::raw(more), Cut::Never)
}

/// A table cell of a bound address: an IP address whole, a UNIX path shortened with `…`.
fn address_cell(endpoint: &crate::model::Endpoint) -> CellText<'static> {
    let text = sanitize(&endpoint.address_text()).into_owned();
    match endpoint {
        crate::model::Endpoint::Inet(..) => text.into(),
        crate::model::Endpoint::Unix(_) => CellText::name(text),
    }
}

/// Processes for the filter: `(pid, command)`.
fn process_fields(processes: &[ProcessRef]) -> Vec<(u32, String)> {
    processes.iter().map(|p| (p.pid, p.command.clone())).collect()
}

/// The style of a level the model judged: critical, warning, or none.
pub(super) fn level_style(level: Level, theme: &Theme) -> Style {
    match level {
        Level::Critical => theme.critical,
        Level::Warning => theme.warning,
        Level::Normal => Style::new(),
    }
}

/// The style of a severity tag.
fn severity_style(severity: Severity, theme: &Theme) -> Style {
    match severity {
        Severity::Critical => theme.critical,
        Severity::Warning => theme.warning,
        Severity::Info => theme.muted,
    }
}

/// A rate, styled critical when above zero (drops are losses).
fn loss_rate(rate: Option<f64>, ctx: &Ctx<'_>) -> Span<'static> {
    let style = if rate.is_some_and(|rate| rate > 0.0) { ctx.theme.critical } else { Style::new() };
    Span::styled(crate::format::rate(rate), style)
}

/// A panel saying a source could not be read, and why.
fn unavailable<'a>(ctx: &Ctx<'_>, what: &str, source: Source) -> Paragraph<'a> {
    let reason = ctx.sample.unavailable_reason(&source).unwrap_or("not collected");
    Paragraph::new(Span::styled(format!("unavailable: {}", sanitize(reason)), ctx.theme.warning))
        .block(Block::bordered().title(format!(" {what} ")))
        .wrap(Wrap { trim: true })
}

/// A finding as one line of a detail pane: its tag, id and summary.
fn finding_line<'a>(finding: &crate::advise::Finding, ctx: &Ctx<'_>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{:<17} ", finding.severity.tag()), severity_style(finding.severity, ctx.theme)),
        Span::raw(format!("{} — {}", finding.id, sanitize(&finding.summary))),
    ])
}
