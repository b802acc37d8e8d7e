//! One dump in depth, handle by handle, as WinDbg's `!handle 0 f` and `!htrace <handle>`
//! show it: type, name, attributes, granted access in words, counts, object information, the
//! allocation stack with its blamed module, and on request every trace record of the handle.

use super::access::{access_rights, attribute_flags};
use super::attribution::Attribution;
use super::model::{hex, DumpSummary, SCHEMA_VERSION};
use super::stacks::Blame;
use crate::snapshot::{Handle, InputFormat, ObjectInfo, Operation, Snapshot, TraceRecord};
use crate::symbols::{ModuleSymbolStatus, SymbolTable};
use crate::warning::{Warning, WarningCode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which handles to list, and how much of each.
#[derive(Debug, Clone, Default)]
pub struct HandleFilter {
    /// Only these object types (any case); all when empty.
    pub types: Vec<String>,
    /// Only objects whose name contains this (any case).
    pub name: Option<String>,
    /// Only these handle values; all when empty.
    pub handles: Vec<u64>,
    /// Only handles whose allocation stack passes through this module.
    pub module: Option<String>,
    /// Every trace record of each handle, not only the newest OPEN.
    pub history: bool,
}

impl HandleFilter {
    /// Whether the filter narrows the list at all.
    pub fn is_narrowing(&self) -> bool {
        !self.types.is_empty()
            || self.name.is_some()
            || !self.handles.is_empty()
            || self.module.is_some()
    }
}

/// One decoded `MINIDUMP_HANDLE_OBJECT_INFORMATION` record.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectInfoRow {
    /// `InfoType`, in words (`mutant`, `thread`, …) and number.
    pub kind: String,
    /// What the record says, where its layout is known; else its bytes in hex.
    pub details: String,
}

/// One trace record of a handle, as `!htrace <handle>` lists it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// `open`, `close`, `bad-ref` or `unknown N`.
    pub operation: String,
    /// The thread, hex.
    pub thread_id: String,
    /// Its name, when the dump records thread names.
    pub thread_name: Option<String>,
    /// Frames innermost first, in WinDbg notation (shared by the records of one stack).
    pub stack: Arc<[String]>,
}

/// One handle. A dump can list millions: the row holds numbers and text shared with the
/// snapshot and with the other rows, and JSON writes the numbers in hex.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HandleRow {
    /// The value; JSON writes it in hex (`"0x1c0"`).
    #[serde(serialize_with = "hex_string")]
    pub handle: u64,
    /// Object type; `null` when the dump gives none.
    #[serde(rename = "type")]
    pub type_name: Option<Arc<str>>,
    /// Object name.
    pub name: Option<Arc<str>>,
    /// Object attributes (JSON: hex); `null` when the input does not give them.
    #[serde(serialize_with = "optional_hex_string")]
    pub attributes: Option<u32>,
    /// The attributes in words (`OBJ_INHERIT`, …).
    pub attribute_flags: Vec<&'static str>,
    /// Granted access mask (JSON: hex); `null` when the input does not give it.
    #[serde(serialize_with = "optional_hex_string")]
    pub granted_access: Option<u32>,
    /// The mask in words (shared by the rows of one type and mask).
    pub access_rights: Arc<[String]>,
    /// Handles open to the object; `null` when the input does not count them.
    pub handle_count: Option<u32>,
    /// References to the object; `null` when the input does not count them.
    pub pointer_count: Option<u32>,
    /// Object information records (descriptor v2 only).
    pub object_info: Vec<ObjectInfoRow>,
    /// Allocation stack: the newest OPEN record's frames; empty without one (shared by the
    /// rows of one stack).
    pub stack: Arc<[String]>,
    /// Module blamed for the allocation.
    pub blamed_module: Option<Arc<str>>,
    /// Its file version.
    pub blamed_version: Option<Arc<str>>,
    /// Every trace record of the handle, newest first (with `--history`).
    pub history: Vec<HistoryEntry>,
}

/// `value` as [`hex`] writes it.
fn hex_string<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex(*value))
}

/// `value` in hex (`0x1f0003`), or `null`.
fn optional_hex_string<S: serde::Serializer>(
    value: &Option<u32>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_str(&format!("{value:#x}")),
        None => serializer.serialize_none(),
    }
}

