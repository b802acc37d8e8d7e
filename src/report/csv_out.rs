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

impl CsvRows {
    /// Calls `f` with the column and the text of each cell as it was laid out (before
    /// [`csv_cell`] guarded it), row by row.
    pub(crate) fn each_cell(&self, mut f: impl FnMut(usize, &str)) {
        let mut reader = reader_of(&self.text);
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).unwrap_or(false) {
            for (column, field) in record.iter().enumerate() {
                f(column, laid_out(field));
            }
        }
    }

    /// Rewrites the text of every cell with `f` (given each as it was laid out) and lays the
    /// rows out again from the first one a cell of which changes (nothing is copied if none
    /// does), with one writer, as one writer of the whole table would.
    pub(crate) fn rewrite<F>(&mut self, mut f: F)
    where
        F: for<'a> FnMut(&'a str) -> std::borrow::Cow<'a, str>,
    {
        let mut rewritten: Option<(csv::Writer<Vec<u8>>, Vec<usize>)> = None;
        let mut reader = reader_of(&self.text);
        let mut record = csv::StringRecord::new();
        let mut start = 0;
        for (row, &end) in self.ends.iter().enumerate() {
            if !reader.read_record(&mut record).unwrap_or(false) {
                break;
            }
            let cells: Vec<std::borrow::Cow<str>> =
                record.iter().map(|field| f(laid_out(field))).collect();
            let changed = cells
                .iter()
                .any(|cell| matches!(cell, std::borrow::Cow::Owned(_)));
            if changed && rewritten.is_none() {
                let mut text = Vec::with_capacity(self.text.len());
                text.extend_from_slice(&self.text[..start]);
                let writer = csv::WriterBuilder::new().from_writer(text);
                rewritten = Some((writer, self.ends[..row].to_vec()));
            }
            if let Some((writer, ends)) = &mut rewritten {
                for cell in &cells {
                    writer
                        .write_field(csv_cell(cell).as_bytes())
                        .expect(IN_MEMORY);
                }
                writer.write_record(None::<&[u8]>).expect(IN_MEMORY);
                writer.flush().expect(IN_MEMORY);
                ends.push(writer.get_ref().len());
            }
            start = end;
        }
        if let Some((writer, ends)) = rewritten {
            let text = writer.into_inner().expect(IN_MEMORY);
            *self = CsvRows { text, ends };
        }
    }
}

/// Why writing CSV to memory cannot fail.
const IN_MEMORY: &str = "CSV written to memory cannot fail";

/// A reader of rows [`encode_row`] wrote.
fn reader_of(text: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text)
}

/// The cell [`csv_cell`] wrote as `field`: without the `'` it added. (A cell of its own
/// starting with a `'` before what a spreadsheet takes for a formula reads as without it.)
fn laid_out(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(cell) if matches!(csv_cell(cell), std::borrow::Cow::Owned(_)) => cell,
        _ => field,
    }
}

/// Writes `cells` as one CSV record to `out`, as one writer of the whole table would.
fn encode_row(cells: &[impl AsRef<str>], out: &mut Vec<u8>) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(1024)
        .from_writer(out);
    for cell in cells {
        writer.write_field(csv_cell(cell.as_ref()).as_bytes())?;
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
