//! Inputs that are small on disk and were large in memory (issue 14, items 6 and 10): each
//! builder takes the size of the attack as parameters, so a test can build it at a size that
//! keeps the test fast and a measurement at the size of the report. Also compiled into
//! `tests/bounded_memory.rs` (with `#[path]`).

use dumpleak_fixtures::writer::{
    minidump_string, put_u16, put_u32, ContextAmd64, DumpWriter, ExceptionInfo, HandleOperation,
    Location, MiscInfo, Module, SystemInfo, Thread, ThreadEx, CONTEXT_AMD64_ALL,
    EXCEPTION_ACCESS_VIOLATION, HANDLE_DATA_STREAM, HANDLE_OP_OPEN, MEMORY_LIST_STREAM,
    MINIDUMP_WITH_HANDLE_DATA, MISC1_PROCESS_ID, MODULE_LIST_STREAM,
};

/// The process every dump here is of.
pub const PID: u32 = 42;
/// Base of the one module of [`crash_with_shared_stacks`].
pub const APP_BASE: u64 = 0x7ff6_0000_0000;

/// A writer with system info (Windows 10 x64), process id [`PID`] and capture time `time`.
fn writer(time: u32) -> DumpWriter {
    let mut writer = DumpWriter::with_directory_slots(10);
    writer
        .set_time_date_stamp(time)
        .set_flags(MINIDUMP_WITH_HANDLE_DATA);
    writer.add_system_info(&SystemInfo::windows_10_x64());
    writer.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID,
        process_id: PID,
        ..MiscInfo::default()
    });
    writer
}

/// A module entry without version or CodeView record.
pub fn module(name: &str, base: u64, size: u32) -> Module {
    Module {
        base_of_image: base,
        size_of_image: size,
        checksum: 0,
        time_date_stamp: 0x5e00_0000,
        name: name.to_string(),
        file_version: [1, 0, 0, 0],
        product_version: [1, 0, 0, 0],
        is_dll: true,
        cv_record: None,
    }
}

/// A crash (access violation in thread 1) in a process of `threads` threads that all share
/// one captured stack of `stack_bytes` bytes, every 8 bytes of it a plausible return address
/// into `app.exe`: a stack scan finds a frame every 8 bytes, on every thread.
pub fn crash_with_shared_stacks(threads: u32, stack_bytes: usize) -> Vec<u8> {
    let mut w = writer(1_772_441_400);
    let stack_start = 0x0010_0000u64;
    let return_address = APP_BASE + 0x1234;
    let stack: Vec<u8> = std::iter::repeat_n(return_address.to_le_bytes(), stack_bytes / 8)
        .flatten()
        .collect();
    let stack = w.add_memory_bytes(&stack);
    let context = w.add_context(
        &ContextAmd64 {
            context_flags: CONTEXT_AMD64_ALL,
            rsp: stack_start,
            rip: APP_BASE + 0x1000,
            ..ContextAmd64::default()
        }
        .to_bytes(),
    );
    let list: Vec<ThreadEx> = (1..=threads)
        .map(|id| ThreadEx {
            thread: Thread {
                thread_id: id,
                stack_start,
                ..Thread::default()
            },
            stack: Some((stack_start, stack)),
            context,
        })
        .collect();
    w.add_thread_list_ex(&list);
    w.add_module_list(&[module(r"C:\app\app.exe", APP_BASE, 0x10_0000)]);
    w.add_memory_list_at(&[(stack_start, stack)]);
    w.add_exception(&ExceptionInfo {
        thread_id: 1,
        code: EXCEPTION_ACCESS_VIOLATION,
        address: APP_BASE + 0x1000,
        parameters: vec![0, 0x10],
        thread_context: context,
        ..ExceptionInfo::default()
    });
    w.finish()
}

