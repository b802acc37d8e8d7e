//! Markdown rendering (GitHub-flavoured tables), for bug reports.
//!
//! Strings from dumps must stay text when the report is pasted into a bug tracker: no
//! heading, list, link, image, HTML or code block may come out of an object name or a frame.
//! Every string arrives with its control characters (newlines included) already escaped
//! ([`Visible`]), so each stays on its line; on top of that:
//!
//! - inline text escapes with a backslash the punctuation that starts inline syntax
//!   (`` \ ` * _ ~ [ ] < > & $ ``): emphasis, code spans, links, images, autolinks, raw HTML,
//!   entity references and math;
//! - a line that begins with a string also escapes what would open a block there: an ATX
//!   heading (`# `), a list item (`- `, `+ `, `1. `, `1) `) or a thematic break (`--`);
//! - table cells escape `|`;
//! - code blocks are fenced with more backticks than the longest run inside them.

use super::document::{Block, Table};
use super::visible::Visible;

/// Renders `document` as Markdown.
pub fn render(document: &Visible) -> String {
    let mut out = format!("# {}\n", escape_heading(&document.title()));
    for block in document.blocks() {
        out.push('\n');
        match &*block {
            Block::Heading(heading) => out.push_str(&format!("## {}\n", escape_heading(heading))),
            Block::Fields(fields) => {
                for (name, value) in fields {
                    out.push_str(&format!("- **{}**: {}\n", escape(name), escape(value)));
                }
            }
            Block::Table(table) => out.push_str(&table_markdown(table)),
            Block::Code(lines) => out.push_str(&code_block(lines)),
            Block::Bullets(items) => {
                for item in items {
                    out.push_str(&format!("- {}\n", escape_line(item)));
                }
            }
            Block::Text(text) => {
                out.push_str(&escape_line(text));
                out.push('\n');
            }
            // The numbers behind a chart are in the tables around it.
            Block::Chart(_) | Block::Strip(_) => {}
            Block::Alert(lines) => {
                for line in lines {
                    out.push_str(&format!("> **Warning:** {}\n>\n", escape(line)));
                }
            }
        }
    }
    out
}

fn table_markdown(table: &Table) -> String {
    let mut out = String::new();
    let cells = |row: &[String]| {
        row.iter()
            .map(|cell| escape(cell).replace('|', "\\|"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    out.push_str(&format!("| {} |\n", cells(&table.headers)));
    let rule: Vec<&str> = table
        .numeric
        .iter()
        .map(|numeric| if *numeric { "---:" } else { "---" })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    let (rows, rest) = table.shown();
    for row in rows {
        out.push_str(&format!("| {} |\n", cells(row)));
    }
    if let Some(rest) = rest {
        // Our own sentence: its code spans are meant as Markdown.
        out.push_str(&format!("\n{rest}\n"));
    }
    out
}

/// `lines` as a fenced code block whose fence no line can close: longer than any run of
/// backticks in them (CommonMark), and at least three.
fn code_block(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .map(|line| longest_run(line, '`'))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let mut out = format!("{fence}\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

/// The length of the longest run of `ch` in `text`.
fn longest_run(text: &str, ch: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == ch { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// [`escape`] for text that begins a line (a paragraph or a list item), where a leading
/// `#`, `-`, `+` or `1.` would open a heading, a list or a thematic break. Leading spaces are
/// dropped (Markdown drops up to three, and four would start a code block).
fn escape_line(text: &str) -> String {
    let escaped = escape(text.trim_start_matches(' '));
    let bytes = escaped.as_bytes();
    let ends_marker = |at: usize| matches!(bytes.get(at), None | Some(b' ' | b'\t'));
    let hashes = bytes.iter().take_while(|&&b| b == b'#').count();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let escape_at = match bytes.first() {
        Some(b'#') if hashes <= 6 && ends_marker(hashes) => Some(0),
        Some(b'-') if ends_marker(1) || bytes.get(1) == Some(&b'-') => Some(0),
        Some(b'+') if ends_marker(1) => Some(0),
        Some(b'0'..=b'9') if digits <= 9 && matches!(bytes.get(digits), Some(b'.' | b')')) => {
            ends_marker(digits + 1).then_some(digits)
        }
        _ => None,
    };
    match escape_at {
        Some(at) => format!("{}\\{}", &escaped[..at], &escaped[at..]),
        None => escaped,
    }
}

/// [`escape`] for the text of a heading, where a closing run of `#` would be dropped.
fn escape_heading(text: &str) -> String {
    let escaped = escape(text);
    let content = escaped.trim_end_matches(' ');
    let hashes = content.len() - content.trim_end_matches('#').len();
    if hashes == 0 {
        return escaped;
    }
    let at = content.len() - hashes;
    format!("{}\\{}", &escaped[..at], &escaped[at..])
}

/// Escapes the characters that start inline Markdown (emphasis, code spans, links, images,
/// autolinks, raw HTML, entity references, strikethrough, math) in names such as
/// `\BaseNamedObjects\X_Y*`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(
            ch,
            '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '&' | '~' | '$'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_starts_that_open_blocks_are_escaped() {
        for (text, expected) in [
            ("# Heading", r"\# Heading"),
            ("###### h", r"\###### h"),
            ("#", r"\#"),
            ("  ## h", r"\## h"),
            ("     code", "code"),
            ("- item", r"\- item"),
            ("---", r"\---"),
            ("+ item", r"\+ item"),
            ("1. item", r"1\. item"),
            ("12) item", r"12\) item"),
            ("7.", r"7\."),
        ] {
            assert_eq!(escape_line(text), expected, "{text:?}");
        }
    }

    #[test]
    fn ordinary_line_starts_are_kept() {
        for text in [
            "#1  +3 handles",
            "####### seven",
            "-3 handles",
            "+2",
            "1.5 GB",
            "10",
        ] {
            assert_eq!(escape_line(text), text, "{text:?}");
        }
    }

    #[test]
    fn a_closing_hash_run_of_a_heading_is_kept_as_text() {
        assert_eq!(escape_heading("C# #"), r"C# \#");
        assert_eq!(escape_heading("a ## "), r"a \## ");
        assert_eq!(escape_heading("#"), r"\#");
        assert_eq!(escape_heading("Handles by type #1"), "Handles by type #1");
    }

    #[test]
    fn code_fences_outgrow_the_backticks_inside() {
        assert!(code_block(&["a".to_string()]).starts_with("```\na\n```\n"));
        let lines = vec!["x ```` y".to_string(), "``".to_string()];
        assert_eq!(code_block(&lines), "`````\nx ```` y\n``\n`````\n");
    }
}
