//! The frame around every view: the two-line header, the tab bar, the footer with key hints or
//! the filter being typed, the help overlay, and the message shown when the terminal is too small.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::app::App;
use super::component::TabId;
use super::keymap::{Action, Bound, Context, Keymap};
use super::theme::Theme;
use crate::advise::Severity;
use crate::engine::Frame as Shown;
use crate::format::{self as units, sanitize};

/// The smallest terminal the dashboard draws into.
pub const MINIMUM: (u16, u16) = (60, 15);

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    app.regions = Default::default();
    if area.width < MINIMUM.0 || area.height < MINIMUM.1 {
        draw_too_small(frame, area, &app.settings.theme);
        return;
    }
    let [header, tabs, body, footer] =
        Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(area);
    draw_header(frame, header, app);
    draw_tabs(frame, tabs, app);
    match app.frame() {
        Some(_) => app.draw_tab(frame, body),
        None => draw_waiting(frame, body, app),
    }
    draw_footer(frame, footer, app);
    if app.help {
        draw_help(frame, area, &app.settings.theme, &app.settings.keymap, app.replay.is_some());
    }
}

fn draw_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text =
        format!("terminal too small: {}x{}, need {}x{} (q quits)", area.width, area.height, MINIMUM.0, MINIMUM.1);
    frame.render_widget(Paragraph::new(Span::styled(text, theme.warning)).wrap(Wrap { trim: true }), area);
}

fn draw_waiting(frame: &mut Frame, area: Rect, app: &App) {
    let text = match &app.collector_error {
        Some(reason) => format!("the collector stopped: {reason}"),
        None => "taking the first sample…".to_string(),
    };
    frame.render_widget(Paragraph::new(Span::styled(text, app.settings.theme.muted)).block(Block::bordered()), area);
}

fn separator(theme: &Theme) -> Span<'static> {
    Span::styled(" │ ", theme.muted)
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.settings.theme;
    let [first, second] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
    let Some(frame_shown) = app.frame() else {
        frame.render_widget(Line::from(Span::styled(" sockscope", theme.title)), first);
        return;
    };
    let banners = banners(app, frame_shown);
    let width = banners.width() as u16;
    let room = usize::from(first.width.saturating_sub(width));
    let identity = fitted(identity_items(frame_shown, app), room, &separator(theme));
    frame.render_widget(Paragraph::new(identity), first);
    let limits = fitted(limits_items(frame_shown, theme), usize::from(second.width), &separator(theme));
    frame.render_widget(Paragraph::new(limits), second);
    if width > 0 && first.width > width {
        let right = Rect { x: first.right() - width, width, ..first };
        frame.render_widget(Clear, right);
        frame.render_widget(banners, right);
    }
}

/// One item of a header line: the spans it is made of, and when it goes if the line is too
/// narrow (0 never, higher numbers first).
type Item<'a> = (u8, Vec<Span<'a>>);

/// Header items joined by `separator` in `width` cells: whole items are left out, highest
/// priority number first, until the rest fits, so no number in the header is ever cut.
fn fitted<'a>(items: Vec<Item<'a>>, width: usize, separator: &Span<'static>) -> Line<'a> {
    let widths: Vec<usize> = items.iter().map(|(_, spans)| spans.iter().map(Span::width).sum()).collect();
    let mut kept: Vec<usize> = (0..items.len()).collect();
    let needed = |kept: &[usize]| {
        kept.iter().map(|index| widths[*index]).sum::<usize>() + separator.width() * kept.len().saturating_sub(1)
    };
    while needed(&kept) > width {
        let droppable = kept.iter().enumerate().filter(|(_, index)| items[**index].0 > 0);
        let Some((at, _)) = droppable.max_by_key(|(at, index)| (items[**index].0, *at)) else { break };
        kept.remove(at);
    }
    let mut spans = Vec::new();
    for (index, (_, item)) in items.into_iter().enumerate().filter(|(index, _)| kept.contains(index)) {
        if index != kept[0] {
            spans.push(separator.clone());
        }
        spans.extend(item);
    }
    Line::from(spans)
}

