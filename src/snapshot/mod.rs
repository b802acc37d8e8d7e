//! Load stage: turns an input file into a [`Snapshot`].
//!
//! Inputs are recognised by content, never by extension alone.

mod bytes;
mod compact;
mod dump;
mod error;
mod handle_data;
mod handle_trace;
mod memory;
pub mod minidump;
mod model;
mod module_list;
mod names;
pub mod sniff;
pub mod text;

pub use self::minidump::{load_minidump, load_minidump_bytes, CAPTURE_HINT, TRACE_HINT};
#[cfg(test)]
pub(crate) use compact::CompactHandle;
pub(crate) use compact::CompactHandles;
pub use dump::Dump;
pub use error::LoadError;
pub use memory::{DumpBytes, DumpMemory, PrivateBytes, MEMORY_DERIVED_BUDGET};
pub use model::*;
pub use names::{module_key, module_stem, same_module};

use std::io::Read;
use std::path::Path;

/// Largest input read into memory: text inputs (debugger logs, handle.exe listings), and
/// minidumps that come through a pipe or a device (regular files are mapped instead).
pub const MAX_TEXT_BYTES: u64 = 512 * 1024 * 1024;

/// Reads `reader` to its end, at most `cap` bytes: `None` when it holds more. The buffer never
/// grows past `cap + 1` bytes, whatever the reader claims or never says (a pipe's length
/// reads 0, `/dev/zero` never ends); `size_hint` sizes it up front for a regular file.
pub(crate) fn read_capped(
    reader: impl Read,
    cap: u64,
    size_hint: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    let limit = usize::try_from(cap.saturating_add(1)).unwrap_or(usize::MAX);
    let mut limited = reader.take(cap.saturating_add(1));
    let mut bytes = Vec::with_capacity(
        usize::try_from(size_hint.saturating_add(1)).map_or(limit, |hint| hint.min(limit)),
    );
    let mut chunk = vec![0; 64 * 1024];
    loop {
        let read = match limited.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if bytes.capacity() - bytes.len() < read {
            let target = (bytes.capacity() * 2).max(bytes.len() + read).min(limit);
            bytes.reserve_exact(target - bytes.len());
        }
        bytes.extend_from_slice(&chunk[..read]);
    }
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

/// What is said of a pipe or a device longer than [`MAX_TEXT_BYTES`].
const NOT_A_FILE: &str = "not a regular file (a pipe or a device) and";
/// What is said of a regular file that grew past [`MAX_TEXT_BYTES`] while it was read.
const GREW: &str = "grew while it was read and is";

/// The error for an input longer than [`MAX_TEXT_BYTES`]; `what` is [`NOT_A_FILE`] or
/// [`GREW`].
fn too_large(path: &Path, what: &str) -> LoadError {
    LoadError::TooLarge {
        path: path.to_path_buf(),
        message: format!(
            "{what} longer than {} MiB, the most dumpleak reads into memory",
            MAX_TEXT_BYTES >> 20
        ),
    }
}

/// What to do to get handle data, for `input`: dump advice for a minidump, debugger
/// commands for a log, handle.exe options for a listing.
pub fn capture_hint(input: InputFormat) -> &'static str {
    match input {
        InputFormat::Minidump => CAPTURE_HINT,
        InputFormat::WindbgLog => LOG_HANDLES_HINT,
        InputFormat::HandleExe | InputFormat::HandleSummary => {
            "list the process's handles with `handle -a -p <pid>`"
        }
    }
}

/// What to do to get allocation stacks, for `input` ([`capture_hint`]'s counterpart).
pub fn trace_hint(input: InputFormat) -> &'static str {
    match input {
        InputFormat::Minidump => TRACE_HINT,
        InputFormat::WindbgLog => LOG_TRACE_HINT,
        InputFormat::HandleExe | InputFormat::HandleSummary => {
            "handle.exe records no stacks: run `!htrace -enable` in a debugger attached to the process before the leaking cycles, and `!htrace -diff` after"
        }
    }
}

/// [`capture_hint`] for a debugger log.
const LOG_HANDLES_HINT: &str =
    "in the debugger session, `!handle 0 0` counts the handles by type and `!handle 0 f` lists them";

/// [`trace_hint`] for a debugger log.
const LOG_TRACE_HINT: &str = "in the debugger session, `!htrace -enable` before the leaking cycles, then `!htrace -snapshot` and, after them, `!htrace -diff`";

