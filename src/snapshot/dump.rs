//! A minidump opened once and read lazily, in rust-minidump's style: [`Dump::open`] checks the
//! header and the stream directory; each typed accessor reads its stream only when asked,
//! with every length and RVA checked against the file. [`Snapshot`](super::Snapshot)s of
//! minidumps are built on it.

use super::bytes::ParseError;
use super::handle_data::{self, HandleData};
use super::handle_trace::OpenValues;
use super::handle_trace::{self, RawTrace};
use super::memory::{DumpBytes, DumpMemory};
use super::model::{Module, Operation, ProcessInfo, TraceOrder, UnloadedModule};
use super::module_list::{self, ModuleList};
use super::LoadError;
use crate::warning::{Warning, WarningCode};
use minidump::format::MINIDUMP_STREAM_TYPE as StreamType;
use minidump::{
    Minidump, MinidumpMiscInfo, MinidumpSystemInfo, MinidumpThreadList, MinidumpThreadNames,
    MinidumpUnloadedModuleList,
};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The minidump signature `MDMP`, as the first four bytes of the file.
pub const MINIDUMP_SIGNATURE: &[u8; 4] = b"MDMP";

/// Files up to this size are read into memory instead of mapped: for small dumps a read is
/// cheaper than a mapping, whose unmapping interrupts every other core (TLB shootdown) when a
/// batch loads dumps on several threads.
pub(crate) const READ_WHOLE_BELOW: u64 = 256 * 1024;

/// The bytes of a dump shared between the [`Dump`], its snapshot and the stack walker.
#[derive(Debug, Clone)]
struct SharedBytes(Arc<DumpBytes>);

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// A minidump, opened: header and stream directory checked, streams read on demand.
pub struct Dump {
    path: PathBuf,
    bytes: Arc<DumpBytes>,
    minidump: Minidump<'static, SharedBytes>,
}

impl std::fmt::Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump").field("path", &self.path).finish()
    }
}

impl Dump {
    /// Opens the minidump at `path`. Larger files are memory-mapped read-only, so only the
    /// header, the directory and the streams asked for are touched; the file is never
    /// modified.
    pub fn open(path: &Path) -> Result<Dump, LoadError> {
        let file = File::open(path).map_err(LoadError::io(path))?;
        Dump::from_file(path, file)
    }

    /// [`Dump::open`] for a file already open (read from its start). A pipe or a device is
    /// read from where it is, at most [`MAX_TEXT_BYTES`](super::MAX_TEXT_BYTES), never mapped.
    pub fn from_file(path: &Path, mut file: File) -> Result<Dump, LoadError> {
        use std::io::Seek;
        let io_error = LoadError::io(path);
        let metadata = file.metadata().map_err(io_error)?;
        let size = metadata.len();
        if !metadata.is_file() || size <= READ_WHOLE_BELOW {
            if metadata.is_file() {
                file.rewind().map_err(io_error)?;
            }
            let bytes = super::read_capped(&mut file, super::MAX_TEXT_BYTES, size)
                .map_err(io_error)?
                .ok_or_else(|| {
                    let what = if metadata.is_file() {
                        super::GREW
                    } else {
                        super::NOT_A_FILE
                    };
                    super::too_large(path, what)
                })?;
            return Dump::from_shared(path, Arc::new(DumpBytes::Owned(bytes)));
        }
        file.rewind().map_err(io_error)?;
        // SAFETY: the map is read-only; the tool never writes to its inputs. A file truncated
        // by another process while mapped is outside what any reader can defend against.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error)?;
        Dump::from_shared(path, Arc::new(DumpBytes::Mapped { map, file }))
    }

