//! The dashboard's state and everything that changes it. [`App::handle`] takes one event (a key,
//! a click, a new sample, a signal) and returns the effects the event loop must carry out; it
//! never touches the terminal or a thread, so tests drive it with plain events and no sleeps.
//! Each tab owns its table's selection, sort and detail pane ([`super::component::Tab`]); the
//! app owns what is shared: the pipeline, the frame on screen, the filter, the help and freeze.

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::component::{Ctx, Tab, TabId};
use super::filter::Filter;
use super::keymap::{self, Action, Context, Keymap};
use super::replay::{self, JUMP, Replayed, Seek};
use super::table::{TableControl, TableNav};
use super::theme::Theme;
use super::views;
use super::widgets::Drawn;
use crate::advise::Rules;
use crate::collect::{Observed, Round};
use crate::engine::{Frame, Pipelines, Scene, View, ViewState};
use crate::model::history::History;
use crate::sample::Sample;

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
    /// Suspend to the shell (Ctrl-Z, SIGTSTP).
    Suspend,
    /// Take the terminal back and repaint it all (SIGCONT: the shell may have reset it).
    Resume,
    /// Move a replay's cursor (or play, pause, change speed).
    Replay(Seek),
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
    /// A new round of samples from the collector (one per namespace watched).
    Round(Round),
    /// A replay at its cursor.
    Replayed(Box<Replayed>),
    /// The collector stopped (it panicked, or its source ended): the screen says so and keeps
    /// working.
    CollectorStopped(String),
    /// A signal asked the dashboard to end (SIGTERM, SIGHUP, SIGQUIT, SIGINT, SIGUSR1, ...).
    Terminate(i32),
    /// SIGTSTP: stop like any job, the terminal handed back first.
    Stop,
    /// SIGCONT: the process runs again after a stop.
    Continue,
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

/// A frozen screen: every namespace and its history at the moment of freezing.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// What is shown.
    pub scene: Arc<Scene>,
    /// The pipelines as they were, for their histories.
    pub pipelines: Pipelines,
}

/// Which namespaces the dashboard shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The first namespace on view: the only one of a single-namespace source.
    First,
    /// One namespace, by inode.
    One(u64),
    /// Every namespace on view: Listeners, Connections and Findings merge them, with a
    /// namespace column; the other views show the first.
    All,
}

/// What the input line is typed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// A filter (`/`).
    Filter,
    /// A time to jump to in a replay (`t`).
    Time,
}

/// Screen areas recorded while drawing, for mouse clicks.
#[derive(Debug, Clone, Default)]
pub struct Regions {
    /// Each tab's title in the tab bar.
    pub tabs: Vec<(Rect, TabId)>,
    /// The rows of the active table (without its header).
    pub table: Option<Rect>,
    /// The active table's sortable headings, with their index among the table's sorts.
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

impl Settings {
    /// The defaults with a screen that reads the same on every machine: the default rules and
    /// keys, no colours, clock times in UTC (render tests, snapshots, the soak).
    pub fn plain() -> Settings {
        Settings {
            rules: Rules::default(),
            theme: Theme::mono(),
            time_zone: jiff::tz::TimeZone::UTC,
            keymap: Keymap::default(),
        }
    }
}

/// The whole state of the dashboard.
pub struct App {
    /// Start-up choices.
    pub settings: Settings,
    pipelines: Pipelines,
    live: Option<Arc<Scene>>,
    frozen: Option<Frozen>,
    /// Which namespaces are shown.
    pub scope: Scope,
    tabs: Vec<Box<dyn Tab>>,
    /// The active view.
    pub tab: TabId,
    /// The sampling interval.
    pub interval: Duration,
    /// Whether the help overlay is open.
    pub help: bool,
    /// The filter in force.
    pub filter: Filter,
    /// The text being typed, while the input line is open (a filter, or a replay's time).
    pub filter_input: Option<String>,
    /// What the input line is for.
    pub typing: Typing,
    /// Where the replay stands; `None` for a live dashboard.
    pub replay: Option<replay::Position>,
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
    /// The capabilities sockscope runs with beyond its user's ([`crate::capabilities::raised`]),
    /// named in the header; empty for root and for an ordinary user.
    pub raised: Vec<String>,
}

impl App {
    /// A dashboard with no sample yet.
    pub fn new(settings: Settings, interval: Duration) -> App {
        App {
            pipelines: Pipelines::new(settings.rules.clone()),
            settings,
            live: None,
            frozen: None,
            scope: Scope::First,
            tabs: views::tabs(),
            tab: TabId::Overview,
            interval,
            help: false,
            filter: Filter::default(),
            filter_input: None,
            typing: Typing::Filter,
            replay: None,
            mouse: true,
            stale: false,
            message: None,
            collector_error: None,
            regions: Regions::default(),
            raised: Vec::new(),
        }
    }

