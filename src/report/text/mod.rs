//! Terminal rendering: aligned fields and box-drawn tables, fitted to a width when there is
//! one (prose wraps at spaces under its indent; tables see `table.rs`) and coloured when
//! asked (`paint.rs`). Without a width nothing is wrapped, as for a pipe or a file.

mod paint;
mod table;
mod wrap;

use super::document::{Block, Tone};
use super::visible::Visible;
use paint::{find_marks, Ink, Paint};
use std::borrow::Cow;

/// Prose narrower than this wraps under a shallow indent instead of its hanging one.
const MIN_PROSE: usize = 20;

/// Renders `document` for a terminal `width` columns wide (none: unlimited), in colour when
/// `color`.
pub fn render(document: &Visible, width: Option<u16>, color: bool) -> String {
    let writer = Writer {
        max: width.map(usize::from),
        paint: Paint { on: color },
        marks: document.marks(),
    };
    let mut out = String::new();
    writer.prose(&mut out, ("", ""), &document.title(), Some(Ink::Heading));
    for block in document.blocks() {
        writer.block(&mut out, &block);
    }
    out
}

struct Writer<'a> {
    max: Option<usize>,
    paint: Paint,
    marks: Vec<(Cow<'a, str>, Tone)>,
}

impl Writer<'_> {
    fn block(&self, out: &mut String, block: &Block) {
        match block {
            Block::Heading(heading) => {
                out.push('\n');
                self.prose(out, ("", ""), heading, Some(Ink::Heading));
            }
            Block::Fields(fields) => {
                let name_width = fields.iter().map(|(name, _)| wrap::width(name)).max();
                for (name, value) in fields {
                    let pad = name_width.unwrap_or(0) - wrap::width(name);
                    let first = format!("  {name}{}  ", " ".repeat(pad));
                    let hanging = " ".repeat(wrap::width(&first));
                    let next = match self.max {
                        Some(max) if max < hanging.len() + MIN_PROSE => "    ",
                        _ => hanging.as_str(),
                    };
                    self.prose(out, (&first, next), value, None);
                }
            }
            Block::Table(table) => {
                table::render(out, table, self.max, self.paint);
                if let Some(rest) = table.shown().1 {
                    self.prose(out, ("  ", "  "), &rest, None);
                }
            }
            Block::Code(lines) => {
                for line in lines {
                    self.prose(out, ("      ", "        "), line, None);
                }
            }
            Block::Bullets(items) => {
                for item in items {
                    self.prose(out, ("  - ", "    "), item, None);
                }
            }
            Block::Text(text) => self.prose(out, ("  ", "  "), text, None),
            // The numbers behind a chart are in the tables around it.
            Block::Chart(_) | Block::Strip(_) => {}
            Block::Alert(lines) => {
                for line in lines {
                    let label = self.paint.ink("WARNING:", Some(Ink::Alert));
                    let first = format!("  {label} ");
                    self.prose(out, (&first, "    "), line, Some(Ink::Alert));
                }
            }
        }
    }

    /// `text` as lines: the first after `prefixes.0`, the others (when it wraps) after
    /// `prefixes.1`; marked phrases highlighted over `base`.
    fn prose(&self, out: &mut String, prefixes: (&str, &str), text: &str, base: Option<Ink>) {
        let marks = if self.paint.on {
            find_marks(text, &self.marks)
        } else {
            Vec::new()
        };
        let Some(max) = self.max else {
            out.push_str(prefixes.0);
            out.push_str(&self.paint.marked(text, 0..text.len(), base, &marks));
            out.push('\n');
            return;
        };
        let visible_width = |prefix: &str| wrap::width(&strip_escapes(prefix));
        let first_room = max
            .saturating_sub(visible_width(prefixes.0))
            .max(MIN_PROSE / 2);
        let next_room = max
            .saturating_sub(visible_width(prefixes.1))
            .max(MIN_PROSE / 2);
        let ranges = wrap::wrap(text, first_room);
        let Some(head) = ranges.first().cloned() else {
            return;
        };
        let mut lines = vec![head.clone()];
        let rest_start = text[head.end..]
            .find(|c| c != ' ')
            .map_or(text.len(), |skip| head.end + skip);
        if rest_start < text.len() {
            let rest = &text[rest_start..];
            lines.extend(
                wrap::wrap(rest, next_room)
                    .into_iter()
                    .map(|range| range.start + rest_start..range.end + rest_start),
            );
        }
        for (index, range) in lines.into_iter().enumerate() {
            out.push_str(if index == 0 { prefixes.0 } else { prefixes.1 });
            out.push_str(&self.paint.marked(text, range, base, &marks));
            out.push('\n');
        }
    }
}