/// A name of `chars` characters that take 3 bytes each in UTF-8 (2 in the dump).
pub fn wide_name(chars: usize) -> String {
    std::iter::repeat_n('\u{4e00}', chars).collect()
}

/// A handle table of `descriptors` Mutant handles whose object names all point at one string
/// of `name_chars` characters ([`wide_name`]); captured at `time`. With `descriptors` 0 it is
/// the dump before the leak.
pub fn handles_sharing_one_name(descriptors: u32, name_chars: usize, time: u32) -> Vec<u8> {
    let mut w = writer(time);
    let type_name = w.add_string("Mutant");
    let name = w.add_string(&wide_name(name_chars));
    let mut stream = Vec::with_capacity(16 + 32 * descriptors as usize);
    for field in [16, 32, descriptors, 0] {
        put_u32(&mut stream, field);
    }
    for index in 0..u64::from(descriptors) {
        stream.extend((4 * (index + 1)).to_le_bytes());
        for field in [type_name, name, 0, 0x1f_0001, 1, 1] {
            put_u32(&mut stream, field);
        }
    }
    w.add_stream(HANDLE_DATA_STREAM, &stream);
    w.finish()
}

/// A module list of `modules` modules whose name RVAs all point at one path of `name_chars`
/// characters.
pub fn modules_sharing_one_name(modules: u32, name_chars: usize) -> Vec<u8> {
    let mut w = writer(1_772_441_400);
    let path = format!(r"C:\{}.dll", wide_name(name_chars));
    let name = w.add_blob(&minidump_string(&path));
    let list = (0..modules)
        .map(|index| (0x1000_0000 + 0x10_0000 * u64::from(index), name))
        .collect::<Vec<_>>();
    add_raw_module_list(&mut w, &list);
    w.finish()
}

/// A module list whose name RVAs are tangled: a third point into the module list itself (the
/// next entry's CheckSum, 0x20, read as a length: the rest of that entry as a name), a third
/// share one path, and a third point into the middle of that path (where two of its
/// characters read as a length of 8).
pub fn modules_with_tangled_names(modules: u32) -> Vec<u8> {
    let mut w = writer(1_772_441_400);
    let shared = w.add_blob(&minidump_string("C:\\x\\\u{8}\0evil\\kernel32.dll"));
    // The list is written next: 4 bytes of count, then 108 bytes per module.
    let list_at = (w.len() as u32 + 3) & !3;
    let list = (0..modules)
        .map(|index| {
            let base = 0x1000_0000 + 0x10_0000 * u64::from(index);
            let name = match index % 3 {
                0 => list_at + 4 + 108 * ((index + 1) % modules) + 12,
                1 => shared,
                _ => shared + 4 + 2 * 5,
            };
            (base, name)
        })
        .collect::<Vec<_>>();
    add_raw_module_list(&mut w, &list);
    w.finish()
}

/// A ModuleListStream of `(base, name RVA)` entries: SizeOfImage 0x10000, CheckSum 0x20, no
/// version or CodeView record.
fn add_raw_module_list(w: &mut DumpWriter, modules: &[(u64, u32)]) -> Location {
    let mut stream = Vec::with_capacity(4 + 108 * modules.len());
    put_u32(&mut stream, modules.len() as u32);
    for &(base, name) in modules {
        stream.extend(base.to_le_bytes());
        for field in [0x10000, 0x20, 0x5e00_0000, name] {
            put_u32(&mut stream, field);
        }
        stream.resize(stream.len() + 108 - 24, 0);
    }
    w.add_stream(MODULE_LIST_STREAM, &stream)
}

/// Size of the image of [`exports_in_shared_image`].
pub const EXPORT_IMAGE_SIZE: u32 = 0x20_0000;
/// Export names of that image.
pub const EXPORT_NAMES: u32 = 1 << 17;
/// Bytes of each export name (all the names are one string).
pub const EXPORT_NAME_BYTES: usize = 1023;

