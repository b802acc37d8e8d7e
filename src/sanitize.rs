//! Text from dumps, logs and symbol servers made safe to show: the one place that decides
//! which characters a terminal (or a Markdown/HTML reader) must never receive raw.
//!
//! Every string in a report is hostile: an object name can hold an escape sequence that
//! writes the clipboard (OSC 52) or clears the screen, a bare carriage return that overwrites
//! the line, a newline that forges a stack frame, or a bidi override (U+202E) that shows
//! `exe.txt` as `txt.exe`. [`visible`] replaces each such character by a visible escape:
//!
//! - newline, carriage return and tab as `\n`, `\r`, `\t`;
//! - the other C0 controls (U+0000–U+001F) and DEL as `\x1b`, `\x7f`;
//! - C1 controls (U+0080–U+009F), line and paragraph separators (U+2028, U+2029), bidi
//!   controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and invisible format
//!   characters (soft hyphen U+00AD, U+200B–U+200D, U+2060–U+2064, U+206A–U+206F, U+FEFF,
//!   U+FFF9–U+FFFB, tag characters U+E0000–U+E007F) as `\u{202e}`.
//!
//! Everything else, including backslashes and non-Latin text, is kept as it is. The text
//! renderer, Markdown and HTML show every string of a report through [`visible`] (see
//! `report::Visible`), and the command line writes every message to standard error through
//! it; JSON and CSV keep strings exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `ch` is shown escaped by [`visible`].
pub fn is_hidden(ch: char) -> bool {
    matches!(
        ch,
        '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{ad}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// `text` with every character that [`is_hidden`] replaced by a visible escape (`\n`, `\x1b`,
/// `\u{202e}`); borrowed when there is nothing to escape.
///
/// ```
/// use dumpleak::sanitize::visible;
/// assert_eq!(visible("a\x1b]52;c;eA==\x07b"), r"a\x1b]52;c;eA==\x07b");
/// assert_eq!(visible("evil\u{202e}txt.exe\nframe"), r"evil\u{202e}txt.exe\nframe");
/// assert_eq!(visible(r"C:\Windows\käfer.dll"), r"C:\Windows\käfer.dll");
/// ```
pub fn visible(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_hidden) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for ch in text[first..].chars() {
        push_visible(&mut out, ch);
    }
    Cow::Owned(out)
}

/// Appends `ch` to `out`, escaped if it [`is_hidden`].
fn push_visible(out: &mut String, ch: char) {
    match ch {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0'..='\x1f' | '\x7f' => {
            let _ = write!(out, "\\x{:02x}", u32::from(ch));
        }
        ch if is_hidden(ch) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(ch));
        }
        ch => out.push(ch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_and_invisible_characters_are_escaped() {
        assert_eq!(visible("\x1b[2J\r\t\0\x7f"), r"\x1b[2J\r\t\x00\x7f");
        assert_eq!(visible("a\u{9b}31m\u{85}"), r"a\u{9b}31m\u{85}");
        assert_eq!(
            visible("\u{202a}\u{202e}\u{2066}\u{2069}\u{200e}\u{200f}\u{61c}"),
            r"\u{202a}\u{202e}\u{2066}\u{2069}\u{200e}\u{200f}\u{61c}"
        );
        assert_eq!(
            visible("k\u{200b}ernel\u{feff}\u{2028}\u{e0041}"),
            r"k\u{200b}ernel\u{feff}\u{2028}\u{e0041}"
        );
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for text in [
            "",
            "kernel32.dll",
            r"\BaseNamedObjects\X_Y*",
            "Käfer → 42 日本",
            "\u{a0}",
        ] {
            assert!(
                matches!(visible(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_hidden_character_becomes_printable_ascii() {
        for code in 0..=0x10ffff {
            let Some(ch) = char::from_u32(code) else {
                continue;
            };
            let shown = visible(ch.encode_utf8(&mut [0; 4])).into_owned();
            if is_hidden(ch) {
                assert!(shown.starts_with('\\'), "{code:#x}");
                assert!(shown.bytes().all(|b| b.is_ascii_graphic()), "{code:#x}");
            } else {
                assert_eq!(shown, ch.to_string());
            }
        }
    }
}
