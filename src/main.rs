//! The `dumpleak` command line: argument definitions and wiring only; the library does the work.

use clap::{Args, Parser, Subcommand, ValueEnum};
use dumpleak::analysis::batch::AggregateOptions;
use dumpleak::analysis::{Attribution, DiffOptions};
use dumpleak::pipeline::output::LineSink;
use dumpleak::report::{self, Format, RenderOptions};
use dumpleak::sanitize::visible;
use dumpleak::symbols::{SymbolConfig, Symbolizer};
use dumpleak::{snapshot, Error};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 a bad input or runtime error (the message names the file and what is \
wrong); 2 usage error; 3 handle growth over --fail-on-growth (diff) or a leak with --fail-on-leak \
(series).

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
    /// One row per handle, as WinDbg's `!handle 0 f`: type, name, attributes, granted access in
    /// words, counts, object information, and with trace records the allocation stack and the
    /// blamed module with its version; `--history` lists every trace record of each handle, as
    /// `!htrace <handle>`.
    ///
    /// Handle values are hexadecimal, as WinDbg prints them (`0x1c0` or `1c0`).
    Handles(HandlesArgs),
    /// Handles new and closed between two dumps of one process, allocation stacks grouped and
    /// blamed on modules with their file versions.
    ///
    /// Identity of a handle is value + type + object name: a value reused for another object
    /// counts as one closed and one new handle. The blamed module of a stack is its innermost
    /// frame outside the system modules (ntdll, kernel32, kernelbase, … see --system-module).
    Diff(DiffArgs),
    /// Two or more dumps of one process across cycles: a verdict (leak, plateau, decline,
    /// churn, stable) for the total, each handle type, and the handles retained per blamed
    /// module and per allocation stack; rates per cycle and per hour; the time until the handle
    /// limit is reached.
    ///
    /// Order: by capture time when every input has one; otherwise as given (the files of a
    /// directory by name, said first). Dumps of another program, and of another process of the
    /// program running at the same time, are listed and left out; a restart (pid or start time
    /// changes) splits the series into segments analysed on their own.
    ///
    /// Verdicts come from the counts' own noise (docs/series-verdicts.md): fewer than 5 dumps,
    /// no verdict; a Mann-Kendall trend (p < 0.05) of at least 3x the noise around the
    /// Theil-Sen line is a leak (up) or decline (down), unless the rise levelled off for 3 or
    /// more dumps (plateau); otherwise stable within a band of max(2, 10 % of the median),
    /// churn beyond it.
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

/// `series --order`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SeriesOrder {
    /// As given on the command line (a directory's files by name).
    Given,
    /// By capture time.
    Time,
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
    /// Where downloaded symbols and converted symbol caches are kept [default: the per-user
    /// cache: ~/.cache/dumpleak/symbols on Linux, %LOCALAPPDATA%\dumpleak\symbols on Windows].
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
struct HandlesArgs {
    /// The dump (or debugger log, or handle.exe listing).
    input: PathBuf,
    /// Only handles of type T (any case); repeatable.
    #[arg(long = "type", value_name = "T")]
    types: Vec<String>,
    /// Only objects whose name contains SUBSTR (any case).
    #[arg(long, value_name = "SUBSTR")]
    name: Option<String>,
    /// Only handle VALUE (hexadecimal, `0x1c0` or `1c0`); repeatable.
    #[arg(long = "handle", value_name = "VALUE", value_parser = parse_handle_value)]
    handles: Vec<u64>,
    /// Only handles allocated through module NAME (their allocation stack passes through it).
    #[arg(long, value_name = "NAME")]
    module: Option<String>,
    /// Every trace record of each handle (open, close, bad reference) with its thread and
    /// stack, newest first, as `!htrace <handle>`.
    #[arg(long)]
    history: bool,
    #[command(flatten)]
    input_choice: InputArgs,
    #[command(flatten)]
    symbols: SymbolArgs,
    #[command(flatten)]
    attribution: AttributionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// A handle value as WinDbg prints it: hexadecimal, with or without `0x`.
fn parse_handle_value(text: &str) -> Result<u64, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u64::from_str_radix(digits, 16)
        .map_err(|_| format!("{text:?} is not a handle value (hexadecimal, e.g. 0x1c0)"))
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
    /// Smallest rate per cycle that counts as a leak or decline; slower trends are called
    /// stable [default: 0, any significant trend counts].
    #[arg(long, value_name = "HANDLES")]
    min_growth: Option<f64>,
    /// Width of the stable band (max - min of all but one dump in ten) [default: the larger of
    /// 2 handles and 10 % of the median count].
    #[arg(long, value_name = "HANDLES")]
    tolerance: Option<f64>,
    /// Also require the least-squares R² of a leak or decline to reach this [default: not
    /// required].
    #[arg(long, value_name = "R2")]
    min_fit: Option<f64>,
    /// The order of the dumps: `given` as on the command line (a directory's files by name),
    /// `time` by capture time (inputs without one are refused) [default: by capture time when
    /// every input has one, else as given].
    #[arg(long, value_enum)]
    order: Option<SeriesOrder>,
    /// Exit with status 3 when the total, a type or a module is classified leak (a CI gate
    /// for soak tests).
    #[arg(long)]
    fail_on_leak: bool,
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
    /// Follow symbolic links that lead outside the folders given (not followed by default).
    #[arg(long)]
    follow_links: bool,
    /// Only files whose path below the folder (or name) matches GLOB; repeatable.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Leave out files whose path below the folder (or name) matches GLOB; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    #[command(flatten)]
    ranking: RankingArgs,
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
struct RankingArgs {
    /// Rank system modules too (left out by default: nearly every process loads them, so
    /// their presence mostly tells which OS a dump came from).
    #[arg(long)]
    include_system_modules: bool,
}

#[derive(Args)]
struct MergeArgs {
    /// JSONL shards written by `dumpleak batch --format jsonl`.
    #[arg(required = true, value_name = "SHARDS.jsonl")]
    shards: Vec<PathBuf>,
    #[command(flatten)]
    ranking: RankingArgs,
    #[command(flatten)]
    attribution: AttributionArgs,
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
    /// Compare dumps of different processes (pid, start time or image differ) anyway; the
    /// report then says so before anything else. Without it such a diff is refused (exit 1).
    #[arg(long)]
    allow_different_process: bool,
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
        Command::Handles(args) => run_handles(args),
        Command::Diff(args) => run_diff(args),
        Command::Series(args) => run_series(args),
        Command::Batch(args) => run_batch(args),
        Command::Merge(args) => run_merge(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            say(&format!("dumpleak: {error}"));
            if matches!(
                error,
                Error::Load(dumpleak::snapshot::LoadError::Unrecognised { .. })
            ) {
                say(&format!(
                    "dumpleak: it reads {}",
                    dumpleak::snapshot::text::SUPPORTED_FORMATS
                ));
            }
            ExitCode::from(error.exit_code())
        }
    }
}

