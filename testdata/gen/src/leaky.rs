//! Scenarios G, H and I of `testdata/README.md`:
//!
//! * G `pdb/before.dmp`, `pdb/after.dmp`: Widget.exe (x64) leaking one Event per call of
//!   `leakylib!LeakyOpenSession`, with leakylib.dll's real CodeView record (`pdb/build.sh`).
//! * I `pdb/crash.dmp`: the same process crashing inside leakylib.dll (AMD64 CONTEXT, stack
//!   memory, ExceptionStream); `pdb/crash-fullmem.dmp` the same crash plus the stack and
//!   leakylib.dll's mapped image in a Memory64ListStream (x64 unwind data from dump memory).
//! * H `incident-fullmem/*.dmp`: the incident dumps of scenario A plus the mapped images of
//!   ntdll.dll, kernel32.dll and MSMAPI32.DLL in a MemoryListStream / Memory64ListStream.

use std::io;

use crate::baseline::{image_module, open_all, win10_kernelbase, win10_module, win10_ntdll};
use crate::pe::PeImage;
use crate::scenarios::{
    win10_baseline, DumpSpec, Fixture, Incident, INCIDENT_CREATE_TIME, INCIDENT_PID, INCIDENT_RING,
};
use crate::sim::{AddressSpace, LoadedModule, Process, TraceOrder};
use crate::writer::{
    ContextAmd64, DescriptorVersion, DumpWriter, ExceptionInfo, Location, MemoryRange, MiscInfo,
    SystemInfo, Thread, ThreadEx, CONTEXT_AMD64_ALL, EXCEPTION_ACCESS_VIOLATION,
    EXCEPTION_NONCONTINUABLE, MINIDUMP_WITH_HANDLE_DATA, MISC1_PROCESS_ID, MISC1_PROCESS_TIMES,
};

/// leakylib.dll built by `testdata/pdb/build.sh` (x64, CodeView RSDS, PDB `leakylib.pdb`).
pub const LEAKYLIB_DLL: &[u8] = include_bytes!("../../pdb/leakylib.dll");

pub const WIDGET_PID: u32 = 6400;
/// The thread that calls LeakyOpenSession (and crashes in `crash.dmp`).
pub const WIDGET_TID: u32 = 0x1A2C;
/// 2026-03-02 13:00:00 UTC.
pub const WIDGET_CREATE_TIME: u32 = 1_772_456_400;
pub const WIDGET_BASE: u64 = 0x0000_7FF6_1000_0000;
pub const WIDGET_SIZE: u32 = 0x4B000;
pub const WIDGET_PATH: &str = r"C:\Program Files\Contoso\Widget\Widget.exe";
pub const LEAKYLIB_PATH: &str = r"C:\Program Files\Contoso\Widget\leakylib.dll";
pub const LEAKYLIB_VERSION: [u16; 4] = [1, 4, 2, 0];

/// RVAs in leakylib.dll (see `pdb/leakylib.disasm.txt` and `pdb/symbolizer-expected.txt`):
/// return address after `call rax` (the call through `imp_CreateEventW`) in `open_pool`, inside
/// the inlined `acquire_slot`.
pub const RVA_RET_OPEN_POOL: u32 = 0x10bb;
/// Return address after `call open_pool` in `session_init`.
pub const RVA_RET_SESSION_INIT: u32 = 0x1064;
/// Return address after `call session_init` in `LeakyOpenSession`.
pub const RVA_RET_LEAKY_OPEN_SESSION: u32 = 0x102d;
/// `mov ebx, [rcx+0x100]` in `open_pool`, inlined `acquire_slot` (reads `p->next`): the crash.
pub const RVA_CRASH: u32 = 0x109c;
/// Entry points (for the README): LeakyOpenSession (export), session_init, open_pool (static).
pub const RVA_LEAKY_OPEN_SESSION: u32 = 0x1020;
pub const RVA_SESSION_INIT: u32 = 0x1050;
pub const RVA_OPEN_POOL: u32 = 0x1090;

/// Frames of the leaking stack outside leakylib.dll, innermost first: ntdll (NtCreateEvent),
/// KERNELBASE (CreateEventW) before the leakylib frames; Widget.exe after them.
pub const WIDGET_STACK_SYSTEM: &[&str] = &["ntdll+0x9d4c4", "KERNELBASE+0x3a0b6"];
pub const WIDGET_STACK_EXE: &[&str] = &["Widget+0x1e2f7", "Widget+0x1b0a4", "Widget+0x3a9e0"];

