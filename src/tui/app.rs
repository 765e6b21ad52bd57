//! The dashboard's state and everything that changes it. [`App::handle`] takes one event (a key,
//! a click, a new sample, a signal) and returns the effects the event loop must carry out; it
//! never touches the terminal or a thread, so tests drive it with plain events and no sleeps.

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::filter::Filter;
use super::keymap::{self, Action, Context, Keymap};
use super::theme::Theme;
use crate::advise::Rules;
use crate::engine::{Frame, Pipeline};
use crate::model::history::History;
use crate::sample::Sample;

/// The dashboard's views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    /// Everything at a glance.
    Overview,
    /// Every TCP and UNIX listener.
    Listeners,
    /// Every TCP and UDP socket.
    Connections,
    /// TCP state counts over time and per process.
    States,
    /// Ephemeral port use.
    Ports,
    /// Network interfaces.
    Interfaces,
    /// Kernel settings.
    Kernel,
    /// The advisor's findings.
    Findings,
}

impl Tab {
    /// Every tab, in order; number keys select them 1-based.
    pub const ALL: [Tab; 8] = [
        Tab::Overview,
        Tab::Listeners,
        Tab::Connections,
        Tab::States,
        Tab::Ports,
        Tab::Interfaces,
        Tab::Kernel,
        Tab::Findings,
    ];

    /// The tab's position in [`Tab::ALL`].
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|tab| *tab == self).unwrap_or(0)
    }

    /// The tab's title in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Listeners => "Listeners",
            Tab::Connections => "Connections",
            Tab::States => "States",
            Tab::Ports => "Ports",
            Tab::Interfaces => "Interfaces",
            Tab::Kernel => "Kernel",
            Tab::Findings => "Findings",
        }
    }
}

/// What the event loop must do after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Restore the terminal and exit with this status.
    Exit(u8),
    /// Tell the collector to sample at this interval from now on.
    SetInterval(Duration),
    /// Tell the collector to keep (or stop keeping) every socket, for the Connections and
    /// States views.
    CollectConnections(bool),
    /// Turn mouse capture on or off.
    Mouse(bool),
    /// Suspend to the shell (Ctrl-Z).
    Suspend,
}

/// An input to the dashboard.
#[derive(Debug)]
pub enum Event {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event.
    Mouse(MouseEvent),
    /// The terminal changed size (the next draw lays out again).
    Resize,
    /// A new sample from the collector.
    Sample(Box<Sample>),
    /// The collector stopped (it panicked): the screen says so and keeps working.
    CollectorStopped(String),
    /// A signal asked the dashboard to end (SIGTERM, SIGHUP, SIGQUIT, SIGINT).
    Terminate(i32),
}

/// The sampling intervals `+` and `-` step through.
pub const INTERVAL_STEPS: [Duration; 8] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
];

/// A frozen screen: the frame and history at the moment of freezing.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// What is shown.
    pub frame: Arc<Frame>,
    /// The history as it was.
    pub history: History,
}

/// The scroll and selection state of one table. Selection follows the row's identity across
/// new samples and re-sorts; when the row disappears, its neighbour is selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNav {
    /// Index of the selected row in the displayed order.
    pub selected: usize,
    /// Identity of the selected row as of the last draw.
    pub key: Option<u64>,
    /// First visible row.
    pub offset: usize,
    /// Rows visible at the last draw (for page moves).
    pub page: usize,
    /// Rows in the table at the last draw.
    pub len: usize,
    /// Whether the user moved since the last draw (then the index wins over the key).
    moved: bool,
}

impl TableNav {
    /// Fixes the selection for this draw: re-finds the selected row by identity unless the user
    /// just moved, clamps it, and scrolls so it is visible in `page` rows.
    pub fn resolve(&mut self, keys: &[u64], page: usize) {
        self.len = keys.len();
        self.page = page.max(1);
        if !self.moved
            && let Some(index) = self.key.and_then(|key| keys.iter().position(|k| *k == key))
        {
            self.selected = index;
        }
        self.moved = false;
        self.selected = self.selected.min(keys.len().saturating_sub(1));
        self.key = keys.get(self.selected).copied();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + self.page {
            self.offset = self.selected + 1 - self.page;
        }
        self.offset = self.offset.min(keys.len().saturating_sub(self.page));
    }

