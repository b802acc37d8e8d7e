//! The `dumpleak` command line: argument definitions and wiring only; the library does the work.

use clap::{Args, Parser, Subcommand, ValueEnum};
use dumpleak::analysis::{Attribution, DiffOptions};
use dumpleak::pipeline::output::LineSink;
use dumpleak::report::{self, Format, RenderOptions};
use dumpleak::symbols::{SymbolConfig, Symbolizer};
use dumpleak::{snapshot, Error};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 a bad input or runtime error (the message names the file and what is \
wrong); 2 usage error; 3 handle growth over --fail-on-growth.

Capture dumps with handle data: `procdump -ma <pid>`, Task Manager's \"Create dump file\", or \
MiniDumpWriteDump with MiniDumpWithHandleData. For allocation stacks, enable handle tracing \
first: WinDbg `!htrace -enable`, or Application Verifier's Handles check.";

/// Post-mortem handle-leak analysis of Windows minidumps: what leaks, how fast, and which
/// module, at which version, allocates it.
#[derive(Parser)]
#[command(name = "dumpleak", version, after_long_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One dump at a glance: process, handle totals by type, modules with versions, handle tracing.
    Show(ShowArgs),
    /// Handles new and closed between two dumps of one process, allocation stacks grouped and
    /// blamed on modules with their file versions.
    ///
    /// Identity of a handle is value + type + object name: a value reused for another object
    /// counts as one closed and one new handle. The blamed module of a stack is its innermost
    /// frame outside the system modules (ntdll, kernel32, kernelbase, … see --system-module).
    Diff(DiffArgs),
    /// Two or more dumps of one process across cycles: per-type trend (leak, plateau, churn,
    /// stable), handles retained since each dump grouped by allocation stack and blamed on
    /// modules with their versions, and the time until the handle limit is reached.
    ///
    /// Dumps are ordered by capture time, not by name; dumps of another process (pid or start
    /// time differ) and unreadable files are listed and left out.
    ///
    /// Classes, with counts c0..cn in time order and a least-squares fit per cycle:
    /// stable: max-min <= --tolerance; leak: growth >= --min-growth per cycle with R² >=
    /// --min-fit and the last half still growing (slope >= --min-growth/2); plateau: last-first
    /// > --tolerance and the last half flat (max-min <= --tolerance); churn: anything else.
    Series(SeriesArgs),
    /// Triage a folder of unrelated customer dumps in parallel: per dump the process and its
    /// version, handle totals and top types, tracing, the crash (exception and top frames) and
    /// the modules blamed by trace records; then module versions ranked by how much higher the
    /// handle counts are in the dumps that load them.
    ///
    /// A bad or hostile file is listed with its error and the batch goes on. Exit status 1 when
    /// any input failed (the report is still written). `--format jsonl` writes one object per
    /// dump as each finishes and a final aggregate object; `dumpleak merge` rebuilds the same
    /// aggregate from such shards.
    Batch(BatchArgs),
    /// Rebuild a batch report from `--format jsonl` shards of one or more batch runs.
    Merge(MergeArgs),
}

/// `--format`: the library's [`Format`] as a command-line value (the library stays free of
/// clap).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
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

impl From<OutputFormat> for Format {
    fn from(format: OutputFormat) -> Format {
        match format {
            OutputFormat::Table => Format::Table,
            OutputFormat::Markdown => Format::Markdown,
            OutputFormat::Json => Format::Json,
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Html => Format::Html,
            OutputFormat::Jsonl => Format::Jsonl,
        }
    }
}

#[derive(Args)]
struct OutputArgs {
    /// Output format [default: table].
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutputFormat>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// With --format csv: the table to write (diff: handles, types, stacks, modules; show:
    /// types, modules).
    #[arg(long, value_name = "ID")]
    table: Option<String>,
}

#[derive(Args)]
struct SymbolArgs {
    /// Symbol path in _NT_SYMBOL_PATH syntax: directories (flat or symbol stores),
    /// `cache*DIR`, `srv*CACHE*https://server/symbols`. Default: $_NT_SYMBOL_PATH.
    /// PDBs and Breakpad .sym files are matched by the module's CodeView identity (GUID and
    /// age); images (for export tables) by TimeDateStamp and SizeOfImage.
    #[arg(long, value_name = "PATH")]
    symbol_path: Option<String>,
    /// A directory of PDBs, .sym files or image files (DLL/EXE), searched flat and as a
    /// symbol store; shorthand for a plain directory in the symbol path. Repeatable.
    #[arg(long, value_name = "DIR")]
    symbols: Vec<PathBuf>,
    /// Where downloaded symbols and converted symbol caches are kept
    /// [default: the per-user cache directory, e.g. ~/.cache/dumpleak].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Never contact symbol servers (local directories and the cache only).
    #[arg(long)]
    offline: bool,
    /// Use PDBs whose GUID/age do not match the module; such frames are marked mismatched.
    #[arg(long)]
    allow_mismatched: bool,
}

