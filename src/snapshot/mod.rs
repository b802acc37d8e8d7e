//! Load stage: turns an input file into a [`Snapshot`].
//!
//! Inputs are recognised by content, never by extension alone.

mod bytes;
mod handle_data;
mod handle_trace;
mod memory;
pub mod minidump;
mod model;
pub mod text;

pub use self::minidump::{load_minidump, load_minidump_bytes, CAPTURE_HINT, TRACE_HINT};
pub use memory::{DumpBytes, DumpMemory};
pub use model::*;

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Loads a snapshot from `path`, recognising the kind of input by its first bytes.
pub fn load(path: &Path) -> Result<Snapshot> {
    let mut head = [0u8; 4];
    let read = std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut head))
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if read == 4 && &head == self::minidump::MINIDUMP_SIGNATURE {
        return load_minidump(path);
    }
    Err(Error::NotMinidump {
        path: path.to_path_buf(),
        reason: format!(
            "unrecognised input (first bytes {:02x?}); supported: Windows minidumps (MDMP)",
            &head[..read]
        ),
    })
}

/// Loads several inputs in parallel; results keep the order of `paths`.
pub fn load_all(paths: &[&Path]) -> Vec<Result<Snapshot>> {
    use rayon::prelude::*;
    paths.par_iter().map(|path| load(path)).collect()
}
