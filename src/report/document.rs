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
    /// Cells, row by row.
    pub rows: Vec<Vec<String>>,
    /// Terminal and Markdown output show at most this many rows and say how many they left
    /// out; CSV, HTML and JSON always hold every row.
    pub shown_rows: Option<usize>,
}

impl Table {
    /// A table with the given columns; a heading ending in `#` marks a numeric column, and
    /// the `#` is dropped.
    pub fn new(id: &'static str, headers: &[&str]) -> Table {
        Table {
            id,
            headers: headers
                .iter()
                .map(|header| header.trim_end_matches('#').to_string())
                .collect(),
            numeric: headers.iter().map(|header| header.ends_with('#')).collect(),
            rows: Vec::new(),
            shown_rows: None,
        }
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

    /// Appends the warnings that change the report's conclusion as an alert; layouts call it
    /// first, so these are read before any table. Nothing when there are none.
    pub fn push_alerts(&mut self, warnings: &[crate::warning::Warning]) {
        let alerts: Vec<String> = warnings
            .iter()
            .filter(|warning| warning.changes_conclusion())
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

    /// Appends the closing warnings section ([`NOTES_HEADING`]); nothing without warnings.
    pub fn push_notes(&mut self, warnings: &[crate::warning::Warning]) {
        self.push_list(
            NOTES_HEADING,
            warnings.iter().map(ToString::to_string).collect(),
        );
    }

    /// Appends a stack: its `summary` line, then `first_line` and the frames as code.
    pub fn push_stack(&mut self, summary: String, first_line: String, frames: &[String]) {
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
