//! The snapshot model: what one dump (or log) says about a process at one moment.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use symbolic_common::{CodeId, DebugId};

/// The kind of input a snapshot was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// A Windows minidump.
    Minidump,
    /// A WinDbg / cdb session log.
    WindbgLog,
    /// Sysinternals `handle.exe -a -p` output.
    HandleExe,
    /// Sysinternals `handle.exe -s` type summary.
    HandleSummary,
}

/// One process state at one moment, as read from a dump.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The file the snapshot was read from.
    pub source: PathBuf,
    /// What kind of input it was.
    pub input: InputFormat,
    /// The process the dump was taken of.
    pub process: ProcessInfo,
    /// Capture time from the minidump header, seconds since 1970 (UTC).
    pub captured_at: Option<u64>,
    /// The `MINIDUMP_TYPE` flags the dump was written with.
    pub dump_flags: u64,
    /// Loaded modules, sorted by base address.
    pub modules: Vec<Module>,
    /// Modules unloaded before the capture (UnloadedModuleListStream), by base address: a
    /// frame in one of their ranges belongs to code that is gone.
    pub unloaded_modules: Vec<UnloadedModule>,
    /// Thread names by thread id (ThreadNamesStream, Windows 10 1607 and later).
    pub thread_names: BTreeMap<u32, String>,
    /// The handle table at capture time; `None` when the dump has no HandleDataStream (or
    /// the table is kept in compact form: `diff` only).
    pub handles: Option<Vec<Handle>>,
    /// The handle table in compact form, instead of `handles`, when the snapshot was loaded
    /// for a comparison ([`load_compact`](super::load_compact)).
    #[serde(skip)]
    pub(crate) compact_handles: Option<super::compact::CompactHandles>,
    /// Handle-trace records; `None` when the dump has no HandleOperationListStream.
    pub trace: Option<HandleTrace>,
    /// Handle counts per type from a summary (`!handle 0 0`, `handle -s`); when present they
    /// are the counts reported, the handle list (if any) may be partial.
    pub type_counts: Option<BTreeMap<String, u64>>,
    /// The handle count the input states when its per-type counts cannot be used: a debugger
    /// log's `!handle 0 0` total, where the handles its trace shows open are of types that
    /// summary does not list. [`Snapshot::handle_count`] prefers it to counting the handles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stated_total: Option<u64>,
    /// Frames as a debugger log printed them (normalised), by return address.
    pub frame_text: BTreeMap<u64, String>,
    /// Process memory captured in the dump, read lazily (full and heap dumps hold the images).
    #[serde(skip)]
    pub memory: Option<super::memory::DumpMemory>,
    /// The dump's bytes, kept for the stack walker (crash stacks).
    #[serde(skip)]
    pub file: Option<std::sync::Arc<super::memory::DumpBytes>>,
    /// Things the loader noticed that limit what the snapshot can support.
    pub warnings: Vec<crate::warning::Warning>,
    /// SHA-256 (hex) of a text input, set by the loader; minidumps compute theirs on demand
    /// ([`Snapshot::content_hash`]).
    pub content_hash: Option<String>,
}

/// Facts about the process.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// Process id, from MiscInfoStream when present.
    pub pid: Option<u32>,
    /// Image file name of the main module (`OrderMailer.exe`).
    pub image_name: Option<String>,
    /// Full path of the main module.
    pub image_path: Option<String>,
    /// CPU architecture (`x86`, `amd64`, `arm64`, …).
    pub arch: Option<String>,
    /// Operating system and version, e.g. `Windows 5.1.2600 Service Pack 2`.
    pub os_version: Option<String>,
    /// Process creation time from MiscInfoStream, seconds since 1970 (UTC).
    pub started_at: Option<u64>,
}

/// A module loaded in the process.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Module {
    /// File name as loaded (`MSMAPI32.DLL`).
    pub name: String,
    /// Full path as recorded in the dump.
    pub path: String,
    /// Load address.
    pub base: u64,
    /// Size of the mapped image.
    pub size: u32,
    /// File version from `VS_FIXEDFILEINFO` (`11.0.5601.0`).
    pub file_version: Option<String>,
    /// Product version from `VS_FIXEDFILEINFO`.
    pub product_version: Option<String>,
    /// PE header `TimeDateStamp`.
    pub timestamp: u32,
    /// PE header `CheckSum`.
    pub checksum: u32,
    /// The PDB named by the module's CodeView record.
    pub debug_file: Option<DebugFile>,
}