    /// The scene on screen: the frozen one while frozen, else the newest.
    pub fn scene(&self) -> Option<&Scene> {
        self.frozen.as_ref().map(|frozen| &*frozen.scene).or(self.live.as_deref())
    }

    /// The namespace in focus: the one picked, else the first on view.
    pub fn view(&self) -> Option<&View> {
        let scene = self.scene()?;
        match self.scope {
            Scope::One(inode) => scene.view(inode),
            Scope::First | Scope::All => scene.views.iter().find(|view| view.frame.is_some()),
        }
    }

    /// The frame of the namespace in focus.
    pub fn frame(&self) -> Option<&Frame> {
        self.view()?.frame.as_deref()
    }

    /// The history of the namespace in focus (frozen with the frame).
    pub fn history(&self) -> &History {
        static EMPTY: std::sync::OnceLock<History> = std::sync::OnceLock::new();
        let inode = self.view().map(|view| view.netns.inode).unwrap_or_default();
        self.pipelines_shown().history(inode).unwrap_or_else(|| EMPTY.get_or_init(History::default))
    }

    /// The pipelines whose histories are on screen.
    fn pipelines_shown(&self) -> &Pipelines {
        self.frozen.as_ref().map_or(&self.pipelines, |frozen| &frozen.pipelines)
    }

    /// What the header says is shown: "all namespaces", or the namespace in focus.
    pub fn scope_label(&self) -> String {
        match (self.scope, self.view()) {
            (Scope::All, _) => {
                let count = self.scene().map_or(0, |scene| scene.views.len());
                format!("all namespaces ({count})")
            }
            (_, Some(view)) => {
                let mut label = format!("netns {}", crate::format::netns(&view.netns));
                if let Some(hint) = &view.netns.container {
                    label.push_str(&format!(" {}", crate::format::container(hint)));
                }
                if let ViewState::Gone { reason, at } = &view.state {
                    let at = at.to_zoned(self.settings.time_zone.clone()).strftime("%H:%M:%S");
                    label.push_str(&format!(" GONE at {at}, last numbers ({})", crate::format::sanitize(reason)));
                }
                label
            }
            (_, None) => "no namespace".to_string(),
        }
    }

    /// Moves the scope to the next namespace (or back): all namespaces, then each in turn.
    fn step_scope(&mut self, forward: bool) {
        let Some(scene) = self.scene() else { return };
        let mut choices: Vec<Scope> = scene.views.iter().map(|view| Scope::One(view.netns.inode)).collect();
        if choices.len() > 1 {
            choices.insert(0, Scope::All);
        }
        let current = match self.scope {
            Scope::First => self.view().map(|view| Scope::One(view.netns.inode)).unwrap_or(Scope::First),
            other => other,
        };
        let at = choices.iter().position(|choice| *choice == current).unwrap_or(0);
        let next = if forward { at + 1 } else { at + choices.len().saturating_sub(1) };
        if let Some(choice) = choices.get(next % choices.len().max(1)) {
            self.scope = *choice;
            self.message = Some(format!("showing {}", self.scope_label()));
        }
    }

