//! Report stage: renders report models. Renderers lay out and format; they never compute.

mod batch_layout;
mod diff_layout;
pub mod document;
mod html;
mod layout;
mod markdown;
mod series_layout;
mod show_layout;
mod text;

pub use batch_layout::batch_document;
pub use diff_layout::diff_document;
pub use series_layout::series_document;
pub use show_layout::show_document;

use document::Document;
use serde::Serialize;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text and box-drawn tables for a terminal.
    Table,
    /// GitHub-flavoured Markdown for a bug report.
    Markdown,
    /// The report model as JSON (a documented contract).
    Json,
    /// One table as CSV (choose it with --table).
    Csv,
    /// A self-contained HTML page (tables, stacks and charts; no network needed)
    Html,
    /// One JSON object per line: each dump as it finishes, then the aggregate (batch, merge).
    Jsonl,
}

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Wrap tables to this width (terminal output).
    pub width: Option<u16>,
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
            RenderError::Unsupported(_) | RenderError::UnknownTable { .. }
        )
    }
}

/// Renders a report: `model` for JSON, `document` (its layout) for the other formats.
pub fn render<M: Serialize>(
    model: &M,
    document: &Document,
    format: Format,
    options: &RenderOptions,
    default_table: &str,
) -> Result<String, RenderError> {
    match format {
        Format::Table => Ok(text::render(document, options.width)),
        Format::Markdown => Ok(markdown::render(document)),
        Format::Html => Ok(html::render(document)),
        Format::Jsonl => Err(RenderError::Unsupported(
            "--format jsonl is for `batch` and `merge`",
        )),
        Format::Json => serde_json::to_string_pretty(model)
            .map(|mut json| {
                json.push('\n');
                json
            })
            .map_err(RenderError::Json),
        Format::Csv => csv_table(document, options.table.as_deref().unwrap_or(default_table)),
    }
}

fn csv_table(document: &Document, id: &str) -> Result<String, RenderError> {
    let Some(table) = document.tables().find(|table| table.id == id) else {
        let known: Vec<&str> = document.tables().map(|table| table.id).collect();
        return Err(RenderError::UnknownTable {
            id: id.to_string(),
            tables: known.join(", "),
        });
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&table.headers)?;
    for row in &table.rows {
        writer.write_record(row)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| RenderError::Csv(error.into_error().into()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

    #[test]
    fn terminal_and_markdown_cut_long_tables_and_csv_keeps_every_row() {
        let document = long_table_document();
        let options = RenderOptions::default();
        let more = "… 50 more rows not shown (`--format csv --table values` or `--format json` list all 150)";
        for format in [Format::Table, Format::Markdown] {
            let text = render(&(), &document, format, &options, "values").unwrap();
            assert!(text.contains("99"), "{format:?}");
            assert!(!text.contains("100"), "{format:?}: {text}");
            assert!(
                text.contains(more.trim_start_matches("… ")),
                "{format:?}: {text}"
            );
        }
        let csv = render(&(), &document, Format::Csv, &options, "values").unwrap();
        assert_eq!(csv.lines().count(), 151);
        let html = render(&(), &document, Format::Html, &options, "values").unwrap();
        assert!(html.contains("<td class=\"num\">149</td>"));
    }
}