/// Choices for inputs that hold more than one snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// The process to take: from a handle.exe listing of several processes; any other input
    /// must be of this process.
    pub pid: Option<u32>,
    /// The `!htrace` block to take from a debugger log (0-based; default: the last `-diff`).
    pub block: Option<usize>,
    /// Read only the record count of a minidump's HandleOperationListStream, not the records:
    /// for a dump whose stacks are not used (the earlier dump of a diff), which then costs
    /// nothing for its trace.
    pub skip_trace_records: bool,
    /// Leave every handle's [`object_info`](Handle::object_info) empty (the chains are still
    /// walked and checked, so the warnings are the same): for commands that do not show it
    /// (`diff`, `series`, `batch`), which then allocate nothing per handle for it.
    pub skip_object_info: bool,
    /// Leave a minidump's trace records in the dump: the load reads only what it checks
    /// (depths, which end is newest) and keeps none ([`HandleTrace::records`] is empty), and
    /// [`Snapshot::newest_trace_records`] reads the records a report shows: a trace of
    /// 200,000 records then costs one pass over it and no memory per record.
    pub lazy_trace_stacks: bool,
}

/// Loads a snapshot from `path`, recognising the kind of input by its content.
pub fn load(path: &Path) -> Result<Snapshot, LoadError> {
    load_with(path, &LoadOptions::default())
}

/// Loads a snapshot from `path` with `options`: a minidump (by its signature), a WinDbg/cdb
/// log or Sysinternals handle.exe output (by their text). With [`LoadOptions::pid`], the
/// snapshot must be of that process, whatever kind of input it is: a listing of several
/// processes gives that one, and a dump or log of another process (or of none known) is
/// refused ([`LoadError::Ambiguous`]).
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Snapshot, LoadError> {
    load_choosing(path, options, false)
}

/// [`load_with`], keeping a minidump's handle table in a compact form (32 bytes a handle,
/// names shared by index, no object information) that only the crate's comparison reads:
/// [`Snapshot::handles`] is then `None`, while [`Snapshot::handle_count`] and
/// [`Snapshot::counts_by_type`] count the table. For `diff`, whose report shows a few of
/// 100,000 handles ([`Snapshot::expand_handles`] makes the full table); other inputs keep
/// their full table.
pub(crate) fn load_compact(path: &Path, options: &LoadOptions) -> Result<Snapshot, LoadError> {
    load_choosing(path, options, true)
}

fn load_choosing(path: &Path, options: &LoadOptions, compact: bool) -> Result<Snapshot, LoadError> {
    let snapshot = load_any(path, options, compact)?;
    match (options.pid, snapshot.process.pid) {
        (Some(wanted), Some(pid)) if pid != wanted => Err(LoadError::Ambiguous {
            path: path.to_path_buf(),
            message: format!("this is pid {pid}, not the process --pid {wanted} selects"),
        }),
        (Some(wanted), None) => Err(LoadError::Ambiguous {
            path: path.to_path_buf(),
            message: format!("no process id is recorded, so --pid {wanted} cannot select it"),
        }),
        _ => Ok(snapshot),
    }
}

fn load_any(path: &Path, options: &LoadOptions, compact: bool) -> Result<Snapshot, LoadError> {
    let io_error = LoadError::io(path);
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    let regular = metadata.is_file();
    if !regular || metadata.len() <= dump::READ_WHOLE_BELOW {
        // A pipe, a device, a socket: its length says nothing and it can be read only once.
        // A small file is read whole at once too, then told apart: one read instead of a
        // sniff, a seek and a read (a batch opens thousands of them).
        let (size_hint, too_long) = match regular {
            true => (metadata.len(), GREW),
            false => (0, NOT_A_FILE),
        };
        let bytes = read_capped(&mut file, MAX_TEXT_BYTES, size_hint)
            .map_err(io_error)?
            .ok_or_else(|| too_large(path, too_long))?;
        if bytes.starts_with(self::minidump::MINIDUMP_SIGNATURE) {
            let dump = Dump::from_bytes(path, bytes)?;
            return self::minidump::snapshot_with(&dump, options, compact);
        }
        if regular {
            refuse_other_kind(path, &bytes[..bytes.len().min(64)])?;
        }
        return load_text_hashed(path, &bytes, options);
    }
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]).map_err(io_error)? {
            0 => break,
            count => read += count,
        }
    }
    let head = &head[..read];
    if head.starts_with(self::minidump::MINIDUMP_SIGNATURE) {
        return self::minidump::load_minidump_file(path, file, options, compact);
    }
    refuse_other_kind(path, head)?;
    let size = metadata.len();
    if size > MAX_TEXT_BYTES {
        return Err(LoadError::NotMinidump {
            path: path.to_path_buf(),
            reason: format!(
                "not a minidump, and at {size} bytes too large for a text input (at most {MAX_TEXT_BYTES})"
            ),
        });
    }
    use std::io::Seek;
    file.rewind().map_err(io_error)?;
    // The file may grow while it is read: the cap holds all the same.
    let bytes = read_capped(&mut file, MAX_TEXT_BYTES, size)
        .map_err(io_error)?
        .ok_or_else(|| too_large(path, GREW))?;
    load_text_hashed(path, &bytes, options)
}

