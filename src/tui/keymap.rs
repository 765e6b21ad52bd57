//! Every key the dashboard understands, defined once as data. [`BINDINGS`] holds the defaults;
//! a [`Keymap`] applies the `[keys]` table of the configuration file to them and checks it for
//! clashes. Dispatch, the `?` help overlay and the footer hints all read the same [`Keymap`], so
//! the help cannot name a key that does nothing and a working key cannot be missing from it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Leave the dashboard.
    Quit,
    /// Open or close the help overlay.
    Help,
    /// Stop the process like any shell job (Ctrl-Z); `fg` resumes it.
    Suspend,
    /// Next view.
    NextTab,
    /// Previous view.
    PreviousTab,
    /// Jump to the view with the typed number.
    GoToTab,
    /// Selection up one row.
    Up,
    /// Selection down one row.
    Down,
    /// Selection up one page.
    PageUp,
    /// Selection down one page.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open the detail pane of the selected row.
    Details,
    /// Close the top layer (detail pane, help, filter input); never quits.
    Back,
    /// Type a filter.
    Filter,
    /// Sort by the next column.
    SortNext,
    /// Reverse the sort direction.
    SortReverse,
    /// Counters view: show or hide the counters that are zero.
    ToggleZeros,
    /// Freeze or unfreeze the view (collection goes on).
    Freeze,
    /// Show the next namespace: all namespaces, then each in turn (the namespace picker).
    NextNamespace,
    /// Show the previous namespace.
    PreviousNamespace,
    /// Sample more often.
    Faster,
    /// Sample less often.
    Slower,
    /// Turn mouse capture on or off (off lets the terminal select text).
    ToggleMouse,
    /// Apply the typed filter.
    FilterApply,
    /// Abandon the typed filter and keep the previous one.
    FilterCancel,
    /// Delete the character before the cursor.
    FilterBackspace,
    /// Clear the typed filter.
    FilterClear,
    /// Findings view: show the findings log instead of the table, or back.
    FindingsLog,
    /// Replay: play or pause.
    PlayPause,
    /// Replay: one sample back.
    StepBack,
    /// Replay: one sample forward.
    StepForward,
    /// Replay: one minute back.
    JumpBack,
    /// Replay: one minute forward.
    JumpForward,
    /// Replay: type a time to jump to.
    GoToTime,
    /// Replay: play faster (1×, 10×, 60×).
    PlayFaster,
    /// Replay: play slower.
    PlaySlower,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Anywhere except while typing a filter.
    Global,
    /// Views with a table (everything but the overview's panels).
    Table,
    /// While typing a filter (or a replay's time): every printable key is text, only these
    /// keys act.
    FilterInput,
    /// While replaying a recording: these keys come first, before the global ones they share.
    Replay,
}

impl Context {
    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Anywhere",
            Context::Table => "Tables",
            Context::FilterInput => "Typing a filter or a time",
            Context::Replay => "Replaying a recording",
        }
    }
}

/// One binding: the keys that trigger an action in a context, and how the help describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The name `[keys]` in the configuration file uses, e.g. `quit`, `page-down`.
    pub name: &'static str,
    /// What happens.
    pub action: Action,
    /// Key names as [`key_name`] spells them, e.g. `q`, `ctrl+c`, `pgdn`.
    pub keys: &'static [&'static str],
    /// Where it applies.
    pub context: Context,
    /// One line for the help overlay.
    pub description: &'static str,
    /// A word or two for the footer, when the binding is worth advertising there.
    pub hint: Option<&'static str>,
}

const fn bind(
    name: &'static str,
    action: Action,
    keys: &'static [&'static str],
    context: Context,
    description: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding { name, action, keys, context, description, hint }
}