    /// A dump from bytes in memory; `path` names it in messages.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Dump, LoadError> {
        Dump::from_shared(path, Arc::new(DumpBytes::Owned(bytes)))
    }

    pub(crate) fn from_shared(path: &Path, bytes: Arc<DumpBytes>) -> Result<Dump, LoadError> {
        let not_minidump = |reason: String| LoadError::NotMinidump {
            path: path.to_path_buf(),
            reason: format!("not a usable minidump: {reason}"),
        };
        let data = bytes.as_slice();
        if data.len() < 4 || &data[..4] != MINIDUMP_SIGNATURE {
            return Err(not_minidump(format!(
                "the file does not start with the minidump signature \"MDMP\" ({} bytes)",
                data.len()
            )));
        }
        let minidump = Minidump::read(SharedBytes(Arc::clone(&bytes)))
            .map_err(|error| not_minidump(error.to_string()))?;
        Ok(Dump {
            path: path.to_path_buf(),
            bytes,
            minidump,
        })
    }

    /// The file the dump was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file.
    pub fn bytes(&self) -> &Arc<DumpBytes> {
        &self.bytes
    }

    /// SHA-256 (hex) identifying the capture: of the whole file when it is small, else of its
    /// length, its first 64 KiB (header and directory) and the streams dumpleak reads.
    pub fn content_hash(&self) -> String {
        let data = self.bytes.as_slice();
        let length = (data.len() as u64).to_le_bytes();
        if data.len() as u64 <= READ_WHOLE_BELOW {
            return super::sha256_hex(&[&length, data]);
        }
        let mut parts: Vec<&[u8]> = vec![&length, &data[..data.len().min(64 * 1024)]];
        for stream_type in [
            StreamType::ModuleListStream,
            StreamType::MiscInfoStream,
            StreamType::HandleDataStream,
            StreamType::HandleOperationListStream,
        ] {
            if let Ok(Some((_, bytes))) = self.stream(stream_type, "stream") {
                parts.push(bytes);
            }
        }
        super::sha256_hex(&parts)
    }

    /// Capture time from the header, seconds since 1970 (UTC).
    pub fn captured_at(&self) -> u64 {
        u64::from(self.minidump.header.time_date_stamp)
    }

    /// The `MINIDUMP_TYPE` flags the dump was written with.
    pub fn flags(&self) -> u64 {
        self.minidump.header.flags
    }

    /// The file offset and bytes of the stream of `stream_type`, checked to lie inside the
    /// file; `None` when the dump has no such stream.
    pub fn stream(
        &self,
        stream_type: StreamType,
        name: &'static str,
    ) -> Result<Option<(u64, &[u8])>, LoadError> {
        let Some(entry) = self
            .minidump
            .all_streams()
            .find(|entry| entry.stream_type == stream_type as u32)
        else {
            return Ok(None);
        };
        let data = self.bytes.as_slice();
        let offset = u64::from(entry.location.rva);
        let end = offset + u64::from(entry.location.data_size);
        if end > data.len() as u64 {
            return Err(LoadError::BadStream {
                path: self.path.clone(),
                stream: name,
                offset,
                reason: format!(
                    "{} bytes claimed, but the file ends at {:#x} (truncated dump?)",
                    entry.location.data_size,
                    data.len()
                ),
            });
        }
        Ok(Some((offset, &data[offset as usize..end as usize])))
    }

    fn bad_stream(&self, name: &'static str) -> impl Fn(ParseError) -> LoadError + '_ {
        move |error| LoadError::BadStream {
            path: self.path.clone(),
            stream: name,
            offset: error.offset,
            reason: error.reason,
        }
    }

    /// The size of the handle streams to be read (the trace's only when `trace`: its header
    /// alone is read otherwise).
    pub(crate) fn handle_streams_size(&self, trace: bool) -> Result<usize, LoadError> {
        let mut total = 0;
        let trace_stream = (
            StreamType::HandleOperationListStream,
            "HandleOperationListStream",
        );
        let streams = [(StreamType::HandleDataStream, "HandleDataStream")];
        for (stream_type, name) in streams.into_iter().chain(trace.then_some(trace_stream)) {
            if let Some((_, data)) = self.stream(stream_type, name)? {
                total += data.len();
            }
        }
        Ok(total)
    }

    /// The handle table (HandleDataStream), with what its parse could not read; without
    /// `object_info`, the handles' object-information records are checked but not kept.
    pub(crate) fn handle_data(&self, object_info: bool) -> Result<Option<HandleData>, LoadError> {
        let name = "HandleDataStream";
        self.stream(StreamType::HandleDataStream, name)?
            .map(|(offset, data)| {
                // Read ahead in one go: a mapped file otherwise faults page by page.
                self.bytes.prefetch(offset as usize, data.len());
                handle_data::parse_with(self.bytes.as_slice(), offset, data, object_info)
            })
            .transpose()
            .map_err(self.bad_stream(name))
    }

    /// [`Dump::handle_data`] as a [`CompactHandles`](super::compact::CompactHandles) table
    /// (object information checked, not kept), with the warnings of its parse.
    pub(crate) fn compact_handle_data(
        &self,
    ) -> Result<Option<(super::compact::CompactHandles, Vec<Warning>)>, LoadError> {
        let name = "HandleDataStream";
        self.stream(StreamType::HandleDataStream, name)?
            .map(|(offset, data)| {
                self.bytes.prefetch(offset as usize, data.len());
                handle_data::parse_compact(self.bytes.as_slice(), offset, data)
            })
            .transpose()
            .map_err(self.bad_stream(name))
    }

    /// The handle-trace records (HandleOperationListStream) in stream order; with
    /// `count_only`, only how many there are; with `in_place`, none of them, only checked
    /// ([`Dump::trace_order`], [`Dump::newest_trace_records`] and [`Dump::trace_stacks`] read
    /// them in the stream).
    pub(crate) fn handle_trace(
        &self,
        count_only: bool,
        in_place: bool,
    ) -> Result<Option<RawTrace>, LoadError> {
        let name = "HandleOperationListStream";
        match self.stream(StreamType::HandleOperationListStream, name)? {
            Some((offset, data)) if count_only => handle_trace::count(offset, data).map(|count| {
                Some(RawTrace {
                    count,
                    ..Default::default()
                })
            }),
            Some((offset, data)) if in_place && self.bytes.is_mapped() => {
                // Each record is read once, 288 bytes apart: copied into a small buffer, the
                // stream is never mapped (populating and unmapping 50 MB cost more).
                let copy = |start: usize, buffer: &mut [u8]| {
                    self.bytes.copy_at(offset + start as u64, buffer)
                };
                handle_trace::parse_with(offset, data, true, Some(&copy)).map(Some)
            }
            Some((offset, data)) => {
                self.bytes.prefetch(offset as usize, data.len());
                handle_trace::parse_with(offset, data, in_place, None).map(Some)
            }
            None => Ok(None),
        }
        .map_err(self.bad_stream(name))
    }

    /// Which end of the trace records is newest, decided with a hash map in a pass over the
    /// stream ([`handle_trace::detect_order_in`]); `open` are the handles open at capture time.
    pub(crate) fn trace_order(&self, open: &OpenValues) -> Result<TraceOrder, LoadError> {
        let name = "HandleOperationListStream";
        match self.stream(StreamType::HandleOperationListStream, name)? {
            Some((offset, data)) => {
                handle_trace::detect_order_in(offset, data, open).map_err(self.bad_stream(name))
            }
            None => Ok(TraceOrder::AssumedNewestFirst),
        }
    }

    /// The newest trace record of each of `values` (its index in the stream and operation),
    /// read in the stream whose records are listed in `order`; none without a trace.
    pub(crate) fn newest_trace_records(
        &self,
        order: TraceOrder,
        values: impl IntoIterator<Item = u64>,
    ) -> Result<foldhash::HashMap<u64, (usize, Operation)>, LoadError> {
        let name = "HandleOperationListStream";
        match self.stream(StreamType::HandleOperationListStream, name)? {
            Some((offset, data)) => {
                handle_trace::newest_in(offset, data, order, values).map_err(self.bad_stream(name))
            }
            None => Ok(Default::default()),
        }
    }

    /// The stacks of the trace records at `indices` (stream order); none without a trace.
    pub(crate) fn trace_stacks(
        &self,
        indices: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<Arc<[u64]>>, LoadError> {
        let name = "HandleOperationListStream";
        match self.stream(StreamType::HandleOperationListStream, name)? {
            Some((offset, data)) => {
                handle_trace::stacks_at(offset, data, indices).map_err(self.bad_stream(name))
            }
            None => Ok(Vec::new()),
        }
    }

    /// The loaded modules, sorted by base address. A missing or unreadable module list (frames
    /// then cannot be attributed) and damaged module names are `warnings`, not errors.
    pub fn modules(&self, warnings: &mut Vec<Warning>) -> Vec<Module> {
        let mut modules = self.module_list(warnings).modules;
        modules.sort_by_key(|module| module.base);
        modules
    }

    /// The modules in list order, the main module first; what could not be used goes to
    /// `warnings`.
    fn module_list(&self, warnings: &mut Vec<Warning>) -> ModuleList {
        let name = "ModuleListStream";
        let not_read = |reason: String| {
            Warning::new(
                WarningCode::NoModules,
                format!(
                    "{name} could not be read ({reason}): frames cannot be attributed to modules"
                ),
            )
        };
        match self.stream(StreamType::ModuleListStream, name) {
            Ok(Some((offset, data))) => {
                match module_list::parse(self.bytes.as_slice(), offset, data) {
                    Ok(mut list) => {
                        warnings.append(&mut list.warnings);
                        list
                    }
                    Err(error) => {
                        warnings.push(
                            not_read(format!(
                                "at file offset {:#x}: {}",
                                error.offset, error.reason
                            ))
                            .at(error.offset),
                        );
                        ModuleList::default()
                    }
                }
            }
            Ok(None) => {
                warnings.push(Warning::new(
                    WarningCode::NoModules,
                    "no ModuleListStream: frames cannot be attributed to modules",
                ));
                ModuleList::default()
            }
            Err(error) => {
                warnings.push(not_read(error.to_string()));
                ModuleList::default()
            }
        }
    }

    /// The modules unloaded before the capture (UnloadedModuleListStream), by base address;
    /// none when the stream is missing or unreadable.
    pub fn unloaded_modules(&self) -> Vec<UnloadedModule> {
        let Ok(list) = self.minidump.get_stream::<MinidumpUnloadedModuleList>() else {
            return Vec::new();
        };
        let mut modules: Vec<UnloadedModule> = list
            .iter()
            .map(|module| UnloadedModule {
                name: file_name_of(&module.name).to_string(),
                path: module.name.clone(),
                base: module.raw.base_of_image,
                size: module.raw.size_of_image,
                timestamp: module.raw.time_date_stamp,
            })
            .collect();
        modules.sort_by_key(|module| module.base);
        modules
    }

    /// Thread names by id (ThreadNamesStream), for the threads of the ThreadListStream.
    pub fn thread_names(&self) -> std::collections::BTreeMap<u32, String> {
        let Ok(names) = self.minidump.get_stream::<MinidumpThreadNames>() else {
            return Default::default();
        };
        let Ok(threads) = self.minidump.get_stream::<MinidumpThreadList<'_>>() else {
            return Default::default();
        };
        threads
            .threads
            .iter()
            .filter_map(|thread| {
                let id = thread.raw.thread_id;
                names.get_name(id).map(|name| (id, name.into_owned()))
            })
            .collect()
    }

    /// Process id, image, architecture, OS and start time, from whichever of the system info,
    /// misc info and module list streams the dump has.
    pub fn process(&self) -> ProcessInfo {
        let list = self.module_list(&mut Vec::new());
        let main_module = list
            .modules
            .into_iter()
            .next()
            .filter(|_| list.first_named)
            .map(|module| module.path);
        self.process_with(main_module)
    }

    /// [`Dump::process`] with the main module's path already read.
    fn process_with(&self, main_module: Option<String>) -> ProcessInfo {
        let system_info = self.minidump.get_stream::<MinidumpSystemInfo>().ok();
        let misc_info = self.minidump.get_stream::<MinidumpMiscInfo>().ok();
        ProcessInfo {
            pid: misc_info
                .as_ref()
                .and_then(|info| info.raw.process_id().copied()),
            image_name: main_module
                .as_deref()
                .map(|path| file_name_of(path).to_string()),
            image_path: main_module,
            arch: system_info.as_ref().map(|info| info.cpu.to_string()),
            os_version: system_info.as_ref().map(os_description),
            started_at: misc_info
                .as_ref()
                .and_then(|info| info.raw.process_create_time().copied())
                .map(u64::from),
        }
    }

    /// The modules sorted by base address and the process (whose main module is the first
    /// listed), reading the module list once; what could not be used goes to `warnings`.
    pub(crate) fn modules_and_process(
        &self,
        warnings: &mut Vec<Warning>,
    ) -> (Vec<Module>, ProcessInfo) {
        let list = self.module_list(warnings);
        let main_module = list
            .modules
            .first()
            .filter(|_| list.first_named)
            .map(|module| module.path.clone());
        let mut modules = list.modules;
        modules.sort_by_key(|module| module.base);
        (modules, self.process_with(main_module))
    }

    /// Captured process memory (Memory64ListStream, else MemoryListStream), read lazily;
    /// `warnings` gets what could not be used. A bad list costs only the symbols read from
    /// memory, so it is never an error.
    pub fn memory(&self, warnings: &mut Vec<Warning>) -> Option<DumpMemory> {
        for (stream_type, name, list64) in [
            (StreamType::Memory64ListStream, "Memory64ListStream", true),
            (StreamType::MemoryListStream, "MemoryListStream", false),
        ] {
            match self.stream(stream_type, name) {
                Ok(Some((offset, data))) => {
                    match DumpMemory::parse(Arc::clone(&self.bytes), offset, data, list64) {
                        Ok((parsed, dropped)) => {
                            if dropped > 0 {
                                warnings.push(Warning::new(
                                    WarningCode::StreamDamaged,
                                    format!(
                                        "{name}: {dropped} memory range(s) lie outside the file and were ignored"
                                    ),
                                ));
                            }
                            return Some(parsed);
                        }
                        Err(error) => warnings.push(
                            Warning::new(
                                WarningCode::MemoryUnusable,
                                format!(
                                    "{name} at file offset {:#x}: {}; captured memory is not used",
                                    error.offset, error.reason
                                ),
                            )
                            .at(error.offset),
                        ),
                    }
                }
                Ok(None) => {}
                Err(error) => warnings.push(Warning::new(
                    WarningCode::MemoryUnusable,
                    format!("{error}; captured memory is not used"),
                )),
            }
        }
        None
    }
}

/// The last component of a Windows or POSIX path.
pub fn file_name_of(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn os_description(info: &MinidumpSystemInfo) -> String {
    use minidump::system_info::Os;
    let raw = &info.raw;
    let platform = match info.os {
        Os::Windows => "Windows",
        Os::MacOs => "macOS",
        Os::Ios => "iOS",
        Os::Linux => "Linux",
        Os::Android => "Android",
        _ => "OS",
    };
    let mut text = format!(
        "{platform} {}.{}.{}",
        raw.major_version, raw.minor_version, raw.build_number
    );
    if let Some(csd) = info.csd_version() {
        if !csd.is_empty() {
            text.push(' ');
            text.push_str(&csd);
        }
    }
    text
}
