//! Why an input could not be loaded: the file, and where it can be said, the stream and the
//! offset.

use std::io;
use std::path::PathBuf;

/// An input that could not be read or is not usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
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
    /// The file is no input dumpleak reads (its content is never quoted).
    #[error("{path}: {reason}")]
    Unrecognised {
        /// The file.
        path: PathBuf,
        /// What it is not.
        reason: String,
        /// The content looks binary rather than like text.
        binary: bool,
    },
    /// The file is recognisably something else: a symbol file, an archive, an image, a
    /// kernel dump, a report.
    #[error("{path}: {kind}, not a minidump, debugger log or handle.exe output")]
    OtherKind {
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
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
    /// The input is larger than dumpleak reads into memory (a text input, or a pipe or device
    /// of unknown length: `/dev/zero` never ends).
    #[error("{path}: {message}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// How large, and the limit.
        message: String,
    },
    /// The input holds several snapshots and the options do not say which one to take
    /// (`--pid`, `--block`), or name one it does not hold.
    #[error("{path}: {message}")]
    Ambiguous {
        /// The file.
        path: PathBuf,
        /// What it holds and which option chooses.
        message: String,
    },
}

impl LoadError {
    /// Whether the user's options, not the input, are at fault.
    pub fn is_usage(&self) -> bool {
        matches!(self, LoadError::Ambiguous { .. })
    }

    /// Maps an I/O error on `path` to [`LoadError::Io`].
    pub fn io(path: &std::path::Path) -> impl Fn(io::Error) -> LoadError + Copy + '_ {
        move |source| LoadError::Io {
            path: path.to_path_buf(),
            source: explain_sharing(source),
        }
    }
}

/// On Windows, a file that another process holds open without sharing it for reading (a dump
/// procdump is still writing, say) fails with a sharing or lock violation whose system message
/// does not say what to do; this one does.
#[cfg(windows)]
fn explain_sharing(source: io::Error) -> io::Error {
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    match source.raw_os_error() {
        Some(ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION) => io::Error::new(
            source.kind(),
            format!(
                "{source}: another process has it open and does not let others read it \
                 (procdump still writing the dump?); try again once that process has finished"
            ),
        ),
        _ => source,
    }
}

#[cfg(not(windows))]
fn explain_sharing(source: io::Error) -> io::Error {
    source
}
