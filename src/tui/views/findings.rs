//! The advisor's findings, most severe first, with the explanation, evidence and remedy of the
//! selected one, and the checks that could not judge.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::overview::severity_style;
use super::{Ctx, draw_pane, filtered, sort_rows, title};
use crate::advise::{Finding, Subject};
use crate::render::format::sanitize;
use crate::tui::app::TableNav;
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, key_of};

const COLUMNS: [Column; 4] = [
    Column::text("sev", 4, 0),
    Column::text("check", 24, 2),
    Column::text("about", 28, 1),
    Column::flexible("summary", 30),
];

/// Sorts: severity (the advisor's order), check id, subject.
pub const SORTS: [SortColumn; 3] = [
    SortColumn { name: "severity", column: 0 },
    SortColumn { name: "check", column: 1 },
    SortColumn { name: "about", column: 2 },
];

fn key(finding: &Finding) -> u64 {
    key_of(&format!("{}\u{0}{}", finding.id, finding.subject.label()))
}

fn record(finding: &Finding) -> Record {
    let mut record = Record {
        text: vec![finding.id.to_string(), finding.summary.clone(), finding.severity.name().to_string()],
        ..Record::default()
    };
    match &finding.subject {
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

/// Draws the Findings view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let outcome = &ctx.frame.findings;
    let all = &outcome.findings;
    let mut rows = filtered(ctx.filter, all.len(), |index| record(&all[index]));
    let keys: Vec<u64> = all.iter().map(key).collect();
    sort_rows(&mut rows, ctx.sort, &keys, |a, b| match SORTS[ctx.sort.column.min(SORTS.len() - 1)].name {
        "check" => all[a].id.cmp(all[b].id),
        "about" => all[a].subject.label().cmp(&all[b].subject.label()),
        _ => a.cmp(&b).then(Ordering::Equal),
    });
    let row_keys: Vec<u64> = rows.iter().map(|index| keys[*index]).collect();
    let not_evaluated = outcome.not_evaluated.len() as u16;
    let (main, skipped) = if not_evaluated > 0 && area.height > 14 {
        let [main, skipped] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length((not_evaluated + 2).min(area.height / 3))])
                .areas(area);
        (main, Some(skipped))
    } else {
        (area, None)
    };
    let (table_area, pane) = super::split_detail(main, ctx.detail);
    let table = DataTable {
        title: title("Findings", rows.len(), all.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTS,
        sort: ctx.sort,
        keys: &row_keys,
        focused: true,
        empty: if all.is_empty() {
            "no findings: nothing overflows or is close to a limit"
        } else {
            "no finding matches the filter"
        },
    };
    let clicks = table.draw(frame, table_area, nav, ctx.theme, |row| {
        let finding = &all[rows[row]];
        let style = severity_style(finding.severity, ctx);
        let cells = vec![
            Span::styled(finding.severity.tag(), style),
            Span::raw(finding.id),
            Span::raw(sanitize(&finding.subject.label()).into_owned()),
            Span::raw(sanitize(&finding.summary).into_owned()),
        ];
        (cells, Style::new())
    });
    if let (Some(pane), Some(finding)) = (pane, nav.key.and_then(|k| all.iter().find(|f| key(f) == k))) {
        draw_pane(frame, pane, format!("{} {}", finding.severity.tag(), finding.id), details(finding, ctx), ctx.theme);
    }
    if let Some(skipped) = skipped {
        let lines = outcome
            .not_evaluated
            .iter()
            .map(|item| {
                Line::from(vec![
                    Span::styled(format!("{:<26}", item.id), ctx.theme.muted),
                    Span::raw(sanitize(&item.reason).into_owned()),
                ])
            })
            .collect();
        draw_pane(frame, skipped, format!("Not evaluated ({})", outcome.not_evaluated.len()), lines, ctx.theme);
    }
    Some(clicks)
}

fn details<'a>(finding: &Finding, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let mut lines = vec![
        Line::from(Span::styled(sanitize(&finding.summary).into_owned(), severity_style(finding.severity, ctx))),
        Line::from(Span::styled(format!("about {}", sanitize(&finding.subject.label())), theme.muted)),
        Line::raw(""),
        Line::raw(sanitize(&finding.explanation).into_owned()),
        Line::raw(""),
        Line::from(Span::styled("Evidence", theme.title)),
    ];
    for evidence in &finding.evidence {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<28}", sanitize(&evidence.label)), theme.muted),
            Span::raw(sanitize(&evidence.value).into_owned()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("Remedy", theme.title)));
    lines.extend(finding.remedy.lines().map(|line| Line::raw(format!("  {}", sanitize(line)))));
    lines
}