/// Refuses an empty file, or one whose first bytes (`head`, up to 64) show it is some other
/// kind of file than a dump or a text input.
fn refuse_other_kind(path: &Path, head: &[u8]) -> Result<(), LoadError> {
    if head.is_empty() {
        return Err(LoadError::NotMinidump {
            path: path.to_path_buf(),
            reason: "empty file".to_string(),
        });
    }
    if let Some(kind) = sniff::other_kind(head) {
        return Err(LoadError::OtherKind {
            path: path.to_path_buf(),
            kind,
        });
    }
    Ok(())
}

/// [`load_text`], with the hash of `bytes` as the snapshot's content hash.
fn load_text_hashed(
    path: &Path,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<Snapshot, LoadError> {
    let mut snapshot = load_text(path, bytes, options)?;
    snapshot.content_hash = Some(sha256_hex(&[bytes]));
    Ok(snapshot)
}

/// Reads a debugger log or handle.exe output from `bytes`; `path` names it in messages.
pub fn load_text(path: &Path, bytes: &[u8], options: &LoadOptions) -> Result<Snapshot, LoadError> {
    let unrecognised = |reason: String| LoadError::NotMinidump {
        path: path.to_path_buf(),
        reason,
    };
    match text::parse_bytes(bytes) {
        Err(unknown) if unknown.kernel => Err(unrecognised(unknown.to_string())),
        Err(unknown) => Err(LoadError::Unrecognised {
            path: path.to_path_buf(),
            reason: unknown.to_string(),
            binary: unknown.binary,
        }),
        Ok(text::TextInput::Windbg(log)) => {
            let (log, block) = text::windbg::choose_session(log, options.pid, options.block)
                .map_err(|message| LoadError::Ambiguous {
                    path: path.to_path_buf(),
                    message,
                })?;
            Ok(log.into_snapshot(path, block))
        }
        Ok(text::TextInput::HandleExe(output)) => {
            if output.processes.is_empty() {
                if let Some(summary) = output.to_summary(path) {
                    return Ok(summary_snapshot(summary));
                }
                return Err(unrecognised(
                    "handle.exe output without any process listing or type summary".to_string(),
                ));
            }
            match output.process(options.pid) {
                Some(process) => {
                    let mut snapshot = process.to_snapshot(path);
                    snapshot.warnings.extend(output.warnings());
                    Ok(snapshot)
                }
                None => {
                    let listed: Vec<String> = output
                        .processes
                        .iter()
                        .map(|process| format!("{} pid {}", process.image_name, process.pid))
                        .collect();
                    Err(LoadError::Ambiguous {
                        path: path.to_path_buf(),
                        message: format!(
                            "{} (choose one with --pid): {}",
                            match options.pid {
                                Some(pid) => format!("no process with pid {pid} is listed"),
                                None => "the listing holds several processes".to_string(),
                            },
                            listed.join(", ")
                        ),
                    })
                }
            }
        }
    }
}

fn summary_snapshot(summary: text::SummarySnapshot) -> Snapshot {
    Snapshot {
        process: summary.process,
        type_counts: Some(summary.counts.counts),
        warnings: summary.warnings,
        ..Snapshot::empty(summary.source, InputFormat::HandleSummary)
    }
}

/// The content hash a snapshot loaded from the regular file at `path` carries
/// ([`Snapshot::content_hash`]), computed without loading it: a minidump's from its header and
/// streams, a text input's from its bytes. `None` when the file cannot be read as either (it
/// is then no duplicate of anything a batch would count).
pub fn file_content_hash(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let size = file.metadata().ok().filter(|meta| meta.is_file())?.len();
    let mut head = [0u8; 4];
    let minidump =
        file.read_exact(&mut head).is_ok() && head.starts_with(self::minidump::MINIDUMP_SIGNATURE);
    if minidump {
        return Some(Dump::open(path).ok()?.content_hash());
    }
    if size > MAX_TEXT_BYTES {
        return None;
    }
    use std::io::Seek;
    file.rewind().ok()?;
    let bytes = read_capped(&mut file, MAX_TEXT_BYTES, size).ok()??;
    Some(sha256_hex(&[&bytes]))
}

/// SHA-256 of the concatenated `parts`, in lower-case hex.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Loads several inputs in parallel; results keep the order of `paths`.
pub fn load_all(paths: &[&Path], options: &LoadOptions) -> Vec<Result<Snapshot, LoadError>> {
    use rayon::prelude::*;
    paths
        .par_iter()
        .map(|path| load_with(path, options))
        .collect()
}
