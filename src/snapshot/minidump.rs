//! Reads a [`Snapshot`] from a Windows minidump: memory-mapped, and only the streams the
//! analysis needs are touched (header, directory, system/misc info, modules, handles, trace).

use super::bytes::ParseError;
use super::memory::{DumpBytes, DumpMemory};
use super::model::{CodeViewId, HandleTrace, Module, ProcessInfo, Snapshot, TraceOrder};
use super::LoadError;
use super::{handle_data, handle_trace, LoadOptions};
use minidump::format as md;
use minidump::{CodeView, Minidump, MinidumpMiscInfo, MinidumpModuleList, MinidumpSystemInfo};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// `MINIDUMP_STREAM_TYPE::MemoryListStream`.
pub const MEMORY_LIST_STREAM: u32 = 5;
/// `MINIDUMP_STREAM_TYPE::Memory64ListStream`.
pub const MEMORY64_LIST_STREAM: u32 = 9;
/// `MINIDUMP_STREAM_TYPE::HandleDataStream`.
pub const HANDLE_DATA_STREAM: u32 = 12;
/// `MINIDUMP_STREAM_TYPE::HandleOperationListStream`.
pub const HANDLE_OPERATION_LIST_STREAM: u32 = 18;
/// The minidump signature `MDMP`, as the first four bytes of the file.
pub const MINIDUMP_SIGNATURE: &[u8; 4] = b"MDMP";

/// How to capture a dump that carries what dumpleak needs; quoted in errors and warnings.
pub const CAPTURE_HINT: &str = "capture with handle data: `procdump -ma <pid>` (or `procdump -mp`), Task Manager's \"Create dump file\", or MiniDumpWriteDump with MiniDumpWithHandleData";
/// How to get allocation stacks into a dump.
pub const TRACE_HINT: &str = "enable handle tracing before the leaking cycles (WinDbg `!htrace -enable`, or Application Verifier's Handles check) and capture with handle data (`procdump -ma <pid>`)";

/// Handle streams from this size on are parsed on several threads.
const PARALLEL_STREAM_BYTES: usize = 1 << 20;

/// Files up to this size are read into memory instead of mapped: for small dumps a read is
/// cheaper than a mapping, whose unmapping interrupts every other core (TLB shootdown) when a
/// batch loads dumps on several threads.
const READ_WHOLE_BELOW: u64 = 256 * 1024;

/// Reads one minidump. Larger files are memory-mapped read-only, so only the header, the
/// directory and the streams the analysis needs are touched; the file is never modified.
pub fn load_minidump(path: &Path) -> Result<Snapshot, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_minidump_file(path, file, &LoadOptions::default())
}

/// [`load_minidump`] from a file already open, with `options`.
pub(crate) fn load_minidump_file(
    path: &Path,
    mut file: File,
    options: &LoadOptions,
) -> Result<Snapshot, LoadError> {
    use std::io::Seek;
    file.rewind().map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let size = file
        .metadata()
        .map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if size <= READ_WHOLE_BELOW {
        let mut bytes = Vec::with_capacity(size as usize);
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        return load_from(path, Arc::new(DumpBytes::Owned(bytes)), options);
    }
    // SAFETY: the map is read-only; the tool never writes to its inputs. A file truncated by
    // another process while mapped is outside what any reader can defend against.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_from(path, Arc::new(DumpBytes::Mapped { map, file }), options)
}

/// Reads a snapshot from the bytes of a minidump (copied); `path` is used in messages only.
pub fn load_minidump_bytes(path: &Path, bytes: &[u8]) -> Result<Snapshot, LoadError> {
    load_from(
        path,
        Arc::new(DumpBytes::Owned(bytes.to_vec())),
        &LoadOptions::default(),
    )
}

