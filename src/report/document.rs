//! A report laid out as headings, fields, tables, code and notes, so that each output
//! format renders the same content and none of them computes anything.
//!
//! Text from dumps can be huge (a 64 KiB object name, shared by 100,000 handles): every text
//! that enters a document is cut to [`MAX_SHOWN_BYTES`] with a note of what is not shown, a
//! table shows at most [`LONG_CELLS_PER_TABLE`] bytes of long cells before it cuts them to
//! [`SHORT_CELL_BYTES`], and terminal and Markdown output show at most [`MAX_SHOWN_ROWS`] rows
//! of a table. JSON, which is the report model and not a document, keeps every string whole.

use super::csv_out::CsvRows;
use std::borrow::Cow;

/// Longest text a document holds in one cell, field, list item, code line or heading; longer
/// text is cut at a character boundary and ends `… (N bytes not shown)`.
pub const MAX_SHOWN_BYTES: usize = 4096;
/// Bytes of long cells (longer than [`SHORT_CELL_BYTES`]) one table holds; past them its long
/// cells are cut at [`SHORT_CELL_BYTES`].
pub const LONG_CELLS_PER_TABLE: usize = 8 << 20;
/// Where long cells are cut once their table has spent [`LONG_CELLS_PER_TABLE`].
pub const SHORT_CELL_BYTES: usize = 256;
/// Rows terminal and Markdown output show of a table that sets no smaller limit: they pad every
/// row to the widest cell of its column, so a table of a million rows would take gigabytes.
pub const MAX_SHOWN_ROWS: usize = 10_000;
/// Rows an HTML page shows of a table laid out for it ([`Rows::Page`]); it says how many it
/// left out.
pub const MAX_PAGE_ROWS: usize = 10_000;
/// Stacks terminal, Markdown and HTML output show (each is a paragraph and a block of code);
/// a line says how many more there are, and JSON lists them all.
pub const MAX_SHOWN_STACKS: usize = 1_000;

/// Room kept for the note that ends shortened text.
const NOTE_BYTES: usize = 48;

/// `text` in at most `max` bytes (`max` over 48): cut at a character boundary and ended with
/// `… (N bytes not shown)`. Unchanged when it fits; shortening twice changes nothing.
pub fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut cut = max.saturating_sub(NOTE_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!(
        "{}… ({} bytes not shown)",
        &text[..cut],
        text.len() - cut
    ))
}

/// `text` as a document holds it ([`shorten`] to [`MAX_SHOWN_BYTES`]), copied.
pub fn cell(text: &str) -> String {
    shorten(text, MAX_SHOWN_BYTES).into_owned()
}

/// `text` shortened to `max` bytes, reusing it when it is short enough.
fn shortened(text: String, max: usize) -> String {
    match shorten(&text, max) {
        Cow::Borrowed(_) => text,
        Cow::Owned(short) => short,
    }
}

/// Heading of the section listing what the evidence cannot support (the HTML page sets it
/// apart).
pub const NOTES_HEADING: &str = "Notes: what this evidence cannot support";

/// A laid-out report.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Document {
    /// Title line.
    pub title: String,
    /// Content in order.
    pub blocks: Vec<Block>,
    /// Tables offered for CSV output only (their content is shown otherwise in the blocks).
    pub hidden: Vec<Table>,
    /// Phrases the terminal highlights wherever they stand in prose ([`Document::mark`]).
    pub marks: Vec<(String, Tone)>,
    /// Index in `blocks` of each stack's summary ([`Document::push_stack`]), for
    /// [`Document::keep_top`].
    stacks: Vec<usize>,
    /// Most stacks held ([`Document::holding_stacks`]); `None`: all.
    stack_limit: Option<usize>,
    /// Stacks given past the limit: counted, not held.
    omitted_stacks: usize,
    /// Index in `blocks` of the line saying how many stacks are not shown
    /// ([`Document::end_stacks`]).
    stacks_note: Option<usize>,
}

/// How the terminal highlights a piece of a report when it uses colour (other formats do
/// not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tone {
    /// A blamed module and its version: the answer.
    Blame,
    /// A leak verdict.
    Leak,
    /// A count that changes without being a leak: plateau, decline, churn.
    Change,
}