impl SymbolArgs {
    fn symbolizer(&self) -> Result<Symbolizer, Error> {
        SymbolConfig {
            symbol_path: self
                .symbol_path
                .clone()
                .or_else(SymbolConfig::symbol_path_from_env),
            dirs: self.symbols.clone(),
            cache_dir: self.cache_dir.clone(),
            offline: self.offline,
            allow_mismatched: self.allow_mismatched,
        }
        .symbolizer()
        .map_err(Error::from)
    }
}

#[derive(Args)]
struct InputArgs {
    /// With handle.exe output listing several processes: the process to take.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// With a debugger log: the !htrace block to take, 0-based in the order of the log
    /// [default: the last `!htrace -diff`, else the last block].
    #[arg(long, value_name = "N")]
    block: Option<usize>,
}

impl InputArgs {
    fn options(&self) -> snapshot::LoadOptions {
        snapshot::LoadOptions {
            pid: self.pid,
            block: self.block,
            ..Default::default()
        }
    }
}

#[derive(Args)]
struct AttributionArgs {
    /// Treat NAME as a system module too (never blamed; e.g. a runtime you trust). Repeatable.
    #[arg(long, value_name = "NAME")]
    system_module: Vec<String>,
    /// Start from an empty system-module list instead of the built-in one.
    #[arg(long)]
    no_default_system_modules: bool,
}

impl AttributionArgs {
    fn attribution(&self) -> Attribution {
        if self.no_default_system_modules {
            Attribution::new(self.system_module.iter().cloned())
        } else {
            Attribution::with_extra(self.system_module.iter().cloned())
        }
    }
}

