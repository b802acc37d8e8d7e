//! Errors with enough context to act on: the file, the stream and the offset.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while loading, symbolising or writing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file is not an input dumpleak reads, or a minidump whose header or stream directory
    /// is unusable.
    #[error("{path}: {reason}")]
    NotMinidump {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A stream the analysis needs is malformed.
    #[error("{path}: {stream} at file offset {offset:#x}: {reason}")]
    BadStream {
        /// The file.
        path: PathBuf,
        /// The stream's name, e.g. `HandleDataStream`.
        stream: &'static str,
        /// File offset of the bad structure.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The dump holds no handle data, so there is nothing to analyse.
    #[error("{path}: {message}")]
    MissingData {
        /// The file.
        path: PathBuf,
        /// What is missing and how to capture a dump that has it.
        message: String,
    },
    /// A report could not be written.
    #[error("{path}: cannot write report: {source}")]
    Output {
        /// The output file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The request itself is inconsistent (bad option values and the like).
    #[error("{0}")]
    Usage(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
