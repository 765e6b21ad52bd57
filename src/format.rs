//! Formatting shared by every output, in one place: numbers with their units, socket
//! endpoints, and untrusted strings made safe to print. The advisor formats its evidence with
//! it and every renderer its tables, so a rate or a percentage reads the same everywhere; it
//! depends on nothing but the model's endpoint type.
//!
//! Any process can name itself (`prctl(PR_SET_NAME)`), and socket paths and interface names are
//! chosen by whoever created them. Printed raw, an escape sequence in such a name would be
//! executed by the terminal, and a bidi override would reorder the line. Every front end that
//! prints text passes such strings through [`sanitize`]; JSON output keeps them lossless (serde
//! escapes them), and so do the metric expositions, through [`label_value`].

use std::borrow::Cow;

use crate::model::Endpoint;

/// A per-second rate: `-` when unknown (one sample, or a reset counter), else up to one
/// decimal for small values (`0.4/s`) and whole numbers from 100 up (`1520/s`).
pub fn rate(value: Option<f64>) -> String {
    match value {
        None => "-".to_string(),
        Some(0.0) => "0/s".to_string(),
        Some(v) if v < 0.05 => "<0.1/s".to_string(),
        Some(v) if v < 100.0 => format!("{v:.1}/s"),
        Some(v) => format!("{v:.0}/s"),
    }
}

/// An optional integer, `-` when unknown.
pub fn count<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A ratio as a whole percentage (`44%`); values that are not zero never round down to `0%`.
pub fn percent(ratio: f64) -> String {
    let percent = ratio * 100.0;
    if percent > 0.0 && percent < 1.0 { "<1%".to_string() } else { format!("{percent:.0}%") }
}

/// A duration in seconds as `3d 04h`, `2h 07m`, `5m 03s` or `42s`.
pub fn duration(seconds: u64) -> String {
    let (days, hours, minutes, secs) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60, seconds % 60);
    if days > 0 {
        format!("{days}d {hours:02}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {secs:02}s")
    } else {
        format!("{secs}s")
    }
}

/// An interval in seconds as `5s`, `1.5s` or `250ms`.
pub fn interval(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0}ms", seconds * 1000.0)
    } else if (seconds - seconds.round()).abs() < 0.05 {
        format!("{seconds:.0}s")
    } else {
        format!("{seconds:.1}s")
    }
}

/// Bytes with a binary unit (`512B`, `208KiB`, `6.0MiB`).
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if value < 1024 {
        return format!("{value}B");
    }
    let mut scaled = value as f64 / 1024.0;
    let mut unit = 0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    if scaled < 10.0 { format!("{scaled:.1}{}", UNITS[unit]) } else { format!("{scaled:.0}{}", UNITS[unit]) }
}

/// An address and port as users type them: `10.0.0.1:443`, `[::1]:443`.
pub fn endpoint(address: std::net::IpAddr, port: u16) -> String {
    Endpoint::Inet(address, port).to_string()
}

/// `1 socket`, `2 sockets`: a count with its noun, plural when needed.
pub fn plural(count: u64, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

/// Whether a character must not reach a terminal as is: C0 and C1 controls, DEL, bidi
/// embeddings, overrides and isolates, and zero-width format characters.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The string with every unsafe character replaced by a visible escape (`\x1b`, `\u{202e}`).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut clean = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe(c) {
            clean.push(c);
        } else if (c as u32) < 0x100 {
            clean.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            clean.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(clean)
}

/// A label value of the Prometheus and OpenMetrics text formats, between its double quotes:
/// backslash, double quote and line feed escaped (`\\`, `\"`, `\n`), the only three both
/// formats define; everything else, control characters included, stays as it is, so a parser
/// gives back the name the process chose.
pub fn label_value(text: &str) -> Cow<'_, str> {
    if !text.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// A network namespace for people: `net:[4026532290] web`, sanitised.
pub fn netns(netns: &crate::sample::Netns) -> String {
    match &netns.name {
        Some(name) => format!("net:[{}] {}", netns.inode, sanitize(name)),
        None => format!("net:[{}]", netns.inode),
    }
}

/// A container hint for people: `docker 1a2b3c4d5e6f`, `kubernetes pod 5f0e…`, sanitised;
/// long ids shortened to 12 characters as `docker ps` shows them.
pub fn container(hint: &crate::sample::ContainerHint) -> String {
    let short = |id: &str| id.chars().take(12).collect::<String>();
    let mut text = sanitize(&hint.runtime).into_owned();
    if let Some(id) = &hint.id {
        text.push(' ');
        text.push_str(&sanitize(&short(id)));
    }
    if let Some(pod) = &hint.pod_uid {
        text.push_str(" pod ");
        text.push_str(&sanitize(pod));
    }
    text
}

/// Who lives in a namespace: `pids 4242 4250 (nginx, sh)`; empty when nobody was looked for.
pub fn residents(netns: &crate::sample::Netns) -> String {
    if netns.pids.is_empty() {
        return String::new();
    }
    let pids: Vec<String> = netns.pids.iter().map(u32::to_string).collect();
    let commands: Vec<String> = netns.processes.iter().map(|command| sanitize(command).into_owned()).collect();
    format!("pids {} ({})", pids.join(" "), commands.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_naturally() {
        assert_eq!(rate(None), "-");
        assert_eq!(rate(Some(0.0)), "0/s");
        assert_eq!(rate(Some(0.01)), "<0.1/s");
        assert_eq!(rate(Some(2.25)), "2.2/s");
        assert_eq!(rate(Some(1520.4)), "1520/s");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.001), "<1%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(duration(7651), "2h 07m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d 04h");
        assert_eq!(duration(42), "42s");
        assert_eq!(interval(5.0), "5s");
        assert_eq!(interval(0.25), "250ms");
        assert_eq!(interval(1.5), "1.5s");
        assert_eq!(bytes(212_992), "208KiB");
        assert_eq!(bytes(6_291_456), "6.0MiB");
        assert_eq!(bytes(12), "12B");
        assert_eq!(plural(1, "socket"), "1 socket");
        assert_eq!(plural(0, "socket"), "0 sockets");
    }

    #[test]
    fn plain_names_are_untouched() {
        assert!(matches!(sanitize("nginx: worker"), Cow::Borrowed(_)));
        assert_eq!(sanitize("日本語"), "日本語");
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline_only() {
        assert!(matches!(label_value("nginx: worker"), Cow::Borrowed(_)));
        assert_eq!(label_value(r#"we"ird\x"#), r#"we\"ird\\x"#);
        assert_eq!(label_value("two\nlines"), "two\\nlines");
        assert_eq!(label_value("tab\there\x1b"), "tab\there\x1b", "the formats define no other escape");
        assert_eq!(label_value(""), "");
    }

    #[test]
    fn controls_and_bidi_become_visible() {
        assert_eq!(sanitize("evil\x1b[2Jname"), "evil\\x1b[2Jname");
        assert_eq!(sanitize("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(sanitize("tab\there\u{7f}\u{85}"), "tab\\x09here\\x7f\\x85");
        assert_eq!(sanitize("zero\u{200b}width"), "zero\\u{200b}width");
    }
}