fn load_from(
    path: &Path,
    file: Arc<DumpBytes>,
    options: &LoadOptions,
) -> Result<Snapshot, LoadError> {
    let bytes = file.as_slice();
    let not_minidump = |reason: String| LoadError::NotMinidump {
        path: path.to_path_buf(),
        reason: format!("not a usable minidump: {reason}"),
    };
    if bytes.len() < 4 || &bytes[..4] != MINIDUMP_SIGNATURE {
        return Err(not_minidump(format!(
            "the file does not start with the minidump signature \"MDMP\" ({} bytes)",
            bytes.len()
        )));
    }
    let dump = Minidump::read(bytes).map_err(|error| not_minidump(error.to_string()))?;
    let mut warnings = Vec::new();

    let system_info = dump.get_stream::<MinidumpSystemInfo>().ok();
    let misc_info = dump.get_stream::<MinidumpMiscInfo>().ok();
    let modules = match dump.get_stream::<MinidumpModuleList>() {
        Ok(list) => read_modules(&list),
        Err(minidump::Error::StreamNotFound) => {
            warnings
                .push("no ModuleListStream: frames cannot be attributed to modules".to_string());
            Vec::new()
        }
        Err(error) => {
            warnings.push(format!(
                "ModuleListStream could not be read ({error}): frames cannot be attributed to modules"
            ));
            Vec::new()
        }
    };

    let stream =
        |stream_type: u32, name: &'static str| -> Result<Option<(u64, &[u8])>, LoadError> {
            let Some(entry) = dump
                .all_streams()
                .find(|entry| entry.stream_type == stream_type)
            else {
                return Ok(None);
            };
            let offset = u64::from(entry.location.rva);
            let end = offset + u64::from(entry.location.data_size);
            if end > bytes.len() as u64 {
                return Err(LoadError::BadStream {
                    path: path.to_path_buf(),
                    stream: name,
                    offset,
                    reason: format!(
                        "{} bytes claimed, but the file ends at {:#x} (truncated dump?)",
                        entry.location.data_size,
                        bytes.len()
                    ),
                });
            }
            Ok(Some((offset, &bytes[offset as usize..end as usize])))
        };
    let bad_stream = |name: &'static str| {
        move |error: ParseError| LoadError::BadStream {
            path: path.to_path_buf(),
            stream: name,
            offset: error.offset,
            reason: error.reason,
        }
    };

    let handle_stream = stream(HANDLE_DATA_STREAM, "HandleDataStream")?;
    let trace_stream = stream(HANDLE_OPERATION_LIST_STREAM, "HandleOperationListStream")?;
    for (offset, data) in handle_stream.iter().chain(&trace_stream) {
        file.prefetch(*offset as usize, data.len());
    }
    let read_handles = || {
        handle_stream
            .map(|(offset, data)| handle_data::parse(bytes, offset, data))
            .transpose()
            .map_err(bad_stream("HandleDataStream"))
    };
    let read_trace = || {
        match trace_stream {
            Some((offset, data)) if options.skip_trace_records => handle_trace::count(offset, data)
                .map(|count| {
                    Some(handle_trace::RawTrace {
                        count,
                        ..Default::default()
                    })
                }),
            Some((offset, data)) => handle_trace::parse(offset, data).map(Some),
            None => Ok(None),
        }
        .map_err(bad_stream("HandleOperationListStream"))
    };
    // The two streams are independent: a large dump reads them on two threads. A small one
    // does not wake the thread pool (starting it costs more than the parse).
    let streamed: usize = handle_stream
        .iter()
        .chain(&trace_stream)
        .map(|(_, data)| data.len())
        .sum();
    let (handles, trace) = if streamed >= PARALLEL_STREAM_BYTES {
        rayon::join(read_handles, read_trace)
    } else {
        (read_handles(), read_trace())
    };
    let handles = handles?.map(|parsed| {
        warnings.extend(parsed.warnings);
        parsed.handles
    });
    let trace = trace?.map(|mut parsed| {
        warnings.append(&mut parsed.warnings);
        let order =
            handle_trace::detect_order(&parsed.records, handles.as_deref().unwrap_or_default());
        if order == TraceOrder::OldestFirst {
            parsed.records.reverse();
        }
        HandleTrace {
            records: parsed.records,
            record_count: parsed.count,
            order,
            diff_block: false,
        }
    });

    // Memory is read lazily (export tables of modules without image files); a bad list costs
    // only those symbols, so it is a warning, not an error.
    let mut memory = None;
    for (stream_type, name, list64) in [
        (MEMORY64_LIST_STREAM, "Memory64ListStream", true),
        (MEMORY_LIST_STREAM, "MemoryListStream", false),
    ] {
        if memory.is_some() {
            break;
        }
        match stream(stream_type, name) {
            Ok(Some((offset, data))) => {
                match DumpMemory::parse(Arc::clone(&file), offset, data, list64) {
                    Ok((parsed, dropped)) => {
                        if dropped > 0 {
                            warnings.push(format!(
                                "{name}: {dropped} memory range(s) lie outside the file and were ignored"
                            ));
                        }
                        memory = Some(parsed);
                    }
                    Err(error) => warnings.push(format!(
                        "{name} at file offset {:#x}: {}; captured memory is not used",
                        error.offset, error.reason
                    )),
                }
            }
            Ok(None) => {}
            Err(error) => warnings.push(format!("{error}; captured memory is not used")),
        }
    }

    let main_module = dump
        .get_stream::<MinidumpModuleList>()
        .ok()
        .and_then(|list| list.iter().next().map(|module| module.name.clone()));
    let process = ProcessInfo {
        pid: misc_info
            .as_ref()
            .and_then(|info| info.raw.process_id().copied()),
        image_name: main_module
            .as_deref()
            .map(|path| file_name_of(path).to_string()),
        image_path: main_module,
        arch: system_info
            .as_ref()
            .map(|info| architecture_name(info.raw.processor_architecture)),
        os_version: system_info.as_ref().map(os_description),
        started_at: misc_info
            .as_ref()
            .and_then(|info| info.raw.process_create_time().copied())
            .map(u64::from),
    };

    Ok(Snapshot {
        source: path.to_path_buf(),
        input: super::InputFormat::Minidump,
        type_counts: None,
        frame_text: Default::default(),
        process,
        captured_at: Some(u64::from(dump.header.time_date_stamp)),
        dump_flags: dump.header.flags,
        modules,
        handles,
        trace,
        memory,
        file: Some(file),
        warnings,
    })
}

