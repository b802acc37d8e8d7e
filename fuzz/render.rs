//! The `render` fuzz target: a report document built from arbitrary strings, rendered in
//! every format, and the properties each rendering must keep whatever the strings hold.
//! [`check`] also runs on the reports of hostile dumps (`tests/it/injection.rs`), and
//! `tests/it/injection.rs` feeds [`fuzz`] a few thousand pseudo-random inputs.
//!
//! - terminal table: no raw control, C1, bidi or invisible character; one line per string
//!   (a newline in a string never starts a line);
//! - Markdown: the same, and parsed as GitHub does (pulldown-cmark with tables,
//!   strikethrough, task lists, footnotes, math) it gives back exactly the document's
//!   strings, escaped, in the document's structure: no heading, link, image, HTML, code block
//!   or table cell comes from a string;
//! - CSV: every cell as given, except that one a spreadsheet would run as a formula (it starts
//!   with `=`, `+`, `-`, `@`, a tab or a carriage return and is not a plain number) gets a
//!   leading `'`;
//! - HTML: no raw hidden character, and the same markup (count of `<` and `>`) as the same
//!   document with every string replaced by as many `x`.

use dumpleak::report::document::{Block, Chart, Document, Table};
use dumpleak::report::{render, Format, RenderOptions};
use dumpleak::sanitize::{is_hidden, visible};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Characters that bytes 0xF8..=0xFE (never valid UTF-8) stand for, so that the fuzzer
/// reaches them with one byte; 0xFF separates strings.
const SHORTHANDS: [char; 7] = [
    '\u{202e}', '\u{9b}', '\u{2066}', '\u{ff1d}', '\u{200b}', '\u{85}', '\u{2028}',
];

/// `data` as strings: split at 0xFF, decoded as lossy UTF-8 with the [`SHORTHANDS`].
pub fn strings(data: &[u8]) -> Vec<String> {
    data.split(|&byte| byte == 0xff)
        .map(|piece| {
            let mut text = String::new();
            for run in piece.split_inclusive(|&byte| byte >= 0xf8) {
                match run.split_last() {
                    Some((&last, head)) if last >= 0xf8 => {
                        text.push_str(&String::from_utf8_lossy(head));
                        text.push(SHORTHANDS[usize::from(last - 0xf8)]);
                    }
                    _ => text.push_str(&String::from_utf8_lossy(run)),
                }
            }
            text
        })
        .collect()
}

/// A document that puts every string in every place a renderer shows text: the title (the
/// first), headings, field values, table headings and cells (a shown table cut to 3 rows
/// and a CSV-only one), code lines, bullets, paragraphs and a chart's labels.
pub fn document(strings: &[String]) -> Document {
    let first = strings.first().cloned().unwrap_or_default();
    let mut document = Document::new(first.clone());
    let mut shown = Table::new("shown", &["Name", "Count#"]);
    shown.headers[0] = first.clone();
    let mut hidden = Table::new("hidden", &["Value", "Other"]);
    for text in strings {
        document.push(Block::Heading(text.clone()));
        document.push(Block::Text(text.clone()));
        shown.row(vec![text.clone(), text.clone()]);
        hidden.row(vec![text.clone(), first.clone()]);
    }
    let fields = strings
        .iter()
        .map(|text| ("Field".to_string(), text.clone()));
    document.push(Block::Fields(fields.collect()));
    document.push(Block::Table(shown.show_at_most(3)));
    document.push(Block::Code(strings.to_vec()));
    document.push(Block::Bullets(strings.to_vec()));
    document.push(Block::Chart(Chart {
        title: first.clone(),
        x_labels: vec![first.clone(), strings.last().cloned().unwrap_or_default()],
        axes: (first.clone(), first),
        series: strings
            .iter()
            .enumerate()
            .map(|(index, text)| (text.clone(), vec![index as f64, 1.0]))
            .collect(),
    }));
    document.hidden.push(hidden);
    document
}

/// The fuzz target: [`check`] on the [`document`] of the [`strings`] in `data`.
pub fn fuzz(data: &[u8]) {
    check(&document(&strings(data)));
}