#[derive(Args)]
struct ShowArgs {
    /// The dump.
    dump: PathBuf,
    /// List every module, system modules included.
    #[arg(long)]
    modules: bool,
    /// How many frames of the crashing thread to show (dumps with an exception).
    #[arg(long, value_name = "N", default_value_t = 12)]
    crash_frames: usize,
    /// With a debugger log whose !htrace -diff is shown: report on module NAME even when no
    /// outstanding stack mentions it. Repeatable.
    #[arg(long, value_name = "NAME")]
    suspect: Vec<String>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    symbols: SymbolArgs,
    #[command(flatten)]
    attribution: AttributionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct SeriesArgs {
    /// Dumps, or directories of dumps (their files, not recursive).
    #[arg(required = true, value_name = "DUMPS|DIR")]
    inputs: Vec<PathBuf>,
    /// Handle count taken as exhaustion for the time estimate [default: 16777216, the
    /// per-process limit; use a quota seen in production].
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Growth per cycle from which a type counts as growing.
    #[arg(long, value_name = "HANDLES", default_value_t = 0.5)]
    min_growth: f64,
    /// Spread (max - min) of counts that still counts as flat.
    #[arg(long, value_name = "HANDLES", default_value_t = 1.0)]
    tolerance: f64,
    /// Smallest R² of the straight-line fit for a leak.
    #[arg(long, value_name = "R2", default_value_t = 0.6)]
    min_fit: f64,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    symbols: SymbolArgs,
    #[command(flatten)]
    attribution: AttributionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct BatchArgs {
    /// Dumps, or directories of dumps.
    #[arg(required = true, value_name = "DIR|FILES")]
    inputs: Vec<PathBuf>,
    /// Descend into subdirectories.
    #[arg(long, short = 'r')]
    recursive: bool,
    /// Worker threads [default: all cores].
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Known-issue rules (TOML, see testdata/known-issues.toml): matched dumps carry the label.
    #[arg(long, value_name = "FILE")]
    known: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    symbols: SymbolArgs,
    #[command(flatten)]
    attribution: AttributionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct MergeArgs {
    /// JSONL shards written by `dumpleak batch --format jsonl`.
    #[arg(required = true, value_name = "SHARDS.jsonl")]
    shards: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct DiffArgs {
    /// The earlier dump.
    before: PathBuf,
    /// The later dump.
    after: PathBuf,
    /// Report on module NAME even when no outstanding stack mentions it ("in 0 of 3
    /// outstanding stacks"). Repeatable.
    #[arg(long, value_name = "NAME")]
    suspect: Vec<String>,
    /// Exit with status 3 when the total handle count grew by more than N (for CI pipelines).
    #[arg(long, value_name = "N")]
    fail_on_growth: Option<i64>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    symbols: SymbolArgs,
    #[command(flatten)]
    attribution: AttributionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Show(args) => run_show(args),
        Command::Diff(args) => run_diff(args),
        Command::Series(args) => run_series(args),
        Command::Batch(args) => run_batch(args),
        Command::Merge(args) => run_merge(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dumpleak: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run_show(args: ShowArgs) -> Result<ExitCode, Error> {
    dumpleak::pipeline::output::refuse_overwriting_inputs(
        args.output.output.as_deref(),
        std::slice::from_ref(&args.dump),
    )?;
    let snapshot = snapshot::load_with(&args.dump, &args.input.options())?;
    let symbolizer = args.symbols.symbolizer()?;
    let options = DiffOptions {
        attribution: args.attribution.attribution(),
        suspects: args.suspect.clone(),
    };
    match dumpleak::show_input(&snapshot, &symbolizer, &options, args.crash_frames) {
        dumpleak::ShowOutcome::Summary(report) => {
            emit(
                &report,
                |_| report::show_document(&report, args.modules),
                &args.output,
                "types",
            )?;
        }
        dumpleak::ShowOutcome::Diff(report) => {
            emit(
                &report,
                |rows| report::diff_document_for(&report, rows),
                &args.output,
                "handles",
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_diff(args: DiffArgs) -> Result<ExitCode, Error> {
    dumpleak::pipeline::output::refuse_overwriting_inputs(
        args.output.output.as_deref(),
        &[args.before.clone(), args.after.clone()],
    )?;
    let symbolizer = args.symbols.symbolizer()?;
    let options = DiffOptions {
        attribution: args.attribution.attribution(),
        suspects: args.suspect.clone(),
    };
    let report = dumpleak::diff_files_with(
        &args.before,
        &args.after,
        &args.input.options(),
        &symbolizer,
        &options,
    )?;
    emit(
        &report,
        |rows| report::diff_document_for(&report, rows),
        &args.output,
        "handles",
    )?;
    match args.fail_on_growth {
        Some(limit) if report.total_delta > limit => {
            eprintln!(
                "dumpleak: handle count grew by {} (more than --fail-on-growth {limit})",
                report.total_delta
            );
            Ok(ExitCode::from(3))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn run_series(args: SeriesArgs) -> Result<ExitCode, Error> {
    let files = dumpleak::collect_inputs(&args.inputs, dumpleak::InputWalk::default())?;
    dumpleak::pipeline::output::refuse_overwriting_inputs(args.output.output.as_deref(), &files)?;
    let symbolizer = args.symbols.symbolizer()?;
    let options = dumpleak::analysis::SeriesOptions {
        attribution: args.attribution.attribution(),
        rules: dumpleak::analysis::TrendRules {
            min_growth: args.min_growth,
            tolerance: args.tolerance,
            min_fit: args.min_fit,
        },
        limit: args
            .limit
            .unwrap_or(dumpleak::analysis::series::DEFAULT_HANDLE_LIMIT),
    };
    let bar = progress_bar(
        files.len(),
        !args.quiet && files.len() > 2,
        "{spinner} loading {pos}/{len} dumps [{bar:30}] {per_sec} eta {eta}",
    );
    let report = dumpleak::series_files(
        &files,
        &args.input.options(),
        &symbolizer,
        &options,
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let report = report?;
    emit(
        &report,
        |_| report::series_document(&report),
        &args.output,
        "types",
    )?;
    Ok(ExitCode::SUCCESS)
}

fn run_batch(args: BatchArgs) -> Result<ExitCode, Error> {
    use dumpleak::analysis::batch::{BatchLine, BatchReport};
    use std::sync::Mutex;
    let files = dumpleak::collect_inputs(
        &args.inputs,
        dumpleak::InputWalk {
            recursive: args.recursive,
        },
    )?;
    let mut protected = files.clone();
    protected.extend(args.known.iter().cloned());
    dumpleak::pipeline::output::refuse_overwriting_inputs(
        args.output.output.as_deref(),
        &protected,
    )?;
    let known = match &args.known {
        Some(path) => dumpleak::analysis::known::KnownIssues::load(path)?,
        None => Default::default(),
    };
    let symbolizer = args.symbols.symbolizer()?;
    let options = dumpleak::BatchOptions {
        attribution: args.attribution.attribution(),
        known,
        jobs: args.jobs,
    };
    let bar = progress_bar(
        files.len(),
        !args.quiet,
        "{spinner} {pos}/{len} dumps [{bar:30}] {per_sec} eta {eta} {msg}",
    );
    let jsonl = args.output.format == Some(OutputFormat::Jsonl);
    // JSONL lines go out as each dump finishes, so a long batch can be followed and split.
    let sink = if jsonl {
        Some(Mutex::new(LineSink::create(args.output.output.as_deref())?))
    } else {
        None
    };
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let write_line = |line: &BatchLine| {
        if let Some(sink) = &sink {
            let text = serde_json::to_string(line).expect("batch lines serialise");
            let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
            sink.write_line(&text);
        }
    };
    let report: BatchReport = dumpleak::batch_files(
        &files,
        &args.input.options(),
        &symbolizer,
        &options,
        &|line| {
            if matches!(line, BatchLine::Failure(_)) {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                bar.set_message(format!(
                    "{} failed",
                    failed.load(std::sync::atomic::Ordering::Relaxed)
                ));
            }
            write_line(line);
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    if let Some(sink) = sink {
        let mut sink = sink.into_inner().unwrap_or_else(|e| e.into_inner());
        let aggregate = BatchLine::Aggregate(Box::new(report.aggregate.clone()));
        sink.write_line(&serde_json::to_string(&aggregate).expect("batch lines serialise"));
        sink.finish()?;
    } else {
        emit(
            &report,
            |_| report::batch_document(&report),
            &args.output,
            "dumps",
        )?;
    }
    eprintln!(
        "dumpleak batch: {} processed, {} failed",
        report.aggregate.processed, report.aggregate.failed
    );
    Ok(if report.aggregate.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

fn run_merge(args: MergeArgs) -> Result<ExitCode, Error> {
    use dumpleak::analysis::batch::BatchLine;
    dumpleak::pipeline::output::refuse_overwriting_inputs(
        args.output.output.as_deref(),
        &args.shards,
    )?;
    let mut texts = Vec::new();
    for shard in &args.shards {
        let text = std::fs::read_to_string(shard)
            .map_err(dumpleak::snapshot::LoadError::io(shard))
            .map_err(Error::from)?;
        texts.push((shard.display().to_string(), text));
    }
    let lines = texts.iter().flat_map(|(name, text)| {
        text.lines()
            .enumerate()
            .map(move |(number, line)| (format!("{name}:{}", number + 1), line))
    });
    let report = dumpleak::analysis::batch::merge_lines(lines)?;
    if args.output.format == Some(OutputFormat::Jsonl) {
        let mut out = String::new();
        for row in &report.dumps {
            out.push_str(
                &serde_json::to_string(&BatchLine::Dump(Box::new(row.clone()))).unwrap_or_default(),
            );
            out.push('\n');
        }
        for failure in &report.failures {
            out.push_str(
                &serde_json::to_string(&BatchLine::Failure(failure.clone())).unwrap_or_default(),
            );
            out.push('\n');
        }
        out.push_str(
            &serde_json::to_string(&BatchLine::Aggregate(Box::new(report.aggregate.clone())))
                .unwrap_or_default(),
        );
        out.push('\n');
        dumpleak::pipeline::output::write_report(args.output.output.as_deref(), &out)?;
    } else {
        emit(
            &report,
            |_| report::batch_document(&report),
            &args.output,
            "dumps",
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn emit<M: serde::Serialize>(
    model: &M,
    document: impl FnOnce(report::document::Rows) -> report::document::Document,
    output: &OutputArgs,
    default_table: &str,
) -> Result<(), Error> {
    let to_terminal = output.output.is_none() && std::io::stdout().is_terminal();
    let mut options = RenderOptions::default();
    options.width = if to_terminal {
        comfy_table::Table::new().width()
    } else {
        None
    };
    options.table = output.table.clone();
    if output.table.is_some() && output.format != Some(OutputFormat::Csv) {
        return Err(Error::Usage("--table goes with --format csv".to_string()));
    }
    let format = output.format.map_or(Format::Table, Format::from);
    if format == Format::Json {
        // Written as it is serialised (no document, no text held): the JSON of a report of
        // a million handles is larger than the report.
        let mut sink = dumpleak::pipeline::output::LineSink::create(output.output.as_deref())?;
        let written = report::write_json(model, std::io::BufWriter::new(&mut sink));
        sink.finish()?;
        return match written {
            // The sink failed and said so above (or standard output was closed: not an error).
            Err(report::RenderError::Json(error)) if error.is_io() => Ok(()),
            other => Ok(other?),
        };
    }
    // The terminal and Markdown show the first rows of long tables: only those are laid out.
    let document = document(report::document::Rows::for_format(format));
    let text = report::render(model, &document, format, &options, default_table)?;
    dumpleak::pipeline::output::write_report(output.output.as_deref(), &text)
}