/// Capture time of the dump taken after `cycles` calls of LeakyOpenSession (one per 5 minutes).
pub fn widget_capture_time(cycles: u32) -> u32 {
    WIDGET_CREATE_TIME + 300 * cycles
}
/// `crash.dmp`: one minute after the third cycle.
pub const WIDGET_CRASH_TIME: u32 = WIDGET_CREATE_TIME + 3 * 300 + 60;

/// Widget.exe, ntdll.dll, KERNELBASE.dll (no images) and leakylib.dll (real image and CodeView).
pub fn widget_space() -> io::Result<AddressSpace> {
    let img = PeImage::parse(LEAKYLIB_DLL)?;
    let cv = img
        .codeview
        .clone()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "leakylib.dll has no RSDS"))?;
    let leaky: LoadedModule = image_module(LEAKYLIB_DLL, LEAKYLIB_PATH, LEAKYLIB_VERSION, cv)?;
    Ok(AddressSpace {
        modules: vec![
            win10_module(
                WIDGET_BASE,
                WIDGET_SIZE,
                0x65F3_0A1C,
                WIDGET_PATH,
                [2, 0, 7, 114],
                0x5E6F_7081,
            ),
            win10_ntdll(),
            win10_kernelbase(),
            leaky,
        ],
    })
}

/// The leaking stack (innermost first).
pub fn widget_leak_stack(space: &AddressSpace) -> Vec<u64> {
    let leaky = space.module("leakylib").module.base_of_image;
    let mut s = space.stack(WIDGET_STACK_SYSTEM);
    for rva in [
        RVA_RET_OPEN_POOL,
        RVA_RET_SESSION_INIT,
        RVA_RET_LEAKY_OPEN_SESSION,
    ] {
        s.push(leaky + u64::from(rva));
    }
    s.extend(space.stack(WIDGET_STACK_EXE));
    s
}

const WIDGET_THREADS: &[Thread] = &[Thread {
    thread_id: WIDGET_TID,
    suspend_count: 0,
    priority_class: 0x20,
    priority: 0,
    teb: 0x0000_00C8_4F1B_4000,
    stack_start: 0x0000_00C8_4F4F_FE60,
}];

/// The Widget.exe simulation: startup handles, tracing on, then one leaked Event per cycle.
#[derive(Debug, Clone)]
pub struct Widget {
    pub space: AddressSpace,
    pub process: Process,
    pub cycles: u32,
    pub leaked: Vec<u64>,
}

impl Widget {
    pub fn start() -> io::Result<Widget> {
        let space = widget_space()?;
        let mut process = Process::new(WIDGET_PID);
        open_all(&mut process, WIDGET_TID, &win10_baseline());
        process.enable_trace(INCIDENT_RING);
        Ok(Widget {
            space,
            process,
            cycles: 0,
            leaked: Vec::new(),
        })
    }

    /// One call of LeakyOpenSession: opens (and leaks) one unnamed Event.
    pub fn run_cycle(&mut self) {
        let stack = widget_leak_stack(&self.space);
        let h = self.process.open_simple(WIDGET_TID, "Event", None, &stack);
        self.leaked.push(h);
        self.cycles += 1;
    }

    pub fn spec(&self, capture_time: u32) -> DumpSpec<'_> {
        DumpSpec {
            space: &self.space,
            system_info: SystemInfo::windows_10_x64(),
            process: &self.process,
            threads: WIDGET_THREADS,
            create_time: WIDGET_CREATE_TIME,
            capture_time,
            user_time: 4 + 2 * self.cycles,
            kernel_time: 1 + self.cycles,
            flags: MINIDUMP_WITH_HANDLE_DATA,
            descriptors: Some(DescriptorVersion::V2),
            trace: Some(TraceOrder::NewestFirst),
        }
    }
}

// ------------------------------------------------------------------------------ crash (I)

/// The crash of `pdb/crash.dmp`: registers, stack, exception.
#[derive(Debug, Clone)]
pub struct Crash {
    pub thread: Thread,
    pub context: ContextAmd64,
    pub stack: MemoryRange,
    /// `ExceptionInformation`: `[0 (read), address]`.
    pub exception: ExceptionInfo,
}