/// Every binding, in the order the help lists them.
pub const BINDINGS: &[Binding] = &[
    bind("quit", Action::Quit, &["q", "ctrl+c"], Context::Global, "quit", Some("quit")),
    bind("help", Action::Help, &["?", "f1"], Context::Global, "this help", Some("help")),
    bind("next-view", Action::NextTab, &["tab"], Context::Global, "next view", None),
    bind("previous-view", Action::PreviousTab, &["shift+tab"], Context::Global, "previous view", None),
    bind(
        "go-to-view",
        Action::GoToTab,
        &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
        Context::Global,
        "go to view 1-9",
        Some("views"),
    ),
    bind("freeze", Action::Freeze, &["space", "f"], Context::Global, "freeze, keep collecting", Some("freeze")),
    bind("next-netns", Action::NextNamespace, &["n"], Context::Global, "next namespace or all", None),
    bind("previous-netns", Action::PreviousNamespace, &["N"], Context::Global, "previous namespace", None),
    bind("faster", Action::Faster, &["+", "="], Context::Global, "sample more often", None),
    bind("slower", Action::Slower, &["-"], Context::Global, "sample less often", Some("interval")),
    bind("filter", Action::Filter, &["/"], Context::Global, "filter rows (see below)", Some("filter")),
    bind("back", Action::Back, &["esc"], Context::Global, "back: pane, help, filter", None),
    bind("mouse", Action::ToggleMouse, &["m"], Context::Global, "mouse capture on/off", None),
    bind("suspend", Action::Suspend, &["ctrl+z"], Context::Global, "suspend; fg resumes", None),
    bind("up", Action::Up, &["k", "up"], Context::Table, "move up", None),
    bind("down", Action::Down, &["j", "down"], Context::Table, "move down", Some("move")),
    bind("page-up", Action::PageUp, &["pgup", "ctrl+b"], Context::Table, "page up", None),
    bind("page-down", Action::PageDown, &["pgdn", "ctrl+f"], Context::Table, "page down", None),
    bind("top", Action::Top, &["g", "home"], Context::Table, "first row", None),
    bind("bottom", Action::Bottom, &["G", "end"], Context::Table, "last row", None),
    bind("details", Action::Details, &["enter"], Context::Table, "details of the row", Some("details")),
    bind("sort", Action::SortNext, &["s"], Context::Table, "sort by next column", Some("sort")),
    bind("sort-reverse", Action::SortReverse, &["S"], Context::Table, "reverse the sort", None),
    bind("findings-log", Action::FindingsLog, &["l"], Context::Table, "findings log (view 8)", None),
    bind("zeros", Action::ToggleZeros, &["z"], Context::Table, "view 9: zeros on/off", None),
    bind("filter-apply", Action::FilterApply, &["enter"], Context::FilterInput, "apply the filter", Some("apply")),
    bind("filter-cancel", Action::FilterCancel, &["esc"], Context::FilterInput, "keep the old filter", Some("cancel")),
    bind("filter-backspace", Action::FilterBackspace, &["backspace"], Context::FilterInput, "delete a character", None),
    bind("filter-clear", Action::FilterClear, &["ctrl+u"], Context::FilterInput, "clear the line", Some("clear")),
    bind("filter-quit", Action::Quit, &["ctrl+c"], Context::FilterInput, "quit", None),
    bind("play", Action::PlayPause, &["space", "p"], Context::Replay, "play or pause", Some("play")),
    bind("step-back", Action::StepBack, &["left"], Context::Replay, "one sample back", None),
    bind("step-forward", Action::StepForward, &["right"], Context::Replay, "one sample forward", Some("step")),
    bind("jump-back", Action::JumpBack, &["["], Context::Replay, "one minute back", None),
    bind("jump-forward", Action::JumpForward, &["]"], Context::Replay, "one minute forward", Some("minute")),
    bind(
        "go-to-time",
        Action::GoToTime,
        &["t"],
        Context::Replay,
        "jump to a time (03:12, RFC 3339, -5m)",
        Some("time"),
    ),
    bind("play-faster", Action::PlayFaster, &[">", "+", "="], Context::Replay, "play faster: 1×, 10×, 60×", None),
    bind("play-slower", Action::PlaySlower, &["<", "-"], Context::Replay, "play slower", Some("speed")),
];

