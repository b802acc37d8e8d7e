//! A report laid out as headings, fields, tables, code and notes, so that each output
//! format renders the same content and none of them computes anything.

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
    /// Cells, row by row.
    pub rows: Vec<Vec<String>>,
    /// Terminal and Markdown output show at most this many rows and say how many they left
    /// out; CSV, HTML and JSON always hold every row.
    pub shown_rows: Option<usize>,
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
            shown_rows: None,
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

    /// Highlights the cell in column `index` of the last row added.
    pub fn mark(&mut self, index: usize, tone: Tone) {
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

    /// The rows terminal and Markdown output show, and the sentence about the rest (if any).
    pub fn shown(&self) -> (&[Vec<String>], Option<String>) {
        match self.shown_rows {
            Some(limit) if self.rows.len() > limit => (
                &self.rows[..limit],
                Some(format!(
                    "… {} more rows not shown (`--format csv --table {}` or `--format json` list all {})",
                    self.rows.len() - limit,
                    self.id,
                    self.rows.len()
                )),
            ),
            _ => (&self.rows, None),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

impl Document {
    /// An empty document titled `title`.
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            blocks: Vec::new(),
            hidden: Vec::new(),
            marks: Vec::new(),
            stacks: Vec::new(),
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
        let dropped_stacks: std::collections::HashSet<usize> = self
            .stacks
            .iter()
            .skip(n)
            .flat_map(|&at| [at, at + 1])
            .collect();
        let left_out = self.stacks.len().saturating_sub(n);
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
                Block::Table(mut table) if table.rows.len() > n => {
                    let left_out = table.rows.len() - n;
                    table.rows.truncate(n);
                    table.marks.retain(|(row, _, _)| *row < n);
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
        for table in &mut self.hidden {
            table.rows.truncate(n);
            table.marks.retain(|(row, _, _)| *row < n);
        }
    }

    /// Appends a block.
    pub fn push(&mut self, block: Block) {
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

    /// Appends a stack: its `summary` line, then `first_line` and the frames as code.
    pub fn push_stack(&mut self, summary: String, first_line: String, frames: &[String]) {
        self.stacks.push(self.blocks.len());
        self.push(Block::Text(summary));
        self.push(Block::Code(
            std::iter::once(first_line)
                .chain(frames.iter().cloned())
                .collect(),
        ));
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