impl Module {
    /// The module's name as WinDbg prints it in frames: the file name without its image
    /// extension ([`module_stem`](super::module_stem)).
    pub fn frame_name(&self) -> &str {
        super::module_stem(&self.name)
    }

    /// The image's identity as symbol stores key it: TimeDateStamp and SizeOfImage.
    pub fn code_id(&self) -> CodeId {
        CodeId::new(format!("{:08X}{:x}", self.timestamp, self.size))
    }

    /// Whether `address` lies inside this module's image.
    pub fn contains(&self, address: u64) -> bool {
        address >= self.base && address - self.base < u64::from(self.size)
    }

    /// Whether `name` names this module: the file name, with or without extension, any case
    /// ([`same_module`](super::same_module)).
    pub fn is_named(&self, name: &str) -> bool {
        super::same_module(&self.name, name)
    }
}

/// A module unloaded before the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnloadedModule {
    /// File name (`shcore.dll`).
    pub name: String,
    /// Path as recorded.
    pub path: String,
    /// Where it was loaded.
    pub base: u64,
    /// Size of its image.
    pub size: u32,
    /// PE header `TimeDateStamp`.
    pub timestamp: u32,
}

impl UnloadedModule {
    /// Whether `address` lies in the range the module occupied.
    pub fn contains(&self, address: u64) -> bool {
        address >= self.base && address - self.base < u64::from(self.size)
    }

    /// The name WinDbg gives frames in it: `<Unloaded_shcore.dll>`.
    pub fn frame_name(&self) -> String {
        format!("<Unloaded_{}>", self.name)
    }
}

/// The debug file (PDB) a module was built with, as its CodeView record names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebugFile {
    /// GUID and age of a PDB 7.0 (`RSDS`), or signature and age of a PDB 2.0 (`NB10`).
    pub id: DebugId,
    /// The PDB path recorded at link time.
    pub path: String,
}

impl DebugFile {
    /// The PDB's file name (the last component of its recorded path).
    pub fn name(&self) -> &str {
        super::minidump::file_name_of(&self.path)
    }
}

/// One entry of the handle table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Handle {
    /// The handle value.
    pub value: u64,
    /// Object type name (`Mutant`, `Section`, …); `None` when the dump gives none. Shared
    /// between the handles of one snapshot that name the same type.
    pub type_name: Option<Arc<str>>,
    /// Object name; `None` for unnamed objects.
    pub object_name: Option<Arc<str>>,
    /// Handle attributes.
    pub attributes: u32,
    /// Granted access mask.
    pub granted_access: u32,
    /// Number of handles to the object.
    pub handle_count: u32,
    /// Number of references to the object.
    pub pointer_count: u32,
    /// Object-specific information records (descriptor v2 only).
    pub object_info: Vec<ObjectInfo>,
    /// The type was inferred from the API that created the handle (logs without types).
    #[serde(default)]
    pub type_inferred: bool,
}

impl Handle {
    /// A handle with only its value known; loaders fill in what their input shows.
    pub fn new(value: u64) -> Handle {
        Handle {
            value,
            type_name: None,
            object_name: None,
            attributes: 0,
            granted_access: 0,
            handle_count: 0,
            pointer_count: 0,
            object_info: Vec::new(),
            type_inferred: false,
        }
    }

    /// Type name for display: `(none)` when the dump gives none.
    pub fn type_label(&self) -> &str {
        self.type_name.as_deref().unwrap_or(NO_TYPE)
    }

    /// What makes this handle the same handle in another dump of the process.
    pub fn identity(&self) -> HandleIdentity<'_> {
        HandleIdentity {
            value: self.value,
            type_name: self.type_name.as_deref(),
            object_name: self.object_name.as_deref(),
        }
    }
}

/// The identity of a handle across dumps of one process: value, type and object name. A
/// value closed and reused for another object is another handle; the same value, type and
/// name in two dumps is taken to be one handle that stayed open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandleIdentity<'a> {
    /// The handle value.
    pub value: u64,
    /// Object type name.
    pub type_name: Option<&'a str>,
    /// Object name.
    pub object_name: Option<&'a str>,
}

/// Label used where a handle has no type name.
pub const NO_TYPE: &str = "(none)";

