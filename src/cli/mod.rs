//! The `dumpleak` command line: argument definitions (`args`, `commands`), the run of each
//! subcommand (`run`), where and how reports are written (`emit`), and what `generate`
//! writes (`generate`). The library does the work.

mod alloc;
mod args;
mod commands;
mod emit;
mod generate;
mod run;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use commands::{BatchArgs, DiffArgs, GenerateArgs, HandlesArgs, MergeArgs, SeriesArgs, ShowArgs};
use dumpleak::report::{tables, Format};
use dumpleak::sanitize::visible;
use dumpleak::Error;
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
#[command(name = "dumpleak", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One dump at a glance: process, handle totals by type, modules with versions, handle tracing.
    #[command(after_long_help = commands::SHOW_EXAMPLES)]
    Show(ShowArgs),
    /// One row per handle, as WinDbg's `!handle 0 f`: type, name, attributes, granted access in
    /// words, counts, object information, and with trace records the allocation stack and the
    /// blamed module with its version; `--history` lists every trace record of each handle, as
    /// `!htrace <handle>`.
    ///
    /// Handle values are hexadecimal, as WinDbg prints them (`0x1c0` or `1c0`).
    #[command(after_long_help = commands::HANDLES_EXAMPLES)]
    Handles(HandlesArgs),
    /// Handles new and closed between two dumps of one process, allocation stacks grouped and
    /// blamed on modules with their file versions.
    ///
    /// Identity of a handle is value + type + object name: a value reused for another object
    /// counts as one closed and one new handle. The blamed module of a stack is its innermost
    /// frame outside the system modules (ntdll, kernel32, kernelbase, … see --system-module).
    #[command(after_long_help = commands::DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Two or more dumps of one process across cycles: a verdict (leak, plateau, decline,
    /// churn, stable) for the total, each handle type, and the handles retained per blamed
    /// module and per allocation stack; rates per cycle and per hour; the time until the handle
    /// limit is reached.
    ///
    /// Order: by capture time when every input has one; otherwise as given (the files of a
    /// directory by name, said first). Dumps of another program, and of another process of the
    /// program running at the same time, are listed and left out; a restart (pid or start time
    /// changes) splits the series into segments analysed on their own. With --pid, only that
    /// process's inputs are taken, whatever their kind.
    ///
    /// Verdicts come from the counts' own noise (docs/series-verdicts.md): fewer than 5 dumps,
    /// no verdict; a Mann-Kendall trend (p < 0.05) of at least 3x the noise around the
    /// Theil-Sen line is a leak (up) or decline (down), unless the rise levelled off for 3 or
    /// more dumps (plateau); otherwise stable within a band of max(2, 10 % of the median),
    /// churn beyond it.
    #[command(after_long_help = commands::SERIES_EXAMPLES)]
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
    #[command(after_long_help = commands::BATCH_EXAMPLES)]
    Batch(BatchArgs),
    /// Rebuild a batch report from `--format jsonl` shards of one or more batch runs.
    #[command(after_long_help = commands::MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Shell completions (bash, zsh, fish, PowerShell) or a man page, on standard output.
    #[command(after_long_help = commands::GENERATE_EXAMPLES)]
    Generate(GenerateArgs),
}

/// The formats `--format` offers: every one but `jsonl` (written line by line, which only
/// `batch` and `merge` do).
const REPORT_FORMATS: [Format; 5] = [
    Format::Table,
    Format::Markdown,
    Format::Json,
    Format::Csv,
    Format::Html,
];

/// Per subcommand: its formats and its `--table` ids (the default first).
fn outputs_of(subcommand: &str) -> Option<(&'static [Format], Vec<&'static str>)> {
    let report: &'static [Format] = &REPORT_FORMATS;
    Some(match subcommand {
        "show" => (report, [tables::SHOW, tables::DIFF].concat()),
        "handles" => (report, tables::HANDLES.to_vec()),
        "diff" => (report, tables::DIFF.to_vec()),
        "series" => (report, tables::SERIES.to_vec()),
        "batch" | "merge" => (&Format::ALL, tables::BATCH.to_vec()),
        _ => return None,
    })
}

/// The command line as parsed: the derive's definitions, with each subcommand's `--format`
/// and `--table` narrowed to what its report has, and the usage summary in `--help`.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let Some((formats, mut ids)) = outputs_of(&name) else {
            continue;
        };
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        let extensions: Vec<&str> = formats.iter().map(|format| format.extension()).collect();
        let format_help = format!(
            "Output format [default: from the --output file's extension ({}), else table]",
            extensions.join(" ")
        );
        // Which of show's tables a report has depends on the input.
        let table_help = (name == "show").then_some(
            "With --format csv: the table to write [default: the first listed]. A dump or \
             listing has types and modules (and unloaded, with --modules, when the dump lists \
             unloaded modules); \
             a debugger log with `!htrace` records is shown as a diff, with handles, types, \
             stacks and modules",
        );
        command = command.mut_subcommand(&name, |sub| {
            sub.mut_arg("format", |arg| {
                arg.value_parser(args::format_parser(formats))
                    .help(format_help)
            })
            .mut_arg("table", |arg| {
                let arg = arg.value_parser(clap::builder::PossibleValuesParser::new(ids));
                match table_help {
                    Some(help) => arg.long_help(help),
                    None => arg,
                }
            })
        });
    }
    let summary = generate::usage_summary(&command);
    command.after_long_help(format!("Usage summary:\n{summary}\n{AFTER_HELP}"))
}

/// Parses the command line, runs the subcommand, and turns its outcome into the exit status.
pub fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let result = match cli.command {
        Command::Show(args) => run::show(args),
        Command::Handles(args) => run::handles(args),
        Command::Diff(args) => run::diff(args),
        Command::Series(args) => run::series(args),
        Command::Batch(args) => run::batch(args),
        Command::Merge(args) => run::merge(args),
        Command::Generate(args) => generate::run(&args),
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