/// A stack as the rows of its handles share it: frames in WinDbg notation, the blamed module
/// and its version.
#[derive(Clone)]
struct SharedBlame {
    lines: Arc<[String]>,
    module: Option<Arc<str>>,
    version: Option<Arc<str>>,
}

/// Distinct (type, access mask) pairs whose rights in words are shared between rows; rows of
/// further pairs get their own.
const SHARED_RIGHTS: usize = 4096;

/// A type (by name) and an access mask.
type RightsKey = (Option<Arc<str>>, u32);

/// The `handles` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HandlesReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// The input.
    pub dump: DumpSummary,
    /// Handles in the input.
    pub total: usize,
    /// The filters applied, in words.
    pub filters: Vec<String>,
    /// The handles selected, by value.
    pub handles: Vec<HandleRow>,
    /// Where the frames' symbols came from.
    pub symbols: Vec<ModuleSymbolStatus>,
    /// What the input cannot support.
    pub warnings: Vec<Warning>,
}

/// The handles of `snapshot` the filter selects, by value. The module filter follows the
/// address ranges of the allocation stack (no symbols needed).
pub fn select<'a>(snapshot: &'a Snapshot, filter: &HandleFilter) -> Vec<&'a Handle> {
    let open_stacks = match (&snapshot.trace, &filter.module) {
        (Some(trace), Some(_)) => trace.open_stacks(),
        _ => Default::default(),
    };
    let through = |handle: &Handle, module: &str| {
        open_stacks.get(&handle.value).is_some_and(|stack| {
            stack.iter().any(|&address| {
                snapshot
                    .module_at(address)
                    .map(|loaded| loaded.name.as_str())
                    .or_else(|| {
                        snapshot
                            .unloaded_module_at(address)
                            .map(|gone| gone.name.as_str())
                    })
                    .is_some_and(|name| crate::snapshot::same_module(name, module))
            })
        })
    };
    let name = filter.name.as_ref().map(|name| name.to_lowercase());
    let mut selected: Vec<&Handle> = snapshot
        .handles
        .iter()
        .flatten()
        .filter(|handle| {
            filter.types.is_empty()
                || filter
                    .types
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(handle.type_label()))
        })
        .filter(|handle| {
            name.as_ref().is_none_or(|name| {
                handle
                    .object_name
                    .as_deref()
                    .is_some_and(|object| object.to_lowercase().contains(name.as_str()))
            })
        })
        .filter(|handle| filter.handles.is_empty() || filter.handles.contains(&handle.value))
        .filter(|handle| {
            filter
                .module
                .as_deref()
                .is_none_or(|module| through(handle, module))
        })
        .collect();
    selected.sort_by_key(|handle| handle.value);
    selected
}

