//! The document as the text, Markdown and HTML renderers see it: every string passed through
//! [`crate::sanitize::visible`], so that no renderer can show a control, C1, bidi or invisible
//! character from a dump raw. [`render`](super::render) hands these renderers a [`Visible`]
//! and never the [`Document`] itself; CSV and JSON, which keep strings exact, take the
//! document.

use super::document::{Block, Chart, Document, StripChart, Table};
use crate::sanitize::{is_hidden, visible};
use std::borrow::Cow;

/// A document whose text comes out escaped. Blocks are escaped one at a time as they are
/// rendered (and only when they hold something to escape), so a hostile report costs at most
/// one extra copy of its largest block.
pub(super) struct Visible<'a> {
    document: &'a Document,
}

impl<'a> Visible<'a> {
    /// The escaped view of `document`.
    pub(super) fn new(document: &'a Document) -> Visible<'a> {
        Visible { document }
    }

    /// The title, escaped.
    pub(super) fn title(&self) -> Cow<'a, str> {
        visible(&self.document.title)
    }

    /// The phrases to highlight ([`Document::mark`]), escaped as the prose they stand in.
    #[cfg(feature = "cli")]
    pub(super) fn marks(&self) -> Vec<(Cow<'a, str>, super::document::Tone)> {
        self.document
            .marks
            .iter()
            .map(|(phrase, tone)| (visible(phrase), *tone))
            .collect()
    }

    /// The blocks in order, each escaped.
    pub(super) fn blocks(&self) -> impl Iterator<Item = Cow<'a, Block>> + 'a {
        self.document.blocks.iter().map(visible_block)
    }
}

/// `block` with every string escaped; borrowed when none needs it.
fn visible_block(block: &Block) -> Cow<'_, Block> {
    let mut hidden = false;
    each_text(block, &mut |text| hidden |= text.contains(is_hidden));
    if !hidden {
        return Cow::Borrowed(block);
    }
    let mut copy = block.clone();
    each_text_mut(&mut copy, &mut |text| {
        if let Cow::Owned(escaped) = visible(text) {
            *text = escaped;
        }
    });
    Cow::Owned(copy)
}

/// Calls `f` on every string of `block`.
fn each_text(block: &Block, f: &mut impl FnMut(&str)) {
    match block {
        Block::Heading(text) | Block::Text(text) => f(text),
        Block::Fields(fields) => fields.iter().for_each(|(name, value)| {
            f(name);
            f(value);
        }),
        Block::Table(table) => table
            .headers
            .iter()
            .chain(table.rows.iter().flatten())
            .for_each(|text| f(text)),
        Block::Code(lines) | Block::Bullets(lines) | Block::Alert(lines) => {
            lines.iter().for_each(|text| f(text))
        }
        Block::Strip(strip) => {
            let (x, y) = &strip.axes;
            [&strip.title, x, y]
                .into_iter()
                .chain(strip.groups.iter().map(|(name, _)| name))
                .for_each(|text| f(text));
        }
        Block::Chart(chart) => {
            let (x, y) = &chart.axes;
            [&chart.title, x, y]
                .into_iter()
                .chain(&chart.x_labels)
                .chain(chart.series.iter().map(|(name, _)| name))
                .for_each(|text| f(text));
        }
    }
}

/// Calls `f` on every string of `block`, mutably (the same strings as [`each_text`]).
pub(super) fn each_text_mut(block: &mut Block, f: &mut impl FnMut(&mut String)) {
    match block {
        Block::Heading(text) | Block::Text(text) => f(text),
        Block::Fields(fields) => fields.iter_mut().for_each(|(name, value)| {
            f(name);
            f(value);
        }),
        Block::Table(Table { headers, rows, .. }) => headers
            .iter_mut()
            .chain(rows.iter_mut().flatten())
            .for_each(f),
        Block::Code(lines) | Block::Bullets(lines) | Block::Alert(lines) => {
            lines.iter_mut().for_each(f)
        }
        Block::Strip(StripChart {
            title,
            axes: (x, y),
            groups,
        }) => [title, x, y]
            .into_iter()
            .chain(groups.iter_mut().map(|(name, _)| name))
            .for_each(f),
        Block::Chart(Chart {
            title,
            x_labels,
            axes: (x, y),
            series,
        }) => [title, x, y]
            .into_iter()
            .chain(x_labels)
            .chain(series.iter_mut().map(|(name, _)| name))
            .for_each(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile_document() -> Document {
        let mut table = Table::new("t", &["Name", "Count#"]);
        table.row(vec!["a\nb".to_string(), "1".to_string()]);
        let mut document = Document::new("title\x1b]0;pwned\x07");
        document.push(Block::Heading("h\u{202e}".to_string()));
        document.push(Block::Fields(vec![(
            "n\r".to_string(),
            "v\u{9b}".to_string(),
        )]));
        document.push(Block::Table(table));
        document.push(Block::Code(vec!["frame\nforged".to_string()]));
        document.push(Block::Bullets(vec!["b\u{2066}".to_string()]));
        document.push(Block::Text("t\t".to_string()));
        document.push(Block::Chart(Chart {
            title: "c\x1b".to_string(),
            x_labels: vec!["x\n".to_string()],
            axes: ("ax\0".to_string(), "ay\x7f".to_string()),
            series: vec![("s\u{200f}".to_string(), vec![1.0])],
        }));
        document
    }

    #[test]
    fn every_string_of_every_block_is_escaped() {
        let document = hostile_document();
        let shown = Visible::new(&document);
        assert_eq!(shown.title(), r"title\x1b]0;pwned\x07");
        let (mut strings, mut escaped) = (0, 0);
        for block in shown.blocks() {
            assert!(matches!(block, Cow::Owned(_)));
            each_text(&block, &mut |text| {
                strings += 1;
                escaped += usize::from(text.contains('\\'));
                assert!(!text.contains(is_hidden), "{text:?}");
            });
        }
        // All but the table's two headings and its count cell held a hidden character.
        assert_eq!((strings, escaped), (15, 12));
    }

    #[test]
    fn clean_blocks_are_borrowed() {
        let mut document = Document::new("t");
        document.push(Block::Text("C:\\Windows\\käfer.dll".to_string()));
        let shown = Visible::new(&document);
        assert!(matches!(shown.title(), Cow::Borrowed("t")));
        assert!(shown
            .blocks()
            .all(|block| matches!(block, Cow::Borrowed(_))));
    }
}