fn read_modules(list: &MinidumpModuleList) -> Vec<Module> {
    let mut modules: Vec<Module> = list
        .iter()
        .map(|module| {
            let raw = &module.raw;
            let info = &raw.version_info;
            let has_version = info.signature == md::VS_FFI_SIGNATURE;
            Module {
                name: file_name_of(&module.name).to_string(),
                path: module.name.clone(),
                base: raw.base_of_image,
                size: raw.size_of_image,
                file_version: has_version
                    .then(|| four_part_version(info.file_version_hi, info.file_version_lo)),
                product_version: has_version
                    .then(|| four_part_version(info.product_version_hi, info.product_version_lo)),
                timestamp: raw.time_date_stamp,
                checksum: raw.checksum,
                codeview: module.codeview_info.as_ref().and_then(codeview_id),
            }
        })
        .collect();
    modules.sort_by_key(|module| module.base);
    modules
}

fn four_part_version(high: u32, low: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        high >> 16,
        high & 0xffff,
        low >> 16,
        low & 0xffff
    )
}

fn codeview_id(codeview: &CodeView) -> Option<CodeViewId> {
    let pdb_path = |raw: &[u8]| {
        let end = raw.iter().position(|&byte| byte == 0).unwrap_or(raw.len());
        String::from_utf8_lossy(&raw[..end]).into_owned()
    };
    match codeview {
        CodeView::Pdb70(raw) => {
            let guid = &raw.signature;
            Some(CodeViewId::Rsds {
                guid: format!(
                    "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
                    guid.data1,
                    guid.data2,
                    guid.data3,
                    guid.data4[0],
                    guid.data4[1],
                    guid.data4[2],
                    guid.data4[3],
                    guid.data4[4],
                    guid.data4[5],
                    guid.data4[6],
                    guid.data4[7]
                ),
                age: raw.age,
                pdb_path: pdb_path(&raw.pdb_file_name),
            })
        }
        CodeView::Pdb20(raw) => Some(CodeViewId::Nb10 {
            signature: raw.signature,
            age: raw.age,
            pdb_path: pdb_path(&raw.pdb_file_name),
        }),
        _ => None,
    }
}

/// The last component of a Windows or POSIX path.
pub fn file_name_of(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn architecture_name(raw: u16) -> String {
    match raw {
        0 => "x86".to_string(),
        5 => "arm".to_string(),
        6 => "ia64".to_string(),
        9 => "amd64".to_string(),
        12 => "arm64".to_string(),
        0xffff => "unknown".to_string(),
        other => format!("architecture {other}"),
    }
}

fn os_description(info: &MinidumpSystemInfo) -> String {
    let raw = &info.raw;
    let platform = match raw.platform_id {
        2 => "Windows",
        0x8101 => "macOS",
        0x8102 => "iOS",
        0x8201 => "Linux",
        0x8203 => "Android",
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