/// Interval and sample time first (is this screen fresh?), then host, kernel, uptime, namespace;
/// on a narrow terminal the kernel goes first, then the uptime, then the host.
fn identity_items<'a>(shown: &'a Shown, app: &App) -> Vec<Item<'a>> {
    let theme = &app.settings.theme;
    let sample = &shown.sample;
    let first = match &app.replay {
        Some(position) => replay_spans(position, app),
        None => vec![
            Span::styled(" sockscope ", theme.title),
            Span::raw(format!("every {} ", units::interval(app.interval.as_secs_f64()))),
            Span::styled(clock(&sample.taken_at, app), theme.muted),
        ],
    };
    let mut items = vec![(0, first)];
    if !app.raised.is_empty() {
        // Running with more than its user's rights is never left out.
        items.push((0, vec![Span::styled(format!("caps {}", app.raised.join(",")), theme.warning)]));
    }
    if let Some(host) = &sample.host {
        items.push((2, vec![Span::styled(sanitize(&host.hostname).into_owned(), theme.title)]));
        items.push((4, vec![Span::raw(format!("Linux {}", sanitize(&host.kernel)))]));
        items.push((3, vec![Span::raw(format!("up {}", units::duration(host.uptime_seconds)))]));
    }
    let gone = app.view().is_some_and(|view| matches!(view.state, crate::engine::ViewState::Gone { .. }));
    items.push((1, vec![Span::styled(app.scope_label(), if gone { theme.critical } else { theme.title })]));
    items
}

/// A replay's place: REPLAY, the recorded date and time, the round out of all, and whether
/// it plays and how fast.
fn replay_spans(position: &crate::tui::replay::Position, app: &App) -> Vec<Span<'static>> {
    let theme = &app.settings.theme;
    let zoned = position.taken_at.to_zoned(app.settings.time_zone.clone());
    let state = match position.playing {
        true => format!("▶ {}×", position.speed),
        false => format!("paused ({}×)", position.speed),
    };
    vec![
        Span::styled(" sockscope ", theme.title),
        Span::styled(" REPLAY ", theme.banner),
        Span::styled(format!(" {} ", zoned.strftime("%Y-%m-%d %H:%M:%S %Z")), theme.title),
        Span::raw(format!("{}/{} ", position.index + 1, position.total)),
        Span::styled(state, theme.muted),
    ]
}

/// The limits a sysadmin checks first, and the advisor's verdict; every number from the frame's
/// model or its sample. On a narrow terminal the drops go first, then tcp_syncookies, then
/// tcp_max_syn_backlog.
fn limits_items<'a>(shown: &'a Shown, theme: &Theme) -> Vec<Item<'a>> {
    let sample = &shown.sample;
    let setting = |label: &'static str, name: &str| {
        let value = sample.sysctl(name).and_then(|value| value.as_integer()).map_or("-".to_string(), |v| v.to_string());
        vec![Span::styled(label, theme.muted), Span::raw(value)]
    };
    let mut verdict_spans = vec![Span::raw(" ")];
    verdict_spans.extend(verdict(shown, theme));
    let mut ports_spans = vec![Span::styled("ports ", theme.muted)];
    match &shown.model.ports {
        Some(ports) => {
            ports_spans.push(Span::raw(format!("{}-{} ", ports.range.0, ports.range.1)));
            let style = match ports.headline.level {
                crate::model::Level::Normal => theme.muted,
                level => super::views::level_style(level, theme),
            };
            let used = units::percent(ports.headline.fullest_share);
            ports_spans.push(Span::styled(format!("{used} used"), style));
        }
        None => ports_spans.push(Span::raw("-")),
    }
    let mut items = vec![
        (0, verdict_spans),
        (0, setting("somaxconn ", "net.core.somaxconn")),
        (0, ports_spans),
        (2, setting("syncookies ", "net.ipv4.tcp_syncookies")),
        (1, setting("syn_backlog ", "net.ipv4.tcp_max_syn_backlog")),
    ];
    let drops = drops_spans(shown, theme);
    if !drops.is_empty() {
        items.push((3, drops));
    }
    if let Some(age) = shown.model.walk_age {
        items.push((1, vec![Span::styled(format!("states {} ago", units::interval(age)), theme.muted)]));
    }
    if let Some(pacing) = shown.sample.diagnostics.pacing.filter(|pacing| pacing.budget.is_some()) {
        items.push((5, pacing_spans(&pacing, theme)));
    }
    items
}

