//! Logs pasted into Markdown (issues, forums, wikis): `> ` quote prefixes, `\-` escapes,
//! HTML entities (`&lt;`, `&gt;`), `**bold**` commands and code fences. [`unquote`] gives
//! the text back as the debugger printed it, so the ordinary parsers read it.

use std::borrow::Cow;

/// Whether `text` reads as a quoted paste: at least three lines start with `>`, and they are
/// at least half of the non-empty lines.
pub fn is_quoted(text: &str) -> bool {
    let (mut quoted, mut total) = (0usize, 0usize);
    for line in text.lines().take(20_000) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        total += 1;
        if trimmed.starts_with('>') {
            quoted += 1;
        }
    }
    quoted >= 3 && quoted * 2 >= total
}

/// The text without its Markdown: quote prefixes (nested ones too), code fences, `**`/`__`
/// emphasis, backslash escapes and the entities `&lt;` `&gt;` `&amp;` `&quot;` `&#39;`.
/// Lines that are not quoted are kept (as unescaped text): they are the prose around the
/// paste, and the parsers skip prose.
pub fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut rest = line.trim_start();
        while let Some(inner) = rest.strip_prefix('>') {
            rest = inner.strip_prefix(' ').unwrap_or(inner);
        }
        if rest.trim_start().starts_with("```") || rest.trim_start().starts_with("~~~") {
            out.push('\n');
            continue;
        }
        out.push_str(&unescape(rest));
        out.push('\n');
    }
    out
}

/// One line without emphasis markers, backslash escapes and entities.
fn unescape(line: &str) -> Cow<'_, str> {
    if !line.contains(['\\', '&', '*', '_']) {
        return Cow::Borrowed(line);
    }
    let line = line.replace("**", "").replace("__", "");
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next) if next.is_ascii_punctuation() => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    let mut text = out;
    for (entity, plain) in [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ] {
        if text.contains(entity) {
            text = text.replace(entity, plain);
        }
    }
    Cow::Owned(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_lines_are_unquoted_and_unescaped() {
        let text = "prose\n> **0:004&gt; !htrace**\n> \\--------\n> Handle = 0x2c8 \\- OPEN\n";
        assert!(is_quoted(&format!("{text}> x\n")));
        assert_eq!(
            unquote(text),
            "prose\n0:004> !htrace\n--------\nHandle = 0x2c8 - OPEN\n"
        );
        assert!(!is_quoted(
            "0:000> !htrace\nHandle = 0x1 - OPEN\n> one\n> two\n"
        ));
    }

    #[test]
    fn windows_paths_keep_their_backslashes() {
        assert_eq!(unescape(r"C:\Windows\System32"), r"C:\Windows\System32");
        assert_eq!(unescape(r"a\_b &amp;lt;"), "a_b &lt;");
    }
}