/// Writes one message line to standard error. Every message goes through here: errors quote
/// paths and strings from dumps, logs and servers, so control, bidi and invisible characters
/// are shown escaped and a newline cannot start a forged line.
fn say(message: &str) {
    eprintln!("{}", visible(message));
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
        allow_different_process: false,
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

fn run_handles(args: HandlesArgs) -> Result<ExitCode, Error> {
    dumpleak::pipeline::output::refuse_overwriting_inputs(
        args.output.output.as_deref(),
        std::slice::from_ref(&args.input),
    )?;
    let snapshot = snapshot::load_with(&args.input, &args.input_choice.options())?;
    let symbolizer = args.symbols.symbolizer()?;
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
        &args.attribution.attribution(),
    );
    emit(
        &report,
        |_| report::handles_document(&report),
        &args.output,
        "handles",
    )?;
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
        allow_different_process: args.allow_different_process,
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
            say(&format!(
                "dumpleak: handle count grew by {} (more than --fail-on-growth {limit})",
                report.total_delta
            ));
            Ok(ExitCode::from(3))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn run_series(args: SeriesArgs) -> Result<ExitCode, Error> {
    use dumpleak::analysis::series::{self, Order};
    let files = dumpleak::collect_inputs(&args.inputs, dumpleak::InputWalk::default())?;
    dumpleak::pipeline::output::refuse_overwriting_inputs(args.output.output.as_deref(), &files)?;
    let symbolizer = args.symbols.symbolizer()?;
    let options = dumpleak::analysis::SeriesOptions {
        attribution: args.attribution.attribution(),
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
    if args.fail_on_leak && series::any_leak(&report) {
        say("dumpleak: a leak was found (--fail-on-leak)");
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_batch(args: BatchArgs) -> Result<ExitCode, Error> {
    use dumpleak::analysis::batch::{BatchLine, BatchReport};
    use std::sync::Mutex;
    let walk = dumpleak::InputWalk {
        recursive: args.recursive,
        follow_links: args.follow_links,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
    };
    let files = dumpleak::batch_files_of(&args.inputs, &walk)?;
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
        aggregate: AggregateOptions {
            attribution: args.attribution.attribution(),
            include_system_modules: args.ranking.include_system_modules,
        },
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
    let report: BatchReport = dumpleak::batch_inputs(
        &args.inputs,
        &walk,
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
    let options = AggregateOptions {
        attribution: args.attribution.attribution(),
        include_system_modules: args.ranking.include_system_modules,
    };
    let report = dumpleak::analysis::batch::merge_lines(lines, &options)?;
    if args.output.format == Some(OutputFormat::Jsonl) {
        let out = dumpleak::analysis::batch::to_jsonl(&report);
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
    if format == Format::Csv {
        // A CSV file has no place for them; they must still be read first.
        for alert in document.alerts() {
            say(&format!("dumpleak: warning: {alert}"));
        }
    }
    dumpleak::pipeline::output::write_report(output.output.as_deref(), &text)
}
