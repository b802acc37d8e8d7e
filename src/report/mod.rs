//! Report stage: renders report models. Renderers lay out and format; they never compute.
//!
//! JSON, Markdown and CSV are always available. [`Format::Table`] (the terminal renderer:
//! tables fitted to the width, colour) needs the `cli` feature and [`Format::Html`] (charts drawn with
//! plotters) the `html` feature; without them [`render`] refuses those formats with an error
//! naming the feature, rather than writing something else.

mod batch_layout;
mod csv_out;
mod diff_layout;
pub mod document;
mod handles_layout;
#[cfg(feature = "html")]
mod html;
mod json;
mod layout;
mod markdown;
pub mod redact;
mod series_layout;
mod show_layout;
#[cfg(feature = "cli")]
mod text;
mod visible;

pub use batch_layout::batch_document;
pub use csv_out::{csv_cell, csv_table, write_csv};
pub use diff_layout::{diff_document, diff_document_for};
pub use handles_layout::{handles_document, handles_document_for};
pub use series_layout::series_document;
pub use show_layout::show_document;

use document::Document;
use serde::Serialize;
use visible::Visible;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Aligned text and box-drawn tables for a terminal (needs the `cli` feature).
    Table,
    /// GitHub-flavoured Markdown for a bug report.
    Markdown,
    /// The report model as JSON (a documented contract).
    Json,
    /// One table as CSV (choose it with --table).
    Csv,
    /// A self-contained HTML page: tables, stacks and charts, no network needed (needs the
    /// `html` feature).
    Html,
    /// One JSON object per line: each dump as it finishes, then the aggregate (batch, merge).
    Jsonl,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::Markdown,
        Format::Json,
        Format::Csv,
        Format::Html,
        Format::Jsonl,
    ];

    /// The name on the command line (`--format NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Jsonl => "jsonl",
        }
    }

    /// One line on what the format is, for help texts.
    pub fn description(self) -> &'static str {
        match self {
            Format::Table => "Aligned text and box-drawn tables for a terminal",
            Format::Markdown => "GitHub-flavoured Markdown for a bug report",
            Format::Json => "The report model as JSON (a documented contract)",
            Format::Csv => "One table as CSV (choose it with --table)",
            Format::Html => {
                "A self-contained HTML page (tables, stacks and charts; no network needed)"
            }
            Format::Jsonl => {
                "One JSON object per line: each dump as it finishes, then the aggregate"
            }
        }
    }

    /// The file-name extension that asks for this format (`.txt`, `.md`, …).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => ".txt",
            Format::Markdown => ".md",
            Format::Json => ".json",
            Format::Csv => ".csv",
            Format::Html => ".html",
            Format::Jsonl => ".jsonl",
        }
    }

    /// The format a report file's name asks for, by its extension (any case): `.txt`,
    /// `.md`/`.markdown`, `.json`, `.csv`, `.html`/`.htm`, `.jsonl`/`.ndjson`; `None` for any
    /// other name.
    pub fn from_file_name(path: &std::path::Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "txt" => Format::Table,
            "md" | "markdown" => Format::Markdown,
            "json" => Format::Json,
            "csv" => Format::Csv,
            "html" | "htm" => Format::Html,
            "jsonl" | "ndjson" => Format::Jsonl,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// A format by its [`Format::name`].
    fn from_str(text: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|format| format.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|format| format.name()).collect();
                format!("unknown format {text:?} (formats: {})", names.join(", "))
            })
    }
}

/// The tables each report offers to `--format csv --table ID`, its default first.
pub mod tables {
    /// `diff` (and `show` of a debugger log's `!htrace -diff`).
    pub const DIFF: &[&str] = &["handles", "types", "stacks", "modules"];
    /// `show`.
    pub const SHOW: &[&str] = &["types", "modules", "unloaded"];
    /// `handles` (`history` with `--history`).
    pub const HANDLES: &[&str] = &["handles", "history"];
    /// `series`.
    pub const SERIES: &[&str] = &["types", "retained", "dumps", "modules"];
    /// `batch` and `merge`.
    pub const BATCH: &[&str] = &["dumps", "modules", "versions", "failures", "skipped"];
}

