//! Option groups shared by several subcommands (each shown under its own heading in help).

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use dumpleak::analysis::Attribution;
use dumpleak::report::Format;
use dumpleak::symbols::{SymbolConfig, Symbolizer};
use dumpleak::{snapshot, Error};
use std::path::PathBuf;

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal and `NO_COLOR` is not set (`CLICOLOR_FORCE` forces
    /// it).
    #[default]
    Auto,
    /// Always (terminal tables only: other formats never carry escape codes).
    Always,
    /// Never.
    Never,
}

/// `--redact`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RedactChoice {
    /// User names in paths and machine names (UNC and URL hosts).
    Paths,
    /// Those, and the names of handle objects too.
    Names,
}

/// A `--format` value parser offering `formats` only, with their descriptions.
pub fn format_parser(formats: &[Format]) -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(
        formats
            .iter()
            .map(|format| PossibleValue::new(format.name()).help(format.description())),
    )
    .try_map(|name| name.parse::<Format>())
}

/// Output options of every report.
#[derive(Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format [default: from the --output file's extension (.txt .md .json .csv
    /// .html .jsonl), else table].
    #[arg(long, short = 'f', value_name = "FORMAT", value_parser = format_parser(&Format::ALL))]
    pub format: Option<Format>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --format csv: the table to write [default: the first listed].
    #[arg(long, value_name = "ID")]
    pub table: Option<String>,
    /// Colour in terminal tables: the blamed module and version, leak classes, and warnings
    /// that change the conclusion.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Show only the first N stacks and the first N rows of each table (a short bug report;
    /// N is at least 1).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub top: Option<usize>,
    /// Replace user names in paths (`C:\Users\alice\…`) and machine names (`\\host\share`,
    /// URL hosts) with placeholders (`<user1>`, `<host1>`), the same input always the same
    /// placeholder, in every format; `--redact=names` also object names (`<name1>`).
    #[arg(long, value_name = "WHAT", value_enum, num_args = 0..=1,
          require_equals = true, default_missing_value = "paths")]
    pub redact: Option<RedactChoice>,
}

/// Symbol options.
#[derive(Args)]
#[command(next_help_heading = "Symbols")]
pub struct SymbolArgs {
    /// Symbol path in _NT_SYMBOL_PATH syntax: directories (flat or symbol stores),
    /// `cache*DIR`, `srv*CACHE*https://server/symbols`. Default: $_NT_SYMBOL_PATH.
    /// PDBs and Breakpad .sym files are matched by the module's CodeView identity (GUID and
    /// age); images (for export tables) by TimeDateStamp and SizeOfImage.
    #[arg(long, value_name = "PATH")]
    pub symbol_path: Option<String>,
    /// A directory of PDBs, .sym files or image files (DLL/EXE), searched flat and as a
    /// symbol store; shorthand for a plain directory in the symbol path. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub symbols: Vec<PathBuf>,
    /// Where downloaded symbols and converted symbol caches are kept [default: the per-user
    /// cache: ~/.cache/dumpleak/symbols on Linux, %LOCALAPPDATA%\dumpleak\symbols on Windows].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Never contact symbol servers (local directories and the cache only).
    #[arg(long)]
    pub offline: bool,
    /// Use PDBs whose GUID/age do not match the module; such frames are marked mismatched.
    #[arg(long)]
    pub allow_mismatched: bool,
}

impl SymbolArgs {
    /// The symbolizer these options describe.
    pub fn symbolizer(&self) -> Result<Symbolizer, Error> {
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

/// Which process or block of an input.
#[derive(Args)]
#[command(next_help_heading = "Inputs")]
pub struct InputArgs {
    /// The process: with handle.exe output listing several processes, the one to take; any
    /// other input (a dump, a debugger log) must be of this process, or it is refused (series
    /// and batch leave it out and say why).
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// With a debugger log: the !htrace block to take, 0-based in the order of the log
    /// [default: the last `!htrace -diff`, else the last block].
    #[arg(long, value_name = "N")]
    pub block: Option<usize>,
}

impl InputArgs {
    /// The load options these choices describe.
    pub fn options(&self) -> snapshot::LoadOptions {
        snapshot::LoadOptions {
            pid: self.pid,
            block: self.block,
            ..Default::default()
        }
    }
}

/// Which modules are never blamed.
#[derive(Args)]
#[command(next_help_heading = "Blame")]
pub struct AttributionArgs {
    /// Treat NAME as a system module too (never blamed; e.g. a runtime you trust). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub system_module: Vec<String>,
    /// Start from an empty system-module list instead of the built-in one.
    #[arg(long)]
    pub no_default_system_modules: bool,
}

impl AttributionArgs {
    /// The attribution these options describe.
    pub fn attribution(&self) -> Attribution {
        if self.no_default_system_modules {
            Attribution::new(self.system_module.iter().cloned())
        } else {
            Attribution::with_extra(self.system_module.iter().cloned())
        }
    }
}

/// How `batch` and `merge` rank module versions.
#[derive(Args)]
pub struct RankingArgs {
    /// Rank system modules too (left out by default: nearly every process loads them, so
    /// their presence mostly tells which OS a dump came from).
    #[arg(long)]
    pub include_system_modules: bool,
}

/// A count of at least 1 (`--top 0` would show an empty report).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The options every analysing command shares: which inputs, symbols, attribution, output.
#[derive(Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub symbols: SymbolArgs,
    #[command(flatten)]
    pub attribution: AttributionArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}
