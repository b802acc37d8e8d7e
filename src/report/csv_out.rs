//! CSV output: one table of a document, its cells guarded against formulas ([`csv_cell`]).
//!
//! The table CSV writes is laid out straight into CSV text ([`Rows::Csv`](super::document::Rows::Csv)): a table of two
//! million rows held as cells would take about 470 bytes a row, as text it takes its length.

use super::document::{Document, Table};
use super::RenderError;
use std::io::Write;

/// Rows of a table as the CSV text they are written as, with where each row ends (for
/// `--top`).
#[derive(Debug, Clone, Default)]
pub(crate) struct CsvRows {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvRows {
    /// Appends one row of cells.
    pub(crate) fn push(&mut self, cells: &[String]) {
        encode_row(cells, &mut self.text).expect("CSV written to memory cannot fail");
        self.ends.push(self.text.len());
    }

    /// How many rows it holds.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Keeps the first `n` rows.
    pub(crate) fn truncate(&mut self, n: usize) {
        if n < self.ends.len() {
            self.text
                .truncate(n.checked_sub(1).map_or(0, |last| self.ends[last]));
            self.ends.truncate(n);
        }
    }

    /// The rows' text.
    pub(crate) fn text(&self) -> &[u8] {
        &self.text
    }
}

/// Writes `cells` as one CSV record to `out`, as one writer of the whole table would.
fn encode_row(cells: &[String], out: &mut Vec<u8>) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(1024)
        .from_writer(out);
    for cell in cells {
        writer.write_field(csv_cell(cell).as_bytes())?;
    }
    writer.write_record(None::<&[u8]>)?;
    writer.flush()?;
    Ok(())
}

/// The table `id` of `document`, which CSV writes; an error naming the tables there are when
/// the document has none of this name.
pub fn csv_table<'a>(document: &'a Document, id: &str) -> Result<&'a Table, RenderError> {
    document
        .tables()
        .find(|table| table.id == id)
        .ok_or_else(|| {
            let known: Vec<&str> = document.tables().map(|table| table.id).collect();
            RenderError::UnknownTable {
                id: id.to_string(),
                tables: known.join(", "),
            }
        })
}

/// Writes `table` as CSV to `out`: its header, then its rows (those laid out as CSV text for
/// [`Rows::Csv`](super::document::Rows::Csv) without another copy).
pub fn write_csv(table: &Table, mut out: impl Write) -> Result<(), RenderError> {
    let io = |error: std::io::Error| RenderError::Csv(error.into());
    let mut line = Vec::new();
    for row in std::iter::once(&table.headers).chain(&table.rows) {
        line.clear();
        encode_row(row, &mut line)?;
        out.write_all(&line).map_err(io)?;
    }
    let written = out.write_all(table.csv_text()).and_then(|()| out.flush());
    written.map_err(io)
}

/// A CSV cell as written: `cell` itself, or with a leading `'` when a spreadsheet would take
/// it for a formula (OWASP's rule for CSV injection): it starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return, or their full-width forms (`＝` `＋` `－` `＠`), after any byte-order
/// marks (which a spreadsheet drops at the start of a file), and is not a plain number. Plain
/// numbers (`-3`, `+1.5`, `-2.5e3`, `+12%`) are kept: they cannot call anything, and a delta
/// column must stay numeric.
pub fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let body = cell.trim_start_matches('\u{feff}');
    let formula_start = body.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ]);
    if formula_start && !is_plain_number(body) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// `[+-]digits[.digits][e[+-]digits][%]`, with at least one digit before the exponent.
fn is_plain_number(text: &str) -> bool {
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let rest = rest.strip_suffix('%').unwrap_or(rest);
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (rest, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = digits(whole) == whole.len()
        && digits(fraction) == fraction.len()
        && whole.len() + fraction.len() > 0;
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent) == exponent.len()
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::super::document::{Block, Document, Rows, Table};
    use super::*;

    fn csv_of(rows: &Rows, top: Option<usize>) -> (String, usize) {
        let mut table = Table::new("t", &["Name", "Delta#"]).holding(rows);
        for (name, delta) in [
            ("=1+1", "-3"),
            ("a,b", ""),
            ("line\nbreak \"quoted\"", "+2"),
            ("", ""),
        ] {
            table.row(vec![name.to_string(), delta.to_string()]);
        }
        let mut document = Document::new("t");
        document.push(Block::Table(table));
        if let Some(top) = top {
            document.keep_top(top);
        }
        let table = csv_table(&document, "t").unwrap();
        let mut text = Vec::new();
        write_csv(table, &mut text).unwrap();
        (String::from_utf8(text).unwrap(), table.rows.len())
    }

    #[test]
    fn rows_laid_out_as_csv_text_are_written_as_rows_of_cells_are() {
        let csv = Rows::Csv("t".to_string());
        let (cells, held) = csv_of(&Rows::All, None);
        assert_eq!(
            cells,
            "Name,Delta\n'=1+1,-3\n\"a,b\",\n\"line\nbreak \"\"quoted\"\"\",+2\n,\n"
        );
        assert_eq!(held, 4);
        assert_eq!(csv_of(&csv, None), (cells, 0));
        for top in 0..5 {
            assert_eq!(csv_of(&csv, Some(top)).0, csv_of(&Rows::All, Some(top)).0);
        }
    }
}