/// A `MINIDUMP_HANDLE_OBJECT_INFORMATION` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    /// `InfoType`: 1 thread, 2/3 mutant, 4/5 process, 6 event, 7 section, 8 semaphore.
    pub info_type: u32,
    /// `SizeOfInfo` in bytes.
    pub size: u32,
    /// The record's bytes (at most the first 64).
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// Handle-trace records from HandleOperationListStream, normalised newest first.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HandleTrace {
    /// Records, newest first; empty when the load skipped them
    /// ([`LoadOptions::skip_trace_records`](super::LoadOptions::skip_trace_records)) or left
    /// them in the dump ([`LoadOptions::lazy_trace_stacks`](super::LoadOptions::lazy_trace_stacks)).
    pub records: Vec<TraceRecord>,
    /// Records the stream holds (`records.len()` unless the load skipped them or left them in
    /// the dump).
    pub record_count: usize,
    /// Which end of the stream held the newest record, and how that was decided.
    pub order: TraceOrder,
    /// The records are a debugger's `!htrace -diff`: handles opened since the previous
    /// `!htrace -snapshot` and still open.
    pub diff_block: bool,
    /// The records were left in the dump (`records` is empty): the snapshot reads the ones
    /// asked for there ([`Snapshot::newest_trace_records`]).
    #[serde(skip)]
    pub(crate) in_dump: bool,
}

impl HandleTrace {
    /// The newest record of every handle the trace mentions.
    pub fn newest_per_handle(&self) -> foldhash::HashMap<u64, &TraceRecord> {
        let mut newest = foldhash::HashMap::default();
        for record in &self.records {
            newest.entry(record.handle).or_insert(record);
        }
        newest
    }

    /// The newest record of each of `values` that has one; stops reading as soon as every
    /// value is found.
    pub fn newest_of(
        &self,
        values: impl IntoIterator<Item = u64>,
    ) -> foldhash::HashMap<u64, &TraceRecord> {
        self.newest_index_of(values)
            .into_iter()
            .map(|(value, index)| (value, &self.records[index]))
            .collect()
    }

    /// [`HandleTrace::newest_of`] as indices into [`HandleTrace::records`].
    pub fn newest_index_of(
        &self,
        values: impl IntoIterator<Item = u64>,
    ) -> foldhash::HashMap<u64, usize> {
        let mut wanted: foldhash::HashSet<u64> = values.into_iter().collect();
        let mut newest = foldhash::HashMap::default();
        for (index, record) in self.records.iter().enumerate() {
            if wanted.is_empty() {
                break;
            }
            if wanted.remove(&record.handle) {
                newest.insert(record.handle, index);
            }
        }
        newest
    }

    /// The allocation stack of every handle whose newest record is an OPEN.
    pub fn open_stacks(&self) -> foldhash::HashMap<u64, &Arc<[u64]>> {
        self.newest_per_handle()
            .into_iter()
            .filter(|(_, record)| record.operation == Operation::Open)
            .map(|(handle, record)| (handle, &record.stack))
            .collect()
    }
}

/// How the order of trace records in the stream was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceOrder {
    /// The stream lists newest first (as WinDbg's `!htrace` prints), shown by the records.
    NewestFirst,
    /// The stream lists oldest first, shown by the records.
    OldestFirst,
    /// The records do not tell; newest first was assumed.
    AssumedNewestFirst,
}

/// One handle operation with its stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TraceRecord {
    /// The handle value.
    pub handle: u64,
    /// Process id recorded with the operation.
    pub process_id: u32,
    /// Thread that performed the operation.
    pub thread_id: u32,
    /// What was done.
    pub operation: Operation,
    /// Return addresses, innermost first; records with the same stack share it.
    pub stack: Arc<[u64]>,
}

/// `OperationType` of a trace record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// The handle was created or opened.
    Open,
    /// The handle was closed.
    Close,
    /// An invalid handle was used.
    BadRef,
    /// A value this version does not know.
    Unknown(u32),
}

impl Operation {
    /// Decodes `OperationType`.
    pub fn from_raw(raw: u32) -> Operation {
        match raw {
            1 => Operation::Open,
            2 => Operation::Close,
            3 => Operation::BadRef,
            other => Operation::Unknown(other),
        }
    }
}

