//! Formatting shared by every output, in one place: numbers with their units, socket
//! endpoints, and untrusted strings made safe to print. The advisor formats its evidence with
//! it and every renderer its tables, so a rate or a percentage reads the same everywhere; it
//! depends on nothing but the model's endpoint type.
//!
//! Any process can name itself (`prctl(PR_SET_NAME)`), and socket paths and interface names are
//! chosen by whoever created them. Names are kept as their bytes were, in a `String`, by
//! [`name_from_bytes`]: bytes that are not UTF-8 are written `\xNN`, so no name is dropped,
//! and two different names never become one. Printed raw, an escape sequence in
//! a name would be executed by the terminal, and a bidi override would reorder the line: every
//! front end that prints text passes such strings through [`sanitize`] (the advisor does it for
//! every finding it makes), and each text output ends with [`terminal_text`], so no control
//! character but the line feed reaches a terminal. JSON output keeps names exactly (serde
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

/// A wait in nanoseconds as `850ns`, `134µs`, `50.2ms`, `100ms` or `1.20s`: three figures.
pub fn wait(nanos: u64) -> String {
    let three_figures = |value: f64, unit: &str| {
        if value < 10.0 {
            format!("{value:.2}{unit}")
        } else if value < 100.0 {
            format!("{value:.1}{unit}")
        } else {
            format!("{value:.0}{unit}")
        }
    };
    match nanos {
        0..1_000 => format!("{nanos}ns"),
        1_000..1_000_000 => three_figures(nanos as f64 / 1e3, "µs"),
        1_000_000..1_000_000_000 => three_figures(nanos as f64 / 1e6, "ms"),
        _ => three_figures(nanos as f64 / 1e9, "s"),
    }
}

/// A drop reason as the dashboard's compact columns name it: `syn` (SYN, accept queue full),
/// `synq` (SYN, SYN queue full), `ack` (final ACK, accept queue full).
pub fn drop_reason_short(reason: crate::sample::listen_events::DropReason) -> &'static str {
    use crate::sample::listen_events::DropReason;
    match reason {
        DropReason::SynAcceptQueueFull => "syn",
        DropReason::SynQueueFull => "synq",
        DropReason::AckAcceptQueueFull => "ack",
    }
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
    escape_where(text, is_unsafe)
}

/// [`sanitize`] for an owned string, which is given back when it is already safe.
pub fn sanitize_owned(text: String) -> String {
    match sanitize(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    }
}

/// A whole text output (a report, check mode's text) as it may reach a terminal: every unsafe
/// character but the line feed escaped as [`sanitize`] does. Names are sanitised where they are
/// formatted, so this changes nothing unless one was missed; it is the last line of defence.
pub fn terminal_text(text: String) -> String {
    match escape_where(&text, |c| c != '\n' && is_unsafe(c)) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    }
}

/// A monitoring plugin's status text: `|` separates it from the performance data, so a `|` in
/// it (a process name can hold one) is shown as `¦` and cannot turn the rest into perfdata.
pub fn plugin_text(text: &str) -> Cow<'_, str> {
    match text.contains('|') {
        true => Cow::Owned(text.replace('|', "¦")),
        false => Cow::Borrowed(text),
    }
}

/// The string with the characters `unsafe_char` picks replaced by visible escapes.
fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut clean = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            clean.push(c);
        } else if (c as u32) < 0x100 {
            clean.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            clean.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(clean)
}

/// A name read from the kernel as bytes (a process's `comm`, an interface name, a UNIX socket
/// path), kept whatever its bytes: UTF-8 stays as it is, control characters included (they are
/// escaped when printed, by [`sanitize`]); each byte that is not part of valid UTF-8 becomes
/// `\xNN` (two lowercase hex digits), and so does a NUL. A backslash is doubled where it would
/// otherwise read as the start of an escape (before another backslash, before `xNN`, or before
/// an escaped byte), and only there, so a name that is valid UTF-8 almost always comes through
/// unchanged (`we"ird\x` stays `we"ird\x`). The escape can be undone: two different names never
/// give the same string, and nothing is replaced by U+FFFD or dropped.
pub fn name_from_bytes(bytes: &[u8]) -> String {
    let mut name = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        for (at, c) in valid.char_indices() {
            let rest = &valid[at + c.len_utf8()..];
            match c {
                '\0' => name.push_str("\\x00"),
                '\\' if starts_escape(rest, !chunk.invalid().is_empty()) => name.push_str("\\\\"),
                c => name.push(c),
            }
        }
        for byte in chunk.invalid() {
            name.push_str(&format!("\\x{byte:02x}"));
        }
    }
    name
}