impl Tone {
    /// The tone of a trend verdict word (`leak`, `plateau`, `decline`, `churn`; none for
    /// `stable` or anything else), by the cell's first word.
    pub fn of_class(word: &str) -> Option<Tone> {
        match word.split([' ', ',', ':']).next().unwrap_or("") {
            "leak" => Some(Tone::Leak),
            "plateau" | "decline" | "churn" => Some(Tone::Change),
            _ => None,
        }
    }
}

/// One piece of a document.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// `name: value` lines.
    Fields(Vec<(String, String)>),
    /// A table; `id` names it for `--format csv --table ID`.
    Table(Table),
    /// Preformatted lines (stacks).
    Code(Vec<String>),
    /// A bulleted list.
    Bullets(Vec<String>),
    /// A line of text.
    Text(String),
    /// A line chart (HTML draws it; text and Markdown show the same numbers in a table).
    Chart(Chart),
    /// Warnings that change what the report concludes, shown before anything else.
    Alert(Vec<String>),
    /// Values of several groups side by side, one point per value (HTML draws it; the numbers
    /// are in the tables around it).
    Strip(StripChart),
}

/// A strip plot: for each group (a module version, say), one point per value.
#[derive(Debug, Clone)]
pub struct StripChart {
    /// Chart title.
    pub title: String,
    /// Axis titles: x (the groups), then y (the values).
    pub axes: (String, String),
    /// Groups in order, each with its values.
    pub groups: Vec<(String, Vec<f64>)>,
}

/// Values over a shared x axis, one line per series.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Chart title.
    pub title: String,
    /// Label of each x position (e.g. the dump's capture time).
    pub x_labels: Vec<String>,
    /// Axis titles: x, then y.
    pub axes: (String, String),
    /// Named series, each with one value per x position.
    pub series: Vec<(String, Vec<f64>)>,
}

/// Which rows of a table a document holds, and which stacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Rows {
    /// Every row and every stack: what [`Document`]s hold unless a layout is told otherwise.
    #[default]
    All,
    /// Only the rows terminal and Markdown output show ([`Table::shown_rows`]) and the first
    /// [`MAX_SHOWN_STACKS`] stacks; the others are counted, not laid out (a diff of two
    /// million new handles).
    Shown,
    /// What an HTML page shows: at most [`MAX_PAGE_ROWS`] rows of a table and the first
    /// [`MAX_SHOWN_STACKS`] stacks, the others counted.
    Page,
    /// CSV of the table with this identifier: its rows all, no other table's and no stacks
    /// (CSV writes one table).
    Table(String),
    /// As [`Rows::Table`], its rows laid out as the CSV text they are written as, not as cells
    /// (a million rows of cells take gigabytes): for CSV output that nothing rewrites.
    Csv(String),
    /// No rows, only their number (a table kept for CSV, in a document for another format).
    Counted,
}

impl Rows {
    /// The rows `format` shows: [`Rows::Shown`] for the terminal and Markdown, [`Rows::Page`]
    /// for HTML, [`Rows::Csv`] of `csv_table` for CSV, [`Rows::All`] otherwise.
    pub fn for_format(format: super::Format, csv_table: &str) -> Rows {
        match format {
            super::Format::Table | super::Format::Markdown => Rows::Shown,
            super::Format::Html => Rows::Page,
            super::Format::Csv => Rows::Csv(csv_table.to_string()),
            _ => Rows::All,
        }
    }

    /// What a table kept for CSV only ([`Document::hidden`]) holds: nothing unless the
    /// document is for CSV (or for every format).
    pub fn for_hidden(&self) -> Rows {
        match self {
            Rows::All | Rows::Table(_) | Rows::Csv(_) => self.clone(),
            Rows::Shown | Rows::Page | Rows::Counted => Rows::Counted,
        }
    }

    /// How many stacks a document laid out for these rows holds.
    fn stack_limit(&self) -> Option<usize> {
        match self {
            Rows::All => None,
            Rows::Shown | Rows::Page => Some(MAX_SHOWN_STACKS),
            Rows::Table(_) | Rows::Csv(_) | Rows::Counted => Some(0),
        }
    }
}

