//! Colours by role. The default theme uses only the 16 ANSI colours and the terminal's own
//! foreground, so the user's palette decides how they look on a dark or light background;
//! severity is always also a word or a symbol, never colour alone. `mono` sets no colour at all
//! (bold, reverse and underline only) and is what `NO_COLOR` selects.

use ratatui::style::{Color, Modifier, Style};

/// The theme names `--theme` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ThemeName {
    /// `mono` when `NO_COLOR` is set and non-empty, else `default`.
    #[default]
    Auto,
    /// ANSI colours: red critical, yellow warning, blue good.
    Default,
    /// For light backgrounds: magenta warning instead of yellow, which fades on white.
    Light,
    /// No colours: bold, reverse and underline only.
    Mono,
}

/// The style of each role on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// A problem now: full queues, drops, critical findings.
    pub critical: Style,
    /// Worth a look: filling queues, warnings.
    pub warning: Style,
    /// Healthy values where saying so helps.
    pub good: Style,
    /// Headings, the active tab, column titles.
    pub title: Style,
    /// Secondary text: units, explanations, absent values.
    pub muted: Style,
    /// The selected row.
    pub selected: Style,
    /// Banners that must not be missed: FROZEN, STALE.
    pub banner: Style,
    /// Sparklines and gauges.
    pub chart: Style,
}

impl Theme {
    /// The theme for a name, reading `NO_COLOR` for `auto`.
    pub fn named(name: ThemeName) -> Theme {
        match name {
            ThemeName::Auto if no_color() => Theme::mono(),
            ThemeName::Auto | ThemeName::Default => Theme::ansi(Color::Yellow),
            ThemeName::Light => Theme::ansi(Color::Magenta),
            ThemeName::Mono => Theme::mono(),
        }
    }

    fn ansi(warning: Color) -> Theme {
        Theme {
            critical: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            warning: Style::new().fg(warning).add_modifier(Modifier::BOLD),
            good: Style::new().fg(Color::Blue),
            title: Style::new().add_modifier(Modifier::BOLD),
            muted: Style::new().add_modifier(Modifier::DIM),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            banner: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            chart: Style::new().fg(Color::Cyan),
        }
    }

    /// No colour at all: `NO_COLOR` and terminals that cannot show any.
    pub fn mono() -> Theme {
        Theme {
            critical: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            warning: Style::new().add_modifier(Modifier::BOLD),
            good: Style::new(),
            title: Style::new().add_modifier(Modifier::BOLD),
            muted: Style::new(),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            banner: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            chart: Style::new(),
        }
    }
}

/// `NO_COLOR` set to anything but the empty string (<https://no-color.org>).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Theme {
        fn has_colour(&self) -> bool {
            [self.critical, self.warning, self.good, self.title, self.muted, self.selected, self.banner, self.chart]
                .iter()
                .any(|style| style.fg.is_some() || style.bg.is_some())
        }
    }

    #[test]
    fn mono_has_no_colour_and_ansi_has_some() {
        assert!(!Theme::mono().has_colour());
        assert!(Theme::named(ThemeName::Default).has_colour());
        assert!(Theme::named(ThemeName::Light).has_colour());
        assert_ne!(Theme::mono().critical, Theme::mono().warning, "severities differ without colour too");
    }
}