/// Every return address the report of `selected` shows, for the symbolizer.
pub fn addresses(snapshot: &Snapshot, selected: &[&Handle], history: bool) -> Vec<u64> {
    let Some(trace) = &snapshot.trace else {
        return Vec::new();
    };
    let wanted: foldhash::HashSet<u64> = selected.iter().map(|handle| handle.value).collect();
    let mut addresses: Vec<u64> = if history {
        trace
            .records
            .iter()
            .filter(|record| wanted.contains(&record.handle))
            .flat_map(|record| record.stack.iter().copied())
            .collect()
    } else {
        let open = trace.open_stacks();
        wanted
            .iter()
            .filter_map(|value| open.get(value))
            .flat_map(|stack| stack.iter().copied())
            .collect()
    };
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

/// Builds the report of the `selected` handles with their resolved frames.
pub fn build_handles(
    snapshot: &Snapshot,
    selected: &[&Handle],
    filter: &HandleFilter,
    symbols: &SymbolTable,
    attribution: &Attribution,
) -> HandlesReport {
    let open = snapshot
        .trace
        .as_ref()
        .map(|trace| trace.open_stacks())
        .unwrap_or_default();
    let mut history: BTreeMap<u64, Vec<&TraceRecord>> = BTreeMap::new();
    if filter.history {
        for record in snapshot.trace.iter().flat_map(|trace| &trace.records) {
            history.entry(record.handle).or_default().push(record);
        }
    }
    let mut blames: BTreeMap<Arc<[u64]>, SharedBlame> = BTreeMap::new();
    let mut blame_of = |stack: &Arc<[u64]>| {
        blames
            .entry(Arc::clone(stack))
            .or_insert_with(|| {
                let blame = Blame::of(stack, symbols, attribution, snapshot);
                SharedBlame {
                    lines: blame.lines.into(),
                    module: blame.module.map(Arc::from),
                    version: blame.version.map(Arc::from),
                }
            })
            .clone()
    };
    let mut rights: foldhash::HashMap<RightsKey, Arc<[String]>> = Default::default();
    let mut rights_of = |handle: &Handle| {
        let key = (handle.type_name.clone(), handle.granted_access);
        if let Some(shared) = rights.get(&key) {
            return Arc::clone(shared);
        }
        let words: Arc<[String]> = access_rights(handle.type_label(), handle.granted_access).into();
        if rights.len() < SHARED_RIGHTS {
            rights.insert(key, Arc::clone(&words));
        }
        words
    };
    let from_dump = snapshot.input == InputFormat::Minidump;
    let handles = selected
        .iter()
        .map(|handle| {
            let mut row = handle_row(handle, from_dump, rights_of(handle));
            if let Some(stack) = open.get(&handle.value) {
                let blame = blame_of(stack);
                row.stack = blame.lines;
                row.blamed_module = blame.module;
                row.blamed_version = blame.version;
            }
            row.history = history
                .get(&handle.value)
                .into_iter()
                .flatten()
                .map(|record| HistoryEntry {
                    operation: operation_label(record.operation),
                    thread_id: hex(u64::from(record.thread_id)),
                    thread_name: snapshot.thread_name(record.thread_id).map(str::to_owned),
                    stack: blame_of(&record.stack).lines,
                })
                .collect();
            row
        })
        .collect();
    HandlesReport {
        schema_version: SCHEMA_VERSION,
        dump: DumpSummary::of(snapshot),
        total: snapshot.handles.as_ref().map_or(0, Vec::len),
        filters: filter_words(filter),
        handles,
        symbols: symbols.module_status().cloned().collect(),
        warnings: warnings(snapshot, filter),
    }
}

/// The row of `handle`, its access mask in words `rights`.
fn handle_row(handle: &Handle, from_dump: bool, rights: Arc<[String]>) -> HandleRow {
    // Text inputs do not give attributes, access or counts unless they printed them.
    let known = |value: u32| (from_dump || value != 0).then_some(value);
    HandleRow {
        handle: handle.value,
        type_name: handle.type_name.clone(),
        name: handle.object_name.clone(),
        attributes: known(handle.attributes),
        attribute_flags: attribute_flags(handle.attributes),
        granted_access: known(handle.granted_access),
        access_rights: rights,
        handle_count: known(handle.handle_count),
        pointer_count: known(handle.pointer_count),
        object_info: handle.object_info.iter().map(object_info_row).collect(),
        stack: Arc::from([]),
        blamed_module: None,
        blamed_version: None,
        history: Vec::new(),
    }
}

fn operation_label(operation: Operation) -> String {
    match operation {
        Operation::Open => "open".to_string(),
        Operation::Close => "close".to_string(),
        Operation::BadRef => "bad-ref".to_string(),
        Operation::Unknown(raw) => format!("unknown {raw}"),
    }
}

/// Decodes the record layouts that are known: `MiniMutantInformation1` is the kernel's
/// `MUTANT_BASIC_INFORMATION` (count, owned by caller, abandoned), `MiniMutantInformation2`
/// its owner `CLIENT_ID` (process and thread id, pointer-sized); the others show their bytes.
fn object_info_row(info: &ObjectInfo) -> ObjectInfoRow {
    let data = &info.data;
    let u32_at = |at: usize| {
        data.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |at: usize| {
        data.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
    };
    let kind = match info.info_type {
        1 => "thread",
        2 | 3 => "mutant",
        4 | 5 => "process",
        6 => "event",
        7 => "section",
        8 => "semaphore",
        _ => "unknown",
    };
    let yes_no = |byte: Option<&u8>| {
        if byte.is_some_and(|b| *b != 0) {
            "yes"
        } else {
            "no"
        }
    };
    let details = match (info.info_type, info.size) {
        (2, 6..) if data.len() >= 6 => format!(
            "current count {}, owned by caller: {}, abandoned: {}",
            u32_at(0).unwrap_or(0) as i32,
            yes_no(data.get(4)),
            yes_no(data.get(5))
        ),
        (3, 8) if data.len() >= 8 => format!(
            "owner process {:#x}, owner thread {:#x}",
            u32_at(0).unwrap_or(0),
            u32_at(4).unwrap_or(0)
        ),
        (3, 16) if data.len() >= 16 => format!(
            "owner process {:#x}, owner thread {:#x}",
            u64_at(0).unwrap_or(0),
            u64_at(8).unwrap_or(0)
        ),
        _ => format!(
            "{} bytes {}",
            info.size,
            data.chunks(4)
                .map(|chunk| chunk
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    ObjectInfoRow {
        kind: format!("{kind} ({})", info.info_type),
        details,
    }
}

fn filter_words(filter: &HandleFilter) -> Vec<String> {
    let mut words = Vec::new();
    if !filter.types.is_empty() {
        words.push(format!("type {}", filter.types.join(" or ")));
    }
    if let Some(name) = &filter.name {
        words.push(format!("name containing {name:?}"));
    }
    if !filter.handles.is_empty() {
        let values: Vec<String> = filter.handles.iter().map(|value| hex(*value)).collect();
        words.push(format!("handle {}", values.join(" or ")));
    }
    if let Some(module) = &filter.module {
        words.push(format!("allocated through {module}"));
    }
    words
}

fn warnings(snapshot: &Snapshot, filter: &HandleFilter) -> Vec<Warning> {
    let mut warnings = snapshot.warnings.clone();
    if !snapshot.has_handle_data() {
        warnings.insert(
            0,
            Warning::new(
                WarningCode::NoHandleData,
                format!(
                    "{} has no handle list: there are no handles to show",
                    snapshot.file_name()
                ),
            ),
        );
    } else if snapshot.handles.is_none() {
        warnings.insert(
            0,
            Warning::new(
                WarningCode::SummaryOnly,
                "the input is a per-type summary: it names no handles",
            ),
        );
    }
    if snapshot.trace.is_none() && snapshot.handles.as_ref().is_some_and(|h| !h.is_empty()) {
        let consequence = if filter.module.is_some() || filter.history {
            "allocation stacks and histories are unknown, so --module and --history find nothing"
        } else {
            "allocation stacks and blamed modules are unknown"
        };
        warnings.push(Warning::new(
            WarningCode::NoTrace,
            format!(
                "no handle-trace records: {consequence}; {}",
                crate::snapshot::trace_hint(snapshot.input)
            ),
        ));
    }
    warnings.sort_by_key(|warning| !warning.shown_first());
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(info_type: u32, size: u32, data: Vec<u8>) -> ObjectInfo {
        ObjectInfo {
            info_type,
            size,
            data,
        }
    }

    #[test]
    fn mutant_records_are_decoded_and_others_shown_as_bytes() {
        let free = info(2, 8, [1, 0, 0, 0, 0, 0, 0, 0].to_vec());
        assert_eq!(
            object_info_row(&free).details,
            "current count 1, owned by caller: no, abandoned: no"
        );
        let owned = info(2, 8, [0, 0, 0, 0, 1, 0, 0, 0].to_vec());
        assert!(object_info_row(&owned)
            .details
            .contains("owned by caller: yes"));
        let owner64 = info(
            3,
            16,
            [0x2au64.to_le_bytes(), 0x2cu64.to_le_bytes()].concat(),
        );
        assert_eq!(
            object_info_row(&owner64).details,
            "owner process 0x2a, owner thread 0x2c"
        );
        let owner = info(3, 8, [0x10, 0x0f, 0, 0, 0x14, 0x0a, 0, 0].to_vec());
        let row = object_info_row(&owner);
        assert_eq!(row.kind, "mutant (3)");
        assert_eq!(row.details, "owner process 0xf10, owner thread 0xa14");
        let thread = info(1, 6, [1, 2, 3, 4, 5, 6].to_vec());
        assert_eq!(object_info_row(&thread).details, "6 bytes 01020304 0506");
    }
}
