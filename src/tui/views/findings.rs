//! The advisor's findings: the active ones (seen now, or held since an earlier sample) most
//! severe first, then the recently cleared ones, with the explanation, evidence, remedy and
//! lifecycle of the selected one, and the checks that could not judge; `l` switches to the
//! findings log, every change of every finding in the order it happened.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{InNamespace, draw_pane, severity_style, title};
use crate::advise::lifecycle::{Event, Life};
use crate::advise::{Finding, Subject};
use crate::format::sanitize;
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::keymap::Action;
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
    /// Active, held or cleared, and since when.
    State,
    /// One-line summary.
    Summary,
}

use FindingColumn as C;

const COLUMNS: [Column<C>; 5] = [
    Column::text(C::Severity, "sev", 4, 0),
    Column::text(C::Check, "check", 24, 2),
    Column::text(C::About, "about", 28, 1),
    Column::text(C::State, "state", 15, 3),
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
            C::Severity | C::Summary | C::Netns | C::State => other
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

/// A row of the Findings table: a finding of one namespace with its life, active or cleared.
struct FindingRow<'a> {
    /// The finding (of a cleared one, its last evidence).
    finding: &'a Finding,
    /// Its life; `None` only for a frame made outside a pipeline.
    life: Option<&'a Life>,
    /// Whether it has cleared (listed after the active ones).
    cleared: bool,
    /// Its namespace and frame.
    place: InNamespace<'a, Finding>,
}

impl Row for FindingRow<'_> {
    type Column = FindingColumn;

    fn key(&self) -> u64 {
        let cleared = cleared_at(self);
        let (id, label) = (self.finding.id, self.finding.subject.label());
        key_of(&format!("{}\u{0}{id}\u{0}{label}\u{0}{cleared}", self.place.view.netns.inode))
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        self.cleared.cmp(&other.cleared).then_with(|| match (self.cleared, column) {
            // Cleared ones: newest first.
            (true, C::Severity | C::State) => cleared_at(other).cmp(&cleared_at(self)),
            _ => self.finding.compare(other.finding, column),
        })
    }

    fn record(&self) -> Record {
        let mut record = self.finding.record();
        record.netns = super::netns_fields(&self.place.view.netns);
        record.text.push(self.life.map(|life| life.state().name()).unwrap_or_default().to_string());
        record
    }
}

/// When a row's finding cleared, on the boot clock (0 for an active one).
fn cleared_at(row: &FindingRow<'_>) -> u64 {
    row.life.and_then(|life| life.cleared).map_or(0, |at| at.boottime_ns)
}

/// The rows of every namespace in scope: active findings, then recently cleared ones.
fn rows<'a>(ctx: &Ctx<'a>) -> Vec<FindingRow<'a>> {
    let mut rows = Vec::new();
    for (view, frame) in ctx.in_scope.iter().copied() {
        let timeline = &frame.timeline;
        for finding in &frame.findings.findings {
            let place = InNamespace { row: finding, view, frame };
            rows.push(FindingRow { finding, life: timeline.life_of(finding), cleared: false, place });
        }
        for life in &timeline.cleared {
            let place = InNamespace { row: &life.finding, view, frame };
            rows.push(FindingRow { finding: &life.finding, life: Some(life), cleared: true, place });
        }
    }
    rows
}

/// The Findings tab; its detail pane (explanation, evidence, remedy) is what the tab is for,
/// so it starts open.
pub struct Findings {
    table: TableState<C>,
    /// Whether the findings log is shown instead of the table.
    log: bool,
}

impl Default for Findings {
    fn default() -> Self {
        Findings { table: TableState { detail: true, ..TableState::new(&SORTABLE) }, log: false }
    }
}

impl Tab for Findings {
    tab_table!(TabId::Findings);

    fn merges_namespaces(&self) -> bool {
        true
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        if self.log {
            draw_log(frame, area, ctx);
            return None;
        }
        draw(frame, area, ctx, &mut self.table)
    }