/// The name of a key press as bindings spell it: `q`, `G`, `?`, `ctrl+c`, `shift+tab`, `pgdn`,
/// `f1`, `space`. `None` for keys sockscope never binds.
pub fn key_name(event: &KeyEvent) -> Option<String> {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    let alt = event.modifiers.contains(KeyModifiers::ALT);
    let base = match event.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) if ctrl || alt => c.to_ascii_lowercase().to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".to_string(),
        KeyCode::Esc => "esc".to_string(),
        KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => "shift+tab".to_string(),
        KeyCode::Tab => "tab".to_string(),
        KeyCode::BackTab => "shift+tab".to_string(),
        KeyCode::Backspace => "backspace".to_string(),
        KeyCode::Up => "up".to_string(),
        KeyCode::Down => "down".to_string(),
        KeyCode::Left => "left".to_string(),
        KeyCode::Right => "right".to_string(),
        KeyCode::PageUp => "pgup".to_string(),
        KeyCode::PageDown => "pgdn".to_string(),
        KeyCode::Home => "home".to_string(),
        KeyCode::End => "end".to_string(),
        KeyCode::F(number) => format!("f{number}"),
        _ => return None,
    };
    Some(match (ctrl, alt) {
        (true, _) => format!("ctrl+{base}"),
        (false, true) => format!("alt+{base}"),
        _ => base,
    })
}

/// A key name as the help shows it: `Ctrl-C`, `Shift-Tab`, `PgDn`, `Space`, `F1`.
pub fn display(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("ctrl+") {
        return format!("Ctrl-{}", rest.to_uppercase());
    }
    match key {
        "shift+tab" => "Shift-Tab".to_string(),
        "pgup" => "PgUp".to_string(),
        "pgdn" => "PgDn".to_string(),
        "up" => "↑".to_string(),
        "down" => "↓".to_string(),
        "left" => "←".to_string(),
        "right" => "→".to_string(),
        "space" | "enter" | "esc" | "tab" | "home" | "end" | "backspace" => {
            let mut name = key.to_string();
            name[..1].make_ascii_uppercase();
            name
        }
        _ if key.starts_with('f') && key.len() > 1 && key[1..].chars().all(|c| c.is_ascii_digit()) => {
            key.to_uppercase()
        }
        _ => key.to_string(),
    }
}

/// The key names a configuration may use besides single characters and `ctrl+`/`alt+` with a
/// character.
const NAMED_KEYS: [&str; 14] = [
    "space",
    "enter",
    "esc",
    "tab",
    "shift+tab",
    "backspace",
    "up",
    "down",
    "left",
    "right",
    "pgup",
    "pgdn",
    "home",
    "end",
];

/// Whether `name` is a key name [`key_name`] can produce.
pub fn is_key_name(name: &str) -> bool {
    let single = |rest: &str| rest.chars().count() == 1 && !rest.starts_with(' ');
    single(name)
        || name.strip_prefix("ctrl+").is_some_and(|rest| single(rest) && rest == rest.to_lowercase())
        || name.strip_prefix("alt+").is_some_and(|rest| single(rest) && rest == rest.to_lowercase())
        || NAMED_KEYS.contains(&name)
        || name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()).is_some_and(|n| (1..=12).contains(&n))
}

/// One binding with the keys in force (the default or the configuration's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The binding (action, context, description).
    pub binding: &'static Binding,
    /// Its keys.
    pub keys: Vec<String>,
}

impl Bound {
    /// The keys as the help shows them: `q Ctrl-C`, or `1-9` for the view numbers.
    pub fn display_keys(&self) -> String {
        if self.binding.action == Action::GoToTab {
            return format!("1-{}", self.keys.len());
        }
        self.keys.iter().map(|key| display(key)).collect::<Vec<_>>().join(" ")
    }
}

/// The keys in force: [`BINDINGS`] with the configuration's `[keys]` applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bound: Vec<Bound>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bound = BINDINGS
            .iter()
            .map(|binding| Bound { binding, keys: binding.keys.iter().map(|key| key.to_string()).collect() })
            .collect();
        Keymap { bound }
    }
}

