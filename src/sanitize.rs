//! Making strings from the system safe to print.
//!
//! Any process can name itself (`prctl(PR_SET_NAME)`), and socket paths and interface names are
//! chosen by whoever created them. Printed raw, an escape sequence in such a name would be
//! executed by the terminal, and a bidi override would reorder the line. Every front end that
//! prints text passes such strings through [`sanitize`]; JSON output keeps them lossless.

use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_untouched() {
        assert!(matches!(sanitize("nginx: worker"), Cow::Borrowed(_)));
        assert_eq!(sanitize("日本語"), "日本語");
    }

    #[test]
    fn controls_and_bidi_become_visible() {
        assert_eq!(sanitize("evil\x1b[2Jname"), "evil\\x1b[2Jname");
        assert_eq!(sanitize("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(sanitize("tab\there\u{7f}\u{85}"), "tab\\x09here\\x7f\\x85");
        assert_eq!(sanitize("zero\u{200b}width"), "zero\\u{200b}width");
    }
}