/// How the budgeted collector paces its socket walk, e.g. `walk 148ms CPU every 6s, refresh
/// 1.2ms (budget 3%)` — the walk's CPU time and period, and the CPU time of what is read every
/// interval: the diagnostics behind `states … ago`.
/// CPU microseconds as `1.2ms` or `850µs`.
fn cpu_time(micros: u64) -> String {
    if micros >= 1000 { format!("{:.1}ms", micros as f64 / 1000.0) } else { format!("{micros}µs") }
}

fn pacing_spans(pacing: &crate::sample::Pacing, theme: &Theme) -> Vec<Span<'static>> {
    let budget = pacing.budget.map(|budget| budget.to_string()).unwrap_or_default();
    vec![Span::styled(
        format!(
            "walk {} CPU every {}, refresh {} (budget {budget})",
            units::interval(pacing.walk_cpu_micros as f64 / 1e6),
            units::interval(pacing.walk_period_ms as f64 / 1000.0),
            cpu_time(pacing.tick_cpu_micros)
        ),
        theme.muted,
    )]
}

/// ListenDrops per second over the last interval and over the smoothing window, e.g.
/// `drops 0/s, 84/s over 10s`: a drop counter that moves in bursts reads steady in the second
/// figure. The first item to go when the line has no room for all of it.
fn drops_spans(shown: &Shown, theme: &Theme) -> Vec<Span<'static>> {
    let Some(drops) = shown.model.overflow_counter(crate::sample::counters::LISTEN_DROPS) else {
        return Vec::new();
    };
    let style = |rate: Option<f64>| if rate.is_some_and(|rate| rate > 0.0) { theme.critical } else { theme.muted };
    let mut spans = vec![Span::styled("drops ", theme.muted), Span::styled(units::rate(drops.rate), style(drops.rate))];
    if let Some(seconds) = shown.model.smoothing {
        spans.push(Span::styled(", ", theme.muted));
        spans.push(Span::styled(units::rate(drops.smoothed), style(drops.smoothed)));
        spans.push(Span::styled(format!(" over {}", units::interval(seconds)), theme.muted));
    }
    spans
}

/// `CRIT 1 WARN 2`, or `no problems` (informational findings are on the Findings view), led by
/// `dump interrupted` when the kernel flagged a socket or link dump of the sample inconsistent
/// (`NLM_F_DUMP_INTR`: an entry may be missing or twice), and by `listeners unreadable` when the
/// listen-queue checks could not run.
fn verdict(shown: &Shown, theme: &Theme) -> Vec<Span<'static>> {
    let outcome = &shown.findings;
    let counts = [(Severity::Critical, theme.critical), (Severity::Warning, theme.warning)];
    let mut spans: Vec<Span> = Vec::new();
    if shown.sample.diagnostics.interrupted_dumps > 0 {
        spans.push(Span::styled("dump interrupted", theme.warning));
    }
    if shown.sample.tcp_listeners.is_none() {
        // Without the listeners the listen-queue checks cannot run: never say "no problems".
        spans.push(Span::styled("listeners unreadable", theme.warning));
    }
    let notes = spans.len();
    spans.extend(
        counts
            .iter()
            .filter(|(severity, _)| outcome.count(*severity) > 0)
            .map(|(severity, style)| Span::styled(format!("{} {}", severity.tag(), outcome.count(*severity)), *style)),
    );
    if spans.len() == notes && shown.sample.tcp_listeners.is_some() {
        spans.push(Span::styled("no problems", theme.good));
    }
    let spaced = spans.into_iter().flat_map(|span| [Span::raw(" "), span]).skip(1);
    spaced.collect()
}

