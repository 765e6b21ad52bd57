//! Every key the dashboard understands, defined once as data. Dispatch, the `?` help overlay and
//! the footer hints all read [`BINDINGS`], so the help cannot name a key that does nothing and a
//! working key cannot be missing from the help.

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
    /// Freeze or unfreeze the view (collection goes on).
    Freeze,
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
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Anywhere except while typing a filter.
    Global,
    /// Views with a table (everything but the overview's panels).
    Table,
    /// While typing a filter: every printable key is text, only these keys act.
    FilterInput,
}

impl Context {
    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Anywhere",
            Context::Table => "Tables",
            Context::FilterInput => "Typing a filter",
        }
    }
}

/// One binding: the keys that trigger an action in a context, and how the help describes it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
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
    action: Action,
    keys: &'static [&'static str],
    context: Context,
    description: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding { action, keys, context, description, hint }
}

/// Every binding, in the order the help lists them.
pub const BINDINGS: &[Binding] = &[
    bind(Action::Quit, &["q", "ctrl+c"], Context::Global, "quit", Some("quit")),
    bind(Action::Help, &["?", "f1"], Context::Global, "this help", Some("help")),
    bind(Action::NextTab, &["tab"], Context::Global, "next view", None),
    bind(Action::PreviousTab, &["shift+tab"], Context::Global, "previous view", None),
    bind(Action::GoToTab, &["1", "2", "3", "4", "5", "6", "7", "8"], Context::Global, "go to view 1-8", Some("views")),
    bind(Action::Freeze, &["space", "f"], Context::Global, "freeze, keep collecting", Some("freeze")),
    bind(Action::Faster, &["+", "="], Context::Global, "sample more often", None),
    bind(Action::Slower, &["-"], Context::Global, "sample less often", Some("interval")),
    bind(Action::Filter, &["/"], Context::Global, "filter rows (see below)", Some("filter")),
    bind(Action::Back, &["esc"], Context::Global, "back: pane, help, filter", None),
    bind(Action::ToggleMouse, &["m"], Context::Global, "mouse capture on/off", None),
    bind(Action::Suspend, &["ctrl+z"], Context::Global, "suspend; fg resumes", None),
    bind(Action::Up, &["k", "up"], Context::Table, "move up", None),
    bind(Action::Down, &["j", "down"], Context::Table, "move down", Some("move")),
    bind(Action::PageUp, &["pgup", "ctrl+b"], Context::Table, "page up", None),
    bind(Action::PageDown, &["pgdn", "ctrl+f"], Context::Table, "page down", None),
    bind(Action::Top, &["g", "home"], Context::Table, "first row", None),
    bind(Action::Bottom, &["G", "end"], Context::Table, "last row", None),
    bind(Action::Details, &["enter"], Context::Table, "details of the row", Some("details")),
    bind(Action::SortNext, &["s"], Context::Table, "sort by next column", Some("sort")),
    bind(Action::SortReverse, &["S"], Context::Table, "reverse the sort", None),
    bind(Action::FilterApply, &["enter"], Context::FilterInput, "apply the filter", Some("apply")),
    bind(Action::FilterCancel, &["esc"], Context::FilterInput, "keep the old filter", Some("cancel")),
    bind(Action::FilterBackspace, &["backspace"], Context::FilterInput, "delete a character", None),
    bind(Action::FilterClear, &["ctrl+u"], Context::FilterInput, "clear the line", Some("clear")),
    bind(Action::Quit, &["ctrl+c"], Context::FilterInput, "quit", None),
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

/// The action bound to `key` in `context`; table and filter contexts fall back to global
/// bindings only where that makes sense (a filter being typed takes every printable key).
pub fn lookup(context: Context, key: &str) -> Option<Action> {
    let find = |wanted: Context| {
        BINDINGS.iter().find(|binding| binding.context == wanted && binding.keys.contains(&key)).map(|b| b.action)
    };
    match context {
        Context::FilterInput => find(Context::FilterInput),
        Context::Table => find(Context::Table).or_else(|| find(Context::Global)),
        Context::Global => find(Context::Global),
    }
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

/// The keys of a binding as the help shows them: `q Ctrl-C`, or `1-8` for the view numbers.
pub fn display_keys(binding: &Binding) -> String {
    if binding.action == Action::GoToTab {
        return format!("1-{}", binding.keys.len());
    }
    binding.keys.iter().map(|key| display(key)).collect::<Vec<_>>().join(" ")
}

/// Footer hints for a context: `(keys, word)` pairs, first key of each binding.
pub fn hints(contexts: &[Context]) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|binding| contexts.contains(&binding.context))
        .filter_map(|binding| {
            let hint = binding.hint?;
            let keys = if binding.action == Action::GoToTab {
                display_keys(binding)
            } else if binding.action == Action::Slower {
                "+/-".to_string()
            } else {
                display(binding.keys[0])
            };
            Some((keys, hint))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for context in [Context::Global, Context::Table, Context::FilterInput] {
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
            }
        }
    }

    #[test]
    fn keys_resolve_by_context() {
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
