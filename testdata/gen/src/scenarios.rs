//! The fixture scenarios documented in `testdata/README.md`.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::baseline::{
    contoso_x64, image_module, named, open_all, raw_module, rsds, win10_kernel32, win10_kernelbase,
    win10_module, win10_ntdll, xp_kernel32, xp_messaging, xp_msmapi32, xp_ntdll, xp_startup,
    StartupHandle,
};
use crate::sim::{AddressSpace, OpenSpec, Process, TraceOrder};
use crate::writer::{
    CvRecord, DescriptorVersion, DumpWriter, HandleDescriptor, HandleOperation, MiscInfo, Module,
    SystemInfo, Thread, MINIDUMP_WITH_FULL_MEMORY, MINIDUMP_WITH_HANDLE_DATA, MISC1_PROCESS_ID,
    MISC1_PROCESS_TIMES,
};

/// The PE images built by `testdata/pe/build.sh`, embedded at compile time.
pub const NTDLL_DLL: &[u8] = include_bytes!("../../incident/images/ntdll.dll");
pub const KERNEL32_DLL: &[u8] = include_bytes!("../../incident/images/kernel32.dll");
pub const MSMAPI32_DLL: &[u8] = include_bytes!("../../incident/images/MSMAPI32.DLL");
pub const MAPIHELPER_DLL: &[u8] = include_bytes!("../../incident/images/MapiHelper.dll");

/// 2026-03-02 08:00:00 UTC: OrderMailer.exe (pid 3856) starts.
pub const INCIDENT_CREATE_TIME: u32 = 1_772_438_400;
/// Tracing is enabled one minute after start.
pub const INCIDENT_TRACE_ENABLED: u32 = INCIDENT_CREATE_TIME + 60;
pub const INCIDENT_PID: u32 = 3856;
/// The thread that runs every cycle.
pub const INCIDENT_TID: u32 = 0x0A14;
/// Ring capacity of the incident trace (nothing falls off).
pub const INCIDENT_RING: usize = 4096;
/// Ring capacity of the `wrapped` scenario.
pub const WRAPPED_RING: usize = 16;
pub const OTHER_PID: u32 = 5120;
/// 2026-03-02 10:00:00 UTC.
pub const OTHER_CREATE_TIME: u32 = 1_772_445_600;

/// Capture time of the dump taken right after cycle `k` (cycle 0 ends 08:10:00).
pub fn incident_capture_time(create: u32, k: u32) -> u32 {
    create + 600 * (k + 1)
}

/// Everything needed to render one dump of a simulated process.
#[derive(Debug, Clone)]
pub struct DumpSpec<'a> {
    pub space: &'a AddressSpace,
    pub system_info: SystemInfo,
    pub process: &'a Process,
    pub threads: &'a [Thread],
    pub create_time: u32,
    pub capture_time: u32,
    pub user_time: u32,
    pub kernel_time: u32,
    pub flags: u64,
    /// `None`: no HandleDataStream.
    pub descriptors: Option<DescriptorVersion>,
    /// `None`: no HandleOperationListStream (also omitted when the process never traced).
    pub trace: Option<TraceOrder>,
}

/// Render a dump: ThreadList (if threads), ModuleList, SystemInfo, MiscInfo, HandleData,
/// HandleOperationList, directory right after the header.
pub fn render(spec: &DumpSpec<'_>) -> Vec<u8> {
    let mut w = DumpWriter::with_directory_slots(6);
    w.set_time_date_stamp(spec.capture_time)
        .set_flags(spec.flags);
    if !spec.threads.is_empty() {
        w.add_thread_list(spec.threads);
    }
    w.add_module_list(&spec.space.module_list());
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
    w.finish()
}