impl Snapshot {
    /// A snapshot of `source` with nothing read yet: no process facts, modules, handle data
    /// (`handles` is `None`), trace or warnings. Loaders fill in what their input holds.
    pub fn empty(source: impl Into<PathBuf>, input: InputFormat) -> Snapshot {
        Snapshot {
            source: source.into(),
            input,
            process: ProcessInfo::default(),
            captured_at: None,
            dump_flags: 0,
            modules: Vec::new(),
            unloaded_modules: Vec::new(),
            thread_names: Default::default(),
            handles: None,
            compact_handles: None,
            trace: None,
            type_counts: None,
            stated_total: None,
            frame_text: Default::default(),
            memory: None,
            file: None,
            warnings: Vec::new(),
            content_hash: None,
        }
    }

    /// The module whose image holds `address`.
    pub fn module_at(&self, address: u64) -> Option<&Module> {
        let index = self
            .modules
            .partition_point(|module| module.base <= address)
            .checked_sub(1)?;
        let module = &self.modules[index];
        module.contains(address).then_some(module)
    }

    /// The unloaded module whose former range holds `address`, when no loaded module does
    /// (the most recently unloaded when ranges were reused).
    pub fn unloaded_module_at(&self, address: u64) -> Option<&UnloadedModule> {
        if self.module_at(address).is_some() {
            return None;
        }
        self.unloaded_modules
            .iter()
            .rev()
            .find(|module| module.contains(address))
    }

    /// The name of thread `thread_id`, when the dump records one.
    pub fn thread_name(&self, thread_id: u32) -> Option<&str> {
        self.thread_names.get(&thread_id).map(String::as_str)
    }

    /// The module called `name` (file name with or without extension, any case).
    pub fn module_named(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|module| module.is_named(name))
    }

    /// Number of handles: the summary's count when there is one, else the stated total, else
    /// the table's length.
    pub fn handle_count(&self) -> usize {
        match (&self.type_counts, self.stated_total) {
            (Some(counts), _) => counts.values().sum::<u64>() as usize,
            (None, Some(total)) => total as usize,
            (None, None) => match &self.compact_handles {
                Some(table) => table.handles.len(),
                None => self.handles.as_ref().map_or(0, Vec::len),
            },
        }
    }

    /// Turns a handle table kept in compact form into the full [`Snapshot::handles`].
    pub(crate) fn expand_handles(&mut self) {
        if let Some(table) = self.compact_handles.take() {
            self.handles = Some(table.to_handles());
        }
    }

    /// Handles per type: the summary when there is one, else counted from the table.
    pub fn counts_by_type(&self) -> BTreeMap<String, usize> {
        if let Some(counts) = &self.type_counts {
            return counts
                .iter()
                .map(|(type_name, count)| (type_name.clone(), *count as usize))
                .collect();
        }
        if let Some(table) = &self.compact_handles {
            return table.counts_by_type();
        }
        // Counted by the shared string first (a loader shares one per type name, so this
        // hashes an address, not the name), then merged by name.
        let mut by_string: foldhash::HashMap<*const u8, (&str, usize)> =
            foldhash::HashMap::default();
        for handle in self.handles.iter().flatten() {
            let key = handle
                .type_name
                .as_deref()
                .map_or(std::ptr::null(), str::as_ptr);
            by_string.entry(key).or_insert((handle.type_label(), 0)).1 += 1;
        }
        let mut counts = BTreeMap::new();
        for (type_name, count) in by_string.into_values() {
            *counts.entry(type_name.to_string()).or_default() += count;
        }
        counts
    }

    /// Whether there is anything to count: a handle table or a type summary.
    pub fn has_handle_data(&self) -> bool {
        self.handles.is_some() || self.compact_handles.is_some() || self.type_counts.is_some()
    }

    /// SHA-256 (hex) identifying the capture: of a text input whole; of a minidump whole when
    /// small, else of its length, header and directory and the streams dumpleak reads. Two
    /// inputs with the same hash are the same capture under two names. Computed on demand
    /// (it reads the handle streams of a large dump once more).
    pub fn content_hash(&self) -> Option<String> {
        if let Some(hash) = &self.content_hash {
            return Some(hash.clone());
        }
        let bytes = self.file.as_ref()?;
        let dump = super::Dump::from_shared(&self.source, Arc::clone(bytes)).ok()?;
        Some(dump.content_hash())
    }

    /// A short name for the file, for messages and table headings.
    pub fn file_name(&self) -> String {
        self.source
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.source.display().to_string())
    }
}