/// Renders `document` in every format and panics when a rendering breaks a property (see the
/// module documentation).
pub fn check(document: &Document) {
    check_table(document);
    check_markdown(document);
    check_html(document);
    for table in document.tables() {
        check_csv(document, table);
    }
}

fn rendered(document: &Document, format: Format, table: Option<&str>) -> String {
    let mut options = RenderOptions::default();
    options.table = table.map(str::to_string);
    render(&(), document, format, &options, "").expect("every format renders")
}

/// Panics on a hidden character other than the renderer's own line ends.
fn assert_nothing_hidden(format: &str, text: &str) {
    if let Some(ch) = text.chars().find(|&ch| ch != '\n' && is_hidden(ch)) {
        panic!("{format}: raw {ch:?} in\n{text}");
    }
}

fn check_table(document: &Document) {
    let text = rendered(document, Format::Table, None);
    assert_nothing_hidden("table", &text);
    let mut lines = 1;
    for block in &document.blocks {
        lines += match block {
            Block::Heading(_) => 2,
            Block::Text(_) => 1,
            Block::Fields(fields) => fields.len(),
            Block::Code(lines) | Block::Bullets(lines) => lines.len(),
            Block::Table(table) => {
                let (rows, rest) = table.shown();
                rows.len() + 4 + usize::from(rest.is_some())
            }
            _ => 0,
        };
    }
    assert_eq!(text.matches('\n').count(), lines, "table: lines\n{text}");
}

/// One piece of Markdown, parsed or expected: its kind and its text.
pub type Unit = (&'static str, String);

fn check_markdown(document: &Document) {
    let markdown = rendered(document, Format::Markdown, None);
    assert_nothing_hidden("markdown", &markdown);
    let parsed = parsed_units(&markdown);
    let expected = expected_units(document);
    for (index, (parsed, expected)) in parsed.iter().zip(&expected).enumerate() {
        assert_eq!(parsed, expected, "markdown: unit {index}\n{markdown}");
    }
    assert_eq!(parsed.len(), expected.len(), "markdown: units\n{markdown}");
}

/// What the Markdown of `document` must parse to: its strings as [`visible`] shows them, in
/// headings, list items (fields as `name: value`), table rows and cells, code blocks and
/// paragraphs, in order. Surrounding spaces are not kept (Markdown drops them), and a
/// paragraph of nothing is no paragraph.
pub fn expected_units(document: &Document) -> Vec<Unit> {
    let shown = |text: &str| visible(text).trim_matches(' ').to_string();
    let mut units = vec![("heading", shown(&document.title))];
    for block in &document.blocks {
        match block {
            Block::Heading(text) => units.push(("heading", shown(text))),
            Block::Text(text) if !shown(text).is_empty() => units.push(("paragraph", shown(text))),
            Block::Text(_) | Block::Chart(_) => {}
            Block::Fields(fields) => units.extend(fields.iter().map(|(name, value)| {
                let item = format!("{}: {}", visible(name), visible(value));
                ("item", item.trim_matches(' ').to_string())
            })),
            Block::Bullets(items) => units.extend(items.iter().map(|item| ("item", shown(item)))),
            Block::Code(lines) => {
                let code: String = lines.iter().map(|line| visible(line) + "\n").collect();
                units.push(("code", code.trim_matches(' ').to_string()));
            }
            Block::Table(table) => {
                let (rows, rest) = table.shown();
                for row in std::iter::once(&table.headers).chain(rows) {
                    units.push(("row", String::new()));
                    units.extend(row.iter().map(|cell| ("cell", shown(cell))));
                }
                units.extend(rest.map(|rest| ("paragraph", rest.replace('`', ""))));
            }
            _ => panic!("a block this check does not know: {block:?}"),
        }
    }
    units
}

/// Parses `markdown` as GitHub does and returns its units; panics on any construct a report
/// does not write itself (links, images, HTML, emphasis, math, footnotes, …).
pub fn parsed_units(markdown: &str) -> Vec<Unit> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
        | Options::ENABLE_WIKILINKS;
    let mut units: Vec<Unit> = Vec::new();
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::Heading { .. }) => units.push(("heading", String::new())),
            Event::Start(Tag::Paragraph) => units.push(("paragraph", String::new())),
            Event::Start(Tag::Item) => units.push(("item", String::new())),
            Event::Start(Tag::CodeBlock(_)) => units.push(("code", String::new())),
            Event::Start(Tag::TableHead | Tag::TableRow) => units.push(("row", String::new())),
            Event::Start(Tag::TableCell) => units.push(("cell", String::new())),
            Event::Start(Tag::List(None) | Tag::Table(_) | Tag::Strong)
            | Event::End(
                TagEnd::Heading(_)
                | TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::TableCell
                | TagEnd::List(false)
                | TagEnd::Table
                | TagEnd::Strong,
            ) => {}
            Event::Text(text) | Event::Code(text) => {
                units.last_mut().expect("text in a block").1.push_str(&text)
            }
            other => panic!("markdown: a construct from a string: {other:?}\n{markdown}"),
        }
    }
    for unit in &mut units {
        unit.1 = unit.1.trim_matches(' ').to_string();
    }
    units
}

