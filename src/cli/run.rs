//! Each subcommand: inputs → the library's pipeline → the report written.

use super::args::{CommonArgs, OutputArgs};
use super::commands::ShowArgs;
use super::commands::{BatchArgs, DiffArgs, HandlesArgs, MergeArgs, SeriesArgs, SeriesOrder};
use super::emit::{self, emit};
use super::say;
use dumpleak::analysis::batch::AggregateOptions;
use dumpleak::analysis::DiffOptions;
use dumpleak::pipeline::output::{refuse_overwriting_inputs, LineSink};
use dumpleak::report::{self, Format};
use dumpleak::symbols::Symbolizer;
use dumpleak::{snapshot, Error};
use std::io::IsTerminal;
use std::process::ExitCode;

/// The symbolizer, with what is wrong with the symbol path said on stderr before anything
/// else when the report goes elsewhere than the terminal (the reports say it too, at the top:
/// on the terminal once is enough).
fn symbolizer(common: &CommonArgs) -> Result<Symbolizer, Error> {
    let symbolizer = common.symbols.symbolizer()?;
    let report_on_terminal = common.output.output.is_none() && std::io::stdout().is_terminal();
    if !report_on_terminal {
        for warning in symbolizer.warnings() {
            say(&format!("dumpleak: warning: {warning}"));
        }
    }
    Ok(symbolizer)
}

/// Loads the one input of `show` or `handles` (never the file the report is to be written
/// to) and makes the symbolizer.
fn load_one(
    input: &std::path::PathBuf,
    common: &CommonArgs,
) -> Result<(snapshot::Snapshot, Symbolizer), Error> {
    refuse_overwriting_inputs(common.output.output.as_deref(), std::slice::from_ref(input))?;
    let snapshot = snapshot::load_with(input, &common.input.options())?;
    Ok((snapshot, symbolizer(common)?))
}

