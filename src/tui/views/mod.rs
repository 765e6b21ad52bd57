//! The eight views, one module each. Every view draws from the same [`Ctx`]: the snapshot on
//! screen, its derived [`View`], the history, the filter and the view's sort; views only lay out
//! and format, they compute nothing the report does not also show.

mod connections;
mod findings;
mod interfaces;
mod kernel;
mod listeners;
mod overview;
mod ports;
mod states;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::app::{App, Sort, Tab, TableNav};
use super::filter::{Filter, Record};
use super::theme::Theme;
use crate::engine::Frame as Shown;
use crate::model::history::History;
use crate::model::{Level, Model};
use crate::render::format::sanitize;
use crate::sample::{ProcessRef, Sample};

/// What every view draws from.
pub struct Ctx<'a> {
    /// The frame on screen (its findings and generation).
    pub frame: &'a Shown,
    /// Its derived numbers.
    pub model: &'a Model,
    /// Its raw facts.
    pub sample: &'a Sample,
    /// The history on screen.
    pub history: &'a History,
    /// Colours.
    pub theme: &'a Theme,
    /// The filter in force.
    pub filter: &'a Filter,
    /// The view's sort.
    pub sort: Sort,
    /// Whether the view's detail pane is open.
    pub detail: bool,
}

/// How many sort columns each view offers, in tab order.
pub const SORT_COLUMNS: [usize; 8] = [
    0,
    listeners::SORTS.len(),
    connections::SORTS.len(),
    states::SORTS.len(),
    ports::SORTS.len(),
    interfaces::SORTS.len(),
    kernel::SORTS.len(),
    findings::SORTS.len(),
];

/// Draws the active view into `area`.
pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let Some(parts) = app.parts() else {
        return;
    };
    let ctx = Ctx {
        frame: parts.frame,
        model: &parts.frame.model,
        sample: &parts.frame.sample,
        history: parts.history,
        theme: &parts.settings.theme,
        filter: parts.filter,
        sort: parts.sort,
        detail: parts.detail,
    };
    let nav: &mut TableNav = &mut parts.tables[parts.tab.index()];
    let drawn = match parts.tab {
        Tab::Overview => overview::draw(frame, area, &ctx, nav),
        Tab::Listeners => listeners::draw(frame, area, &ctx, nav),
        Tab::Connections => connections::draw(frame, area, &ctx, nav, parts.connection_rows),
        Tab::States => states::draw(frame, area, &ctx, nav),
        Tab::Ports => ports::draw(frame, area, &ctx, nav),
        Tab::Interfaces => interfaces::draw(frame, area, &ctx, nav),
        Tab::Kernel => kernel::draw(frame, area, &ctx, nav),
        Tab::Findings => findings::draw(frame, area, &ctx, nav),
    };
    if let Some(drawn) = drawn {
        parts.regions.table = Some(drawn.rows);
        parts.regions.header = drawn.header;
    }
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

/// The style of a level the model judged: critical, warning, or none.
pub(super) fn level_style(level: Level, theme: &Theme) -> ratatui::style::Style {
    match level {
        Level::Critical => theme.critical,
        Level::Warning => theme.warning,
        Level::Normal => ratatui::style::Style::new(),
    }
}

/// Draws a detail pane: a bordered, wrapped paragraph.
fn draw_pane(frame: &mut Frame, area: Rect, title: String, lines: Vec<Line<'_>>, theme: &Theme) {
    let block = Block::bordered().title(Line::from(Span::styled(format!(" {title} "), theme.title)));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// A table title with the row count, `N of M` while filtered.
fn title<'a>(name: &str, shown: usize, total: usize, ctx: &Ctx<'_>) -> Line<'a> {
    let count =
        if ctx.filter.is_empty() || shown == total { format!("{total}") } else { format!("{shown} of {total}") };
    Line::from(vec![
        Span::styled(format!(" {name} "), ctx.theme.title),
        Span::styled(format!("({count}) "), ctx.theme.muted),
    ])
}

/// Processes as `nginx[812]`, sanitised, comma-separated; `-` when unknown.
fn processes_label(processes: &[ProcessRef]) -> String {
    if processes.is_empty() {
        return "-".to_string();
    }
    processes.iter().map(|p| format!("{}[{}]", sanitize(&p.command), p.pid)).collect::<Vec<_>>().join(",")
}

/// Processes for the filter: `(pid, command)`.
fn process_fields(processes: &[ProcessRef]) -> Vec<(u32, String)> {
    processes.iter().map(|p| (p.pid, p.command.clone())).collect()
}

/// Applies a sort (natural order given by `compare`, reversed on request) to row indices,
/// breaking ties by identity so equal rows do not swap places between samples.
fn sort_rows(
    rows: &mut [usize],
    sort: Sort,
    keys: &[u64],
    mut compare: impl FnMut(usize, usize) -> std::cmp::Ordering,
) {
    rows.sort_by(|a, b| {
        let order = compare(*a, *b);
        let order = if sort.reversed { order.reverse() } else { order };
        order.then(keys[*a].cmp(&keys[*b]))
    });
}

/// The indices of `records` that pass the filter.
fn filtered(filter: &Filter, count: usize, mut record: impl FnMut(usize) -> Record) -> Vec<usize> {
    if filter.is_empty() {
        return (0..count).collect();
    }
    (0..count).filter(|index| filter.matches(&record(*index))).collect()
}
