//! Reads a [`Snapshot`] from a Windows minidump: memory-mapped, and only the streams the
//! analysis needs are touched (header, directory, system/misc info, modules, handles, trace).

use super::dump::Dump;
use super::handle_trace::OpenValues;
use super::model::{HandleTrace, Operation, Snapshot, TraceOrder};
use super::{handle_trace, LoadError, LoadOptions};
use crate::time::iso8601;
use crate::warning::{Warning, WarningCode};
use std::path::Path;
use std::sync::Arc;

pub use super::dump::{file_name_of, MINIDUMP_SIGNATURE};

use minidump::format::MINIDUMP_STREAM_TYPE as StreamType;

/// `MINIDUMP_STREAM_TYPE::MemoryListStream`.
pub const MEMORY_LIST_STREAM: u32 = StreamType::MemoryListStream as u32;
/// `MINIDUMP_STREAM_TYPE::Memory64ListStream`.
pub const MEMORY64_LIST_STREAM: u32 = StreamType::Memory64ListStream as u32;
/// `MINIDUMP_STREAM_TYPE::HandleDataStream`.
pub const HANDLE_DATA_STREAM: u32 = StreamType::HandleDataStream as u32;
/// `MINIDUMP_STREAM_TYPE::HandleOperationListStream`.
pub const HANDLE_OPERATION_LIST_STREAM: u32 = StreamType::HandleOperationListStream as u32;

/// How to capture a dump that carries what dumpleak needs; quoted in errors and warnings.
pub const CAPTURE_HINT: &str = "capture with handle data: `procdump -ma <pid>` (or `procdump -mp`), Task Manager's \"Create dump file\", or MiniDumpWriteDump with MiniDumpWithHandleData";
/// How to get allocation stacks into a dump.
pub const TRACE_HINT: &str = "enable handle tracing before the leaking cycles (WinDbg `!htrace -enable`, or Application Verifier's Handles check) and capture with handle data (`procdump -ma <pid>`)";

/// Handle streams from this size on are parsed on several threads.
const PARALLEL_STREAM_BYTES: usize = 1 << 20;

/// Reads one minidump as a snapshot.
pub fn load_minidump(path: &Path) -> Result<Snapshot, LoadError> {
    snapshot_of(&Dump::open(path)?, &LoadOptions::default())
}

/// [`load_minidump`] from a file already open, with `options`.
pub(crate) fn load_minidump_file(
    path: &Path,
    file: std::fs::File,
    options: &LoadOptions,
    compact: bool,
) -> Result<Snapshot, LoadError> {
    snapshot_with(&Dump::from_file(path, file)?, options, compact)
}

/// Reads a snapshot from the bytes of a minidump (copied); `path` is used in messages only.
pub fn load_minidump_bytes(path: &Path, bytes: &[u8]) -> Result<Snapshot, LoadError> {
    snapshot_of(
        &Dump::from_bytes(path, bytes.to_vec())?,
        &LoadOptions::default(),
    )
}

/// The snapshot of an opened dump: process, modules, handle table, trace records (newest
/// first) and captured memory.
pub fn snapshot_of(dump: &Dump, options: &LoadOptions) -> Result<Snapshot, LoadError> {
    snapshot_with(dump, options, false)
}

/// [`snapshot_of`]; with `compact`, the handle table is kept in compact form
/// ([`load_compact`](super::load_compact)).
pub(crate) fn snapshot_with(
    dump: &Dump,
    options: &LoadOptions,
    compact: bool,
) -> Result<Snapshot, LoadError> {
    let mut warnings = Vec::new();
    let (modules, process) = dump.modules_and_process(&mut warnings);
    // The two handle streams are independent: a large dump reads them (each read ahead by
    // its reader) on two threads. A small one does not wake the thread pool (starting it
    // costs more than the parse).
    let streamed = dump.handle_streams_size(!options.skip_trace_records)?;
    let read_handles = || {
        if compact {
            let table = dump.compact_handle_data()?;
            return Ok(table.map(|(table, warnings)| (Table::Compact(table), warnings)));
        }
        let parsed = dump.handle_data(!options.skip_object_info)?;
        Ok::<_, LoadError>(parsed.map(|parsed| (Table::Full(parsed.handles), parsed.warnings)))
    };
    let read_trace = || dump.handle_trace(options.skip_trace_records, options.lazy_trace_stacks);
    let (table, trace) = if streamed >= PARALLEL_STREAM_BYTES {
        rayon::join(read_handles, read_trace)
    } else {
        (read_handles(), read_trace())
    };
    let (mut handles, mut compact_handles) = (None, None);
    match table? {
        Some((Table::Full(table), parsed_warnings)) => {
            handles = Some(table);
            warnings.extend(parsed_warnings);
        }
        Some((Table::Compact(table), parsed_warnings)) => {
            compact_handles = Some(table);
            warnings.extend(parsed_warnings);
        }
        None => {}
    }
    let open = match (&handles, &compact_handles) {
        (_, Some(table)) => OpenValues::Compact(&table.handles),
        (handles, None) => OpenValues::Handles(handles.as_deref().unwrap_or_default()),
    };
    let trace = match trace? {
        Some(parsed) => Some(trace_in_order(dump, parsed, &open, &mut warnings)?),
        None => None,
    };
    let memory = dump.memory(&mut warnings);
    let captured_at = credible_capture_time(dump.captured_at(), process.started_at, &mut warnings);
    Ok(Snapshot {
        source: dump.path().to_path_buf(),
        input: super::InputFormat::Minidump,
        type_counts: None,
        stated_total: None,
        frame_text: Default::default(),
        process,
        captured_at,
        dump_flags: dump.flags(),
        modules,
        unloaded_modules: dump.unloaded_modules(),
        thread_names: dump.thread_names(),
        handles,
        compact_handles,
        trace,
        memory,
        file: Some(Arc::clone(dump.bytes())),
        warnings,
        content_hash: None,
    })
}