    /// Whether the screen is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// A tab's table state: its selection, sort and detail pane.
    pub fn table(&self, tab: TabId) -> &dyn TableControl {
        self.tabs[tab.index()].table()
    }

    /// The selection of a tab's table.
    pub fn nav_of(&self, tab: TabId) -> &TableNav {
        self.table(tab).nav_ref()
    }

    /// Whether the active view wants every socket collected.
    pub fn wants_connections(&self) -> bool {
        self.active().wants_connections()
    }

    /// Draws the active tab into `area` from the frame on screen; nothing before the first
    /// sample.
    pub fn draw_tab(&mut self, frame: &mut ratatui::Frame, area: Rect) {
        // The tabs draw from the app's state while one of them changes its own.
        let mut tabs = std::mem::take(&mut self.tabs);
        let drawn = self.draw_tab_with(&mut tabs, frame, area);
        self.tabs = tabs;
        if let Some(Drawn { rows, header }) = drawn {
            self.regions.table = Some(rows);
            self.regions.header = header;
        }
    }

    fn draw_tab_with(&self, tabs: &mut [Box<dyn Tab>], frame: &mut ratatui::Frame, area: Rect) -> Option<Drawn> {
        let (Some(scene), Some(view)) = (self.scene(), self.view()) else { return None };
        let shown = view.frame.as_deref()?;
        let tab = tabs.get_mut(self.tab.index())?;
        let merged = self.scope == Scope::All && tab.merges_namespaces();
        let in_scope: Vec<(&View, &Frame)> = match merged {
            true => scene.frames().map(|(view, frame)| (view, &**frame)).collect(),
            false => vec![(view, shown)],
        };
        let focus_note = (self.scope == Scope::All && !merged)
            .then(|| format!("of {} only; n picks another ", crate::format::netns(&view.netns)));
        let ctx = Ctx {
            frame: shown,
            model: &shown.model,
            sample: &shown.sample,
            history: self.history(),
            theme: &self.settings.theme,
            time_zone: &self.settings.time_zone,
            filter: &self.filter,
            in_scope,
            all: merged,
            pipelines: self.pipelines_shown(),
            generation: scene.generation,
            focus_note,
            replay: self.replay.is_some(),
        };
        tab.draw(frame, area, &ctx)
    }