/// Widget.exe's rbx/rdi/rsi when it called LeakyOpenSession (saved by the leakylib prologues).
const WIDGET_RBX: u64 = 0x0000_0000_0000_0010;
const WIDGET_RDI: u64 = 0x0000_01F3_8A2C_4E10;
const WIDGET_RSI: u64 = 0x0000_01F3_8A2C_4E00;
/// Top of the captured stack (StackBase of the thread).
pub const CRASH_STACK_BASE: u64 = 0x0000_00C8_4F50_0000;
/// Rsp at the crash (inside open_pool, after its prologue).
pub const CRASH_RSP: u64 = CRASH_STACK_BASE - 0x1A0;
/// The faulting read: `[rcx+0x100]` with rcx = `&ctx->pool` = NULL + 8.
pub const CRASH_READ_ADDRESS: u64 = 0x108;

/// LeakyOpenSession(NULL, 0x10) called from Widget.exe: session_init(NULL, 0x10) calls
/// open_pool(&NULL->pool = 8, 0x11), whose inlined acquire_slot reads `p->next` at 8 + 0x100.
///
/// Stack (x64, no frame pointers; each frame from the function's real prologue):
///
/// | Rsp+   | content                                   | frame |
/// | ------ | ----------------------------------------- | ----- |
/// | 0x00   | home area (0x20)                          | open_pool: `push rsi; push rdi; push rbx; sub rsp,0x20` |
/// | 0x20   | saved rbx (Widget's)                      | |
/// | 0x28   | saved rdi (Widget's)                      | |
/// | 0x30   | saved rsi (= ctx = 0, session_init's rsi) | |
/// | 0x38   | return → leakylib+0x1064 (session_init)   | |
/// | 0x40   | home area (0x20)                          | session_init: `push rsi; sub rsp,0x20` |
/// | 0x60   | saved rsi (= ctx = 0, LeakyOpenSession's) | |
/// | 0x68   | return → leakylib+0x102d (LeakyOpenSession) | |
/// | 0x70   | home area (0x20)                          | LeakyOpenSession: `push rsi; sub rsp,0x20` |
/// | 0x90   | saved rsi (Widget's)                      | |
/// | 0x98   | return → Widget+0x1e2f7                   | |
/// | 0xa0   | Widget frame (0x68 bytes)                 | |
/// | 0x108  | return → Widget+0x1b0a4                   | |
/// | 0x110  | Widget frame (0x48 bytes)                 | |
/// | 0x158  | return → Widget+0x3a9e0                   | |
/// | 0x160  | outermost Widget frame, zero (0x40)       | |
pub fn widget_crash(space: &AddressSpace) -> Crash {
    let leaky = space.module("leakylib").module.base_of_image;
    let widget = space.module("Widget").module.base_of_image;
    let mut st = vec![0u8; (CRASH_STACK_BASE - CRASH_RSP) as usize];
    let mut put = |off: usize, v: u64| st[off..off + 8].copy_from_slice(&v.to_le_bytes());
    // open_pool's home area: whatever the callee of an earlier call left there (not code).
    put(0x00, 0x0000_0000_0000_0001);
    put(0x08, 0x0000_01F3_8A2C_4E10);
    put(0x20, WIDGET_RBX);
    put(0x28, WIDGET_RDI);
    put(0x30, 0); // session_init's rsi = ctx
    put(0x38, leaky + u64::from(RVA_RET_SESSION_INIT));
    put(0x60, 0); // LeakyOpenSession's rsi = ctx
    put(0x68, leaky + u64::from(RVA_RET_LEAKY_OPEN_SESSION));
    put(0x70, 0); // home area: rcx = ctx
    put(0x78, 0x10); // rdx = flags
    put(0x90, WIDGET_RSI);
    put(0x98, widget + 0x1e2f7);
    // Widget frame 1: locals (a stack pointer and heap pointers, no code addresses).
    put(0xa0 + 0x20, CRASH_RSP + 0x140);
    put(0xa0 + 0x28, WIDGET_RSI);
    put(0xa0 + 0x60, 0x0000_01F3_8A2C_0000);
    put(0x108, widget + 0x1b0a4);
    put(0x110 + 0x20, 0x0000_0000_0000_0003);
    put(0x110 + 0x40, 0x0000_01F3_8A2A_1F80);
    put(0x158, widget + 0x3a9e0);
    let rsp = CRASH_RSP;
    let rip = leaky + u64::from(RVA_CRASH);
    let context = ContextAmd64 {
        context_flags: CONTEXT_AMD64_ALL,
        eflags: 0x0001_0206,
        rax: 0,
        rcx: 8,
        rdx: 0x11,
        rbx: WIDGET_RBX,
        rsp,
        rbp: 0,
        rsi: 0x11,
        rdi: 8,
        r8: 0x0000_00C8_4F4F_FF58,
        r9: 0,
        r10: 0,
        r11: 0x0000_0000_0000_0246,
        r12: 0,
        r13: 0,
        r14: 0x0000_01F3_8A2C_4E10,
        r15: 0,
        rip,
    };
    Crash {
        thread: Thread {
            stack_start: rsp,
            ..WIDGET_THREADS[0]
        },
        context,
        stack: MemoryRange {
            start: rsp,
            bytes: st,
        },
        exception: ExceptionInfo {
            thread_id: WIDGET_TID,
            code: EXCEPTION_ACCESS_VIOLATION,
            flags: EXCEPTION_NONCONTINUABLE,
            record: 0,
            address: rip,
            parameters: vec![0, CRASH_READ_ADDRESS],
            thread_context: Location::default(),
        },
    }
}