/// A table with a stable identifier.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Table {
    /// Identifier used to select the table for CSV output.
    pub id: &'static str,
    /// Column headings.
    pub headers: Vec<String>,
    /// Which columns hold numbers (right-aligned).
    pub numeric: Vec<bool>,
    /// What each column holds, for renderers that lay columns out differently (HTML).
    pub kinds: Vec<ColumnKind>,
    /// Cells, row by row (none for [`Rows::Csv`]: see [`Table::csv_text`]).
    pub rows: Vec<Vec<String>>,
    /// Rows laid out as CSV text ([`Rows::Csv`]).
    csv: CsvRows,
    /// Terminal and Markdown output show at most this many rows (at most [`MAX_SHOWN_ROWS`])
    /// and say how many they left out; CSV, HTML and JSON always hold every row.
    pub shown_rows: Option<usize>,
    /// Rows not held (see [`Rows`]), counted in the note about rows not shown.
    pub omitted_rows: usize,
    /// Which rows the table holds.
    holds: Rows,
    /// Bytes of long cells held so far (see [`LONG_CELLS_PER_TABLE`]).
    long_cells: usize,
    /// Which columns hold file paths (the terminal shortens them in the middle when narrow).
    pub paths: Vec<bool>,
    /// Which columns a narrow terminal may leave out before it gives up the table for a list
    /// (detail columns, and those the header marks with `?`: their content is summarised
    /// elsewhere).
    pub optional: Vec<bool>,
    /// Highlight of every non-empty cell of a column ([`Table::highlight`]).
    pub tones: Vec<Option<Tone>>,
    /// Highlight of single cells: row, column, tone ([`Table::mark`]).
    pub marks: Vec<(usize, usize, Tone)>,
}

/// What a table column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text.
    Text,
    /// Numbers (right-aligned).
    Number,
    /// File paths (HTML shows the file name, the whole path on hover).
    Path,
    /// Per-row detail (HTML moves it into an expandable row under the row).
    Detail,
}

impl Table {
    /// A table with the given columns. A heading's last characters may say what the column
    /// holds, and are dropped: `#` numbers, `@` file paths, `~` per-row detail (`#~` a number
    /// that is detail, `@~` a path that is), `?` a column a narrow terminal may leave out.
    pub fn new(id: &'static str, headers: &[&str]) -> Table {
        let mut table = Table {
            id,
            headers: Vec::new(),
            numeric: Vec::new(),
            kinds: Vec::new(),
            rows: Vec::new(),
            csv: CsvRows::default(),
            shown_rows: None,
            omitted_rows: 0,
            holds: Rows::All,
            long_cells: 0,
            paths: Vec::new(),
            optional: Vec::new(),
            tones: vec![None; headers.len()],
            marks: Vec::new(),
        };
        for header in headers {
            let optional = header.ends_with('?');
            let header = header.trim_end_matches('?');
            let detail = header.ends_with('~');
            let header = header.trim_end_matches('~');
            let path = header.ends_with('@');
            let header = header.trim_end_matches('@');
            let number = header.ends_with('#');
            table.headers.push(header.trim_end_matches('#').to_string());
            table.numeric.push(number);
            table.paths.push(path);
            table.optional.push(optional || detail);
            table.kinds.push(match (detail, number, path) {
                (true, _, _) => ColumnKind::Detail,
                (_, true, _) => ColumnKind::Number,
                (_, _, true) => ColumnKind::Path,
                _ => ColumnKind::Text,
            });
        }
        table
    }

    /// Highlights every non-empty cell of column `index` (a column of blamed modules, say).
    pub fn highlight(&mut self, index: usize, tone: Tone) {
        if let Some(slot) = self.tones.get_mut(index) {
            *slot = Some(tone);
        }
    }

    /// Highlights the cell in column `index` of the last row added (nothing when that row was
    /// not held: see [`Table::holding`]).
    pub fn mark(&mut self, index: usize, tone: Tone) {
        if self.omitted_rows > 0 {
            return;
        }
        if let Some(row) = self.rows.len().checked_sub(1) {
            self.marks.push((row, index, tone));
        }
    }