    /// Applies one event; returns what the event loop must do.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let wanted_before = self.wants_connections();
        let mut effects = match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.handle_key(&key),
            Event::Key(_) | Event::Resize => Vec::new(),
            Event::Mouse(mouse) => self.handle_mouse(&mouse),
            Event::Round(round) => {
                self.push_round(round);
                Vec::new()
            }
            Event::Replayed(replayed) => {
                self.show_replayed(*replayed);
                Vec::new()
            }
            Event::CollectorStopped(reason) => {
                self.collector_error = Some(reason);
                Vec::new()
            }
            Event::Terminate(signal) => vec![Effect::Exit(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)))],
            Event::Stop => vec![Effect::Suspend],
            Event::Continue => vec![Effect::Resume],
        };
        // Whatever changed the view (a key, a click), the collector learns whether to keep
        // every socket here, in one place.
        if self.wants_connections() != wanted_before {
            effects.push(Effect::CollectConnections(self.wants_connections()));
        }
        effects
    }

    /// Takes a new round through the pipelines: its scene goes on screen (unless frozen).
    pub fn push_round(&mut self, round: Round) {
        self.live = Some(self.pipelines.push(round));
        self.stale = false;
    }

    /// Puts a replay's cursor on screen: its pipelines (for the histories) and its scene.
    pub fn show_replayed(&mut self, replayed: Replayed) {
        let Replayed { pipelines, scene, position, message } = replayed;
        self.pipelines = pipelines;
        self.live = Some(scene);
        self.replay = Some(position);
        self.stale = false;
        if message.is_some() {
            self.message = message;
        }
    }

    /// Takes one sample through the pipelines, as a round of one namespace.
    pub fn push_sample(&mut self, sample: Sample) {
        self.push_round(Round::new(vec![Observed::Sample(Box::new(sample))]));
    }

    fn active(&self) -> &dyn Tab {
        self.tabs[self.tab.index()].as_ref()
    }

    fn table_mut(&mut self) -> &mut dyn TableControl {
        self.tabs[self.tab.index()].table_mut()
    }

    fn nav(&mut self) -> &mut TableNav {
        self.table_mut().nav()
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
        let replaying = self.replay.is_some() && !self.help;
        let replay_key = replaying.then(|| self.settings.keymap.lookup(Context::Replay, &name)).flatten();
        match replay_key.or_else(|| self.settings.keymap.lookup(context, &name)) {
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
            Action::NextTab => self.switch_tab((self.tab.index() + 1) % TabId::ALL.len()),
            Action::PreviousTab => self.switch_tab((self.tab.index() + TabId::ALL.len() - 1) % TabId::ALL.len()),
            Action::GoToTab => {
                if let KeyCode::Char(c) = key.code
                    && let Some(digit) = c.to_digit(10)
                {
                    self.switch_tab((digit as usize).saturating_sub(1));
                }
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.move_selection(action);
            }
            Action::Details => self.open_details(),
            Action::Back => self.back(),
            Action::Filter => {
                self.filter_input = Some(self.filter.text().to_string());
                self.typing = Typing::Filter;
            }
            Action::SortNext => self.table_mut().sort_next(),
            Action::SortReverse => self.table_mut().sort_reverse(),
            Action::ToggleZeros => {
                if !self.tabs[self.tab.index()].act(action) {
                    self.message = Some("z shows the zero counters in the Counters view (9)".into());
                }
            }
            Action::Freeze => self.toggle_freeze(),
            Action::NextNamespace => self.step_scope(true),
            Action::PreviousNamespace => self.step_scope(false),
            Action::Faster => effects.extend(self.step_interval(-1)),
            Action::Slower => effects.extend(self.step_interval(1)),
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                self.message =
                    Some(if self.mouse { "mouse on" } else { "mouse off: the terminal selects text" }.into());
                effects.push(Effect::Mouse(self.mouse));
            }
            Action::FilterApply => effects.extend(self.apply_input()),
            Action::FilterCancel => self.filter_input = None,
            Action::FilterBackspace => {
                if let Some(input) = self.filter_input.as_mut() {
                    input.pop();
                }
            }
            Action::FilterClear => self.filter_input = Some(String::new()),
            Action::FindingsLog => {
                if !self.tabs[self.tab.index()].act(action) {
                    self.message = Some("l shows the findings log in the Findings view (8)".into());
                }
            }
            Action::PlayPause => effects.extend(self.seek(Seek::PlayPause)),
            Action::StepBack => effects.extend(self.seek(Seek::Step(-1))),
            Action::StepForward => effects.extend(self.seek(Seek::Step(1))),
            Action::JumpBack => effects.extend(self.seek(Seek::Jump(-JUMP))),
            Action::JumpForward => effects.extend(self.seek(Seek::Jump(JUMP))),
            Action::PlayFaster => effects.extend(self.seek(Seek::Speed(1))),
            Action::PlaySlower => effects.extend(self.seek(Seek::Speed(-1))),
            Action::GoToTime => {
                if self.replay.is_some() {
                    self.filter_input = Some(String::new());
                    self.typing = Typing::Time;
                }
            }
        }
        effects
    }

    /// A seek for the replayer; nothing in a live dashboard.
    fn seek(&mut self, seek: Seek) -> Option<Effect> {
        self.replay.is_some().then_some(Effect::Replay(seek))
    }

    /// Enter on the input line: apply the filter, or jump to the typed time.
    fn apply_input(&mut self) -> Option<Effect> {
        match self.typing {
            Typing::Filter => {
                self.apply_filter();
                None
            }
            Typing::Time => {
                let (text, position) = (self.filter_input.take()?, self.replay.clone()?);
                let zone = self.settings.time_zone.clone();
                match crate::record::moment::parse(&text, position.covered, &zone) {
                    Ok(at) => Some(Effect::Replay(Seek::To(at))),
                    Err(error) => {
                        self.message = Some(error);
                        self.filter_input = Some(text);
                        None
                    }
                }
            }
        }
    }

    fn move_selection(&mut self, action: Action) {
        let nav = self.nav();
        let page = nav.page as isize;
        match action {
            Action::Up => nav.move_by(-1),
            Action::Down => nav.move_by(1),
            Action::PageUp => nav.move_by(-page),
            Action::PageDown => nav.move_by(page),
            Action::Top => nav.select(0),
            _ => nav.select(usize::MAX),
        }
    }

    fn switch_tab(&mut self, index: usize) {
        if let Some(tab) = TabId::ALL.get(index) {
            self.tab = *tab;
            self.help = false;
        }
    }

    /// Enter: on the overview, open the selected listener in the Listeners view; elsewhere
    /// toggle the detail pane.
    fn open_details(&mut self) {
        if self.tab == TabId::Overview {
            let key = self.nav_of(TabId::Overview).key;
            self.tab = TabId::Listeners;
            let listeners = self.table_mut();
            if let Some(key) = key {
                listeners.nav().select_key(key);
            }
            listeners.set_detail(true);
            return;
        }
        let table = self.table_mut();
        let open = table.detail();
        table.set_detail(!open);
    }

    /// Esc: close the help, else the detail pane, else clear the filter. Never quits.
    fn back(&mut self) {
        if self.help {
            self.help = false;
        } else if self.table_mut().detail() {
            self.table_mut().set_detail(false);
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
            && let Some(scene) = self.live.clone()
        {
            self.frozen = Some(Frozen { scene, pipelines: self.pipelines.clone() });
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
                self.message = Some(format!("sampling every {}", crate::format::interval(step.as_secs_f64())));
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
                    self.table_mut().sort_by_index(sort);
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
        let settings = Settings::plain();
        App::new(settings, Duration::from_secs(1))
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn keys_switch_views_and_ask_for_connections_only_where_needed() {
        let mut app = app();
        assert_eq!(press(&mut app, KeyCode::Char('3')), vec![Effect::CollectConnections(true)]);
        assert_eq!(app.tab, TabId::Connections);
        assert_eq!(press(&mut app, KeyCode::Tab), Vec::new(), "States needs connections too");
        assert_eq!(press(&mut app, KeyCode::Tab), vec![Effect::CollectConnections(false)]);
        assert_eq!(app.tab, TabId::Ports);
        assert_eq!(press(&mut app, KeyCode::Enter), vec![Effect::CollectConnections(true)], "a destination's detail");
        press(&mut app, KeyCode::BackTab);
        press(&mut app, KeyCode::BackTab);
        press(&mut app, KeyCode::BackTab);
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.tab, TabId::Overview);
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.tab, TabId::Counters, "the last view");
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
        assert!(app.help && app.table(TabId::Listeners).detail());
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert!(!app.help && app.table(TabId::Listeners).detail());
        press(&mut app, KeyCode::Esc);
        assert!(!app.table(TabId::Listeners).detail());
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
    fn each_tab_keeps_its_own_detail_pane() {
        let mut app = app();
        assert!(app.table(TabId::Findings).detail(), "the findings' explanation is open by default");
        press(&mut app, KeyCode::Char('6'));
        press(&mut app, KeyCode::Enter);
        press(&mut app, KeyCode::Char('7'));
        assert!(app.table(TabId::Interfaces).detail() && !app.table(TabId::Kernel).detail());
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
        assert_eq!(app().handle(Event::Terminate(10)), vec![Effect::Exit(138)]);
    }

    #[test]
    fn sigtstp_suspends_and_sigcont_resumes() {
        assert_eq!(app().handle(Event::Stop), vec![Effect::Suspend]);
        assert_eq!(app().handle(Event::Continue), vec![Effect::Resume]);
    }
}