/// Modules of OrderMailer.exe (scenario A), in load order.
pub fn incident_space() -> io::Result<AddressSpace> {
    Ok(AddressSpace {
        modules: vec![
            raw_module(
                0x0040_0000,
                0x20000,
                0x0002_A1C4,
                0x69A0_1C3E,
                r"C:\Program Files\Contoso\OrderMailer\OrderMailer.exe",
                [3, 1, 0, 12],
                false,
                rsds(
                    0x5B1E_77C2,
                    0x3A41,
                    0x4C0D,
                    [0x9E, 0x21, 0x6F, 0x0B, 0x44, 0xD3, 0x8A, 0x17],
                    1,
                    r"D:\build\OrderMailer\Release\OrderMailer.pdb",
                ),
            ),
            xp_ntdll()?,
            xp_kernel32()?,
            raw_module(
                0x77C1_0000,
                0x58000,
                0x0005_7D1A,
                0x4110_9627,
                r"C:\WINDOWS\system32\msvcrt.dll",
                [7, 0, 2600, 2180],
                true,
                CvRecord::Nb10 {
                    signature: 0x4110_9627,
                    age: 2,
                    pdb_name: "msvcrt.pdb".to_owned(),
                },
            ),
            xp_msmapi32()?,
            image_module(
                MAPIHELPER_DLL,
                r"C:\Program Files\Contoso\OrderMailer\MapiHelper.dll",
                [2, 4, 1, 7],
                rsds(
                    0xE4D2_0B96,
                    0x15C8,
                    0x4A7F,
                    [0x83, 0x5E, 0xC1, 0x2A, 0x6D, 0xF0, 0x49, 0xB7],
                    3,
                    r"D:\build\MapiHelper\Release\MapiHelper.pdb",
                ),
            )?,
        ],
    })
}