/// `modules` modules whose images in dump memory are one PE image (MemoryListStream
/// descriptors may share their bytes) exporting [`EXPORT_NAMES`] functions, all named by one
/// string of [`EXPORT_NAME_BYTES`] bytes; one open handle per module with an OPEN trace record
/// whose stack is in that module, so analysing the handles reads every export table.
pub fn exports_in_shared_image(modules: u32) -> Vec<u8> {
    let mut w = writer(1_772_441_400);
    let image = w.add_memory_bytes(&export_image());
    let base = |index: u32| 0x10_0000_0000 + u64::from(EXPORT_IMAGE_SIZE) * 2 * u64::from(index);
    let list: Vec<Module> = (0..modules)
        .map(|index| {
            let mut module = module(&format!(r"C:\x\m{index}.dll"), base(index), 0);
            module.size_of_image = EXPORT_IMAGE_SIZE;
            module
        })
        .collect();
    w.add_module_list(&list);
    let ranges: Vec<(u64, Location)> = (0..modules).map(|index| (base(index), image)).collect();
    let mut stream = Vec::new();
    put_u32(&mut stream, ranges.len() as u32);
    for (start, location) in &ranges {
        stream.extend(start.to_le_bytes());
        put_u32(&mut stream, location.data_size);
        put_u32(&mut stream, location.rva);
    }
    w.add_stream(MEMORY_LIST_STREAM, &stream);
    let type_name = w.add_string("Event");
    let mut handles = Vec::new();
    for field in [16, 32, modules, 0] {
        put_u32(&mut handles, field);
    }
    for index in 0..modules {
        handles.extend((4 * u64::from(index + 1)).to_le_bytes());
        for field in [type_name, 0, 0, 0x1f_0003, 1, 1] {
            put_u32(&mut handles, field);
        }
    }
    w.add_stream(HANDLE_DATA_STREAM, &handles);
    let operations: Vec<HandleOperation> = (0..modules)
        .map(|index| HandleOperation {
            handle: 4 * u64::from(index + 1),
            process_id: PID,
            thread_id: 1,
            operation_type: HANDLE_OP_OPEN,
            spare0: 0,
            index,
            stack: vec![base(index) + 0x2000],
        })
        .collect();
    w.add_handle_operations(&operations);
    w.finish()
}

