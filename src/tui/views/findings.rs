//! The advisor's findings, most severe first, with the explanation, evidence and remedy of the
//! selected one, and the checks that could not judge.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{InNamespace, draw_pane, severity_style, title};
use crate::advise::{Finding, Subject};
use crate::format::sanitize;
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, TableState, ordered};
use crate::tui::widgets::{CellText, Column, Cut, DataTable, Drawn, key_of};

/// The columns of the Findings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingColumn {
    /// The network namespace (when every namespace is shown).
    Netns,
    /// Severity (sorts in the advisor's order: most severe first, then check and subject).
    Severity,
    /// Check id.
    Check,
    /// Subject.
    About,
    /// One-line summary.
    Summary,
}

use FindingColumn as C;

const COLUMNS: [Column<C>; 4] = [
    Column::text(C::Severity, "sev", 4, 0),
    Column::text(C::Check, "check", 24, 2),
    Column::text(C::About, "about", 28, 1),
    Column::name(C::Summary, "summary", 30),
];

/// Sorts: severity (the advisor's order), check id, subject.
const SORTABLE: [C; 3] = [C::Severity, C::Check, C::About];

impl Row for Finding {
    type Column = FindingColumn;

    fn key(&self) -> u64 {
        key_of(&format!("{}\u{0}{}", self.id, self.subject.label()))
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        match column {
            C::Check => self.id.cmp(other.id),
            C::About => self.subject.label().cmp(&other.subject.label()),
            C::Severity | C::Summary | C::Netns => other
                .severity
                .cmp(&self.severity)
                .then(self.id.cmp(other.id))
                .then_with(|| self.subject.label().cmp(&other.subject.label())),
        }
    }

    fn record(&self) -> Record {
        let mut record = Record {
            text: vec![self.id.to_string(), self.summary.clone(), self.severity.name().to_string()],
            ..Record::default()
        };
        match &self.subject {
            Subject::Listener { endpoint, processes, .. } => {
                record.local_address = Some(endpoint.address_text());
                record.local_port = endpoint.port();
                record.processes = super::process_fields(processes);
            }
            Subject::Destination { local_address, remote_address, remote_port } => {
                record.local_address = Some(local_address.to_string());
                record.remote_address = Some(remote_address.to_string());
                record.remote_port = Some(*remote_port);
            }
            Subject::Process { process } => record.processes = super::process_fields(std::slice::from_ref(process)),
            other => record.text.push(other.label()),
        }
        record
    }
}

impl Row for InNamespace<'_, Finding> {
    type Column = FindingColumn;

    fn key(&self) -> u64 {
        key_of(&format!("{}\u{0}{}\u{0}{}", self.view.netns.inode, self.row.id, self.row.subject.label()))
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        self.row.compare(other.row, column)
    }

    fn record(&self) -> Record {
        Record { netns: super::netns_fields(&self.view.netns), ..self.row.record() }
    }
}

/// The Findings tab; its detail pane (explanation, evidence, remedy) is what the tab is for,
/// so it starts open.
pub struct Findings {
    table: TableState<C>,
}

impl Default for Findings {
    fn default() -> Self {
        Findings { table: TableState { detail: true, ..TableState::new(&SORTABLE) } }
    }
}

impl Tab for Findings {
    tab_table!(TabId::Findings);

    fn merges_namespaces(&self) -> bool {
        true
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        draw(frame, area, ctx, &mut self.table)
    }
}

fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, state: &mut TableState<C>) -> Option<Drawn> {
    let outcome = &ctx.frame.findings;
    let mut all = super::in_scope(ctx, |frame| &frame.findings.findings);
    if ctx.all {
        all.sort_by(|a, b| a.row.compare(b.row, C::Severity));
    }
    let rows = ordered(&all, ctx.filter, state.sort);
    let row_keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
    let not_evaluated = outcome.not_evaluated.len() as u16;
    let (main, skipped) = if not_evaluated > 0 && area.height > 14 {
        let [main, skipped] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length((not_evaluated + 2).min(area.height / 3))])
                .areas(area);
        (main, Some(skipped))
    } else {
        (area, None)
    };
    let (table_area, pane) = super::split_detail(main, state.detail);
    let netns_column = ctx.all.then_some(Column::text(C::Netns, "netns", 20, 1));
    let columns: Vec<Column<C>> = netns_column.into_iter().chain(COLUMNS).collect();
    let table = DataTable {
        title: title("Findings", rows.len(), all.len(), ctx),
        columns: &columns,
        sorts: &SORTABLE,
        sort: state.sort,
        keys: &row_keys,
        focused: true,
        empty: if all.is_empty() {
            "no findings: nothing overflows or is close to a limit"
        } else {
            "no finding matches the filter"
        },
    };
    let clicks = table.draw(frame, table_area, &mut state.nav, ctx.theme, |row| {
        let item = &all[rows[row]];
        let finding = item.row;
        let style = severity_style(finding.severity, ctx.theme);
        let netns = ctx.all.then(|| CellText::name(super::netns_cell(&item.view.netns)));
        let cells = netns.into_iter().chain([
            Span::styled(finding.severity.tag(), style).into(),
            finding.id.into(),
            subject_cell(&finding.subject),
            CellText::words(sanitize(&finding.summary).into_owned()),
        ]);
        (cells.collect(), Style::new())
    });
    if let (Some(pane), Some(item)) = (pane, state.nav.key.and_then(|k| all.iter().find(|f| f.key() == k))) {
        let finding = item.row;
        let mut title = format!("{} {}", finding.severity.tag(), finding.id);
        if ctx.all {
            title.push_str(&format!(" in {}", crate::format::netns(&item.view.netns)));
        }
        draw_pane(frame, pane, title, details(finding, ctx), ctx.theme);
    }
    if let Some(skipped) = skipped {
        let lines = outcome
            .not_evaluated
            .iter()
            .map(|item| {
                Line::from(vec![
                    Span::styled(format!("{:<25} ", item.id), ctx.theme.muted),
                    Span::raw(sanitize(&item.reason).into_owned()),
                ])
            })
            .collect();
        draw_pane(frame, skipped, format!("Not evaluated ({})", outcome.not_evaluated.len()), lines, ctx.theme);
    }
    Some(clicks)
}

/// The subject's label as [`Subject::label`] writes it, as a cell whose names (a UNIX path, a
/// process, an interface) shorten with `…` and whose addresses, ports and PIDs never do.
fn subject_cell(subject: &Subject) -> CellText<'static> {
    match subject {
        Subject::Listener { protocol, endpoint, processes, .. } => {
            let place = CellText::from(format!("{} ", protocol.name()));
            let place = match endpoint {
                crate::model::Endpoint::Inet(..) => place.then(Span::raw(endpoint.to_string()), Cut::Never),
                crate::model::Endpoint::Unix(path) => place.then(Span::raw(sanitize(path).into_owned()), Cut::Name),
            };
            if processes.is_empty() {
                return place;
            }
            let mut cell = place.then(Span::raw(" ("), Cut::Never);
            for (span, cut) in super::owners_cell(processes, false).into_pieces() {
                cell = cell.then(span, cut);
            }
            cell.then(Span::raw(")"), Cut::Never)
        }
        Subject::Interface { name } => {
            CellText::from("interface ").then(Span::raw(sanitize(name).into_owned()), Cut::Name)
        }
        Subject::Process { process } => super::owners_cell(std::slice::from_ref(process), false),
        other => CellText::words(other.label()),
    }
}

fn details<'a>(finding: &Finding, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let mut lines = vec![
        Line::from(Span::styled(sanitize(&finding.summary).into_owned(), severity_style(finding.severity, ctx.theme))),
        Line::from(Span::styled(format!("about {}", sanitize(&finding.subject.label())), theme.muted)),
        Line::raw(""),
        Line::raw(sanitize(&finding.explanation).into_owned()),
        Line::raw(""),
        Line::from(Span::styled("Evidence", theme.title)),
    ];
    for evidence in &finding.evidence {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<27} ", sanitize(&evidence.label)), theme.muted),
            Span::raw(sanitize(&evidence.value).into_owned()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("Remedy", theme.title)));
    lines.extend(finding.remedy.lines().map(|line| Line::raw(format!("  {}", sanitize(line)))));
    lines
}