/// How to render: start from `RenderOptions::default()` and set the fields you need.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Fit the terminal output to this many columns: tables wrap at spaces, shorten paths in
    /// the middle, leave out empty and then optional columns, and become lists when they
    /// still do not fit; prose wraps at spaces. `None`: no limit (a pipe or a file).
    pub width: Option<u16>,
    /// Colour the terminal output (the blamed module and version, verdicts, alerts).
    pub color: bool,
    /// For CSV: which table; each report has a default.
    pub table: Option<String>,
}

/// A report that cannot be rendered as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The format does not apply to this report.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The format's renderer was left out of this build.
    #[error("--format {format} is not available: dumpleak was built without its `{feature}` feature (markdown, json and csv are)")]
    NotBuilt {
        /// The format asked for.
        format: &'static str,
        /// The Cargo feature that provides it.
        feature: &'static str,
    },
    /// `--table` names a table the report does not have.
    #[error("no table '{id}' in this report; tables: {tables}")]
    UnknownTable {
        /// The table asked for.
        id: String,
        /// The tables the report has.
        tables: String,
    },
    /// The CSV writer failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The report could not be serialised as JSON.
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
}

impl RenderError {
    /// Whether the user's options are at fault (a format or table the report lacks).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RenderError::Unsupported(_)
                | RenderError::NotBuilt { .. }
                | RenderError::UnknownTable { .. }
        )
    }
}

/// Renders a report: `model` for JSON, `document` (its layout) for the other formats.
///
/// Strings from dumps are hostile. The table, Markdown and HTML renderers see the document
/// only through a view (`Visible`, src/report/visible.rs) that shows control, C1, bidi and
/// invisible characters escaped ([`crate::sanitize::visible`]); Markdown also escapes its own
/// syntax. JSON keeps strings exact, and so does CSV, except that a cell a spreadsheet would
/// take for a formula gets a leading `'` (see [`csv_cell`]).
///
/// Fails on [`Format::Jsonl`] (written line by line by the caller), on a CSV table the
/// document does not have, and on a format whose feature this build leaves out.
pub fn render<M: Serialize>(
    model: &M,
    document: &Document,
    format: Format,
    options: &RenderOptions,
    default_table: &str,
) -> Result<String, RenderError> {
    match format {
        Format::Table => table_text(&Visible::new(document), options),
        Format::Markdown => Ok(markdown::render(&Visible::new(document))),
        Format::Html => html_page(&Visible::new(document)),
        Format::Jsonl => Err(RenderError::Unsupported(
            "--format jsonl is for `batch` and `merge`",
        )),
        Format::Json => json::to_string(model)
            .map(|mut json| {
                json.push('\n');
                json
            })
            .map_err(RenderError::Json),
        Format::Csv => {
            let mut bytes = Vec::new();
            let id = options.table.as_deref().unwrap_or(default_table);
            write_csv(csv_table(document, id)?, &mut bytes)?;
            // The cells are text: the bytes become the string without a copy.
            Ok(String::from_utf8(bytes)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()))
        }
    }
}

/// Writes `model` as JSON (the text [`render`] gives for [`Format::Json`]) to `writer` while it
/// is serialised, never holding the text: the JSON of a report that lists a million handles
/// is larger than the report.
pub fn write_json<M: Serialize>(
    model: &M,
    mut writer: impl std::io::Write,
) -> Result<(), RenderError> {
    json::to_writer(&mut writer, model)?;
    writer
        .write_all(b"\n")
        .and_then(|()| writer.flush())
        .map_err(|error| RenderError::Json(serde_json::Error::io(error)))
}

#[cfg(feature = "cli")]
fn table_text(document: &Visible, options: &RenderOptions) -> Result<String, RenderError> {
    Ok(text::render(document, options.width, options.color))
}

#[cfg(not(feature = "cli"))]
fn table_text(_: &Visible, _: &RenderOptions) -> Result<String, RenderError> {
    Err(missing_feature("table", "cli"))
}

#[cfg(feature = "html")]
fn html_page(document: &Visible) -> Result<String, RenderError> {
    Ok(html::render(document))
}

#[cfg(not(feature = "html"))]
fn html_page(_: &Visible) -> Result<String, RenderError> {
    Err(missing_feature("html", "html"))
}

#[cfg(not(all(feature = "cli", feature = "html")))]
fn missing_feature(format: &'static str, feature: &'static str) -> RenderError {
    RenderError::NotBuilt { format, feature }
}

