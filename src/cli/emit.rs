//! Where and how a report is written: its format (`--format`, else the output file's
//! extension), the terminal's width and colour, `--top`, `--redact`.

use super::args::{ColorChoice, OutputArgs, RedactChoice};
use super::say;
use dumpleak::pipeline::output::LineSink;
use dumpleak::report::document::{Document, Rows};
use dumpleak::report::redact::Redactor;
use dumpleak::report::{self, Format, RenderOptions};
use dumpleak::Error;
use std::io::IsTerminal;

/// The format asked for: `--format`, else the one the `--output` file's extension names,
/// else table. `jsonl_ok`: whether the subcommand writes JSON Lines (batch, merge).
pub fn format_of(output: &OutputArgs, jsonl_ok: bool) -> Result<Format, Error> {
    if let Some(format) = output.format {
        return Ok(format);
    }
    let Some(path) = &output.output else {
        return Ok(Format::Table);
    };
    match Format::from_file_name(path) {
        Some(Format::Jsonl) if !jsonl_ok => Err(Error::Usage(format!(
            "--output {}: JSON Lines (.jsonl) is written by `batch` and `merge` only; give \
             --format to write another format under this name",
            path.display()
        ))),
        Some(format) => Ok(format),
        None => Ok(Format::Table),
    }
}

/// The redactor `--redact` asks for.
pub fn redactor(output: &OutputArgs) -> Option<Redactor> {
    output
        .redact
        .map(|choice| Redactor::new(choice == RedactChoice::Names))
}

/// Whether the report goes to a terminal (standard output, which is one).
fn to_terminal(output: &OutputArgs) -> bool {
    output.output.is_none() && std::io::stdout().is_terminal()
}

/// A variable that is set to something other than the empty string.
fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The width terminal tables fit: the terminal's (when standard output is one and says a
/// size other than 0), else `COLUMNS`, else none (unlimited, as for a file or a pipe).
/// A report written to a file (`--output`) is never fitted.
pub fn width(output: &OutputArgs) -> Option<u16> {
    if output.output.is_some() {
        return None;
    }
    let terminal = std::io::stdout().is_terminal().then(|| {
        terminal_size::terminal_size_of(std::io::stdout())
            .map(|(terminal_size::Width(width), _)| width)
            .filter(|width| *width > 0)
    });
    terminal.flatten().or_else(|| {
        env_set("COLUMNS")
            .and_then(|columns| columns.trim().parse::<u16>().ok())
            .filter(|width| *width > 0)
    })
}

/// Whether terminal tables get colour: `--color always|never`; with `auto`, not when
/// `NO_COLOR` is set, yes when `CLICOLOR_FORCE` is (other than `0`) and standard output is
/// written, not with `CLICOLOR=0` or `TERM=dumb`, else when standard output is a terminal.
pub fn color(output: &OutputArgs) -> bool {
    let wanted = match output.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if env_set("NO_COLOR").is_some() {
                false
            } else if output.output.is_none()
                && env_set("CLICOLOR_FORCE").is_some_and(|force| force != "0")
            {
                true
            } else {
                env_set("CLICOLOR").as_deref() != Some("0")
                    && env_set("TERM").as_deref() != Some("dumb")
                    && to_terminal(output)
            }
        }
    };
    #[cfg(windows)]
    if wanted && to_terminal(output) {
        // A console that does not yet interpret escape sequences is asked to.
        let _ = anstyle_query::windows::enable_ansi_colors();
    }
    wanted
}

/// Renders `model` (JSON) or the document `document` lays out for the format's rows (every
/// other format) as `output` says and writes it; `default_table` is the CSV table without
/// `--table`. JSON is written as it is serialised, never held whole: the JSON of a report of a
/// million handles is larger than the report.
pub fn emit<M: serde::Serialize>(
    model: &M,
    document: impl FnOnce(Rows) -> Document,
    output: &OutputArgs,
    default_table: &str,
) -> Result<(), Error> {
    let format = format_of(output, false)?;
    if output.table.is_some() && format != Format::Csv {
        return Err(Error::Usage("--table goes with --format csv".to_string()));
    }
    if format == Format::Json {
        let mut sink = LineSink::create(output.output.as_deref())?;
        let written = match redactor(output) {
            Some(mut redactor) => {
                report::write_json(&redactor.json_of(model), std::io::BufWriter::new(&mut sink))
            }
            None => report::write_json(model, std::io::BufWriter::new(&mut sink)),
        };
        sink.finish()?;
        return match written {
            // The sink failed and said so above (or standard output was closed: not an error).
            Err(report::RenderError::Json(error)) if error.is_io() => Ok(()),
            other => Ok(other?),
        };
    }
    let mut options = RenderOptions::default();
    options.table = output.table.clone();
    if format == Format::Table {
        options.width = width(output);
        options.color = color(output);
    }
    // Only what the format shows is laid out: the first rows of long tables and the first
    // stacks for the terminal, Markdown and HTML; for CSV, its one table, as CSV text (which
    // the redactor rewrites cell by cell).
    let csv_table = output.table.as_deref().unwrap_or(default_table);
    let mut document = document(Rows::for_format(format, csv_table));
    if let Some(top) = output.top {
        document.keep_top(top);
    }
    if let Some(mut redactor) = redactor(output) {
        // The model is rendered only as JSON (above): the document is all there is to redact.
        redactor.document(&mut document);
    }
    if format == Format::Csv {
        // Written from the document, not copied into one text first.
        let table = report::csv_table(&document, csv_table)?;
        let mut sink = LineSink::create(output.output.as_deref())?;
        let written = report::write_csv(table, std::io::BufWriter::new(&mut sink));
        say_alerts(&document);
        sink.finish()?;
        return match written {
            // The sink failed and said so above (or standard output was closed).
            Err(report::RenderError::Csv(error)) if error.is_io_error() => Ok(()),
            other => Ok(other?),
        };
    }
    let text = report::render(model, &document, format, &options, default_table)?;
    dumpleak::pipeline::output::write_report(output.output.as_deref(), &text)
}

/// Writes the alerts of a CSV report to standard error: a CSV file has no place for them, and
/// they must still be read first.
fn say_alerts(document: &Document) {
    for alert in document.alerts() {
        say(&format!("dumpleak: warning: {alert}"));
    }
}