// ------------------------------------------------------------------------------ rendering

/// Streams beyond what [`crate::scenarios::render`] writes.
#[derive(Debug, Clone, Default)]
pub struct Extras<'a> {
    /// MemoryListStream (5) ranges (written after the ModuleList).
    pub memory: &'a [MemoryRange],
    /// Memory64ListStream (9) ranges (written last, data at the end of the file).
    pub memory64: &'a [MemoryRange],
    /// Crash: the thread gets its CONTEXT and stack, its stack goes into a MemoryListStream,
    /// and an ExceptionStream is written.
    pub crash: Option<&'a Crash>,
}

/// Like [`crate::scenarios::render`] plus [`Extras`]. Directory order: ThreadList(3),
/// ModuleList(4), MemoryList(5), Exception(6), SystemInfo(7), MiscInfo(15), HandleData(12),
/// HandleOperationList(18), Memory64List(9) (each only when present).
pub fn render_ex(spec: &DumpSpec<'_>, extras: &Extras<'_>) -> Vec<u8> {
    let mut w = DumpWriter::with_directory_slots(9);
    w.set_time_date_stamp(spec.capture_time)
        .set_flags(spec.flags);
    let mut stack_mem = None;
    let mut ctx_loc = Location::default();
    if let Some(c) = extras.crash {
        stack_mem = Some((c.stack.start, w.add_memory_bytes(&c.stack.bytes)));
        ctx_loc = w.add_context(&c.context.to_bytes());
    }
    let threads: Vec<ThreadEx> = spec
        .threads
        .iter()
        .map(|t| match extras.crash {
            Some(c) if c.thread.thread_id == t.thread_id => ThreadEx {
                thread: c.thread,
                stack: stack_mem,
                context: ctx_loc,
            },
            _ => ThreadEx {
                thread: *t,
                ..ThreadEx::default()
            },
        })
        .collect();
    w.add_thread_list_ex(&threads);
    w.add_module_list(&spec.space.module_list());
    if !extras.memory.is_empty() {
        w.add_memory_list(extras.memory);
    } else if let Some(sm) = stack_mem {
        w.add_memory_list_at(&[sm]);
    }
    if let Some(c) = extras.crash {
        w.add_exception(&ExceptionInfo {
            thread_context: ctx_loc,
            ..c.exception.clone()
        });
    }
    w.add_system_info(&spec.system_info);
    w.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID | MISC1_PROCESS_TIMES,
        process_id: spec.process.pid,
        process_create_time: spec.create_time,
        process_user_time: spec.user_time,
        process_kernel_time: spec.kernel_time,
    });
    if let Some(v) = spec.descriptors {
        w.add_handle_data(v, &spec.process.handle_descriptors());
    }
    if let Some(order) = spec.trace {
        if spec.process.tracing() {
            w.add_handle_operations(&spec.process.trace_records(order));
        }
    }
    if !extras.memory64.is_empty() {
        w.add_memory64_list(extras.memory64);
    }
    w.finish()
}

fn fixture_ex(rel_path: &'static str, spec: &DumpSpec<'_>, extras: &Extras<'_>) -> Fixture {
    let mut f = crate::scenarios::fixture(rel_path, spec);
    f.bytes = render_ex(spec, extras);
    f
}

// ------------------------------------------------------------------------ full memory (H)

/// Page size used to cut the mapped images.
pub const PAGE: u32 = 0x1000;