/// FROZEN (with the time frozen) and STALE, reversed so they cannot be missed.
fn banners<'a>(app: &App, shown: &Shown) -> Line<'a> {
    let theme = &app.settings.theme;
    let mut spans = Vec::new();
    if app.is_frozen() {
        spans.push(Span::styled(format!(" FROZEN {} ", clock(&shown.sample.taken_at, app)), theme.banner));
        spans.push(Span::raw(" "));
    }
    if app.stale {
        spans.push(Span::styled(" STALE ", theme.banner));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn clock(at: &jiff::Timestamp, app: &App) -> String {
    at.to_zoned(app.settings.time_zone.clone()).strftime("%H:%M:%S").to_string()
}

/// The tab bar: each view's number and title, the findings' count on the Findings tab. The
/// titles are the longest of the three sets (full, short, tiny) that fits whole; a label that
/// still does not fit is left out, never cut.
fn draw_tabs(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.settings.theme;
    let findings = app.frame().map(|shown| (shown.findings.findings.len(), shown.findings.worst()));
    let count = findings.map(|(count, _)| count).filter(|count| *count > 0);
    let label = |tab: TabId, title: &str| match count.filter(|_| tab == TabId::Findings) {
        Some(count) => format!(" {} {title} {count} ", tab.index() + 1),
        None => format!(" {} {title} ", tab.index() + 1),
    };
    let tiers: [fn(TabId) -> &'static str; 3] = [TabId::title, TabId::short_title, TabId::tiny_title];
    let fits = |title: &fn(TabId) -> &'static str| {
        TabId::ALL.iter().map(|tab| label(*tab, title(*tab)).chars().count()).sum::<usize>() <= usize::from(area.width)
    };
    let title = tiers.iter().find(|title| fits(title)).copied().unwrap_or(TabId::tiny_title);
    let mut x = area.x;
    for tab in TabId::ALL {
        let text = label(tab, title(tab));
        let mut style = if tab == app.tab { theme.selected.patch(theme.title) } else { theme.muted };
        if tab == TabId::Findings
            && tab != app.tab
            && let Some((_, worst)) = findings.filter(|(count, _)| *count > 0)
        {
            style = match worst {
                Some(Severity::Critical) => theme.critical,
                Some(Severity::Warning) => theme.warning,
                _ => style,
            };
        }
        let width = text.chars().count() as u16;
        if width > area.right().saturating_sub(x) {
            break;
        }
        let cell = Rect { x, width, ..area };
        frame.render_widget(Span::styled(text, style), cell);
        app.regions.tabs.push((cell, tab));
        x += width;
    }
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.settings.theme;
    let line = if let Some(input) = &app.filter_input {
        let prompt = match app.typing {
            crate::tui::app::Typing::Filter => " filter: ",
            crate::tui::app::Typing::Time => " go to time (03:12, 2026-12-03 03:12, RFC 3339, -5m): ",
        };
        let mut spans =
            vec![Span::styled(prompt, theme.title), Span::raw(input.clone()), Span::styled("█", theme.muted)];
        if let Some(message) = &app.message {
            spans.push(Span::styled(format!("  {message}"), theme.warning));
        } else {
            let room = usize::from(area.width).saturating_sub(spans.iter().map(Span::width).sum());
            spans.extend(hint_spans(&app.settings.keymap.hints(&[Context::FilterInput]), theme, room));
        }
        Line::from(spans)
    } else if let Some(message) = app.message.as_ref().or(app.collector_error.as_ref()) {
        Line::from(Span::styled(format!(" {message}"), theme.warning))
    } else {
        let mut spans = Vec::new();
        if !app.filter.is_empty() {
            spans.push(Span::styled(format!(" filter: {} ", app.filter.text()), theme.banner));
        }
        let contexts: &[Context] = match app.replay {
            Some(_) => &[Context::Replay, Context::Global],
            None => &[Context::Global, Context::Table],
        };
        let mut hints = app.settings.keymap.hints(contexts);
        if app.replay.is_some() {
            // Space and +/- play and change speed in a replay; there is no interval to set.
            hints.retain(|(_, word)| !matches!(*word, "freeze" | "interval"));
        }
        let room = usize::from(area.width).saturating_sub(spans.iter().map(Span::width).sum());
        spans.extend(hint_spans(&hints, theme, room));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The key hints that fit whole in `width` cells, in order: a hint that does not fit is left
/// out rather than cut.
fn hint_spans(hints: &[(String, &'static str)], theme: &Theme, width: usize) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (keys, word) in hints {
        let hint = [Span::styled(format!(" {keys}"), theme.title), Span::styled(format!(" {word} "), theme.muted)];
        let cells: usize = hint.iter().map(Span::width).sum();
        if used + cells > width {
            break;
        }
        used += cells;
        spans.extend(hint);
    }
    spans
}

/// The help overlay, generated from the key bindings: global keys on the left, table and
/// filter keys on the right, the filter words and mouse use below.
/// The help overlay. In a replay the replay keys come first, and the interval keys, which a
/// replay's speed keys replace, are left out.
fn draw_help(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, replay: bool) {
    let column = |contexts: &[Context]| -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        for context in contexts {
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::from(Span::styled(context.title(), theme.title)));
            let shown = |bound: &&Bound| {
                bound.binding.context == *context
                    && !(replay && matches!(bound.binding.action, Action::Faster | Action::Slower))
            };
            for bound in keymap.bindings().iter().filter(shown) {
                lines.push(Line::from(vec![
                    Span::styled(format!(" {:<11} ", bound.display_keys()), theme.title),
                    Span::raw(bound.binding.description),
                ]));
            }
        }
        lines
    };
    let (left, right) = match replay {
        true => (column(&[Context::Global, Context::FilterInput]), column(&[Context::Replay, Context::Table])),
        false => (column(&[Context::Global]), column(&[Context::Table, Context::FilterInput])),
    };
    let notes = vec![
        Line::from(vec![
            Span::styled("Filter words ", theme.title),
            Span::raw(
                "port:N sport:N dport:N addr:A src:A dst:A state:S proc:P netns:N, free text; !word negates; words AND.",
            ),
        ]),
        Line::from(vec![
            Span::styled("Mouse ", theme.title),
            Span::raw("wheel scrolls; click a row, a tab or a heading (sorts); Shift or m selects text."),
        ]),
    ];
    let body_height = left.len().max(right.len()) as u16;
    let width = area.width.saturating_sub(4).min(96);
    // Each note wraps at the inner width (a little less, as wrapping breaks at words).
    let inner_width = usize::from(width.saturating_sub(4)).max(1);
    let notes_height = notes.iter().map(|line| line.width().div_ceil(inner_width)).sum::<usize>() as u16;
    let height = (body_height + notes_height + 3).min(area.height);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, popup);
    let block = Block::bordered().title(Line::from(Span::styled(" Keys — Esc or ? closes ", theme.title)));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [columns, _, notes_area] =
        Layout::vertical([Constraint::Length(body_height), Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let [left_area, right_area] = Layout::horizontal([Constraint::Fill(1); 2]).spacing(1).areas(columns);
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(Paragraph::new(right), right_area);
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), notes_area);
}