    /// The highlight of the cell at `row`, `column`, if any.
    pub fn tone(&self, row: usize, column: usize) -> Option<Tone> {
        let cell = self.rows.get(row)?.get(column)?;
        if cell.is_empty() {
            return None;
        }
        self.marks
            .iter()
            .find(|(r, c, _)| (*r, *c) == (row, column))
            .map(|(_, _, tone)| *tone)
            .or(self.tones.get(column).copied().flatten())
    }

    /// The kind of column `index`.
    pub fn kind(&self, index: usize) -> ColumnKind {
        self.kinds.get(index).copied().unwrap_or(ColumnKind::Text)
    }

    /// Limits terminal and Markdown output to the first `rows` rows.
    pub fn show_at_most(mut self, rows: usize) -> Table {
        self.shown_rows = Some(rows);
        self
    }

    /// Holds only the rows the format of `rows` shows (see [`Rows`]); the others are counted.
    pub fn holding(mut self, rows: &Rows) -> Table {
        self.holds = rows.clone();
        self
    }

    /// How many rows terminal and Markdown output show at most.
    fn shown_limit(&self) -> usize {
        self.shown_rows
            .unwrap_or(MAX_SHOWN_ROWS)
            .min(MAX_SHOWN_ROWS)
    }

    /// The rows terminal and Markdown output show, and the sentence about the rest (if any).
    pub fn shown(&self) -> (&[Vec<String>], Option<String>) {
        let limit = self.shown_limit().min(self.rows.len());
        (&self.rows[..limit], self.more_rows(limit))
    }

    /// The rows an HTML page shows (all those held), and the sentence about the rest (if any:
    /// see [`Rows::Page`]).
    pub fn held(&self) -> (&[Vec<String>], Option<String>) {
        (&self.rows, self.more_rows(self.rows.len()))
    }

    /// The sentence about the rows after the first `shown`, if any.
    fn more_rows(&self, shown: usize) -> Option<String> {
        let total = self.rows.len() + self.omitted_rows;
        (total > shown).then(|| {
            format!(
                "… {} more rows not shown (`--format csv --table {}` or `--format json` list all {total})",
                total - shown,
                self.id,
            )
        })
    }

    /// Whether the table holds the next row it is given (see [`Rows`]); a row not held is
    /// only counted.
    fn holds_next(&self) -> bool {
        match &self.holds {
            Rows::All => true,
            Rows::Shown => self.rows.len() < self.shown_limit(),
            Rows::Page => self.rows.len() < MAX_PAGE_ROWS,
            Rows::Table(id) | Rows::Csv(id) => id == self.id,
            Rows::Counted => false,
        }
    }

    /// Appends a row, its long cells shortened (see [`LONG_CELLS_PER_TABLE`]); only counts it
    /// when the table does not hold it (see [`Table::holding`]).
    pub fn row(&mut self, cells: Vec<String>) {
        if !self.holds_next() {
            self.omitted_rows += 1;
            return;
        }
        let cells = cells
            .into_iter()
            .map(|cell| {
                if cell.len() <= SHORT_CELL_BYTES {
                    return cell;
                }
                if self.long_cells >= LONG_CELLS_PER_TABLE {
                    return shortened(cell, SHORT_CELL_BYTES);
                }
                let cell = shortened(cell, MAX_SHOWN_BYTES);
                self.long_cells += cell.len();
                cell
            })
            .collect::<Vec<String>>();
        if matches!(self.holds, Rows::Csv(_)) {
            self.csv.push(&cells);
        } else {
            self.rows.push(cells);
        }
    }

    /// The rows laid out as CSV text ([`Rows::Csv`]), after the header; empty otherwise.
    pub fn csv_text(&self) -> &[u8] {
        self.csv.text()
    }

    /// The rows laid out as CSV text ([`Rows::Csv`]), to read their cells.
    pub(crate) fn csv_rows(&self) -> &CsvRows {
        &self.csv
    }

    /// The rows laid out as CSV text, to rewrite their cells.
    pub(crate) fn csv_rows_mut(&mut self) -> &mut CsvRows {
        &mut self.csv
    }