impl Keymap {
    /// The defaults with `overrides` (binding name → keys, from `[keys]`) applied; the error
    /// names the unknown binding, the bad key, or both bindings of a clash.
    pub fn with_overrides<'a>(
        overrides: impl IntoIterator<Item = (&'a String, &'a Vec<String>)>,
    ) -> Result<Keymap, String> {
        let mut keymap = Keymap::default();
        for (name, keys) in overrides {
            let Some(bound) = keymap.bound.iter_mut().find(|bound| bound.binding.name == name) else {
                let names: Vec<&str> = BINDINGS.iter().map(|b| b.name).filter(|n| *n != "go-to-view").collect();
                return Err(format!("keys.{name}: no such binding (known: {})", names.join(", ")));
            };
            if bound.binding.action == Action::GoToTab {
                return Err("keys.go-to-view: the view numbers cannot be rebound".to_string());
            }
            if keys.is_empty() {
                return Err(format!("keys.{name}: give at least one key"));
            }
            if let Some(bad) = keys.iter().find(|key| !is_key_name(key)) {
                return Err(format!(
                    "keys.{name}: '{bad}' is not a key name (e.g. \"x\", \"ctrl+x\", \"pgdn\", \"f2\")"
                ));
            }
            if bound.binding.context == Context::FilterInput
                && let Some(text) = keys.iter().find(|key| key.chars().count() == 1)
            {
                return Err(format!("keys.{name}: '{text}' would be typed into the filter; use a ctrl+ or named key"));
            }
            bound.keys = keys.clone();
        }
        keymap.check()?;
        Ok(keymap)
    }

    /// No key twice in one context, and no table key hiding a global one.
    fn check(&self) -> Result<(), String> {
        let clash = |a: &Bound, b: &Bound, key: &str| {
            Err(format!("keys: '{key}' is bound to both {} and {}", a.binding.name, b.binding.name))
        };
        for (index, a) in self.bound.iter().enumerate() {
            for b in &self.bound[index + 1..] {
                let related = a.binding.context == b.binding.context
                    || matches!(
                        (a.binding.context, b.binding.context),
                        (Context::Global, Context::Table) | (Context::Table, Context::Global)
                    );
                if let Some(key) = a.keys.iter().find(|key| related && b.keys.contains(key)) {
                    return clash(a, b, key);
                }
            }
        }
        Ok(())
    }

    /// Every binding with its keys, in help order.
    pub fn bindings(&self) -> &[Bound] {
        &self.bound
    }

    /// The action bound to `key` in `context`; the table context falls back to global keys,
    /// while a filter being typed takes every other key as text.
    pub fn lookup(&self, context: Context, key: &str) -> Option<Action> {
        let find = |wanted: Context| {
            self.bound
                .iter()
                .find(|bound| bound.binding.context == wanted && bound.keys.iter().any(|k| k == key))
                .map(|bound| bound.binding.action)
        };
        match context {
            Context::FilterInput => find(Context::FilterInput),
            Context::Table => find(Context::Table).or_else(|| find(Context::Global)),
            Context::Global => find(Context::Global),
            Context::Replay => find(Context::Replay),
        }
    }

    /// Footer hints for some contexts: `(keys, word)`, the first key of each binding.
    pub fn hints(&self, contexts: &[Context]) -> Vec<(String, &'static str)> {
        self.bound
            .iter()
            .filter(|bound| contexts.contains(&bound.binding.context))
            .filter_map(|bound| {
                let hint = bound.binding.hint?;
                let keys = match bound.binding.action {
                    Action::GoToTab => bound.display_keys(),
                    Action::Slower | Action::PlaySlower => {
                        let wanted =
                            if bound.binding.action == Action::Slower { Action::Faster } else { Action::PlayFaster };
                        let faster = self.bound.iter().find(|b| b.binding.action == wanted);
                        let first = |b: &Bound| b.keys.first().map(|key| display(key)).unwrap_or_default();
                        format!("{}/{}", faster.map(first).unwrap_or_default(), first(bound))
                    }
                    _ => display(bound.keys.first()?),
                };
                Some((keys, hint))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_defaults_pass_their_own_check() {
        assert_eq!(Keymap::default().check(), Ok(()));
        let names: HashSet<&str> = BINDINGS.iter().map(|b| b.name).collect();
        assert_eq!(names.len(), BINDINGS.len(), "binding names are unique");
    }

    #[test]
    fn overrides_replace_keys_and_mistakes_are_named() {
        let config = |text: &str| -> std::collections::BTreeMap<String, Vec<String>> {
            toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
        };
        let keymap = Keymap::with_overrides(&config("quit = [\"ctrl+q\"]\ndown = [\"x\", \"down\"]")).expect("valid");
        assert_eq!(keymap.lookup(Context::Table, "ctrl+q"), Some(Action::Quit));
        assert_eq!(keymap.lookup(Context::Table, "q"), None, "the default is replaced");
        assert_eq!(keymap.lookup(Context::Table, "x"), Some(Action::Down));
        assert_eq!(keymap.lookup(Context::FilterInput, "ctrl+c"), Some(Action::Quit), "typing keeps its own quit");
        let clash = Keymap::with_overrides(&config("help = [\"j\"]")).expect_err("clash");
        assert_eq!(clash, "keys: 'j' is bound to both help and down");
        let unknown = Keymap::with_overrides(&config("exit = [\"x\"]")).expect_err("unknown");
        assert!(unknown.starts_with("keys.exit: no such binding"), "{unknown}");
        let bad = Keymap::with_overrides(&config("quit = [\"Ctrl-Q\"]")).expect_err("bad key");
        assert!(bad.contains("'Ctrl-Q' is not a key name"), "{bad}");
        let typed = Keymap::with_overrides(&config("filter-apply = [\"a\"]")).expect_err("text");
        assert!(typed.contains("would be typed into the filter"), "{typed}");
        assert!(Keymap::with_overrides(&config("go-to-view = [\"x\"]")).is_err());
        assert!(Keymap::with_overrides(&config("quit = []")).is_err());
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for context in [Context::Global, Context::Table, Context::FilterInput, Context::Replay] {
            let mut seen = HashSet::new();
            for binding in BINDINGS.iter().filter(|b| b.context == context) {
                for key in binding.keys {
                    assert!(seen.insert(*key), "{key} is bound twice in {context:?}");
                }
            }
        }
    }

    #[test]
    fn table_keys_do_not_shadow_global_ones() {
        let global: HashSet<&str> =
            BINDINGS.iter().filter(|b| b.context == Context::Global).flat_map(|b| b.keys.iter().copied()).collect();
        for binding in BINDINGS.iter().filter(|b| b.context == Context::Table) {
            for key in binding.keys {
                assert!(!global.contains(key), "table key {key} hides a global key");
            }
        }
    }

    #[test]
    fn every_bound_key_name_is_one_key_name_produces() {
        let producible = |name: &str| {
            let event = |code, modifiers| KeyEvent::new(code, modifiers);
            let candidates = [
                name.strip_prefix("ctrl+")
                    .and_then(|rest| rest.chars().next())
                    .map(|c| event(KeyCode::Char(c), KeyModifiers::CONTROL)),
                name.chars()
                    .next()
                    .filter(|_| name.chars().count() == 1)
                    .map(|c| event(KeyCode::Char(c), KeyModifiers::NONE)),
            ];
            let named = [
                KeyCode::Enter,
                KeyCode::Esc,
                KeyCode::Tab,
                KeyCode::BackTab,
                KeyCode::Backspace,
                KeyCode::Up,
                KeyCode::Down,
                KeyCode::Left,
                KeyCode::Right,
                KeyCode::PageUp,
                KeyCode::PageDown,
                KeyCode::Home,
                KeyCode::End,
                KeyCode::F(1),
                KeyCode::Char(' '),
            ]
            .map(|code| event(code, KeyModifiers::NONE));
            candidates.into_iter().flatten().chain(named).any(|e| key_name(&e).as_deref() == Some(name))
        };
        for binding in BINDINGS {
            for key in binding.keys {
                assert!(producible(key), "no key press is named {key}");
                assert!(is_key_name(key), "{key} is a valid name for the configuration");
            }
        }
    }

    #[test]
    fn keys_resolve_by_context() {
        let keymap = Keymap::default();
        let lookup = |context, key: &str| keymap.lookup(context, key);
        let key = |code, modifiers| key_name(&KeyEvent::new(code, modifiers)).unwrap_or_default();
        assert_eq!(lookup(Context::Table, &key(KeyCode::Char('j'), KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(lookup(Context::Global, &key(KeyCode::Char('j'), KeyModifiers::NONE)), None);
        assert_eq!(lookup(Context::Table, &key(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(lookup(Context::FilterInput, &key(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        assert_eq!(lookup(Context::FilterInput, &key(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(lookup(Context::Global, &key(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Action::PreviousTab));
        assert_eq!(display("ctrl+c"), "Ctrl-C");
        assert_eq!(display("f1"), "F1");
        assert_eq!(display("f"), "f");
    }
}