/// `text` without the ANSI escape sequences this renderer adds (to measure a prefix).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::document::{Document, Table};
    use super::*;

    fn rendered(document: &Document, width: Option<u16>) -> String {
        render(&Visible::new(document), width, false)
    }

    fn widest(text: &str) -> usize {
        text.lines().map(wrap::width).max().unwrap_or(0)
    }

    fn modules() -> Document {
        let mut table = Table::new(
            "modules",
            &["Module", "Version", "Unused", "Blamed#", "Path@~"],
        );
        for (name, version, path) in [
            (
                "MSMAPI32.DLL",
                "11.0.5601.0",
                r"C:\Program Files\Common Files\System\MSMAPI\1033\MSMAPI32.DLL",
            ),
            (
                "ntdll.dll",
                "5.1.2600.2180",
                r"C:\WINDOWS\system32\ntdll.dll",
            ),
        ] {
            table.row(vec![
                name.into(),
                version.into(),
                String::new(),
                "9".into(),
                path.into(),
            ]);
        }
        let mut document =
            Document::new("dumpleak diff: a long title that wraps at a narrow width");
        document.push(Block::Table(table));
        document
    }

    #[test]
    fn without_a_width_nothing_is_fitted() {
        let text = rendered(&modules(), None);
        assert!(text.contains("┆ Unused ┆"), "{text}");
        assert!(text.contains(r"C:\Program Files\Common Files\System\MSMAPI\1033\MSMAPI32.DLL"));
    }

    #[test]
    fn empty_columns_go_and_paths_shorten_in_the_middle() {
        let text = rendered(&modules(), Some(72));
        assert!(widest(&text) <= 72, "{text}");
        assert!(!text.contains("Unused"), "{text}");
        assert!(text.contains(r"…\MSMAPI32.DLL"), "{text}");
        assert!(text.contains("│ MSMAPI32.DLL ┆ 11.0.5601.0 "), "{text}");
    }

    #[test]
    fn optional_columns_go_next_and_the_report_says_so() {
        let text = rendered(&modules(), Some(50));
        assert!(widest(&text) <= 50, "{text}");
        assert!(!text.contains("┆ Path"), "{text}");
        assert!(text.contains("(left out at this width: Path;"), "{text}");
    }

    #[test]
    fn a_table_that_cannot_fit_becomes_a_list() {
        let text = rendered(&modules(), Some(34));
        assert!(widest(&text) <= 34, "{text}");
        assert!(text.contains("  Module:  MSMAPI32.DLL\n"), "{text}");
        assert!(text.contains("  Version: 11.0.5601.0\n"), "{text}");
        assert!(!text.contains('┆'), "{text}");
        assert!(text.contains("\n\n  Module:  ntdll.dll\n"), "{text}");
    }

    #[test]
    fn prose_wraps_at_spaces_under_its_indent() {
        let mut document = Document::new("t");
        document.push(Block::Fields(vec![(
            "Process".into(),
            "OrderMailer.exe, pid 3856, x86, Windows 5.1.2600 Service Pack 2".into(),
        )]));
        document.push(Block::Bullets(vec![
            "MSMAPI32.DLL 11.0.5601.0: 9 of 9 new handles (6 Mutant, 3 Section)".into(),
        ]));
        let text = rendered(&document, Some(40));
        assert_eq!(
            text,
            "t\n  Process  OrderMailer.exe, pid 3856,\n           x86, Windows 5.1.2600 Service\n           Pack 2\n  - MSMAPI32.DLL 11.0.5601.0: 9 of 9 new\n    handles (6 Mutant, 3 Section)\n"
        );
    }
}
