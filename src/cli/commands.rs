//! The subcommands' own arguments, each with its examples (shown by `--help`).

use super::args::{AttributionArgs, CommonArgs, OutputArgs, RankingArgs};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `show --help` examples.
pub const SHOW_EXAMPLES: &str = "\
Examples:
  dumpleak show crash.dmp --symbol-path 'srv*C:\\Symbols*https://msdl.microsoft.com/download/symbols'
  dumpleak show service.dmp --modules --format markdown -o service.md
  dumpleak show session.log               (a WinDbg log with !htrace -diff: its outstanding handles)";

/// `handles --help` examples.
pub const HANDLES_EXAMPLES: &str = "\
Examples:
  dumpleak handles after.dmp --type Mutant --type Section
  dumpleak handles after.dmp --handle 0x1c0 --history
  dumpleak handles after.dmp --module MSMAPI32.DLL -o handles.csv";

/// `diff --help` examples.
pub const DIFF_EXAMPLES: &str = "\
Examples:
  dumpleak diff before.dmp after.dmp --symbols ./images --suspect MapiHelper.dll
  dumpleak diff before.dmp after.dmp -o report.html
  dumpleak diff before.dmp after.dmp --top 3 --only-changed --redact --format markdown
  dumpleak diff before.txt after.txt --pid 5520      (handle.exe listings of several processes)
  dumpleak diff before.dmp after.dmp --fail-on-growth 50 --format json -o diff.json";

/// `series --help` examples.
pub const SERIES_EXAMPLES: &str = "\
Examples:
  dumpleak series dumps/ --symbols ./images
  dumpleak series cycle-*.dmp --limit 10000 -o series.html
  dumpleak series soak/ --fail-on-leak --quiet --format json -o series.json";

/// `batch --help` examples.
pub const BATCH_EXAMPLES: &str = "\
Examples:
  dumpleak batch customer-dumps/ --recursive --known known-issues.toml
  dumpleak batch customer-dumps/ --include '*.dmp' --jobs 4 -o triage.html
  dumpleak batch shard-a/ -o a.jsonl && dumpleak batch shard-b/ -o b.jsonl";

/// `merge --help` examples.
pub const MERGE_EXAMPLES: &str = "\
Examples:
  dumpleak merge a.jsonl b.jsonl -o triage.html
  dumpleak merge a.jsonl b.jsonl --format jsonl -o all.jsonl";

/// `generate --help` examples.
pub const GENERATE_EXAMPLES: &str = "\
Examples:
  dumpleak generate complete-bash > ~/.local/share/bash-completion/completions/dumpleak
  dumpleak generate complete-zsh > ~/.zfunc/_dumpleak
  dumpleak generate complete-fish > ~/.config/fish/completions/dumpleak.fish
  dumpleak generate complete-powershell >> $PROFILE
  dumpleak generate man > dumpleak.1 && man ./dumpleak.1
  dumpleak generate man diff > dumpleak-diff.1   (the page of one subcommand)";