    fn act(&mut self, action: Action) -> bool {
        if action == Action::FindingsLog {
            self.log = !self.log;
        }
        action == Action::FindingsLog
    }
}

/// The findings log of every namespace in scope, oldest first, as many of the newest events as
/// fit.
fn draw_log(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let mut events: Vec<(&Event, &crate::engine::View)> = ctx
        .in_scope
        .iter()
        .flat_map(|(view, frame)| frame.timeline.log.iter().map(move |event| (event, *view)))
        .collect();
    events.sort_by_key(|(event, _)| event.at.at);
    let room = usize::from(area.height.saturating_sub(2));
    let total = events.len();
    let lines: Vec<Line> = events[total.saturating_sub(room)..]
        .iter()
        .map(|(event, view)| {
            let clock = event.at.at.to_zoned(ctx.time_zone.clone()).strftime("%H:%M:%S").to_string();
            let netns = if ctx.all { format!("{} ", super::netns_cell(&view.netns)) } else { String::new() };
            Line::from(vec![
                Span::styled(format!("{clock} "), ctx.theme.muted),
                Span::raw(format!("{:<9} ", event.change.name())),
                Span::styled(format!("{} ", event.severity.tag()), severity_style(event.severity, ctx.theme)),
                Span::raw(format!("{netns}{} {} — {}", event.id, event.subject, event.summary)),
            ])
        })
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::from(Span::styled("no finding was raised yet", ctx.theme.good))]
    } else {
        lines
    };
    let title = format!("Findings log ({total}, oldest first) — l: back to the findings");
    draw_pane(frame, area, title, lines, ctx.theme);
}

fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, state: &mut TableState<C>) -> Option<Drawn> {
    let outcome = &ctx.frame.findings;
    let mut all = rows(ctx);
    all.sort_by(|a, b| a.compare(b, C::Severity));
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
    let mut heading = title("Findings", rows.len(), all.len(), ctx);
    heading.push_span(Span::styled("l: log ", ctx.theme.muted));
    let table = DataTable {
        title: heading,
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
        let finding = item.finding;
        let style = if item.cleared { ctx.theme.muted } else { severity_style(finding.severity, ctx.theme) };
        let netns = ctx.all.then(|| CellText::name(super::netns_cell(&item.place.view.netns)));
        let now = &item.place.frame.timeline.now;
        let cells = netns.into_iter().chain([
            Span::styled(finding.severity.tag(), style).into(),
            finding.id.into(),
            subject_cell(&finding.subject),
            item.life.map(|life| life.short(now)).unwrap_or_default().into(),
            CellText::words(sanitize(&finding.summary).into_owned()),
        ]);
        (cells.collect(), if item.cleared { ctx.theme.muted } else { Style::new() })
    });
    if let (Some(pane), Some(item)) = (pane, state.nav.key.and_then(|k| all.iter().find(|f| f.key() == k))) {
        let finding = item.finding;
        let mut title = format!("{} {}", finding.severity.tag(), finding.id);
        if ctx.all {
            title.push_str(&format!(" in {}", crate::format::netns(&item.place.view.netns)));
        }
        draw_pane(frame, pane, title, details(item, ctx), ctx.theme);
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

fn details<'a>(item: &FindingRow<'_>, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let (finding, theme) = (item.finding, ctx.theme);
    let mut lines = vec![
        Line::from(Span::styled(sanitize(&finding.summary).into_owned(), severity_style(finding.severity, ctx.theme))),
        Line::from(Span::styled(format!("about {}", sanitize(&finding.subject.label())), theme.muted)),
    ];
    if let Some(life) = item.life {
        let timeline = &item.place.frame.timeline;
        let clock = |at: jiff::Timestamp| at.to_zoned(ctx.time_zone.clone()).strftime("%H:%M:%S").to_string();
        let text = format!(
            "{}; {}; first seen {}, last {}",
            life.seen(None),
            life.describe(&timeline.now),
            clock(life.first_seen.at),
            clock(life.last_seen.at)
        );
        lines.push(Line::from(Span::styled(text, theme.muted)));
    }
    lines.extend([
        Line::raw(""),
        Line::raw(sanitize(&finding.explanation).into_owned()),
        Line::raw(""),
        Line::from(Span::styled("Evidence", theme.title)),
    ]);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::advise::testkit::{add_listener, listener, sample, set_counter};
    use crate::tui::app::{App, Event, Settings};

    /// A full listener at every second, and one sample (105 s) that saw 1803 TIME_WAIT
    /// overflows, pushed up to `last` seconds.
    fn app_until(last: u64) -> App {
        let settings = Settings::plain();
        let mut app = App::new(settings, Duration::from_secs(1));
        for second in 100..=last {
            let mut sample = sample(second);
            sample.taken_at = jiff::Timestamp::from_second(second as i64).unwrap_or_default();
            add_listener(&mut sample, listener("0.0.0.0", 80, 7, 17, 16), Some((27439, "nginx")));
            set_counter(&mut sample, "TcpExt", "TCPTimeWaitOverflow", if second >= 105 { 1803 } else { 0 });
            app.push_sample(sample);
        }
        app
    }

    fn screen(app: &mut App) -> String {
        let (width, height) = (200, 30);
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        terminal.draw(|frame| crate::tui::ui::draw(frame, app)).expect("draw");
        let buffer = terminal.backend().buffer();
        let rows = (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>());
        rows.collect::<Vec<_>>().join("\n")
    }

    fn press(app: &mut App, key: char) {
        press_key(app, KeyCode::Char(key));
    }

    fn press_key(app: &mut App, code: KeyCode) {
        app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn row<'a>(text: &'a str, id: &str) -> &'a str {
        text.lines().find(|line| line.contains(id)).unwrap_or_else(|| panic!("no {id} row:\n{text}"))
    }

    #[test]
    fn a_held_finding_says_when_it_was_last_seen_and_a_cleared_one_when_it_cleared() {
        let mut app = app_until(117);
        press(&mut app, '8');
        press_key(&mut app, KeyCode::Esc);
        let text = screen(&mut app);
        assert!(row(&text, "time-wait-buckets").contains("held 12s"), "{text}");
        assert!(row(&text, "accept-queue-full").contains("active"), "{text}");
        assert!(text.contains("CRIT 2"), "the held finding counts in the header:\n{text}");

        let mut app = app_until(140);
        press(&mut app, '8');
        press_key(&mut app, KeyCode::Esc);
        let text = screen(&mut app);
        assert!(row(&text, "time-wait-buckets").contains("cleared 5s ago"), "cleared at 135 s:\n{text}");
        assert!(text.contains("CRIT 1"), "a cleared finding no longer counts:\n{text}");
        press(&mut app, 'G');
        press_key(&mut app, KeyCode::Enter);
        let details = screen(&mut app);
        assert!(details.contains("seen in 1 sample; cleared 5s ago, lasted 0s; first seen 00:01:45"), "{details}");
    }

    #[test]
    fn l_toggles_the_findings_log_in_the_findings_view() {
        let mut app = app_until(140);
        press(&mut app, '8');
        press(&mut app, 'l');
        let log = screen(&mut app);
        assert!(log.contains("Findings log (4, oldest first)"), "{log}");
        let lines: Vec<&str> = log.lines().filter(|line| line.contains("│00:0")).collect();
        assert!(lines[0].contains("00:01:40 raised") && lines[0].contains("accept-queue-full"), "{lines:?}");
        assert!(lines[2].contains("00:01:45 raised") && lines[2].contains("CRIT time-wait-buckets"), "{lines:?}");
        assert!(lines[3].contains("00:02:15 cleared") && lines[3].contains("time-wait-buckets"), "{lines:?}");
        press(&mut app, 'l');
        assert!(screen(&mut app).contains("Findings (3) l: log"), "back to the table");
        press(&mut app, '1');
        press(&mut app, 'l');
        assert_eq!(app.message.as_deref(), Some("l shows the findings log in the Findings view (8)"));
    }
}