/// The pages of a mapped image that a reader needs for the export table: the header page and
/// every page of the export directory's data-directory range (which holds the directory, the
/// function/name/ordinal tables and the names). One range per run of contiguous pages.
pub fn export_pages(image: &[u8], base: u64) -> io::Result<Vec<MemoryRange>> {
    let img = PeImage::parse(image)?;
    let mapped = img.map(image)?;
    let (erva, esize) = img.export_directory;
    let mut pages = vec![0u32];
    if esize != 0 {
        let first = erva / PAGE;
        let last = (erva + esize - 1) / PAGE;
        pages.extend(first..=last);
    }
    pages.dedup();
    let mut out: Vec<MemoryRange> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let mut j = i;
        while j + 1 < pages.len() && pages[j + 1] == pages[j] + 1 {
            j += 1;
        }
        let (from, to) = ((pages[i] * PAGE) as usize, ((pages[j] + 1) * PAGE) as usize);
        out.push(MemoryRange {
            start: base + from as u64,
            bytes: mapped[from..to].to_vec(),
        });
        i = j + 1;
    }
    Ok(out)
}

/// Mapped-image ranges of ntdll.dll, kernel32.dll and MSMAPI32.DLL at their module bases,
/// ascending by address.
pub fn incident_image_memory() -> io::Result<Vec<MemoryRange>> {
    use crate::scenarios::{KERNEL32_DLL, MSMAPI32_DLL, NTDLL_DLL};
    let mut out = Vec::new();
    for img in [MSMAPI32_DLL, KERNEL32_DLL, NTDLL_DLL] {
        let base = PeImage::parse(img)?.image_base;
        out.extend(export_pages(img, base)?);
    }
    out.sort_by_key(|r| r.start);
    Ok(out)
}

/// All fixtures of scenarios G, H and I.
pub fn fixtures() -> io::Result<Vec<Fixture>> {
    let mut out = Vec::new();

    // H: incident before (cycle 1) / after (cycle 4) with mapped images.
    let mem = incident_image_memory()?;
    let with_mem = Extras {
        memory: &mem,
        ..Extras::default()
    };
    let with_mem64 = Extras {
        memory64: &mem,
        ..Extras::default()
    };
    let mut inc = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, INCIDENT_RING)?;
    for k in 0..5 {
        inc.run_cycle();
        let spec = inc.spec(TraceOrder::NewestFirst, true);
        if k == 1 {
            out.push(fixture_ex("incident-fullmem/before.dmp", &spec, &with_mem));
        }
        if k == 4 {
            out.push(fixture_ex("incident-fullmem/after.dmp", &spec, &with_mem));
            out.push(fixture_ex(
                "incident-fullmem/after-mem64.dmp",
                &spec,
                &with_mem64,
            ));
        }
    }

    // G: Widget.exe before (1 cycle) / after (3 cycles).
    let mut wid = Widget::start()?;
    let plain = Extras::default();
    for k in 1..=3 {
        wid.run_cycle();
        if k == 1 {
            let spec = wid.spec(widget_capture_time(k));
            out.push(fixture_ex("pdb/before.dmp", &spec, &plain));
        }
    }
    let spec = wid.spec(widget_capture_time(3));
    out.push(fixture_ex("pdb/after.dmp", &spec, &plain));

    // I: the crash, one minute later (same handles as after.dmp).
    let crash = widget_crash(&wid.space);
    let mut spec = wid.spec(WIDGET_CRASH_TIME);
    spec.user_time += 1;
    let crash_extras = Extras {
        crash: Some(&crash),
        ..Extras::default()
    };
    out.push(fixture_ex("pdb/crash.dmp", &spec, &crash_extras));

    // I': the same crash with the stack and leakylib.dll's mapped image in memory.
    let fullmem = crash_fullmem_memory(&wid.space, &crash)?;
    let fullmem_extras = Extras {
        memory64: &fullmem,
        ..crash_extras
    };
    out.push(fixture_ex("pdb/crash-fullmem.dmp", &spec, &fullmem_extras));
    Ok(out)
}

/// The Memory64ListStream ranges of `pdb/crash-fullmem.dmp`, ascending: leakylib.dll as the
/// loader maps it (headers, each section at its RVA, `SizeOfImage` bytes) at its module base,
/// and the crashing thread's stack.
pub fn crash_fullmem_memory(space: &AddressSpace, crash: &Crash) -> io::Result<Vec<MemoryRange>> {
    let mapped = PeImage::parse(LEAKYLIB_DLL)?.map(LEAKYLIB_DLL)?;
    let mut out = vec![
        MemoryRange {
            start: space.module("leakylib").module.base_of_image,
            bytes: mapped,
        },
        crash.stack.clone(),
    ];
    out.sort_by_key(|r| r.start);
    Ok(out)
}