/// Whether a backslash followed by `rest` (and then by bytes that are not UTF-8, when
/// `then_invalid`) would read as an escape of [`name_from_bytes`].
fn starts_escape(rest: &str, then_invalid: bool) -> bool {
    let hex = |digit: &u8| matches!(digit, b'0'..=b'9' | b'a'..=b'f');
    match rest.as_bytes() {
        [] => then_invalid,
        [b'\\' | 0, ..] => true,
        [b'x', high, low, ..] => hex(high) && hex(low),
        _ => false,
    }
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
    fn waits_keep_three_figures_in_their_unit() {
        assert_eq!(wait(850), "850ns");
        assert_eq!(wait(134_000), "134µs");
        assert_eq!(wait(50_159_000), "50.2ms");
        assert_eq!(wait(100_177_000), "100ms");
        assert_eq!(wait(1_200_000_000), "1.20s");
        assert_eq!(wait(16_000_000_000), "16.0s");
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

    /// The inverse of [`name_from_bytes`], to show that it loses nothing.
    fn name_to_bytes(name: &str) -> Vec<u8> {
        let hex = |digit: &u8| matches!(digit, b'0'..=b'9' | b'a'..=b'f');
        let (mut bytes, mut rest) = (Vec::new(), name.as_bytes());
        while let Some((&first, tail)) = rest.split_first() {
            let (byte, more) = match (first, tail) {
                (b'\\', [b'\\', more @ ..]) => (b'\\', more),
                (b'\\', [b'x', high, low, more @ ..]) if hex(high) && hex(low) => {
                    let digits = std::str::from_utf8(&[*high, *low]).map(str::to_string).unwrap_or_default();
                    (u8::from_str_radix(&digits, 16).expect("two hex digits"), more)
                }
                (byte, more) => (byte, more),
            };
            bytes.push(byte);
            rest = more;
        }
        bytes
    }

    #[test]
    fn names_keep_every_byte_and_stay_apart() {
        assert_eq!(name_from_bytes(b"nginx: worker"), "nginx: worker");
        assert_eq!(name_from_bytes(b"\xffhide"), r"\xffhide");
        assert_eq!(name_from_bytes(b"\xff\xfe"), r"\xff\xfe");
        assert_eq!(name_from_bytes("日本\x1b".as_bytes()), "日本\x1b", "UTF-8 and controls stay for JSON");
        assert_eq!(name_from_bytes(b"a\0b"), r"a\x00b");
        for unchanged in [r#"we"ird\x"#, r"a\b", r"\x1", r"\xFF", r"C:\path\"] {
            assert_eq!(name_from_bytes(unchanged.as_bytes()), unchanged, "no escape to tell it from");
        }
        // A name that spells an escape is told from the byte it spells.
        assert_eq!(name_from_bytes(br"\xff"), r"\\xff");
        assert_eq!(name_from_bytes(br"\\"), r"\\\");
        assert_eq!(name_from_bytes(b"\\\xff"), r"\\\xff");
    }

    /// Every name of up to four bytes drawn from those that make escapes, UTF-8 and not.
    #[test]
    fn every_short_name_comes_back_and_stays_apart() {
        let alphabet = [b'\\', b'x', b'f', b'0', 0, 0xff, 0xe6, 0x97, b'a'];
        let (mut names, mut longest) = (vec![Vec::new()], vec![Vec::new()]);
        for _ in 0..4 {
            longest = longest.iter().flat_map(|name| alphabet.map(|b| [name.as_slice(), &[b]].concat())).collect();
            names.extend(longest.iter().cloned());
        }
        let mut seen = std::collections::HashSet::new();
        for name in &names {
            let kept = name_from_bytes(name);
            assert_eq!(name_to_bytes(&kept), *name, "{name:?} comes back from {kept:?}");
            assert!(seen.insert(kept), "{name:?} is told from every other name");
        }
    }

    #[test]
    fn a_text_output_keeps_its_lines_and_loses_its_controls() {
        assert_eq!(terminal_text("two\nlines\n".to_string()), "two\nlines\n");
        assert_eq!(terminal_text("title\x1b]2;x\x07\u{9b}\n".to_string()), "title\\x1b]2;x\\x07\\x9b\n");
        assert_eq!(sanitize_owned("a\nb".to_string()), r"a\x0ab");
    }

    #[test]
    fn controls_and_bidi_become_visible() {
        assert_eq!(sanitize("evil\x1b[2Jname"), "evil\\x1b[2Jname");
        assert_eq!(sanitize("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(sanitize("tab\there\u{7f}\u{85}"), "tab\\x09here\\x7f\\x85");
        assert_eq!(sanitize("zero\u{200b}width"), "zero\\u{200b}width");
    }
}
