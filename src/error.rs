//! Errors with enough context to act on: the file, the stream and the offset. Each stage has
//! its own error type; [`Error`] gathers them for the pipeline and says which exit status a
//! command line gives for each.

use std::io;
use std::path::PathBuf;

pub use crate::analysis::batch::MergeError;
pub use crate::analysis::known::RuleError;
pub use crate::report::RenderError;
pub use crate::snapshot::LoadError;
pub use crate::symbols::SymbolError;

/// Everything that can go wrong in a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be read or is not usable.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The symbol configuration is unusable.
    #[error(transparent)]
    Symbols(#[from] SymbolError),
    /// A report could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A batch shard (JSONL) could not be read back.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// A known-issue rules file is malformed.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// A report could not be written.
    #[error("{path}: cannot write report: {source}")]
    Output {
        /// The output file (`-` for standard output).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Two inputs are of different processes; comparing their handles shows no leak.
    #[error("the inputs are dumps of different processes: {before} vs {after}; a diff would compare unrelated handle tables (use --allow-different-process to compare anyway)")]
    DifferentProcesses {
        /// The earlier input's process, described.
        before: String,
        /// The later input's process, described.
        after: String,
    },
    /// The same capture was given twice.
    #[error("{first} and {second} are the same capture (the same file or byte-identical content): there is nothing to compare")]
    SameInput {
        /// The first input.
        first: PathBuf,
        /// The second input.
        second: PathBuf,
    },
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// The request itself is inconsistent (bad option values and the like).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Whether the error is the user's request rather than an input or the system: the
    /// command line exits 2 for these, 1 for everything else.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Usage(_) | Error::Rules(_) => true,
            Error::Load(error) => error.is_usage(),
            Error::Symbols(error) => error.is_usage(),
            Error::Render(error) => error.is_usage(),
            _ => false,
        }
    }

    /// The command line's exit status for this error: 2 for a usage error, else 1.
    pub fn exit_code(&self) -> u8 {
        if self.is_usage() {
            2
        } else {
            1
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