/// `show`.
pub fn show(args: ShowArgs) -> Result<ExitCode, Error> {
    let (snapshot, symbolizer) = load_one(&args.dump, &args.common)?;
    let options = DiffOptions {
        attribution: args.common.attribution.attribution(),
        suspects: args.suspect.clone(),
        allow_different_process: false,
    };
    match dumpleak::show_input(snapshot, &symbolizer, &options, args.crash_frames) {
        dumpleak::ShowOutcome::Summary(report) => {
            emit(
                &report,
                |_| report::show_document(&report, args.modules),
                &args.common.output,
                "types",
            )?;
        }
        dumpleak::ShowOutcome::Diff(mut report) => {
            emit_diff_report(&mut report, &args.common.output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `handles`.
pub fn handles(args: HandlesArgs) -> Result<ExitCode, Error> {
    let (snapshot, symbolizer) = load_one(&args.input, &args.common)?;
    let filter = dumpleak::analysis::handles::HandleFilter {
        types: args.types.clone(),
        name: args.name.clone(),
        handles: args.handles.clone(),
        module: args.module.clone(),
        history: args.history,
    };
    let report = dumpleak::handles_of(
        &snapshot,
        &filter,
        &symbolizer,
        &args.common.attribution.attribution(),
    );
    // The report shares what it shows of the snapshot: the handles are freed before the
    // report is laid out (two million of them take 190 MB).
    drop(snapshot);
    emit(
        &report,
        |rows| report::handles_document_for(&report, rows),
        &args.common.output,
        "handles",
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `diff`.
pub fn diff(args: DiffArgs) -> Result<ExitCode, Error> {
    refuse_overwriting_inputs(
        args.common.output.output.as_deref(),
        &[args.before.clone(), args.after.clone()],
    )?;
    let symbolizer = symbolizer(&args.common)?;
    let options = DiffOptions {
        attribution: args.common.attribution.attribution(),
        suspects: args.suspect.clone(),
        allow_different_process: args.allow_different_process,
    };
    let mut report = dumpleak::diff_files_with(
        &args.before,
        &args.after,
        &args.common.input.options(),
        &symbolizer,
        &options,
    )?;
    let total_delta = report.total_delta;
    if args.only_changed {
        report.keep_changed_types();
    }
    emit_diff_report(&mut report, &args.common.output)?;
    match args.fail_on_growth {
        Some(limit) if total_delta > limit => {
            say(&format!(
                "dumpleak: handle count grew by {total_delta} (more than --fail-on-growth {limit})"
            ));
            Ok(ExitCode::from(3))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `series`.
pub fn series(args: SeriesArgs) -> Result<ExitCode, Error> {
    use dumpleak::analysis::series::{self, Order};
    let files = dumpleak::collect_inputs(&args.inputs, dumpleak::InputWalk::default())?;
    refuse_overwriting_inputs(args.common.output.output.as_deref(), &files)?;
    let symbolizer = symbolizer(&args.common)?;
    let options = dumpleak::analysis::SeriesOptions {
        attribution: args.common.attribution.attribution(),
        rules: dumpleak::analysis::trend::Rules {
            min_growth: args.min_growth.unwrap_or(0.0),
            tolerance: args.tolerance,
            min_fit: args.min_fit,
            ..Default::default()
        },
        limit: args.limit.unwrap_or(series::DEFAULT_HANDLE_LIMIT),
        order: match args.order {
            None => Order::Auto,
            Some(SeriesOrder::Given) => Order::Given,
            Some(SeriesOrder::Time) => Order::Time,
        },
    };
    let bar = progress_bar(
        files.len(),
        !args.quiet && files.len() > 2,
        "{spinner} loading {pos}/{len} dumps [{bar:30}] {per_sec} eta {eta}",
    );
    let report = dumpleak::series_files(
        &args.inputs,
        &args.common.input.options(),
        &symbolizer,
        &options,
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let mut report = report?;
    let leak = series::any_leak(&report);
    if args.only_changed {
        report.keep_changed_types();
    }
    emit(
        &report,
        |_| report::series_document(&report),
        &args.common.output,
        "types",
    )?;
    if args.fail_on_leak && leak {
        say("dumpleak: a leak was found (--fail-on-leak)");
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// `batch`.
pub fn batch(args: BatchArgs) -> Result<ExitCode, Error> {
    use dumpleak::analysis::batch::{BatchLine, BatchReport};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let walk = dumpleak::InputWalk {
        recursive: args.recursive,
        follow_links: args.follow_links,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
    };
    let mut collected = dumpleak::pipeline::walk_inputs(&args.inputs, &walk)?;
    dumpleak::pipeline::output::leave_out_previous_report(
        args.common.output.output.as_deref(),
        &mut collected.files,
    );
    let files = &collected.files;
    let mut protected = files.clone();
    protected.extend(args.known.iter().cloned());
    refuse_overwriting_inputs(args.common.output.output.as_deref(), &protected)?;
    let jsonl = emit::format_of(&args.common.output, true)? == Format::Jsonl;
    let known = match &args.known {
        Some(path) => dumpleak::analysis::known::KnownIssues::load(path)?,
        None => Default::default(),
    };
    let symbolizer = symbolizer(&args.common)?;
    let options = dumpleak::BatchOptions {
        aggregate: AggregateOptions {
            attribution: args.common.attribution.attribution(),
            include_system_modules: args.ranking.include_system_modules,
        },
        known,
        jobs: args.jobs,
        rows_streamed_only: jsonl,
    };
    let bar = progress_bar(
        files.len(),
        !args.quiet,
        "{spinner} {pos}/{len} dumps [{bar:30}] {per_sec} eta {eta} {msg}",
    );
    // JSONL lines go out as each dump finishes, so a long batch can be followed and split.
    let sink = if jsonl {
        Some(Mutex::new(JsonlSink {
            sink: LineSink::create(args.common.output.output.as_deref())?,
            redactor: emit::redactor(&args.common.output),
        }))
    } else {
        None
    };
    let redacted = emit::redactor(&args.common.output).is_some();
    let failed = AtomicUsize::new(0);
    let report: BatchReport = dumpleak::pipeline::batch_collected(
        collected,
        &args.common.input.options(),
        &symbolizer,
        &options,
        &|line| {
            if matches!(line, BatchLine::Failure(_)) {
                failed.fetch_add(1, Ordering::Relaxed);
                bar.set_message(format!("{} failed", failed.load(Ordering::Relaxed)));
            }
            if let Some(sink) = &sink {
                write_line(sink, redacted, line);
            }
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    if let Some(sink) = sink {
        let mut sink = sink.into_inner().unwrap_or_else(|e| e.into_inner());
        sink.write(&BatchLine::Aggregate(Box::new(report.aggregate.clone())));
        sink.sink.finish()?;
    } else {
        emit_batch_report(&report, &args.common.output)?;
    }
    say(&format!(
        "dumpleak batch: {} processed, {} failed, {} skipped",
        report.aggregate.processed, report.aggregate.failed, report.aggregate.skipped
    ));
    Ok(if report.aggregate.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes a `diff` report (also `show` of a log that holds a diff).
/// Writes a diff report (of `diff`, or of `show` of a log's `!htrace -diff`); a format other
/// than JSON shows no structured frames, which are dropped first.
fn emit_diff_report(
    report: &mut dumpleak::analysis::DiffReport,
    output: &OutputArgs,
) -> Result<(), Error> {
    if emit::format_of(output, false)? != Format::Json {
        report.drop_frame_details();
    }
    let report = &*report;
    emit(
        report,
        |rows| report::diff_document_for(report, rows),
        output,
        "handles",
    )
}

/// Writes a `batch` or `merge` report in one of the whole-report formats.
fn emit_batch_report(
    report: &dumpleak::analysis::batch::BatchReport,
    output: &OutputArgs,
) -> Result<(), Error> {
    emit(report, |_| report::batch_document(report), output, "dumps")
}

/// JSON Lines going out one object at a time, redacted when asked.
struct JsonlSink {
    sink: LineSink,
    redactor: Option<dumpleak::report::redact::Redactor>,
}

impl JsonlSink {
    fn write<T: serde::Serialize>(&mut self, line: &T) {
        let text = match &mut self.redactor {
            Some(redactor) => {
                serde_json::to_string(&redactor.json_of(line)).expect("batch lines serialise")
            }
            None => serde_json::to_string(line).expect("batch lines serialise"),
        };
        self.sink.write_line(&text);
    }
}

/// Writes `line` to the shared `sink`, serialised before taking the lock unless `redacted` (the
/// redactor's pseudonyms are shared).
fn write_line(
    sink: &std::sync::Mutex<JsonlSink>,
    redacted: bool,
    line: &dumpleak::analysis::batch::BatchLine,
) {
    let lock = || sink.lock().unwrap_or_else(|e| e.into_inner());
    if redacted {
        lock().write(line);
    } else {
        let text = serde_json::to_string(line).expect("batch lines serialise");
        lock().sink.write_line(&text);
    }
}

/// A progress bar on stderr, drawn only when `wanted` and stderr is a terminal.
fn progress_bar(len: usize, wanted: bool, template: &str) -> indicatif::ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// `merge`.
pub fn merge(args: MergeArgs) -> Result<ExitCode, Error> {
    refuse_overwriting_inputs(args.output.output.as_deref(), &args.shards)?;
    let mut texts = Vec::new();
    for shard in &args.shards {
        let text = std::fs::read_to_string(shard)
            .map_err(snapshot::LoadError::io(shard))
            .map_err(Error::from)?;
        texts.push((shard.display().to_string(), text));
    }
    let shards = texts
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()));
    let options = AggregateOptions {
        attribution: args.attribution.attribution(),
        include_system_modules: args.ranking.include_system_modules,
    };
    let report = dumpleak::analysis::batch::merge_shards(shards, &options)?;
    if emit::format_of(&args.output, true)? == Format::Jsonl {
        let mut sink = JsonlSink {
            sink: LineSink::create(args.output.output.as_deref())?,
            redactor: emit::redactor(&args.output),
        };
        for line in dumpleak::analysis::batch::lines_of(&report) {
            sink.write(&line);
        }
        sink.sink.finish()?;
    } else {
        emit_batch_report(&report, &args.output)?;
    }
    Ok(ExitCode::SUCCESS)
}