#[cfg(test)]
mod tests {
    use super::document::{Block, Document, Table};
    use super::*;

    fn long_table_document() -> Document {
        let mut table = Table::new("values", &["Value#"]);
        for value in 0..150 {
            table.row(vec![value.to_string()]);
        }
        let mut document = Document::new("long");
        document.push(Block::Table(table.show_at_most(100)));
        document
    }

    const MORE: &str =
        "50 more rows not shown (`--format csv --table values` or `--format json` list all 150)";

    fn assert_cut(format: Format) {
        let document = long_table_document();
        let text = render(&(), &document, format, &RenderOptions::default(), "values").unwrap();
        assert!(text.contains("99"), "{format:?}");
        assert!(!text.contains("100"), "{format:?}: {text}");
        assert!(text.contains(MORE), "{format:?}: {text}");
    }

    #[test]
    fn formats_have_one_list_of_names_and_follow_file_names() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
        assert!("yaml"
            .parse::<Format>()
            .unwrap_err()
            .contains("table, markdown"));
        let named = |name: &str| Format::from_file_name(std::path::Path::new(name));
        assert_eq!(named("out/Report.HTML"), Some(Format::Html));
        assert_eq!(named("r.md"), Some(Format::Markdown));
        assert_eq!(named("r.jsonl"), Some(Format::Jsonl));
        assert_eq!(named("r.csv"), Some(Format::Csv));
        assert_eq!(named("r.json"), Some(Format::Json));
        assert_eq!(named("report"), None);
        assert_eq!(named("r.dmp"), None);
    }

    #[test]
    fn markdown_cuts_long_tables_and_csv_keeps_every_row() {
        assert_cut(Format::Markdown);
        let document = long_table_document();
        let options = RenderOptions::default();
        let csv = render(&(), &document, Format::Csv, &options, "values").unwrap();
        assert_eq!(csv.lines().count(), 151);
    }

    #[test]
    fn csv_cells_that_spreadsheets_run_as_formulas_get_a_quote() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "'=HYPERLINK(\"http://evil\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("\u{ff1d}1+1", "'\u{ff1d}1+1"),
            ("\u{feff}=1+1", "'\u{feff}=1+1"),
            ("-", "'-"),
            ("-inf", "'-inf"),
            ("+1e", "'+1e"),
            ("-.", "'-."),
        ] {
            assert_eq!(csv_cell(cell), written, "{cell:?}");
        }
    }

    #[test]
    fn csv_keeps_numbers_and_ordinary_text() {
        for cell in [
            "-3",
            "+1",
            "+1.5",
            "-0.25",
            "-2.5e3",
            "+12%",
            "-.5",
            "-7.",
            "17",
            "kernel32.dll",
            "a=b",
            " =1",
            "",
        ] {
            assert_eq!(csv_cell(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn csv_output_quotes_formula_cells_and_keeps_deltas() {
        let mut table = Table::new("t", &["Name", "Delta#"]);
        table.row(vec!["=1+1".to_string(), "-3".to_string()]);
        let mut document = Document::new("t");
        document.push(Block::Table(table));
        let csv = render(&(), &document, Format::Csv, &RenderOptions::default(), "t").unwrap();
        assert_eq!(csv, "Name,Delta\n'=1+1,-3\n");
    }

    #[cfg(feature = "cli")]
    #[test]
    fn terminal_cuts_long_tables() {
        assert_cut(Format::Table);
    }

    #[cfg(feature = "html")]
    #[test]
    fn html_keeps_every_row() {
        let document = long_table_document();
        let options = RenderOptions::default();
        let html = render(&(), &document, Format::Html, &options, "values").unwrap();
        assert!(html.contains("<td class=\"num\">149</td>"));
    }

    #[cfg(not(feature = "cli"))]
    #[test]
    fn terminal_tables_are_refused_without_the_cli_feature() {
        let document = long_table_document();
        let options = RenderOptions::default();
        let error = render(&(), &document, Format::Table, &options, "values").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("built without its `cli` feature"),
            "{error}"
        );
    }

    #[cfg(not(feature = "html"))]
    #[test]
    fn html_is_refused_without_the_html_feature() {
        let document = long_table_document();
        let options = RenderOptions::default();
        let error = render(&(), &document, Format::Html, &options, "values").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("built without its `html` feature"),
            "{error}"
        );
    }
}