fn check_csv(document: &Document, table: &Table) {
    let csv = rendered(document, Format::Csv, Some(table.id));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("the CSV parses");
    assert_eq!(records.len(), table.rows.len() + 1, "csv: rows\n{csv}");
    let rows = std::iter::once(&table.headers).chain(&table.rows);
    for (index, (record, row)) in records.iter().zip(rows).enumerate() {
        assert_eq!(record.len(), row.len(), "csv: cells\n{csv}");
        for (column, (written, cell)) in record.iter().zip(row).enumerate() {
            if runs_as_formula(cell) {
                assert_eq!(written, format!("'{cell}"), "csv: formula {cell:?}");
            } else if index == 0 && column == 0 && csv.starts_with('\u{feff}') {
                // The reader drops a byte-order mark at the start of the input.
                assert_eq!(written, &cell['\u{feff}'.len_utf8()..], "csv: {cell:?}");
            } else {
                assert_eq!(written, cell, "csv: cell {cell:?}");
            }
        }
    }
}

/// Whether a spreadsheet may run `cell` as a formula: after any byte-order marks, it starts
/// with `=`, `+`, `-`, `@`, tab, carriage return (or a full-width `=`, `+`, `-`, `@`), and is
/// not a plain number such as `-3`, `+1.5` or `-12%`.
pub fn runs_as_formula(cell: &str) -> bool {
    let cell = cell.trim_start_matches('\u{feff}');
    let number = cell.strip_suffix('%').unwrap_or(cell);
    let plain_number = number.parse::<f64>().is_ok()
        && !number.contains(|ch: char| ch.is_alphabetic() && ch != 'e' && ch != 'E');
    let starts = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];
    cell.starts_with(starts) && !plain_number
}

fn check_html(document: &Document) {
    let html = rendered(document, Format::Html, None);
    assert_nothing_hidden("html", &html);
    let plain = rendered(&placeholders(document), Format::Html, None);
    for ch in ['<', '>'] {
        assert_eq!(
            html.matches(ch).count(),
            plain.matches(ch).count(),
            "html: markup {ch:?} differs from the same page without the strings\n{html}"
        );
    }
}

/// `document` with every string replaced by as many `x` as [`visible`] shows characters.
fn placeholders(document: &Document) -> Document {
    let x = |text: &mut String| *text = "x".repeat(visible(text).chars().count());
    let mut copy = document.clone();
    x(&mut copy.title);
    for block in &mut copy.blocks {
        match block {
            Block::Heading(text) | Block::Text(text) => x(text),
            Block::Fields(fields) => fields.iter_mut().for_each(|(_, value)| x(value)),
            Block::Table(table) => table
                .headers
                .iter_mut()
                .chain(table.rows.iter_mut().flatten())
                .for_each(x),
            Block::Code(lines) | Block::Bullets(lines) => lines.iter_mut().for_each(x),
            Block::Chart(chart) => {
                x(&mut chart.title);
                x(&mut chart.axes.0);
                x(&mut chart.axes.1);
                chart.x_labels.iter_mut().for_each(x);
                chart.series.iter_mut().for_each(|(name, _)| x(name));
            }
            _ => panic!("a block this check does not know: {block:?}"),
        }
    }
    copy
}