/// The trace of `parsed` with its order decided against the `open` handles (its records,
/// if decoded, newest first); its warnings go to `warnings`.
fn trace_in_order(
    dump: &Dump,
    mut parsed: handle_trace::RawTrace,
    open: &OpenValues,
    warnings: &mut Vec<Warning>,
) -> Result<HandleTrace, LoadError> {
    warnings.append(&mut parsed.warnings);
    let in_dump = parsed.order_evidence.is_some();
    let order = match parsed.order_evidence.take() {
        Some(evidence) => match evidence.order(open) {
            Some(order) => order,
            None => dump.trace_order(open)?,
        },
        None => handle_trace::detect_order(&parsed.records, open),
    };
    if order == TraceOrder::OldestFirst {
        parsed.records.reverse();
    }
    Ok(HandleTrace {
        records: parsed.records,
        record_count: parsed.count,
        order,
        diff_block: false,
        in_dump,
    })
}

/// A handle table as read: full handles, or compact for a diff.
enum Table {
    Full(Vec<super::model::Handle>),
    Compact(super::compact::CompactHandles),
}

/// The header's capture time, unless it cannot be real: 0 (1970, a field never set) or
/// earlier than the process start time (MiscInfoStream). Such a time counts as missing — the
/// order of the dumps cannot be checked by it, and no rate per hour comes from it — with a
/// warning that says so.
fn credible_capture_time(
    captured: u64,
    started: Option<u64>,
    warnings: &mut Vec<Warning>,
) -> Option<u64> {
    let why = match started {
        _ if captured == 0 => "is 0 (1970-01-01)".to_string(),
        Some(started) if captured < started => format!(
            "({}) is earlier than the process start time ({})",
            iso8601(captured),
            iso8601(started)
        ),
        _ => return Some(captured),
    };
    warnings.push(Warning::new(
        WarningCode::CaptureTimeNotCredible,
        format!(
            "the capture time in the dump header {why}: not credible, so it is treated as missing"
        ),
    ));
    None
}

impl Snapshot {
    /// The newest trace record of each of `values` that has one: its operation and, for an
    /// OPEN, its stack (the stacks of other records may be left empty). Read in the dump when
    /// the load left the records there ([`LoadOptions::lazy_trace_stacks`]); empty without a
    /// trace, or when the dump can no longer be read as it was.
    pub fn newest_trace_records(
        &self,
        values: impl IntoIterator<Item = u64>,
    ) -> foldhash::HashMap<u64, (Operation, Arc<[u64]>)> {
        let Some(trace) = &self.trace else {
            return Default::default();
        };
        if !trace.in_dump {
            return trace
                .newest_of(values)
                .into_iter()
                .map(|(value, record)| (value, (record.operation, Arc::clone(&record.stack))))
                .collect();
        }
        let read = || {
            let dump = Dump::from_shared(&self.source, Arc::clone(self.file.as_ref()?)).ok()?;
            let newest = dump.newest_trace_records(trace.order, values).ok()?;
            let opened: Vec<usize> = newest
                .values()
                .filter(|(_, operation)| *operation == Operation::Open)
                .map(|(index, _)| *index)
                .collect();
            let stacks: foldhash::HashMap<usize, Arc<[u64]>> = opened
                .iter()
                .copied()
                .zip(dump.trace_stacks(opened.iter().copied()).ok()?)
                .collect();
            Some(
                newest
                    .into_iter()
                    .map(|(value, (index, operation))| {
                        let stack = stacks.get(&index).cloned().unwrap_or_else(|| Arc::from([]));
                        (value, (operation, stack))
                    })
                    .collect(),
            )
        };
        read().unwrap_or_default()
    }
}
