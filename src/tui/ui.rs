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
    frame.render_widget(Paragraph::new(identity_line(frame_shown, app)), first);
    let mut limits = limits_line(frame_shown, theme);
    let drops = drops_spans(frame_shown, theme);
    if limits.width() + drops.iter().map(Span::width).sum::<usize>() <= usize::from(second.width) {
        limits.spans.extend(drops);
    }
    frame.render_widget(Paragraph::new(limits), second);
    let banners = banners(app, frame_shown);
    let width = banners.width() as u16;
    if width > 0 && first.width > width {
        let right = Rect { x: first.right() - width, width, ..first };
        frame.render_widget(Clear, right);
        frame.render_widget(banners, right);
    }
}

/// Interval and sample time first (is this screen fresh?), then host, kernel, uptime, namespace;
/// right after the name, the capabilities it runs with beyond its user's, when it has any.
fn identity_line<'a>(shown: &'a Shown, app: &App) -> Line<'a> {
    let theme = &app.settings.theme;
    let sample = &shown.sample;
    let mut spans = match &app.replay {
        Some(position) => replay_spans(position, app),
        None => vec![
            Span::styled(" sockscope ", theme.title),
            Span::raw(format!("every {} ", units::interval(app.interval.as_secs_f64()))),
            Span::styled(clock(&sample.taken_at, app), theme.muted),
        ],
    };
    if !app.raised.is_empty() {
        spans.insert(1, Span::styled(format!("caps {} ", app.raised.join(",")), theme.warning));
    }
    if let Some(host) = &sample.host {
        spans.push(separator(theme));
        spans.push(Span::styled(sanitize(&host.hostname).into_owned(), theme.title));
        spans.push(separator(theme));
        spans.push(Span::raw(format!("Linux {}", sanitize(&host.kernel))));
        spans.push(separator(theme));
        spans.push(Span::raw(format!("up {}", units::duration(host.uptime_seconds))));
    }
    spans.push(separator(theme));
    let gone = app.view().is_some_and(|view| matches!(view.state, crate::engine::ViewState::Gone { .. }));
    spans.push(Span::styled(app.scope_label(), if gone { theme.critical } else { theme.title }));
    Line::from(spans)
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
/// model or its sample.
fn limits_line<'a>(shown: &'a Shown, theme: &Theme) -> Line<'a> {
    let sample = &shown.sample;
    let setting = |name: &str| {
        sample.sysctl(name).and_then(|value| value.as_integer()).map_or("-".to_string(), |v| v.to_string())
    };
    let mut spans = vec![Span::raw(" ")];
    spans.extend(verdict(shown, theme));
    spans.extend([
        separator(theme),
        Span::styled("somaxconn ", theme.muted),
        Span::raw(setting("net.core.somaxconn")),
        separator(theme),
        Span::styled("ports ", theme.muted),
    ]);
    match &shown.model.ports {
        Some(ports) => {
            spans.push(Span::raw(format!("{}-{} ", ports.range.0, ports.range.1)));
            let style = match ports.headline.level {
                crate::model::Level::Normal => theme.muted,
                level => super::views::level_style(level, theme),
            };
            let used = units::percent(ports.headline.fullest_share);
            spans.push(Span::styled(format!("{used} used"), style));
        }
        None => spans.push(Span::raw("-")),
    }
    spans.extend([
        separator(theme),
        Span::styled("syncookies ", theme.muted),
        Span::raw(setting("net.ipv4.tcp_syncookies")),
        separator(theme),
        Span::styled("syn_backlog ", theme.muted),
        Span::raw(setting("net.ipv4.tcp_max_syn_backlog")),
    ]);
    Line::from(spans)
}

/// ListenDrops per second over the last interval and over the smoothing window, e.g.
/// `│ drops 0/s, 84/s over 10s`: a drop counter that moves in bursts reads steady in the
/// second figure. Shown only where the line has room for all of it.
fn drops_spans(shown: &Shown, theme: &Theme) -> Vec<Span<'static>> {
    let Some(drops) = shown.model.overflow_counter(crate::sample::counters::LISTEN_DROPS) else {
        return Vec::new();
    };
    let style = |rate: Option<f64>| if rate.is_some_and(|rate| rate > 0.0) { theme.critical } else { theme.muted };
    let mut spans = vec![
        separator(theme),
        Span::styled("drops ", theme.muted),
        Span::styled(units::rate(drops.rate), style(drops.rate)),
    ];
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

fn draw_tabs(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.settings.theme;
    let long: usize = TabId::ALL.iter().map(|tab| tab.title().len() + 4).sum::<usize>() + 3;
    let findings = app.frame().map(|shown| (shown.findings.findings.len(), shown.findings.worst()));
    let mut x = area.x;
    for tab in TabId::ALL {
        let title = if long <= usize::from(area.width) { tab.title() } else { tab.short_title() };
        let mut label = format!(" {} {title}", tab.index() + 1);
        let mut style = if tab == app.tab { theme.selected.patch(theme.title) } else { theme.muted };
        if tab == TabId::Findings
            && let Some((count, worst)) = findings.filter(|(count, _)| *count > 0)
        {
            label.push_str(&format!(" {count}"));
            if tab != app.tab {
                style = match worst {
                    Some(Severity::Critical) => theme.critical,
                    Some(Severity::Warning) => theme.warning,
                    _ => style,
                };
            }
        }
        label.push(' ');
        let width = (label.chars().count() as u16).min(area.right().saturating_sub(x));
        if width == 0 {
            break;
        }
        let cell = Rect { x, width, ..area };
        frame.render_widget(Span::styled(label, style), cell);
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
            spans.extend(hint_spans(&app.settings.keymap.hints(&[Context::FilterInput]), theme));
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
        spans.extend(hint_spans(&hints, theme));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn hint_spans(hints: &[(String, &'static str)], theme: &Theme) -> Vec<Span<'static>> {
    hints
        .iter()
        .flat_map(|(keys, word)| {
            [Span::styled(format!(" {keys}"), theme.title), Span::styled(format!(" {word} "), theme.muted)]
        })
        .collect()
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
                    Span::styled(format!(" {:<12}", bound.display_keys()), theme.title),
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