    /// Moves the selection by `delta` rows (negative is up), within the last known length.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.len.saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.moved = true;
    }

    /// Selects a row by index.
    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.len.saturating_sub(1));
        self.moved = true;
    }

    /// Selects a row by identity at the next draw.
    pub fn select_key(&mut self, key: u64) {
        self.key = Some(key);
        self.moved = false;
    }
}

/// Sort state of one table: which of the view's sort columns, and which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    /// Index into the view's sort columns.
    pub column: usize,
    /// Whether the natural order is reversed.
    pub reversed: bool,
}

/// Screen areas recorded while drawing, for mouse clicks.
#[derive(Debug, Clone, Default)]
pub struct Regions {
    /// Each tab's title in the tab bar.
    pub tabs: Vec<(Rect, Tab)>,
    /// The rows of the active table (without its header).
    pub table: Option<Rect>,
    /// The active table's sortable headings, with their index among the view's sorts.
    pub header: Vec<(Rect, usize)>,
}

/// Fixed choices made at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The advisor's rules.
    pub rules: Rules,
    /// Colours.
    pub theme: Theme,
    /// Time zone for clock times on screen.
    pub time_zone: jiff::tz::TimeZone,
    /// The keys in force.
    pub keymap: Keymap,
}

/// The whole state of the dashboard.
#[derive(Debug)]
pub struct App {
    /// Start-up choices.
    pub settings: Settings,
    pipeline: Pipeline,
    live: Option<Arc<Frame>>,
    frozen: Option<Frozen>,
    /// The active view.
    pub tab: Tab,
    /// The sampling interval.
    pub interval: Duration,
    /// Whether the help overlay is open.
    pub help: bool,
    /// Whether each view's detail pane is open.
    pub details: [bool; 8],
    /// The filter in force.
    pub filter: Filter,
    /// The filter being typed, while the input line is open.
    pub filter_input: Option<String>,
    /// Each view's table selection.
    pub tables: [TableNav; 8],
    /// Each view's sort.
    pub sorts: [Sort; 8],
    /// Whether the mouse is captured.
    pub mouse: bool,
    /// Whether the last sample is older than twice the interval.
    pub stale: bool,
    /// A one-line message for the footer, cleared by the next key.
    pub message: Option<String>,
    /// Why the collector stopped, if it did.
    pub collector_error: Option<String>,
    /// Click targets of the last draw.
    pub regions: Regions,
    /// How many sort columns each view offers (set by the views module).
    pub sort_columns: [usize; 8],
    /// The Connections view's filtered and sorted row order, kept between draws.
    pub connection_rows: RowCache,
}

/// A row order computed once per change of frame, filter or sort (sorting 100k sockets on
/// every key press would make scrolling sluggish).
#[derive(Debug, Clone, Default)]
pub struct RowCache {
    /// What the order was computed for: frame generation, filter text, sort.
    pub computed_for: Option<(u64, String, Sort)>,
    /// Row indices in display order.
    pub rows: Vec<usize>,
    /// Row identities in display order.
    pub keys: Vec<u64>,
}

/// Everything a view needs to draw, borrowed from the [`App`] at once.
pub struct Parts<'a> {
    /// The frame on screen.
    pub frame: &'a Frame,
    /// The history on screen.
    pub history: &'a History,
    /// Start-up choices.
    pub settings: &'a Settings,
    /// The filter in force.
    pub filter: &'a Filter,
    /// The active view.
    pub tab: Tab,
    /// Its sort.
    pub sort: Sort,
    /// Whether its detail pane is open.
    pub detail: bool,
    /// Every view's table state (the overview also drives the listeners').
    pub tables: &'a mut [TableNav; 8],
    /// Click targets.
    pub regions: &'a mut Regions,
    /// The Connections view's row order.
    pub connection_rows: &'a mut RowCache,
}