    /// How many rows the table holds, as cells or as CSV text.
    pub fn held_rows(&self) -> usize {
        self.rows.len() + self.csv.len()
    }

    /// Keeps the first `n` rows held and their marks.
    fn truncate(&mut self, n: usize) {
        self.rows.truncate(n);
        self.csv.truncate(n);
        self.marks.retain(|(row, _, _)| *row < n);
    }
}

impl Document {
    /// An empty document titled `title`.
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: shortened(title.into(), MAX_SHOWN_BYTES),
            blocks: Vec::new(),
            hidden: Vec::new(),
            marks: Vec::new(),
            stacks: Vec::new(),
            stack_limit: None,
            omitted_stacks: 0,
            stacks_note: None,
        }
    }

    /// Holds the stacks the format of `rows` shows ([`MAX_SHOWN_STACKS`] for the terminal,
    /// Markdown and HTML, none for CSV); the others are only counted, and
    /// [`Document::end_stacks`] says how many.
    pub fn holding_stacks(&mut self, rows: &Rows) {
        self.stack_limit = rows.stack_limit();
    }

    /// After the last stack: a line saying how many stacks were not shown and that JSON lists
    /// them all (nothing when all are shown).
    pub fn end_stacks(&mut self) {
        if self.omitted_stacks > 0 {
            let total = self.stacks.len() + self.omitted_stacks;
            self.stacks_note = Some(self.blocks.len());
            self.push(Block::Text(format!(
                "… {} more {} not shown (`--format json` lists all {total})",
                self.omitted_stacks,
                if self.omitted_stacks == 1 {
                    "stack"
                } else {
                    "stacks"
                },
            )));
        }
    }

    /// Highlights `phrase` wherever it stands in the prose (title, fields, text, bullets,
    /// stacks) as a whole: not inside a longer word, version or name.
    pub fn mark(&mut self, phrase: impl Into<String>, tone: Tone) {
        let phrase = phrase.into();
        if !phrase.is_empty() && !self.marks.iter().any(|(known, _)| *known == phrase) {
            self.marks.push((phrase, tone));
        }
    }

    /// Keeps the first `n` stacks and the first `n` rows of every table (`--top N`), saying
    /// after each what was left out. (JSON is the whole model and keeps everything.)
    pub fn keep_top(&mut self, n: usize) {
        let mut dropped_stacks: std::collections::HashSet<usize> = self
            .stacks
            .iter()
            .skip(n)
            .flat_map(|&at| [at, at + 1])
            .collect();
        let left_out = self.stacks.len().saturating_sub(n);
        if left_out > 0 {
            // One line says how many are left out, those not held included.
            dropped_stacks.extend(self.stacks_note);
        }
        let left_out = left_out + if left_out > 0 { self.omitted_stacks } else { 0 };
        let after_last_kept = self.stacks.get(n).copied();
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (index, block) in std::mem::take(&mut self.blocks).into_iter().enumerate() {
            if Some(index) == after_last_kept {
                blocks.push(Block::Text(format!(
                    "… {left_out} more {} left out (--top {n})",
                    if left_out == 1 { "stack" } else { "stacks" }
                )));
            }
            if dropped_stacks.contains(&index) {
                continue;
            }
            match block {
                Block::Table(mut table) if table.held_rows() + table.omitted_rows > n => {
                    let left_out = table.held_rows() + table.omitted_rows - n;
                    table.truncate(n);
                    table.omitted_rows = 0;
                    blocks.push(Block::Table(table));
                    blocks.push(Block::Text(format!(
                        "… {left_out} more {} left out (--top {n})",
                        if left_out == 1 { "row" } else { "rows" }
                    )));
                }
                block => blocks.push(block),
            }
        }
        self.blocks = blocks;
        self.stacks.clear();
        self.stacks_note = None;
        for table in &mut self.hidden {
            table.truncate(n);
        }
    }

    /// Appends a block, its text shortened to [`MAX_SHOWN_BYTES`] a piece (table cells are
    /// shortened as rows are added).
    pub fn push(&mut self, block: Block) {
        let short = |text: String| shortened(text, MAX_SHOWN_BYTES);
        let all = |texts: Vec<String>| texts.into_iter().map(short).collect();
        let block = match block {
            Block::Heading(text) => Block::Heading(short(text)),
            Block::Fields(fields) => Block::Fields(
                fields
                    .into_iter()
                    .map(|(name, value)| (short(name), short(value)))
                    .collect(),
            ),
            Block::Code(lines) => Block::Code(all(lines)),
            Block::Bullets(items) => Block::Bullets(all(items)),
            Block::Text(text) => Block::Text(short(text)),
            Block::Chart(mut chart) => {
                chart.title = short(chart.title);
                chart.x_labels = all(chart.x_labels);
                for (name, _) in &mut chart.series {
                    *name = short(std::mem::take(name));
                }
                Block::Chart(chart)
            }
            Block::Alert(items) => Block::Alert(all(items)),
            Block::Strip(mut strip) => {
                strip.title = short(strip.title);
                strip.axes = (short(strip.axes.0), short(strip.axes.1));
                for (name, _) in &mut strip.groups {
                    *name = short(std::mem::take(name));
                }
                Block::Strip(strip)
            }
            Block::Table(table) => Block::Table(table),
        };
        self.blocks.push(block);
    }

    /// Appends a section of `heading` and `items` as bullets; nothing when `items` is empty.
    pub fn push_list(&mut self, heading: impl Into<String>, items: Vec<String>) {
        if !items.is_empty() {
            self.push(Block::Heading(heading.into()));
            self.push(Block::Bullets(items));
        }
    }

    /// Appends the warnings that change the report's conclusion (and mistakes in the symbol
    /// path, [`crate::warning::Warning::shown_first`]) as an alert; layouts call it first, so
    /// these are read before any table. Nothing when there are none.
    pub fn push_alerts(&mut self, warnings: &[crate::warning::Warning]) {
        let alerts: Vec<String> = warnings
            .iter()
            .filter(|warning| warning.shown_first())
            .map(ToString::to_string)
            .collect();
        if !alerts.is_empty() {
            self.push(Block::Alert(alerts));
        }
    }

    /// The alert lines of the document ([`Document::push_alerts`]), for formats that have no
    /// place for them (CSV: the command line writes them to standard error).
    pub fn alerts(&self) -> impl Iterator<Item = &str> {
        self.blocks
            .iter()
            .flat_map(|block| match block {
                Block::Alert(lines) => lines.as_slice(),
                _ => &[],
            })
            .map(String::as_str)
    }

    /// Appends the closing section ([`NOTES_HEADING`]) with the warnings that do not change
    /// the conclusion (those are alerts); nothing without any.
    pub fn push_notes(&mut self, warnings: &[crate::warning::Warning]) {
        self.push_list(
            NOTES_HEADING,
            warnings
                .iter()
                .filter(|warning| !warning.shown_first())
                .map(ToString::to_string)
                .collect(),
        );
    }

    /// Appends a stack: its `summary` line, then `first_line` and the frames as code; only
    /// counts it past the stacks the document holds ([`Document::holding_stacks`]).
    pub fn push_stack(&mut self, summary: String, first_line: String, frames: &[String]) {
        if !self.holds_next_stack() {
            self.omitted_stacks += 1;
            return;
        }
        self.stacks.push(self.blocks.len());
        self.push(Block::Text(summary));
        self.push(Block::Code(
            std::iter::once(first_line)
                .chain(frames.iter().cloned())
                .collect(),
        ));
    }

    /// Whether the next stack given to [`Document::push_stack`] is held (the caller can skip
    /// laying it out when not).
    pub fn holds_next_stack(&self) -> bool {
        self.stack_limit
            .is_none_or(|limit| self.stacks.len() < limit)
    }

    /// The tables, shown ones first, then those kept for CSV only.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.blocks
            .iter()
            .filter_map(|block| match block {
                Block::Table(table) => Some(table),
                _ => None,
            })
            .chain(&self.hidden)
    }
}