/// The PE image of [`exports_in_shared_image`] (PE32+, TimeDateStamp 0x5e000000).
fn export_image() -> Vec<u8> {
    let names = 0x1000u32;
    let ordinals = names + 4 * EXPORT_NAMES;
    let functions = ordinals + 2 * EXPORT_NAMES;
    let name = functions + 4 * EXPORT_NAMES;
    let mut image = vec![0u8; name as usize + EXPORT_NAME_BYTES + 1];
    let mut put = |at: u32, bytes: &[u8]| {
        image[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    };
    put(0, b"MZ");
    put(0x3c, &0x80u32.to_le_bytes());
    put(0x80, b"PE\0\0");
    put(0x88, &0x5e00_0000u32.to_le_bytes());
    let optional = 0x80 + 24;
    put(optional, &0x20bu16.to_le_bytes());
    put(optional + 56, &EXPORT_IMAGE_SIZE.to_le_bytes());
    put(optional + 108, &16u32.to_le_bytes());
    put(optional + 112, &0x400u32.to_le_bytes());
    put(optional + 116, &0x28u32.to_le_bytes());
    let mut directory = Vec::new();
    for field in [0, 0x5e00_0000, 0, 0, 1, EXPORT_NAMES, EXPORT_NAMES] {
        put_u32(&mut directory, field);
    }
    for field in [functions, names, ordinals] {
        put_u32(&mut directory, field);
    }
    put(0x400, &directory);
    let mut tables = Vec::with_capacity(10 * EXPORT_NAMES as usize);
    for _ in 0..EXPORT_NAMES {
        put_u32(&mut tables, name);
    }
    for index in 0..EXPORT_NAMES {
        put_u16(&mut tables, index as u16);
    }
    for index in 0..EXPORT_NAMES {
        put_u32(&mut tables, 0x10_0000 + 4 * index);
    }
    put(names, &tables);
    put(name, &vec![b'A'; EXPORT_NAME_BYTES]);
    image
}

/// The frame lines of [`htrace_log`]'s records.
#[derive(Debug, Clone, Copy)]
pub enum Frames {
    /// 16 frames with symbol text, at addresses of their own.
    Symbolised,
    /// 32 frames that are bare addresses.
    Addresses,
    /// None: records of their header line alone (`Handle = 0x4 - OPEN`).
    None,
    /// One record of ever more 4-byte frame lines (`0x1`).
    Endless,
    /// 32 frames of short symbol text (`0x1a2b: m!f`), at addresses of their own.
    ShortText,
}

/// A WinDbg log of about `bytes` bytes: one `!htrace -diff` block of OPEN records with
/// `frames` (nothing to share between records).
pub fn htrace_log(bytes: usize, frames: Frames) -> String {
    let mut log = String::with_capacity(bytes + 4096);
    log.push_str("0:008> !htrace -diff\nHandle tracing information snapshot successfully taken.\n0x1 new stack traces since the previous snapshot.\nOutstanding handles opened since the previous snapshot:\n--------------------------------------\n");
    let mut record = 0u64;
    while log.len() < bytes {
        if matches!(frames, Frames::None) {
            // The shortest record: its header line alone.
            record += 1;
            log.push_str(&format!("Handle = 0x{:x} - OPEN\n", 4 * record));
            continue;
        }
        if record == 0 || !matches!(frames, Frames::Endless) {
            record += 1;
            log.push_str(&format!(
                "Handle = 0x{:016x} - OPEN\nThread ID = 0x0000000000001234, Process ID = 0x000000000000002a\n\n",
                4 * record
            ));
        }
        let address = |frame: u64| 0x7ffb_0000_0000 + record * 0x100 + frame;
        match frames {
            Frames::Symbolised => {
                for frame in 0..16 {
                    log.push_str(&format!(
                        "0x{:016x}: AcmeNet!Acme::Pool::Acquire+0x{frame:016x}\n",
                        address(frame)
                    ));
                }
            }
            Frames::Addresses => {
                for frame in 0..32 {
                    log.push_str(&format!("0x{:016x}\n", address(frame)));
                }
            }
            Frames::ShortText => {
                for frame in 0..32 {
                    log.push_str(&format!("0x{:x}: m!f\n", address(frame)));
                }
            }
            Frames::None => unreachable!("records without frames are written above"),
            Frames::Endless => {
                for _ in 0..1024 {
                    log.push_str("0x1\n");
                }
                continue;
            }
        }
        log.push_str("--------------------------------------\n");
    }
    log.push_str(&format!(
        "Displayed 0x{record:x} stack traces for outstanding handles opened since the previous snapshot.\n"
    ));
    log
}

/// A WinDbg log of about `bytes` bytes of `ModLoad:` lines, each a module at a base of its own.
pub fn modload_log(bytes: usize) -> String {
    let mut log = String::with_capacity(bytes + 256);
    log.push_str("Microsoft (R) Windows Debugger Version 10.0.22621.2428 AMD64\nCommandLine: C:\\svc\\OrderSync.exe\n");
    let mut index = 0u64;
    while log.len() < bytes {
        let base = 0x7ff0_0000_0000 + index * 0x10000;
        log.push_str(&format!(
            "ModLoad: {:08x}`{:08x} {:08x}`{:08x}   C:\\m\\m{index}.dll\n",
            base >> 32,
            base & 0xffff_ffff,
            (base + 0x8000) >> 32,
            (base + 0x8000) & 0xffff_ffff
        ));
        index += 1;
    }
    log
}