/// `show`.
#[derive(Args)]
pub struct ShowArgs {
    /// The dump (or debugger log, or handle.exe listing).
    #[arg(value_name = "INPUT")]
    pub dump: PathBuf,
    /// List every module, system modules included.
    #[arg(long)]
    pub modules: bool,
    /// How many frames of the crashing thread to show (dumps with an exception).
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub crash_frames: usize,
    /// With a debugger log whose !htrace -diff is shown: report on module NAME even when no
    /// outstanding stack mentions it. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub suspect: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `handles`.
#[derive(Args)]
pub struct HandlesArgs {
    /// The dump (or debugger log, or handle.exe listing).
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Only handles of type T (any case); repeatable.
    #[arg(long = "type", value_name = "T")]
    pub types: Vec<String>,
    /// Only objects whose name contains SUBSTR (any case).
    #[arg(long, value_name = "SUBSTR")]
    pub name: Option<String>,
    /// Only handle VALUE (hexadecimal, `0x1c0` or `1c0`); repeatable.
    #[arg(long = "handle", value_name = "VALUE", value_parser = parse_handle_value)]
    pub handles: Vec<u64>,
    /// Only handles allocated through module NAME (their allocation stack passes through it).
    #[arg(long, value_name = "NAME")]
    pub module: Option<String>,
    /// Every trace record of each handle (open, close, bad reference) with its thread and
    /// stack, newest first, as `!htrace <handle>`.
    #[arg(long)]
    pub history: bool,
    #[command(flatten)]
    pub common: CommonArgs,
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

/// `diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The earlier dump.
    pub before: PathBuf,
    /// The later dump.
    pub after: PathBuf,
    /// Report on module NAME even when no outstanding stack mentions it ("in 0 of 3
    /// outstanding stacks"). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub suspect: Vec<String>,
    /// Exit with status 3 when the total handle count grew by more than N (for CI pipelines).
    #[arg(long, value_name = "N")]
    pub fail_on_growth: Option<i64>,
    /// Compare dumps of different processes (pid, start time or image differ) anyway; the
    /// report then says so before anything else. Without it such a diff is refused (exit 1).
    #[arg(long)]
    pub allow_different_process: bool,
    /// Leave out the handle types whose count did not change.
    #[arg(long)]
    pub only_changed: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `series --order`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeriesOrder {
    /// As given on the command line (a directory's files by name).
    Given,
    /// By capture time.
    Time,
}

/// `series`.
#[derive(Args)]
pub struct SeriesArgs {
    /// Dumps, or directories of dumps (their files, not recursive).
    #[arg(required = true, value_name = "DUMPS|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Handle count taken as exhaustion for the time estimate [default: 16777216, the
    /// per-process limit; use a quota seen in production].
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Smallest rate per cycle that counts as a leak or decline; slower trends are called
    /// stable [default: 0, any significant trend counts].
    #[arg(long, value_name = "HANDLES")]
    pub min_growth: Option<f64>,
    /// Width of the stable band (max - min of all but one dump in ten) [default: the larger of
    /// 2 handles and 10 % of the median count].
    #[arg(long, value_name = "HANDLES")]
    pub tolerance: Option<f64>,
    /// Also require the least-squares R² of a leak or decline to reach this [default: not
    /// required].
    #[arg(long, value_name = "R2")]
    pub min_fit: Option<f64>,
    /// The order of the dumps: `given` as on the command line (a directory's files by name),
    /// `time` by capture time (inputs without one are refused) [default: by capture time when
    /// every input has one, else as given].
    #[arg(long, value_enum)]
    pub order: Option<SeriesOrder>,
    /// Exit with status 3 when the total, a type or a module is classified leak (a CI gate
    /// for soak tests).
    #[arg(long)]
    pub fail_on_leak: bool,
    /// Leave out the handle types whose count is the same in every dump.
    #[arg(long)]
    pub only_changed: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `batch`.
#[derive(Args)]
pub struct BatchArgs {
    /// Dumps, or directories of dumps.
    #[arg(required = true, value_name = "DIR|FILES")]
    pub inputs: Vec<PathBuf>,
    /// Descend into subdirectories.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// Follow symbolic links that lead outside the folders given (not followed by default).
    #[arg(long)]
    pub follow_links: bool,
    /// Only files whose path below the folder (or name) matches GLOB; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out files whose path below the folder (or name) matches GLOB; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub ranking: RankingArgs,
    /// Worker threads [default: all cores].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Known-issue rules (TOML, see testdata/known-issues.toml): matched dumps carry the label.
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// JSONL shards written by `dumpleak batch --format jsonl`.
    #[arg(required = true, value_name = "SHARDS.jsonl")]
    pub shards: Vec<PathBuf>,
    #[command(flatten)]
    pub ranking: RankingArgs,
    #[command(flatten)]
    pub attribution: AttributionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What `generate` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// Completions for bash.
    CompleteBash,
    /// Completions for zsh.
    CompleteZsh,
    /// Completions for fish.
    CompleteFish,
    /// Completions for PowerShell.
    CompletePowershell,
    /// A man page (roff): dumpleak(1), or with a SUBCOMMAND its page, dumpleak-SUBCOMMAND(1).
    Man,
}

/// `generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// What to write to standard output.
    #[arg(value_enum)]
    pub what: Generated,
    /// With `man`: the page of this subcommand (`dumpleak-show(1)`, …) instead of dumpleak's.
    #[arg(value_name = "SUBCOMMAND")]
    pub page: Option<String>,
}