/// `values` joined by spaces, cut after `max` with a count of the rest (reports list every
/// value in JSON and CSV; prose stays readable).
pub fn abbreviated(values: &[String], max: usize) -> String {
    if values.len() <= max {
        return values.join(" ");
    }
    format!(
        "{} … (+{} more)",
        values[..max].join(" "),
        values.len() - max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headings(document: &Document) -> Vec<&str> {
        document
            .blocks
            .iter()
            .filter_map(|block| match block {
                Block::Heading(heading) => Some(heading.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary_with_a_note() {
        let long = "\u{4e00}".repeat(2000);
        let short = shorten(&long, MAX_SHOWN_BYTES);
        assert!(short.len() <= MAX_SHOWN_BYTES, "{}", short.len());
        assert!(short.ends_with(&format!("… ({} bytes not shown)", 6000 - 4047)));
        assert_eq!(shorten(&short, MAX_SHOWN_BYTES), short);
        assert!(matches!(shorten("short", 64), Cow::Borrowed("short")));
        let mut document = Document::new(long.clone());
        document.push(Block::Fields(vec![("Name".to_string(), long.clone())]));
        document.push(Block::Code(vec![long.clone()]));
        assert!(document.title.len() <= MAX_SHOWN_BYTES);
        assert!(matches!(&document.blocks[0], Block::Fields(fields) if fields[0].1 == *short));
        assert!(matches!(&document.blocks[1], Block::Code(lines) if lines[0] == *short));
    }

    #[test]
    fn a_table_holds_a_bounded_amount_of_long_cells() {
        let mut table = Table::new("t", &["Name"]);
        let name = "x".repeat(64 * 1024);
        let rows = 2 * LONG_CELLS_PER_TABLE / MAX_SHOWN_BYTES;
        for _ in 0..rows {
            table.row(vec![name.clone()]);
        }
        let held: usize = table.rows.iter().map(|row| row[0].len()).sum();
        assert!(
            held <= LONG_CELLS_PER_TABLE + rows * SHORT_CELL_BYTES,
            "{held}"
        );
        assert_eq!(table.rows[0][0], *shorten(&name, MAX_SHOWN_BYTES));
        assert!(table.rows[rows - 1][0].len() <= SHORT_CELL_BYTES);
        assert!(table.rows[rows - 1][0].ends_with(" bytes not shown)"));
        assert_eq!(table.shown().0.len(), MAX_SHOWN_ROWS.min(rows));
    }

    #[test]
    fn a_table_for_the_terminal_holds_the_shown_rows_and_counts_the_rest() {
        let mut all = Table::new("t", &["N#"]).show_at_most(2);
        let mut shown = Table::new("t", &["N#"])
            .show_at_most(2)
            .holding(&Rows::Shown);
        for n in 0..5 {
            all.row(vec![n.to_string()]);
            shown.row(vec![n.to_string()]);
        }
        assert_eq!(
            (all.rows.len(), shown.rows.len(), shown.omitted_rows),
            (5, 2, 3)
        );
        assert_eq!(all.shown(), shown.shown());
        assert!(shown.shown().1.unwrap().contains("… 3 more rows not shown"));
    }

    #[test]
    fn lists_and_notes_appear_only_with_items() {
        let mut document = Document::new("t");
        document.push_list("Empty", Vec::new());
        document.push_notes(&[]);
        assert!(document.blocks.is_empty());
        document.push_list("Suspects", vec!["a".to_string()]);
        document.push_notes(&[crate::warning::Warning::new(
            crate::warning::WarningCode::NoTrace,
            "b",
        )]);
        assert_eq!(headings(&document), ["Suspects", NOTES_HEADING]);
        assert!(matches!(&document.blocks[3], Block::Bullets(items) if items == &["b"]));
    }

    #[test]
    fn a_stack_is_its_summary_then_code_led_by_the_first_line() {
        let mut document = Document::new("t");
        let frames = vec!["f1".to_string(), "f2".to_string()];
        document.push_stack("#1".to_string(), "handles 0x4".to_string(), &frames);
        assert!(matches!(&document.blocks[0], Block::Text(text) if text == "#1"));
        assert!(
            matches!(&document.blocks[1], Block::Code(lines) if lines == &["handles 0x4", "f1", "f2"])
        );
    }
}
