//! What a tab of the dashboard is: a component that owns its table's navigation, sort and
//! detail state and draws itself from the frame on screen. The app dispatches keys and clicks
//! to the active tab through this trait and never reaches into a tab's internals.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::filter::Filter;
use super::table::TableControl;
use super::theme::Theme;
use super::widgets::Drawn;
use crate::engine::{Frame as Shown, Pipelines, View};
use crate::model::Model;
use crate::model::history::History;
use crate::sample::Sample;

/// The dashboard's views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TabId {
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
    /// Every kernel counter, as nstat shows them.
    Counters,
}

impl TabId {
    /// Every tab, in order; number keys select them 1-based.
    pub const ALL: [TabId; 9] = [
        TabId::Overview,
        TabId::Listeners,
        TabId::Connections,
        TabId::States,
        TabId::Ports,
        TabId::Interfaces,
        TabId::Kernel,
        TabId::Findings,
        TabId::Counters,
    ];

    /// The tab's position in [`TabId::ALL`].
    pub fn index(self) -> usize {
        TabId::ALL.iter().position(|tab| *tab == self).unwrap_or(0)
    }

    /// The tab's title in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            TabId::Overview => "Overview",
            TabId::Listeners => "Listeners",
            TabId::Connections => "Connections",
            TabId::States => "States",
            TabId::Ports => "Ports",
            TabId::Interfaces => "Interfaces",
            TabId::Kernel => "Kernel",
            TabId::Findings => "Findings",
            TabId::Counters => "Counters",
        }
    }

    /// The title when the tab bar is narrow.
    pub fn short_title(self) -> &'static str {
        match self {
            TabId::Overview => "Over",
            TabId::Listeners => "Listen",
            TabId::Connections => "Conns",
            TabId::States => "States",
            TabId::Ports => "Ports",
            TabId::Interfaces => "Ifaces",
            TabId::Kernel => "Kernel",
            TabId::Findings => "Finds",
            TabId::Counters => "Ctrs",
        }
    }

    /// The title when even the short titles do not fit (at 80 columns).
    pub fn tiny_title(self) -> &'static str {
        match self {
            TabId::Overview => "Over",
            TabId::Listeners => "Lstn",
            TabId::Connections => "Conn",
            TabId::States => "Stat",
            TabId::Ports => "Port",
            TabId::Interfaces => "Ifac",
            TabId::Kernel => "Kern",
            TabId::Findings => "Find",
            TabId::Counters => "Ctrs",
        }
    }
}

/// What every tab draws from: the frame on screen, split into its model and sample for short
/// access, the history, the colours and the filter in force.
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
    /// Time zone for clock times.
    pub time_zone: &'a jiff::tz::TimeZone,
    /// The filter in force.
    pub filter: &'a Filter,
    /// The namespaces whose rows the merged views (Listeners, Connections, Findings) show: the
    /// one in focus, or every namespace with a frame.
    pub in_scope: Vec<(&'a View, &'a Shown)>,
    /// Whether every namespace is shown (the merged views add a namespace column).
    pub all: bool,
    /// The pipelines, for the history of any namespace.
    pub pipelines: &'a Pipelines,
    /// Counts scenes; caches of merged rows key on it.
    pub generation: u64,
    /// When every namespace is picked but this tab shows one namespace's numbers: which one,
    /// for the tab's title.
    pub focus_note: Option<String>,
    /// Whether the frame comes from a recording (what is missing was not recorded, and will
    /// not arrive with the next sample).
    pub replay: bool,
}

impl<'a> Ctx<'a> {
    /// What a view says when the sample holds no per-socket list: it is being collected
    /// (live), or was not recorded (replay).
    pub fn sockets_missing(&self, live: &'static str) -> &'static str {
        match self.replay {
            true => "every socket was not recorded (record with --connections to replay them)",
            false => live,
        }
    }

    /// The history of the namespace with this inode (the one in focus when it has none).
    pub fn history_of(&self, inode: u64) -> &'a History {
        self.pipelines.history(inode).unwrap_or(self.history)
    }

    /// The context of one namespace's frame, for drawing what belongs to it (a detail pane).
    pub fn for_namespace(&self, view: &'a View, frame: &'a Shown) -> Ctx<'a> {
        Ctx {
            frame,
            model: &frame.model,
            sample: &frame.sample,
            history: self.history_of(view.netns.inode),
            theme: self.theme,
            time_zone: self.time_zone,
            filter: self.filter,
            in_scope: vec![(view, frame)],
            all: false,
            pipelines: self.pipelines,
            generation: self.generation,
            focus_note: None,
            replay: self.replay,
        }
    }
}

/// The three methods every tab implements the same way, for a tab struct whose table state is
/// its field `table`: `tab_table!(TabId::Listeners);` inside `impl Tab for ...`.
macro_rules! tab_table {
    ($id:expr) => {
        fn id(&self) -> $crate::tui::component::TabId {
            $id
        }

        fn table(&self) -> &dyn $crate::tui::table::TableControl {
            &self.table
        }

        fn table_mut(&mut self) -> &mut dyn $crate::tui::table::TableControl {
            &mut self.table
        }
    };
}
pub(crate) use tab_table;

/// One tab of the dashboard.
pub trait Tab {
    /// Which tab this is.
    fn id(&self) -> TabId;

    /// The tab's table state, to read.
    fn table(&self) -> &dyn TableControl;

    /// The tab's table state, to change (keys, clicks).
    fn table_mut(&mut self) -> &mut dyn TableControl;

    /// Draws the tab into `area`; returns where its table landed, for mouse clicks.
    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn>;

    /// Whether the tab merges the rows of every namespace when all are shown (the others show
    /// the namespace in focus).
    fn merges_namespaces(&self) -> bool {
        false
    }

    /// Whether the tab, as it stands, needs every socket collected one by one.
    fn wants_connections(&self) -> bool {
        false
    }

    /// Carries out an action only some tabs have (the Findings view's log, the Counters view's
    /// zeros); whether this tab has it.
    fn act(&mut self, _action: super::keymap::Action) -> bool {
        false
    }
}