/// The three leaking stacks of scenario A (innermost first), in WinDbg notation.
pub const STACK_MUTANT_A: &[&str] = &[
    "ntdll!NtCreateMutant+0xc",
    "kernel32!CreateMutexA+0x65",
    "MSMAPI32!SzGPrev+0x293",
    "MSMAPI32!MAPIInitialize+0x1c4",
    "OrderMailer+0x1a2b",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_MUTANT_B: &[&str] = &[
    "ntdll!NtCreateMutant+0xc",
    "kernel32!CreateMutexA+0x65",
    "MSMAPI32!MAPIInitialize+0x21a",
    "OrderMailer+0x1a2b",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_SECTION: &[&str] = &[
    "ntdll!NtCreateSection+0xc",
    "kernel32!CreateFileMappingA+0x4e",
    "MSMAPI32!SzGPrev+0x3b1",
    "MSMAPI32!MAPIInitialize+0x2e0",
    "OrderMailer+0x1a2b",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
/// Balanced: opened in MAPIInitialize, closed in MAPIUninitialize.
pub const STACK_MAPI_EVENT_OPEN: &[&str] = &[
    "ntdll!NtCreateEvent+0xc",
    "kernel32!CreateEventA+0x47",
    "MSMAPI32!MAPIInitialize+0x35e",
    "OrderMailer+0x1a2b",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_MAPI_EVENT_CLOSE: &[&str] = &[
    "ntdll!NtClose+0xc",
    "kernel32!CloseHandle+0x40",
    "MSMAPI32!MAPIUninitialize+0x8a",
    "OrderMailer+0x1c02",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_HELPER_EVENT_OPEN: &[&str] = &[
    "ntdll!NtCreateEvent+0xc",
    "kernel32!CreateEventA+0x47",
    "MapiHelper!HelperProcessBatch+0x5e",
    "OrderMailer+0x1b40",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_HELPER_FILE_OPEN: &[&str] = &[
    "ntdll!NtCreateFile+0xc",
    "kernel32!CreateFileA+0x1b2",
    "MapiHelper!HelperProcessBatch+0x10a",
    "OrderMailer+0x1b40",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_HELPER_FILE_CLOSE: &[&str] = &[
    "ntdll!NtClose+0xc",
    "kernel32!CloseHandle+0x40",
    "MapiHelper!HelperProcessBatch+0x1f3",
    "OrderMailer+0x1b40",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];
pub const STACK_HELPER_EVENT_CLOSE: &[&str] = &[
    "ntdll!NtClose+0xc",
    "kernel32!CloseHandle+0x40",
    "MapiHelper!HelperProcessBatch+0x207",
    "OrderMailer+0x1b40",
    "OrderMailer+0x11f0",
    "kernel32!BaseThreadStart+0x37",
];

pub const SPOOLER_LOCK: &str = r"\BaseNamedObjects\MAPI_SPOOLER_LOCK";

/// Threads of OrderMailer.exe.
pub const INCIDENT_THREADS: &[Thread] = &[
    Thread {
        thread_id: 0x0A14,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 0,
        teb: 0x7FFD_F000,
        stack_start: 0x0012_C000,
    },
    Thread {
        thread_id: 0x0B2C,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 0,
        teb: 0x7FFD_E000,
        stack_start: 0x00F6_F000,
    },
    Thread {
        thread_id: 0x0C40,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 1,
        teb: 0x7FFD_D000,
        stack_start: 0x0106_F000,
    },
];

/// The 40 startup handles of OrderMailer.exe (type, name), opened before tracing.
pub fn incident_baseline() -> Vec<StartupHandle> {
    let mut handles = xp_startup(
        r"\Device\HarddiskVolume1\Program Files\Contoso\OrderMailer",
        "WinSta0",
        r"\REGISTRY\USER\S-1-5-21-1004336348-1177238915-682003330-1003",
    );
    handles.extend([
        (
            "Key",
            named(
                r"\REGISTRY\USER\S-1-5-21-1004336348-1177238915-682003330-1003\Software\Contoso\OrderMailer",
            ),
        ),
        (
            "File",
            named(
                r"\Device\HarddiskVolume1\WINDOWS\WinSxS\x86_Microsoft.Windows.Common-Controls_6595b64144ccf1df_6.0.2600.2180_x-ww_a84f1ff9",
            ),
        ),
        (
            "Event",
            named(r"\BaseNamedObjects\userenv: User Profile setup event"),
        ),
        (
            "Semaphore",
            named(r"\BaseNamedObjects\shell.{A48F1A32-A340-11D1-BC6B-00A0C90312E1}"),
        ),
    ]);
    handles.extend(xp_messaging());
    handles
}

/// Before these baseline indices a temporary Event is opened; all four are closed again before
/// tracing starts (they leave holes in the handle table that cycle 0 reuses).
const INCIDENT_STARTUP_TEMP: &[usize] = &[3, 12, 21, 30];

/// The OrderMailer.exe simulation (scenario A and its variants).
#[derive(Debug, Clone)]
pub struct Incident {
    pub space: AddressSpace,
    pub process: Process,
    pub create_time: u32,
    /// Cycles completed so far.
    pub cycles: u32,
    /// Handle values opened and leaked per cycle: `[MutantA, MutantB, Section]`.
    pub leaked: Vec<[u64; 3]>,
}

impl Incident {
    /// Start the process, open the startup handles, enable tracing.
    pub fn start(pid: u32, create_time: u32, ring: usize) -> io::Result<Incident> {
        let space = incident_space()?;
        let mut process = Process::new(pid);
        let mut temps = Vec::new();
        for (i, (ty, name)) in incident_baseline().iter().enumerate() {
            if INCIDENT_STARTUP_TEMP.contains(&i) {
                temps.push(process.open_simple(INCIDENT_TID, "Event", None, &[]));
            }
            process.open_simple(INCIDENT_TID, ty, name.as_deref(), &[]);
        }
        for h in temps {
            process.close(INCIDENT_TID, h, &[]);
        }
        process.enable_trace(ring);
        Ok(Incident {
            space,
            process,
            create_time,
            cycles: 0,
            leaked: Vec::new(),
        })
    }

    /// Run one cycle (MAPIInitialize, HelperProcessBatch, MAPIUninitialize).
    pub fn run_cycle(&mut self) {
        let k = self.cycles;
        let tid = INCIDENT_TID;
        let s = |f: &[&str]| self.space.stack(f);
        let (sa, sb, ss) = (s(STACK_MUTANT_A), s(STACK_MUTANT_B), s(STACK_SECTION));
        let (meo, mec) = (s(STACK_MAPI_EVENT_OPEN), s(STACK_MAPI_EVENT_CLOSE));
        let (heo, hec) = (s(STACK_HELPER_EVENT_OPEN), s(STACK_HELPER_EVENT_CLOSE));
        let (hfo, hfc) = (s(STACK_HELPER_FILE_OPEN), s(STACK_HELPER_FILE_CLOSE));
        let p = &mut self.process;
        // MAPIInitialize
        let a = p.open_simple(tid, "Mutant", None, &sa);
        let b = p.open_simple(tid, "Mutant", Some(SPOOLER_LOCK), &sb);
        let c = p.open_simple(tid, "Section", None, &ss);
        let ev = p.open_simple(tid, "Event", None, &meo);
        // HelperProcessBatch
        let hev = p.open_simple(tid, "Event", None, &heo);
        let file = format!(r"C:\ProgramData\Contoso\queue\batch-{k}.tmp");
        let hf = p.open(
            tid,
            &OpenSpec::new("File", Some(&file)).with_access(0x0012_0196),
            &hfo,
        );
        p.close(tid, hf, &hfc);
        p.close(tid, hev, &hec);
        // MAPIUninitialize
        p.close(tid, ev, &mec);
        self.leaked.push([a, b, c]);
        self.cycles += 1;
    }

    /// Capture time of a dump taken now (after the last completed cycle).
    pub fn capture_time(&self) -> u32 {
        assert!(self.cycles > 0);
        incident_capture_time(self.create_time, self.cycles - 1)
    }

    /// Description of a dump of the current state.
    pub fn spec(&self, order: TraceOrder, with_handles: bool) -> DumpSpec<'_> {
        let flags = if with_handles {
            MINIDUMP_WITH_HANDLE_DATA | MINIDUMP_WITH_FULL_MEMORY
        } else {
            MINIDUMP_WITH_FULL_MEMORY
        };
        DumpSpec {
            space: &self.space,
            system_info: SystemInfo::windows_xp_sp2_x86(),
            process: &self.process,
            threads: INCIDENT_THREADS,
            create_time: self.create_time,
            capture_time: self.capture_time(),
            user_time: 2 + 3 * self.cycles,
            kernel_time: 1 + self.cycles,
            flags,
            descriptors: with_handles.then_some(DescriptorVersion::V2),
            trace: with_handles.then_some(order),
        }
    }

    /// Render a dump of the current state.
    pub fn dump(&self, order: TraceOrder, with_handles: bool) -> Vec<u8> {
        render(&self.spec(order, with_handles))
    }
}

// ---------------------------------------------------------------------------------- x64 helpers

pub(crate) fn win10_space(exe: &str, exe_base: u64) -> AddressSpace {
    AddressSpace {
        modules: vec![
            win10_module(
                exe_base,
                0x3A000,
                0x65F1_2C44,
                exe,
                [1, 8, 0, 310],
                0x1A2B_3C4D,
            ),
            win10_ntdll(),
            win10_kernel32(),
            win10_kernelbase(),
        ],
    }
}

/// The startup handles of the x64 scenarios B (Indexer.exe), C (JobRunner.exe) and G
/// (Widget.exe). All three name the WIL mutant after pid 7200 (scenario B's), whatever their
/// own pid.
pub(crate) fn win10_baseline() -> Vec<StartupHandle> {
    contoso_x64(NOTRACE_PID)
}

// --------------------------------------------------------------------------------- scenario B

pub const NOTRACE_PID: u32 = 7200;
/// 2026-03-02 09:00:00 UTC.
pub const NOTRACE_CREATE_TIME: u32 = 1_772_442_000;
pub const NOTRACE_BEFORE_TIME: u32 = NOTRACE_CREATE_TIME + 1800;
pub const NOTRACE_AFTER_TIME: u32 = NOTRACE_CREATE_TIME + 9000;
pub const NOTRACE_CLOSED_FILE: &str = r"\Device\HarddiskVolume3\Data\Index\shard-07.idx";

/// Scenario B: `(before, after, process at before, process at after)`.
pub fn notrace_x64() -> (Fixture, Fixture, Process, Process) {
    let space = win10_space(
        r"C:\Program Files\Contoso\Indexer\Indexer.exe",
        0x0000_7FF6_41E2_0000,
    );
    let mut p = Process::new(NOTRACE_PID);
    open_all(&mut p, 0x1C2C, &win10_baseline());
    let mut shard = 0;
    for i in 0..8 {
        let name = format!(r"\Device\HarddiskVolume3\Data\Index\shard-{i:02}.idx");
        let h = p.open_simple(0x1C2C, "File", Some(&name), &[]);
        if i == 7 {
            shard = h;
        }
    }
    let threads = [Thread {
        thread_id: 0x1C2C,
        priority_class: 0x20,
        teb: 0x0000_00A3_5C4E_2000,
        stack_start: 0x0000_00A3_5C8F_0000,
        ..Thread::default()
    }];
    let mk = |rel: &'static str, p: &Process, t: u32, user: u32| {
        fixture(
            rel,
            &DumpSpec {
                space: &space,
                system_info: SystemInfo::windows_10_x64(),
                process: p,
                threads: &threads,
                create_time: NOTRACE_CREATE_TIME,
                capture_time: t,
                user_time: user,
                kernel_time: user / 2,
                flags: MINIDUMP_WITH_HANDLE_DATA,
                descriptors: Some(DescriptorVersion::V1),
                trace: None,
            },
        )
    };
    let before = mk("notrace-x64/before.dmp", &p, NOTRACE_BEFORE_TIME, 14);
    let p_before = p.clone();
    p.open_simple(0x1C2C, "Event", None, &[]);
    p.open_simple(
        0x1C2C,
        "Event",
        Some(r"\Sessions\1\BaseNamedObjects\IndexerFlushDone"),
        &[],
    );
    p.open_simple(
        0x1C2C,
        "Key",
        Some(r"\REGISTRY\MACHINE\SOFTWARE\Contoso\Indexer\Shards"),
        &[],
    );
    p.close(0x1C2C, shard, &[]);
    let after = mk("notrace-x64/after.dmp", &p, NOTRACE_AFTER_TIME, 71);
    (before, after, p_before, p)
}

// --------------------------------------------------------------------------------- scenario C

pub const REUSE_PID: u32 = 6404;
pub const REUSE_TID: u32 = 0x2F10;
/// 2026-03-02 12:00:00 UTC.
pub const REUSE_CREATE_TIME: u32 = 1_772_452_800;
pub const REUSE_BEFORE_TIME: u32 = REUSE_CREATE_TIME + 300;
pub const REUSE_AFTER_TIME: u32 = REUSE_CREATE_TIME + 900;

pub const REUSE_STACK_JOBDONE: &[&str] = &[
    "ntdll+0x9d4c4",
    "KERNELBASE+0x3a0b6",
    "JobRunner+0x1f7c",
    "JobRunner+0x10d2",
    "KERNEL32+0x17034",
    "ntdll+0x52651",
];
pub const REUSE_STACK_NAMED_EVENT: &[&str] = &[
    "ntdll+0x9d4c4",
    "KERNELBASE+0x3a0b6",
    "JobRunner+0x2210",
    "JobRunner+0x10d2",
    "KERNEL32+0x17034",
    "ntdll+0x52651",
];
pub const REUSE_STACK_KEY: &[&str] = &[
    "ntdll+0x9d2f4",
    "KERNELBASE+0x5c1e0",
    "JobRunner+0x2488",
    "JobRunner+0x10d2",
    "KERNEL32+0x17034",
    "ntdll+0x52651",
];
pub const REUSE_STACK_FILE: &[&str] = &[
    "ntdll+0x9d8e4",
    "KERNELBASE+0x2a1c0",
    "JobRunner+0x2b04",
    "JobRunner+0x10d2",
    "KERNEL32+0x17034",
    "ntdll+0x52651",
];
pub const REUSE_STACK_SEMAPHORE: &[&str] = &[
    "ntdll+0x9dc24",
    "KERNELBASE+0x3b5f0",
    "JobRunner+0x2c90",
    "JobRunner+0x10d2",
    "KERNEL32+0x17034",
    "ntdll+0x52651",
];
pub const REUSE_STACK_CLOSE: &[&str] = &[
    "ntdll+0x9d1a4",
    "KERNELBASE+0x2f3c2",
    "JobRunner+0x1e40",
    "JobRunner+0x10d2",
    "KERNEL32+0x17034",
    "ntdll+0x52651",
];

/// Scenario C: `(before, after, process at before, process at after)`.
pub fn reuse() -> (Fixture, Fixture, Process, Process) {
    let space = win10_space(
        r"C:\Program Files\Contoso\JobRunner\JobRunner.exe",
        0x0000_7FF7_0C3A_0000,
    );
    let mut p = Process::new(REUSE_PID);
    open_all(&mut p, REUSE_TID, &win10_baseline());
    // The handle table has grown and shrunk before; new values continue at 0x1c4.
    p.set_next_handle_value(0x1c4);
    p.enable_trace(INCIDENT_RING);
    let st = |f: &[&str]| space.stack(f);
    let jobdone = p.open_simple(
        REUSE_TID,
        "Event",
        Some(r"\BaseNamedObjects\JobDone"),
        &st(REUSE_STACK_JOBDONE),
    );
    let a = p.open_simple(
        REUSE_TID,
        "Event",
        Some(r"\BaseNamedObjects\A"),
        &st(REUSE_STACK_NAMED_EVENT),
    );
    let key = p.open_simple(
        REUSE_TID,
        "Key",
        Some(r"\REGISTRY\MACHINE\SOFTWARE\Contoso\JobRunner"),
        &st(REUSE_STACK_KEY),
    );
    assert_eq!((jobdone, a, key), (0x1c4, 0x1c8, 0x1cc));
    let threads = [Thread {
        thread_id: REUSE_TID,
        priority_class: 0x20,
        teb: 0x0000_0091_7A3D_1000,
        stack_start: 0x0000_0091_7A60_0000,
        ..Thread::default()
    }];
    let mk = |rel: &'static str, p: &Process, t: u32, user: u32| {
        fixture(
            rel,
            &DumpSpec {
                space: &space,
                system_info: SystemInfo::windows_10_x64(),
                process: p,
                threads: &threads,
                create_time: REUSE_CREATE_TIME,
                capture_time: t,
                user_time: user,
                kernel_time: user / 3,
                flags: MINIDUMP_WITH_HANDLE_DATA,
                descriptors: Some(DescriptorVersion::V2),
                trace: Some(TraceOrder::NewestFirst),
            },
        )
    };
    let before = mk("reuse/before.dmp", &p, REUSE_BEFORE_TIME, 3);
    let p_before = p.clone();
    let close = st(REUSE_STACK_CLOSE);
    p.close(REUSE_TID, jobdone, &close);
    let f = p.open_simple(
        REUSE_TID,
        "File",
        Some(r"\Device\HarddiskVolume3\Jobs\out\job-0042.dat"),
        &st(REUSE_STACK_FILE),
    );
    p.close(REUSE_TID, a, &close);
    let b = p.open_simple(
        REUSE_TID,
        "Event",
        Some(r"\BaseNamedObjects\B"),
        &st(REUSE_STACK_NAMED_EVENT),
    );
    let sem = p.open_simple(REUSE_TID, "Semaphore", None, &st(REUSE_STACK_SEMAPHORE));
    p.close(REUSE_TID, key, &close);
    assert_eq!((f, b, sem), (0x1c4, 0x1c8, 0x1d0));
    let after = mk("reuse/after.dmp", &p, REUSE_AFTER_TIME, 9);
    (before, after, p_before, p)
}

// ------------------------------------------------------------------------------------- all

/// One generated file: path relative to the testdata dir, its bytes, and what went into it.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub rel_path: &'static str,
    pub bytes: Vec<u8>,
    pub pid: u32,
    pub capture_time: u32,
    pub create_time: u32,
    pub flags: u64,
    pub system_info: SystemInfo,
    pub modules: Vec<Module>,
    /// Handle descriptors written (None: no HandleDataStream).
    pub handles: Option<Vec<HandleDescriptor>>,
    pub descriptor_version: Option<DescriptorVersion>,
    /// Trace records in file order (None: no HandleOperationListStream).
    pub trace: Option<Vec<HandleOperation>>,
    pub trace_order: Option<TraceOrder>,
}

/// Render `spec` and keep what went into it.
pub fn fixture(rel_path: &'static str, spec: &DumpSpec<'_>) -> Fixture {
    let trace_order = spec.trace.filter(|_| spec.process.tracing());
    Fixture {
        rel_path,
        bytes: render(spec),
        pid: spec.process.pid,
        capture_time: spec.capture_time,
        create_time: spec.create_time,
        flags: spec.flags,
        system_info: spec.system_info.clone(),
        modules: spec.space.module_list(),
        handles: spec.descriptors.map(|_| spec.process.handle_descriptors()),
        descriptor_version: spec.descriptors,
        trace: trace_order.map(|o| spec.process.trace_records(o)),
        trace_order,
    }
}

const SERIES: [&str; 7] = [
    "incident/series/cycle-0.dmp",
    "incident/series/cycle-1.dmp",
    "incident/series/cycle-2.dmp",
    "incident/series/cycle-3.dmp",
    "incident/series/cycle-4.dmp",
    "incident/series/cycle-5.dmp",
    "incident/series/cycle-6.dmp",
];

/// Build every fixture in memory (deterministic).
pub fn all_fixtures() -> io::Result<Vec<Fixture>> {
    let mut out = Vec::new();
    let nf = TraceOrder::NewestFirst;

    // A: incident, series, E oldest-first, F nohandles.
    let mut inc = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, INCIDENT_RING)?;
    for (k, rel) in SERIES.iter().enumerate() {
        inc.run_cycle();
        out.push(fixture(rel, &inc.spec(nf, true)));
        if k == 1 {
            out.push(fixture("incident/before.dmp", &inc.spec(nf, true)));
        }
        if k == 4 {
            out.push(fixture("incident/after.dmp", &inc.spec(nf, true)));
            let oldest = inc.spec(TraceOrder::OldestFirst, true);
            out.push(fixture("oldest-first/after.dmp", &oldest));
            out.push(fixture("nohandles.dmp", &inc.spec(nf, false)));
        }
    }

    // F: other process, after its cycle 4.
    let mut other = Incident::start(OTHER_PID, OTHER_CREATE_TIME, INCIDENT_RING)?;
    for _ in 0..5 {
        other.run_cycle();
    }
    out.push(fixture("other-process.dmp", &other.spec(nf, true)));

    // D: wrapped ring.
    let mut wr = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, WRAPPED_RING)?;
    for k in 0..5 {
        wr.run_cycle();
        if k == 1 {
            out.push(fixture("wrapped/before.dmp", &wr.spec(nf, true)));
        }
    }
    out.push(fixture("wrapped/after.dmp", &wr.spec(nf, true)));

    // B
    let (b0, b1, _, _) = notrace_x64();
    out.push(b0);
    out.push(b1);

    // C
    let (c0, c1, _, _) = reuse();
    out.push(c0);
    out.push(c1);

    // G, H, I: leakylib.dll + PDB, full-memory incident, crash.
    out.extend(crate::leaky::fixtures()?);

    // K: Indexer.exe observed over 8 dumps, another process, a truncated dump.
    out.extend(crate::series::fixtures());

    // M: ReportSvc.exe dumped hourly without tracing: slow leak, plateau, decline, churn.
    out.extend(crate::noisy::fixtures());

    Ok(out)
}

/// Write every fixture below `outdir` (the testdata directory), then the files of `batch/`
/// ([`crate::batch::write`]); returns the paths written.
pub fn write_all(outdir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for f in all_fixtures()? {
        let path = outdir.join(f.rel_path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &f.bytes)?;
        paths.push(path);
    }
    // L: batch/ (not in `all_fixtures`: it holds non-dump files too).
    paths.extend(crate::batch::write(outdir)?);
    Ok(paths)
}

/// Human-readable facts about the scenarios (used to write `testdata/README.md`).
pub fn facts() -> io::Result<String> {
    let mut s = String::new();
    let space = incident_space()?;
    writeln!(s, "## modules").ok();
    for m in &space.modules {
        let md = &m.module;
        writeln!(
            s,
            "{} base={:#010x} size={:#x} ts={:#010x} checksum={:#x} ver={:?}",
            md.name,
            md.base_of_image,
            md.size_of_image,
            md.time_date_stamp,
            md.checksum,
            md.file_version
        )
        .ok();
        if let Some(img) = &m.image {
            for (n, r) in &img.exports {
                writeln!(
                    s,
                    "    export {n} rva={r:#x} va={:#010x}",
                    md.base_of_image + u64::from(*r)
                )
                .ok();
            }
        }
    }
    for (name, frames) in [
        ("MutantA", STACK_MUTANT_A),
        ("MutantB", STACK_MUTANT_B),
        ("Section", STACK_SECTION),
        ("MapiEventOpen", STACK_MAPI_EVENT_OPEN),
        ("MapiEventClose", STACK_MAPI_EVENT_CLOSE),
        ("HelperEventOpen", STACK_HELPER_EVENT_OPEN),
        ("HelperFileOpen", STACK_HELPER_FILE_OPEN),
        ("HelperFileClose", STACK_HELPER_FILE_CLOSE),
        ("HelperEventClose", STACK_HELPER_EVENT_CLOSE),
    ] {
        writeln!(s, "## stack {name}").ok();
        for f in frames {
            writeln!(s, "    {:#010x} {f}", space.addr(f)).ok();
        }
    }
    let mut inc = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, INCIDENT_RING)?;
    writeln!(
        s,
        "## incident startup: {} handles {:?}",
        inc.process.handle_count(),
        inc.process.counts_by_type()
    )
    .ok();
    for k in 0..7 {
        inc.run_cycle();
        let p = &inc.process;
        writeln!(
            s,
            "## after cycle {k}: t={} handles={} records={} leaked={:x?}\n    {:?}",
            inc.capture_time(),
            p.handle_count(),
            p.trace_records(TraceOrder::OldestFirst).len(),
            inc.leaked[k as usize],
            p.counts_by_type()
        )
        .ok();
    }
    let mut a = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, INCIDENT_RING)?;
    for _ in 0..5 {
        a.run_cycle();
    }
    writeln!(s, "## incident after.dmp handle table").ok();
    for d in a.process.handle_descriptors() {
        writeln!(
            s,
            "| {:#06x} | {} | {} | {:#x} | {}/{} | {} |",
            d.handle,
            d.type_name.as_deref().unwrap_or(""),
            d.object_name.as_deref().unwrap_or(""),
            d.granted_access,
            d.handle_count,
            d.pointer_count,
            d.object_info.len()
        )
        .ok();
    }
    let mut wr = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, WRAPPED_RING)?;
    for _ in 0..5 {
        wr.run_cycle();
    }
    let recs = wr.process.trace_records(TraceOrder::NewestFirst);
    writeln!(
        s,
        "## wrapped after: {} records (newest first):",
        recs.len()
    )
    .ok();
    for r in &recs {
        writeln!(
            s,
            "    {:#x} op={} depth={}",
            r.handle,
            r.operation_type,
            r.stack.len()
        )
        .ok();
    }
    for (k, l) in wr.leaked.iter().enumerate().skip(2) {
        for h in l {
            let has = recs.iter().any(|r| r.handle == *h);
            writeln!(
                s,
                "    cycle {k} leaked {h:#x} {:?} record={has}",
                wr.process.describe(*h)
            )
            .ok();
        }
    }
    let (_, _, b0, b1) = notrace_x64();
    for (n, p) in [("notrace before", &b0), ("notrace after", &b1)] {
        writeln!(
            s,
            "## {n}: {} handles {:?}",
            p.handle_count(),
            p.counts_by_type()
        )
        .ok();
    }
    writeln!(s, "    before values {:x?}", b0.handle_values()).ok();
    writeln!(s, "    after values {:x?}", b1.handle_values()).ok();
    let (_, _, c0, c1) = reuse();
    for (n, p) in [("reuse before", &c0), ("reuse after", &c1)] {
        writeln!(
            s,
            "## {n}: {} handles {:?} records {}",
            p.handle_count(),
            p.counts_by_type(),
            p.trace_records(TraceOrder::OldestFirst).len()
        )
        .ok();
        for v in p.handle_values() {
            if v >= 0x1c4 {
                writeln!(s, "    {v:#x} {:?}", p.describe(v)).ok();
            }
        }
    }
    crate::series::facts(&mut s);
    crate::batch::facts(&mut s)?;
    Ok(s)
}