impl App {
    /// A dashboard with no sample yet.
    pub fn new(settings: Settings, interval: Duration, sort_columns: [usize; 8]) -> App {
        App {
            pipeline: Pipeline::new(settings.rules.clone()),
            settings,
            live: None,
            frozen: None,
            tab: Tab::Overview,
            interval,
            help: false,
            // The findings' explanation and remedy are what that view is for: open by default.
            details: [false, false, false, false, false, false, false, true],
            filter: Filter::default(),
            filter_input: None,
            tables: Default::default(),
            sorts: Default::default(),
            mouse: true,
            stale: false,
            message: None,
            collector_error: None,
            regions: Regions::default(),
            sort_columns,
            connection_rows: RowCache::default(),
        }
    }

    /// The frame on screen: the frozen one while frozen, else the newest.
    pub fn frame(&self) -> Option<&Frame> {
        self.frozen.as_ref().map(|frozen| &*frozen.frame).or(self.live.as_deref())
    }

    /// The history on screen (frozen with the frame).
    pub fn history(&self) -> &History {
        self.frozen.as_ref().map_or(self.pipeline.history(), |frozen| &frozen.history)
    }

    /// The state a view draws from; `None` before the first sample.
    pub fn parts(&mut self) -> Option<Parts<'_>> {
        let index = self.tab.index();
        let (frame, history) = match &self.frozen {
            Some(frozen) => (&*frozen.frame, &frozen.history),
            None => (self.live.as_deref()?, self.pipeline.history()),
        };
        Some(Parts {
            frame,
            history,
            settings: &self.settings,
            filter: &self.filter,
            tab: self.tab,
            sort: self.sorts[index],
            detail: self.details[index],
            tables: &mut self.tables,
            regions: &mut self.regions,
            connection_rows: &mut self.connection_rows,
        })
    }

    /// Whether the screen is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Whether the active view wants every socket collected.
    pub fn wants_connections(&self) -> bool {
        matches!(self.tab, Tab::Connections | Tab::States)
            || (matches!(self.tab, Tab::Listeners | Tab::Ports) && self.details[self.tab.index()])
    }

    /// The active view's table state.
    pub fn nav(&mut self) -> &mut TableNav {
        &mut self.tables[self.tab.index()]
    }

    /// Applies one event; returns what the event loop must do.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let wanted_before = self.wants_connections();
        let mut effects = match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(&key),
            Event::Key(_) | Event::Resize => Vec::new(),
            Event::Mouse(mouse) => self.handle_mouse(&mouse),
            Event::Sample(sample) => {
                self.push_sample(*sample);
                Vec::new()
            }
            Event::CollectorStopped(reason) => {
                self.collector_error = Some(reason);
                Vec::new()
            }
            Event::Terminate(signal) => vec![Effect::Exit(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)))],
        };
        // Whatever changed the view (a key, a click), the collector learns whether to keep
        // every socket here, in one place.
        if self.wants_connections() != wanted_before {
            effects.push(Effect::CollectConnections(self.wants_connections()));
        }
        effects
    }

    /// Takes a new sample through the pipeline: its frame goes on screen (unless frozen).
    pub fn push_sample(&mut self, sample: Sample) {
        self.live = Some(self.pipeline.push(sample));
        self.stale = false;
    }

    fn handle_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        self.message = None;
        if let Some(input) = self.filter_input.as_mut() {
            let name = keymap::key_name(key).unwrap_or_default();
            match self.settings.keymap.lookup(Context::FilterInput, &name) {
                Some(action) => return self.apply(action, key),
                None => {
                    if let KeyCode::Char(c) = key.code
                        && !key.modifiers.contains(ratatui::crossterm::event::KeyModifiers::CONTROL)
                    {
                        input.push(c);
                    }
                    return Vec::new();
                }
            }
        }
        let Some(name) = keymap::key_name(key) else {
            return Vec::new();
        };
        let context = if self.help { Context::Global } else { Context::Table };
        match self.settings.keymap.lookup(context, &name) {
            Some(action) => self.apply(action, key),
            None => self.unbound_alt(key),
        }
    }

    /// Esc followed quickly by a key reaches the program as that key with Alt (the terminal
    /// cannot tell them apart). No Alt key is bound, so it is taken as what was typed: Esc, then
    /// the key.
    fn unbound_alt(&mut self, key: &KeyEvent) -> Vec<Effect> {
        use ratatui::crossterm::event::KeyModifiers;
        if !key.modifiers.contains(KeyModifiers::ALT) || key.modifiers.contains(KeyModifiers::CONTROL) {
            return Vec::new();
        }
        let mut effects = self.apply(Action::Back, key);
        let plain = KeyEvent::new(key.code, key.modifiers - KeyModifiers::ALT);
        effects.extend(self.handle_key(&plain));
        effects
    }

    /// Carries out an action (the key that triggered it is needed for the view number).
    pub fn apply(&mut self, action: Action, key: &KeyEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        match action {
            Action::Quit => effects.push(Effect::Exit(0)),
            Action::Help => self.help = !self.help,
            Action::Suspend => effects.push(Effect::Suspend),
            Action::NextTab => self.switch_tab((self.tab.index() + 1) % Tab::ALL.len()),
            Action::PreviousTab => self.switch_tab((self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()),
            Action::GoToTab => {
                if let KeyCode::Char(c) = key.code
                    && let Some(digit) = c.to_digit(10)
                {
                    self.switch_tab((digit as usize).saturating_sub(1));
                }
            }
            Action::Up => self.nav().move_by(-1),
            Action::Down => self.nav().move_by(1),
            Action::PageUp => {
                let page = self.nav().page as isize;
                self.nav().move_by(-page);
            }
            Action::PageDown => {
                let page = self.nav().page as isize;
                self.nav().move_by(page);
            }
            Action::Top => self.nav().select(0),
            Action::Bottom => self.nav().select(usize::MAX),
            Action::Details => self.open_details(),
            Action::Back => self.back(),
            Action::Filter => self.filter_input = Some(self.filter.text().to_string()),
            Action::SortNext => {
                let (index, columns) = (self.tab.index(), self.sort_columns[self.tab.index()]);
                if columns > 0 {
                    self.sorts[index].column = (self.sorts[index].column + 1) % columns;
                    self.sorts[index].reversed = false;
                }
            }
            Action::SortReverse => self.sorts[self.tab.index()].reversed ^= true,
            Action::Freeze => self.toggle_freeze(),
            Action::Faster => effects.extend(self.step_interval(-1)),
            Action::Slower => effects.extend(self.step_interval(1)),
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                self.message =
                    Some(if self.mouse { "mouse on" } else { "mouse off: the terminal selects text" }.into());
                effects.push(Effect::Mouse(self.mouse));
            }
            Action::FilterApply => self.apply_filter(),
            Action::FilterCancel => self.filter_input = None,
            Action::FilterBackspace => {
                if let Some(input) = self.filter_input.as_mut() {
                    input.pop();
                }
            }
            Action::FilterClear => self.filter_input = Some(String::new()),
        }
        effects
    }

    /// A click on a heading: sort by that column, or reverse the sort if it already is.
    fn sort_by(&mut self, sort: usize) {
        let current = &mut self.sorts[self.tab.index()];
        if current.column == sort {
            current.reversed ^= true;
        } else {
            *current = Sort { column: sort, reversed: false };
        }
    }

    fn switch_tab(&mut self, index: usize) {
        if let Some(tab) = Tab::ALL.get(index) {
            self.tab = *tab;
            self.help = false;
        }
    }

    /// Enter: on the overview, open the selected listener in the Listeners view; elsewhere
    /// toggle the detail pane.
    fn open_details(&mut self) {
        if self.tab == Tab::Overview {
            let key = self.tables[Tab::Overview.index()].key;
            self.tab = Tab::Listeners;
            if let Some(key) = key {
                self.tables[Tab::Listeners.index()].select_key(key);
            }
            self.details[Tab::Listeners.index()] = true;
            return;
        }
        let index = self.tab.index();
        self.details[index] = !self.details[index];
    }

    /// Esc: close the help, else the detail pane, else clear the filter. Never quits.
    fn back(&mut self) {
        let index = self.tab.index();
        if self.help {
            self.help = false;
        } else if self.details[index] {
            self.details[index] = false;
        } else if !self.filter.is_empty() {
            self.filter = Filter::default();
        }
    }

    fn apply_filter(&mut self) {
        let Some(text) = self.filter_input.take() else {
            return;
        };
        match Filter::parse(&text) {
            Ok(filter) => self.filter = filter,
            Err(error) => {
                self.message = Some(format!("filter not applied: {error}"));
                self.filter_input = Some(text);
            }
        }
    }

    fn toggle_freeze(&mut self) {
        if self.frozen.take().is_none()
            && let Some(frame) = self.live.clone()
        {
            self.frozen = Some(Frozen { frame, history: self.pipeline.history().clone() });
        }
    }

    fn step_interval(&mut self, direction: isize) -> Option<Effect> {
        let next = if direction < 0 {
            INTERVAL_STEPS.iter().rev().find(|step| **step < self.interval)
        } else {
            INTERVAL_STEPS.iter().find(|step| **step > self.interval)
        };
        match next {
            Some(step) => {
                self.interval = *step;
                self.message = Some(format!("sampling every {}", crate::render::format::interval(step.as_secs_f64())));
                Some(Effect::SetInterval(*step))
            }
            None => {
                self.message = Some("the interval is already at its limit".to_string());
                None
            }
        }
    }

    fn handle_mouse(&mut self, mouse: &MouseEvent) -> Vec<Effect> {
        let position = Position::new(mouse.column, mouse.row);
        match mouse.kind {
            MouseEventKind::ScrollDown => self.nav().move_by(3),
            MouseEventKind::ScrollUp => self.nav().move_by(-3),
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(tab) = self.regions.tabs.iter().find(|(area, _)| area.contains(position)).map(|(_, t)| *t) {
                    self.switch_tab(tab.index());
                } else if let Some(sort) =
                    self.regions.header.iter().find(|(area, _)| area.contains(position)).map(|(_, sort)| *sort)
                {
                    self.sort_by(sort);
                } else if let Some(table) = self.regions.table.filter(|area| area.contains(position)) {
                    let offset = self.nav().offset;
                    self.nav().select(offset + usize::from(position.y - table.y));
                }
            }
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn app() -> App {
        let settings = Settings {
            rules: Rules::default(),
            theme: Theme::mono(),
            time_zone: jiff::tz::TimeZone::UTC,
            keymap: Keymap::default(),
        };
        App::new(settings, Duration::from_secs(1), [3; 8])
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn selection_follows_the_row_across_reorders() {
        let mut nav = TableNav::default();
        nav.resolve(&[10, 20, 30], 2);
        nav.move_by(1);
        nav.resolve(&[10, 20, 30], 2);
        assert_eq!((nav.selected, nav.key), (1, Some(20)));
        nav.resolve(&[20, 30, 10], 2);
        assert_eq!((nav.selected, nav.key), (0, Some(20)));
        nav.resolve(&[30, 10], 2);
        assert_eq!((nav.selected, nav.key), (0, Some(30)), "a vanished row selects its neighbour");
        nav.select(usize::MAX);
        nav.resolve(&[30, 10], 1);
        assert_eq!((nav.selected, nav.offset), (1, 1), "the selection scrolls into view");
        nav.resolve(&[], 1);
        assert_eq!((nav.selected, nav.key, nav.offset), (0, None, 0));
    }

    #[test]
    fn keys_switch_views_and_ask_for_connections_only_where_needed() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('3')), vec![Effect::CollectConnections(true)]);
        assert_eq!(app.tab, Tab::Connections);
        assert_eq!(press(&mut app, KeyCode::Tab), Vec::new(), "States needs connections too");
        assert_eq!(press(&mut app, KeyCode::Tab), vec![Effect::CollectConnections(false)]);
        assert_eq!(app.tab, Tab::Ports);
        press(&mut app, KeyCode::BackTab);
        press(&mut app, KeyCode::BackTab);
        press(&mut app, KeyCode::BackTab);
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.tab, Tab::Overview);
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.tab, Tab::Findings);
    }

    #[test]
    fn esc_backs_out_one_layer_and_never_quits() {
        let mut app = app();
        press(&mut app, KeyCode::Char('2'));
        press(&mut app, KeyCode::Char('/'));
        for c in "port:80".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        assert_eq!(app.filter_input.as_deref(), Some("port:80"), "q and other keys are text while typing");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.filter.text(), "port:80");
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Char('?'));
        assert!(app.help && app.details[1]);
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert!(!app.help && app.details[1]);
        press(&mut app, KeyCode::Esc);
        assert!(!app.details[1]);
        assert_eq!(app.filter.text(), "port:80");
        press(&mut app, KeyCode::Esc);
        assert!(app.filter.is_empty());
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert_eq!(press(&mut app, KeyCode::Char('q')), vec![Effect::Exit(0)]);
    }

    #[test]
    fn a_bad_filter_stays_in_the_input_with_the_reason() {
        let mut app = app();
        press(&mut app, KeyCode::Char('/'));
        for c in "port:web".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.filter_input.as_deref(), Some("port:web"));
        assert!(app.message.as_deref().is_some_and(|m| m.contains("not a port number")));
        press(&mut app, KeyCode::Esc);
        assert_eq!((app.filter_input.as_deref(), app.filter.is_empty()), (None, true));
    }

    #[test]
    fn the_interval_steps_and_stops_at_its_limits() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('+')), vec![Effect::SetInterval(Duration::from_millis(500))]);
        assert_eq!(press(&mut app, KeyCode::Char('+')), vec![Effect::SetInterval(Duration::from_millis(250))]);
        assert_eq!(press(&mut app, KeyCode::Char('+')), Vec::new());
        assert!(app.message.as_deref().is_some_and(|m| m.contains("limit")));
        app.interval = Duration::from_millis(1500);
        assert_eq!(press(&mut app, KeyCode::Char('-')), vec![Effect::SetInterval(Duration::from_secs(2))]);
    }

    #[test]
    fn sort_keys_cycle_and_reverse() {
        let mut app = app();
        press(&mut app, KeyCode::Char('2'));
        press(&mut app, KeyCode::Char('S'));
        assert_eq!(app.sorts[1], Sort { column: 0, reversed: true });
        press(&mut app, KeyCode::Char('s'));
        press(&mut app, KeyCode::Char('s'));
        press(&mut app, KeyCode::Char('s'));
        assert_eq!(app.sorts[1], Sort { column: 0, reversed: false });
    }

    #[test]
    fn esc_typed_quickly_before_a_key_is_both() {
        let mut app = app();
        press(&mut app, KeyCode::Char('?'));
        let alt_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT);
        assert_eq!(app.handle(Event::Key(alt_q)), vec![Effect::Exit(0)]);
        assert!(!app.help, "the Esc closed the help");
    }

    #[test]
    fn signals_exit_with_128_plus_the_signal() {
        assert_eq!(app().handle(Event::Terminate(15)), vec![Effect::Exit(143)]);
        assert_eq!(app().handle(Event::Terminate(1)), vec![Effect::Exit(129)]);
    }
}
