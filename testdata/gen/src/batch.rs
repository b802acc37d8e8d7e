//! Scenario L of `testdata/README.md`: `batch/` — a support team's folder of customer dumps of
//! `MailSvc.exe`, each loading MSMAPI32.DLL 11.0.5601.0 (leaks one unnamed Mutant, one handle to
//! the named spooler-lock Mutant and one unnamed Section per 5-minute MAPI cycle) or
//! 11.0.8161.0 (closes everything it opens). MailSvc.exe's own version (5.2.0.1 / 5.3.0.4) and
//! the third-party `AvScan.dll 3.1.0.0` are spread evenly over both groups, so only the
//! MSMAPI32 version goes with the handle counts. Two of the leaky dumps are crash dumps (an
//! access violation in MSMAPI32 on x86, `STATUS_NO_MEMORY` raised through KERNELBASE on AMD64);
//! four dumps carry handle-trace records. Next to them: `truncated.dmp`, `empty.dmp`,
//! `notes.txt`, `hostile.dmp`; and `site-b/` with two more dumps (only found recursively).
//!
//! [`bench_dump`] renders small dumps of the same kind for a throughput benchmark
//! (`make-fixtures --batch-bench OUTDIR N`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::baseline::{
    named, open_all, win10_kernel32, win10_kernelbase, win10_module, win10_ntdll, win10_startup,
    xp_kernel32, xp_messaging, xp_msmapi32, xp_ntdll, xp_startup, StartupHandle, MSMAPI32_PATH,
};
use crate::scenarios::{INCIDENT_RING, SPOOLER_LOCK};
use crate::sim::{AddressSpace, LoadedModule, Process, TraceOrder};
use crate::writer::{
    put_u32, ContextAmd64, ContextX86, DescriptorVersion, DumpWriter, ExceptionInfo, Location,
    MiscInfo, SystemInfo, Thread, ThreadEx, CONTEXT_AMD64_ALL, CONTEXT_X86_ALL,
    EXCEPTION_ACCESS_VIOLATION, EXCEPTION_NONCONTINUABLE, HANDLE_DATA_STREAM,
    MINIDUMP_WITH_HANDLE_DATA, MISC1_PROCESS_ID, MISC1_PROCESS_TIMES, STATUS_NO_MEMORY,
};

// ------------------------------------------------------------------------------ the model

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86,
    Amd64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::Amd64 => "AMD64",
        }
    }
}

/// MSMAPI32.DLL version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mapi {
    /// 11.0.5601.0: leaks 2 Mutant + 1 Section handles per cycle.
    Leaky,
    /// 11.0.8161.0: balanced.
    Fixed,
}

impl Mapi {
    pub fn version(self) -> [u16; 4] {
        match self {
            Mapi::Leaky => [11, 0, 5601, 0],
            Mapi::Fixed => [11, 0, 8161, 0],
        }
    }
    pub fn version_str(self) -> &'static str {
        match self {
            Mapi::Leaky => "11.0.5601.0",
            Mapi::Fixed => "11.0.8161.0",
        }
    }
}

/// MailSvc.exe version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exe {
    V5201,
    V5304,
}

impl Exe {
    pub fn version(self) -> [u16; 4] {
        match self {
            Exe::V5201 => [5, 2, 0, 1],
            Exe::V5304 => [5, 3, 0, 4],
        }
    }
    pub fn version_str(self) -> &'static str {
        match self {
            Exe::V5201 => "5.2.0.1",
            Exe::V5304 => "5.3.0.4",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    /// x86 only: read of NULL+0x10 in `MSMAPI32!SzGPrev+0x2c1`.
    AccessViolation,
    /// AMD64 only: `STATUS_NO_MEMORY` raised by MSMAPI32 (CreateMutexA failed) through
    /// `KERNELBASE!RaiseException`.
    NoMemory,
}

/// One customer's dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Path relative to the testdata dir (`batch/...`), or a bench file name.
    pub file: String,
    pub pid: u32,
    pub capture_time: u32,
    /// Capture time − create time (seconds). The process opens its startup handles, then runs
    /// one MAPI cycle every 300 s starting 900 s after start: cycles = (uptime − 900) / 300.
    pub uptime: u32,
    pub arch: Arch,
    pub mapi: Mapi,
    pub exe: Exe,
    pub avscan: bool,
    /// Worker connections (Thread + Event + File each).
    pub workers: u32,
    /// How many of the last cycles are traced (0: no HandleOperationListStream).
    pub traced: u32,
    pub crash: Option<CrashKind>,
    pub processors: u8,
    pub descriptors: DescriptorVersion,
}

impl Customer {
    pub fn create_time(&self) -> u32 {
        self.capture_time - self.uptime
    }
    /// MAPI cycles run before the capture.
    pub fn cycles(&self) -> u32 {
        (self.uptime - STARTUP) / CYCLE
    }
    pub fn tids(&self) -> [u32; 3] {
        let main = 0x104 + ((self.pid * 5) & 0xffc);
        [main, main + 0x5c8, main + 0x9f0]
    }
    /// The thread that runs the MAPI cycles (and crashes).
    pub fn mapi_tid(&self) -> u32 {
        self.tids()[1]
    }
}

/// Seconds from process start to the first MAPI cycle.
pub const STARTUP: u32 = 900;
/// Seconds between MAPI cycles.
pub const CYCLE: u32 = 300;

fn leaky_uptime(cycles: u32, jitter: u32) -> u32 {
    STARTUP + CYCLE * cycles + jitter
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn cust(
    file: &str,
    pid: u32,
    capture_time: u32,
    uptime: u32,
    arch: Arch,
    mapi: Mapi,
    exe: Exe,
    avscan: bool,
    workers: u32,
    traced: u32,
    crash: Option<CrashKind>,
    processors: u8,
) -> Customer {
    Customer {
        file: file.to_owned(),
        pid,
        capture_time,
        uptime,
        arch,
        mapi,
        exe,
        avscan,
        workers,
        traced,
        crash,
        processors,
        // v2 (40 bytes, Mutant info chains) for traced and crash dumps and x86 healthy ones;
        // v1 (32 bytes) for the rest.
        descriptors: if traced > 0 || crash.is_some() || (arch == Arch::X86 && mapi == Mapi::Fixed)
        {
            DescriptorVersion::V2
        } else {
            DescriptorVersion::V1
        },
    }
}

/// The 16 customer dumps (14 in `batch/`, 2 in `batch/site-b/`), leaky first.
#[rustfmt::skip]
pub fn customers() -> Vec<Customer> {
    use Arch::*;
    use Exe::*;
    use Mapi::*;
    let av = Some(CrashKind::AccessViolation);
    let nomem = Some(CrashKind::NoMemory);
    vec![
        cust("batch/cust-7f3a.dmp", 2148, 1_772_529_262, leaky_uptime(160, 137), X86, Leaky, V5201, true, 5, 40, None, 2),
        cust("batch/cust-0c91.dmp", 3412, 1_772_642_465, leaky_uptime(235, 42), Amd64, Leaky, V5304, false, 7, 0, None, 8),
        cust("batch/cust-e45b.dmp", 5876, 1_772_676_468, leaky_uptime(310, 251), X86, Leaky, V5304, true, 4, 30, av, 2),
        cust("batch/cust-2d08.dmp", 1204, 1_772_710_210, leaky_uptime(390, 9), X86, Leaky, V5201, false, 9, 0, None, 4),
        cust("batch/cust-b6c2.dmp", 7720, 1_772_841_511, leaky_uptime(445, 188), Amd64, Leaky, V5201, false, 6, 0, nomem, 16),
        cust("batch/cust-51ef.dmp", 4412, 1_772_954_534, leaky_uptime(180, 73), Amd64, Leaky, V5304, true, 3, 36, None, 4),
        cust("batch/cust-9a37.dmp", 6088, 1_773_061_557, leaky_uptime(275, 215), X86, Leaky, V5304, false, 8, 0, None, 1),
        cust("batch/cust-c8d4.dmp", 2964, 1_773_168_363, leaky_uptime(350, 160), X86, Leaky, V5201, true, 10, 0, None, 2),
        cust("batch/cust-3e6f.dmp", 3340, 1_772_546_559, 19_200, X86, Fixed, V5304, true, 4, 0, None, 2),
        cust("batch/cust-a019.dmp", 9012, 1_772_612_390, 266_400, Amd64, Fixed, V5201, false, 9, 0, None, 8),
        cust("batch/cust-64b8.dmp", 1876, 1_772_793_207, 72_000, X86, Fixed, V5201, false, 3, 20, None, 1),
        cust("batch/cust-d2a5.dmp", 5532, 1_772_917_876, 518_400, Amd64, Fixed, V5304, true, 11, 0, None, 16),
        cust("batch/cust-18c7.dmp", 4700, 1_773_208_122, 33_000, X86, Fixed, V5201, true, 6, 0, None, 4),
        cust("batch/cust-f05e.dmp", 8164, 1_773_329_229, 223_200, Amd64, Fixed, V5304, false, 8, 0, None, 8),
        cust("batch/site-b/cust-4b7d.dmp", 2240, 1_773_045_618, leaky_uptime(205, 96), X86, Leaky, V5304, false, 6, 0, None, 2),
        cust("batch/site-b/cust-8d3c.dmp", 6356, 1_773_255_835, 86_400, Amd64, Fixed, V5201, true, 5, 0, None, 4),
    ]
}

/// The customer dump that `truncated.dmp` is the first half of (not itself in the folder).
pub fn truncated_source() -> Customer {
    cust(
        TRUNCATED_FILE,
        3100,
        1_772_972_204,
        leaky_uptime(120, 33),
        Arch::X86,
        Mapi::Leaky,
        Exe::V5304,
        true,
        4,
        0,
        None,
        2,
    )
}

pub const TRUNCATED_FILE: &str = "batch/truncated.dmp";
pub const EMPTY_FILE: &str = "batch/empty.dmp";
pub const NOTES_FILE: &str = "batch/notes.txt";
pub const HOSTILE_FILE: &str = "batch/hostile.dmp";
/// `hostile.dmp`: MailSvc.exe, pid 6612, captured 2026-03-10 09:09:09 UTC.
pub const HOSTILE_PID: u32 = 6612;
pub const HOSTILE_TIME: u32 = 1_773_133_749;
/// `NumberOfDescriptors` claimed by hostile.dmp's HandleDataStream (2 are present).
pub const HOSTILE_CLAIMED: u32 = 0xFFFF_FFFF;

pub const NOTES_TEXT: &str = "\
Support queue notes - MailSvc handle growth (ticket SR-20417)

Customers were asked to send a dump of MailSvc.exe taken with procdump -ma
or Task Manager when the service looked slow. Site B sent theirs separately;
those are in the site-b folder.

Two customers reported the service going away: one with an access violation,
one with an out-of-memory error. Their dumps are in here as well.

The upload of one dump was interrupted and one customer sent an empty file.
One file came from an unknown tool and could not be opened in the debugger.

Next step: check which MSMAPI32 build the slow machines have in common.
";

pub const MAILSVC_X86: &str = r"C:\Program Files\Contoso\MailSvc\MailSvc.exe";
pub const MAILSVC_X64: &str = r"C:\Program Files\Contoso\MailSvc\MailSvc.exe";
pub const AVSCAN_X86: &str = r"C:\Program Files\Fabrikam\AvScan\AvScan.dll";
pub const AVSCAN_X64: &str = r"C:\Program Files\Fabrikam\AvScan\AvScan.dll";
pub const AVSCAN_VERSION: [u16; 4] = [3, 1, 0, 0];

/// Modules in load order: MailSvc.exe, ntdll, kernel32 (x86) / KERNEL32 + KERNELBASE (AMD64),
/// AvScan.dll (if loaded), MSMAPI32.DLL. On x86 ntdll/kernel32 are the incident images, and
/// MSMAPI32 11.0.5601.0 is the incident image (same identity, so `--symbols
/// testdata/incident/images` names its frames); everything else has no image.
pub fn space(c: &Customer) -> io::Result<AddressSpace> {
    let mut modules: Vec<LoadedModule> = Vec::new();
    match c.arch {
        Arch::X86 => {
            let (ts, size, seed) = match c.exe {
                Exe::V5201 => (0x6740_A1B2, 0x3C000, 0x1D2E_3F40),
                Exe::V5304 => (0x6790_C3D4, 0x3E000, 0x2E3F_4051),
            };
            modules.push(win10_module(
                0x0040_0000,
                size,
                ts,
                MAILSVC_X86,
                c.exe.version(),
                seed,
            ));
            modules.push(xp_ntdll()?);
            modules.push(xp_kernel32()?);
            if c.avscan {
                modules.push(win10_module(
                    0x6A40_0000,
                    0x2C000,
                    0x5E1A_7C44,
                    AVSCAN_X86,
                    AVSCAN_VERSION,
                    0x3F40_5162,
                ));
            }
            modules.push(match c.mapi {
                Mapi::Leaky => xp_msmapi32()?,
                Mapi::Fixed => win10_module(
                    0x35F0_0000,
                    0x4000,
                    0x46F2_B5A0,
                    MSMAPI32_PATH,
                    Mapi::Fixed.version(),
                    0x7A1C_33E0,
                ),
            });
        }
        Arch::Amd64 => {
            let (ts, size, seed) = match c.exe {
                Exe::V5201 => (0x6740_A1B8, 0x52000, 0x4051_6273),
                Exe::V5304 => (0x6790_C3DA, 0x55000, 0x5162_7384),
            };
            modules.push(win10_module(
                0x0000_7FF7_3C1E_0000,
                size,
                ts,
                MAILSVC_X64,
                c.exe.version(),
                seed,
            ));
            modules.push(win10_ntdll());
            modules.push(win10_kernel32());
            modules.push(win10_kernelbase());
            if c.avscan {
                modules.push(win10_module(
                    0x0000_7FFC_9B2E_0000,
                    0x5A000,
                    0x5E1A_7C4A,
                    AVSCAN_X64,
                    AVSCAN_VERSION,
                    0x6273_8495,
                ));
            }
            let (ts, size, seed) = match c.mapi {
                Mapi::Leaky => (0x4243_5B90, 0x6E000, 0x7384_95A6),
                Mapi::Fixed => (0x46F2_B5A6, 0x71000, 0x8495_A6B7),
            };
            modules.push(win10_module(
                0x0000_7FFC_8A60_0000,
                size,
                ts,
                MSMAPI32_PATH,
                c.mapi.version(),
                seed,
            ));
        }
    }
    Ok(AddressSpace { modules })
}

// ------------------------------------------------------------------------------ stacks

/// What a stack does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// MSMAPI32 opens an unnamed Mutant (leaked by 11.0.5601.0).
    Mutant,
    /// MSMAPI32 opens the named spooler lock (11.0.5601.0 only, leaked).
    NamedMutant,
    /// MSMAPI32 opens an unnamed Section (leaked by 11.0.5601.0).
    Section,
    /// MSMAPI32 opens its per-session Event (MAPIInitialize).
    EventOpen,
    /// MSMAPI32 closes the Event (MAPIUninitialize).
    EventClose,
    /// 11.0.8161.0 closes its Mutant / Section (MAPIUninitialize).
    Close,
}

fn sys_frames(arch: Arch, op: Op) -> [&'static str; 2] {
    match (arch, op) {
        (Arch::X86, Op::Mutant | Op::NamedMutant) => {
            ["ntdll!NtCreateMutant+0xc", "kernel32!CreateMutexA+0x65"]
        }
        (Arch::X86, Op::Section) => [
            "ntdll!NtCreateSection+0xc",
            "kernel32!CreateFileMappingA+0x4e",
        ],
        (Arch::X86, Op::EventOpen) => ["ntdll!NtCreateEvent+0xc", "kernel32!CreateEventA+0x47"],
        (Arch::X86, Op::EventClose | Op::Close) => {
            ["ntdll!NtClose+0xc", "kernel32!CloseHandle+0x40"]
        }
        (Arch::Amd64, Op::Mutant | Op::NamedMutant) => ["ntdll+0x9d5a4", "KERNELBASE+0x3b1c0"],
        (Arch::Amd64, Op::Section) => ["ntdll+0x9db84", "KERNELBASE+0x5a2e0"],
        (Arch::Amd64, Op::EventOpen) => ["ntdll+0x9d4c4", "KERNELBASE+0x3a0b6"],
        (Arch::Amd64, Op::EventClose | Op::Close) => ["ntdll+0x9d1a4", "KERNELBASE+0x2f3c2"],
    }
}

/// MSMAPI32 frames (innermost first). x86 11.0.5601.0 is the incident image (export names);
/// the others have no image (raw `MSMAPI32+0xrva`).
#[rustfmt::skip]
pub fn mapi_frames(arch: Arch, mapi: Mapi, op: Op) -> &'static [&'static str] {
    match (arch, mapi, op) {
        (Arch::X86, Mapi::Leaky, Op::Mutant) => &["MSMAPI32!SzGPrev+0x293", "MSMAPI32!MAPIInitialize+0x1c4"],
        (Arch::X86, Mapi::Leaky, Op::NamedMutant) => &["MSMAPI32!MAPIInitialize+0x21a"],
        (Arch::X86, Mapi::Leaky, Op::Section) => &["MSMAPI32!SzGPrev+0x3b1", "MSMAPI32!MAPIInitialize+0x2e0"],
        (Arch::X86, Mapi::Leaky, Op::EventOpen) => &["MSMAPI32!MAPIInitialize+0x35e"],
        (Arch::X86, Mapi::Leaky, _) => &["MSMAPI32!MAPIUninitialize+0x8a"],
        (Arch::X86, Mapi::Fixed, Op::Mutant | Op::NamedMutant) => &["MSMAPI32+0x2ab7", "MSMAPI32+0x11c4"],
        (Arch::X86, Mapi::Fixed, Op::Section) => &["MSMAPI32+0x2bd5", "MSMAPI32+0x12e0"],
        (Arch::X86, Mapi::Fixed, Op::EventOpen) => &["MSMAPI32+0x136a"],
        (Arch::X86, Mapi::Fixed, Op::EventClose) => &["MSMAPI32+0x1c8a"],
        (Arch::X86, Mapi::Fixed, Op::Close) => &["MSMAPI32+0x1cb2"],
        (Arch::Amd64, Mapi::Leaky, Op::Mutant) => &["MSMAPI32+0x3d2a7", "MSMAPI32+0x1a9c4"],
        (Arch::Amd64, Mapi::Leaky, Op::NamedMutant) => &["MSMAPI32+0x1ab5e"],
        (Arch::Amd64, Mapi::Leaky, Op::Section) => &["MSMAPI32+0x3d5f1", "MSMAPI32+0x1ad30"],
        (Arch::Amd64, Mapi::Leaky, Op::EventOpen) => &["MSMAPI32+0x1b0a2"],
        (Arch::Amd64, Mapi::Leaky, _) => &["MSMAPI32+0x2c6e8"],
        (Arch::Amd64, Mapi::Fixed, Op::Mutant | Op::NamedMutant) => &["MSMAPI32+0x3e1b7", "MSMAPI32+0x1aa14"],
        (Arch::Amd64, Mapi::Fixed, Op::Section) => &["MSMAPI32+0x3e501", "MSMAPI32+0x1ad80"],
        (Arch::Amd64, Mapi::Fixed, Op::EventOpen) => &["MSMAPI32+0x1b0f2"],
        (Arch::Amd64, Mapi::Fixed, Op::EventClose) => &["MSMAPI32+0x2c738"],
        (Arch::Amd64, Mapi::Fixed, Op::Close) => &["MSMAPI32+0x2c79c"],
    }
}

/// MailSvc.exe frames: `[call site, service loop]`; the call site is MAPIInitialize's for
/// opens, MAPIUninitialize's for closes.
pub fn exe_frames(arch: Arch, exe: Exe, closing: bool) -> [&'static str; 2] {
    match (arch, exe, closing) {
        (Arch::X86, Exe::V5201, false) => ["MailSvc+0x1a2b", "MailSvc+0x11f0"],
        (Arch::X86, Exe::V5201, true) => ["MailSvc+0x1c02", "MailSvc+0x11f0"],
        (Arch::X86, Exe::V5304, false) => ["MailSvc+0x1b6f", "MailSvc+0x1204"],
        (Arch::X86, Exe::V5304, true) => ["MailSvc+0x1d3a", "MailSvc+0x1204"],
        (Arch::Amd64, Exe::V5201, false) => ["MailSvc+0x2a1b3", "MailSvc+0x1240c"],
        (Arch::Amd64, Exe::V5201, true) => ["MailSvc+0x2a3f0", "MailSvc+0x1240c"],
        (Arch::Amd64, Exe::V5304, false) => ["MailSvc+0x2b0c7", "MailSvc+0x12510"],
        (Arch::Amd64, Exe::V5304, true) => ["MailSvc+0x2b2e8", "MailSvc+0x12510"],
    }
}

fn thread_start(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86 => &["kernel32!BaseThreadStart+0x37"],
        Arch::Amd64 => &["KERNEL32+0x17034", "ntdll+0x52651"],
    }
}

/// Full stack of an operation, innermost first, in WinDbg notation.
pub fn stack_frames(c: &Customer, op: Op) -> Vec<&'static str> {
    let mut f: Vec<&'static str> = sys_frames(c.arch, op).to_vec();
    f.extend_from_slice(mapi_frames(c.arch, c.mapi, op));
    f.extend_from_slice(&exe_frames(
        c.arch,
        c.exe,
        matches!(op, Op::EventClose | Op::Close),
    ));
    f.extend_from_slice(thread_start(c.arch));
    f
}

// ------------------------------------------------------------------------------ simulation

/// MailSvc.exe's 43 startup handles (2 Mutant, 3 Section); names depend on the platform.
/// The service runs as LocalSystem in session 0 (window station `Service-0x0-3e7$`, the
/// `.DEFAULT` user hive, `\BaseNamedObjects`).
pub fn baseline(arch: Arch, pid: u32) -> Vec<StartupHandle> {
    let mut handles;
    match arch {
        Arch::X86 => {
            handles = xp_startup(
                r"\Device\HarddiskVolume1\Program Files\Contoso\MailSvc",
                "Service-0x0-3e7$",
                r"\REGISTRY\USER\.DEFAULT",
            );
            handles.extend([
                (
                    "Key",
                    named(r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Services\MailSvc\Parameters"),
                ),
                ("Mutant", named(r"\BaseNamedObjects\Global\MailSvc.Instance")),
                ("Event", named(r"\BaseNamedObjects\MailSvcStop")),
                (
                    "File",
                    named(
                        r"\Device\HarddiskVolume1\Documents and Settings\All Users\Application Data\Contoso\MailSvc\mailsvc.log",
                    ),
                ),
            ]);
            handles.extend(xp_messaging());
            handles.extend([
                ("Key", named(r"\REGISTRY\MACHINE\SOFTWARE\Clients\Mail")),
                ("Semaphore", None),
                ("Port", None),
            ]);
        }
        Arch::Amd64 => {
            handles = win10_startup(r"\BaseNamedObjects", pid, 304);
            handles.extend([
                (
                    "Key",
                    named(r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Services\MailSvc\Parameters"),
                ),
                (
                    "File",
                    named(r"\Device\HarddiskVolume3\Program Files\Contoso\MailSvc"),
                ),
                (
                    "Mutant",
                    named(r"\BaseNamedObjects\Global\MailSvc.Instance"),
                ),
                ("Event", named(r"\BaseNamedObjects\MailSvcStop")),
                ("Section", named(r"\BaseNamedObjects\MailSvcSharedStats")),
                ("EtwRegistration", None),
                ("File", named(r"\Device\CNG")),
                (
                    "Key",
                    named(r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows Messaging Subsystem"),
                ),
                (
                    "File",
                    named(r"\Device\HarddiskVolume3\ProgramData\Contoso\MailSvc\mailsvc.log"),
                ),
                ("Event", None),
                ("Thread", None),
                ("Section", named(r"\BaseNamedObjects\__ComCatalogCache__")),
                ("File", named(r"\Device\Afd\Endpoint")),
                ("Key", named(r"\REGISTRY\MACHINE\SOFTWARE\Clients\Mail")),
                ("Event", None),
                ("Semaphore", None),
                ("IRTimer", None),
                ("Key", named(r"\REGISTRY\MACHINE")),
                ("Event", None),
                ("WaitCompletionPacket", None),
            ]);
        }
    }
    handles
}

/// A simulated customer process at its capture time.
#[derive(Debug, Clone)]
pub struct Sim {
    pub customer: Customer,
    pub space: AddressSpace,
    pub process: Process,
    /// Leaked handles of each cycle `[Mutant, named Mutant, Section]` (leaky only).
    pub leaked: Vec<[u64; 3]>,
}

/// Run a customer's process: startup handles, AvScan's 2 handles (File `\Device\AvScanFlt`,
/// Event `\BaseNamedObjects\AvScan.ConfigChanged`), 3 per worker, then the MAPI cycles on the
/// MAPI thread. Leaky cycle (5 records when traced): OPEN Mutant, OPEN spooler lock, OPEN
/// Section, OPEN Event, CLOSE Event. Fixed cycle (6): OPEN Mutant, OPEN Section, OPEN Event,
/// CLOSE Event, CLOSE Section, CLOSE Mutant. Tracing (ring 4096) starts before cycle
/// `cycles − traced`.
pub fn simulate(c: &Customer) -> io::Result<Sim> {
    let space = space(c)?;
    let [main, tid, pool] = c.tids();
    let mut p = Process::new(c.pid);
    open_all(&mut p, main, &baseline(c.arch, c.pid));
    if c.avscan {
        p.open_simple(main, "File", Some(r"\Device\AvScanFlt"), &[]);
        p.open_simple(
            main,
            "Event",
            Some(r"\BaseNamedObjects\AvScan.ConfigChanged"),
            &[],
        );
    }
    for _ in 0..c.workers {
        p.open_simple(pool, "Thread", None, &[]);
        p.open_simple(pool, "Event", None, &[]);
        p.open_simple(pool, "File", Some(r"\Device\Afd\Endpoint"), &[]);
    }
    let stacks: BTreeMap<&str, Vec<u64>> = [
        ("m", Op::Mutant),
        ("n", Op::NamedMutant),
        ("s", Op::Section),
        ("eo", Op::EventOpen),
        ("ec", Op::EventClose),
        ("c", Op::Close),
    ]
    .into_iter()
    .map(|(k, op)| (k, space.stack(&stack_frames(c, op))))
    .collect();
    let st = |op: Op| -> &[u64] {
        let k = match op {
            Op::Mutant => "m",
            Op::NamedMutant => "n",
            Op::Section => "s",
            Op::EventOpen => "eo",
            Op::EventClose => "ec",
            Op::Close => "c",
        };
        &stacks[k]
    };
    let cycles = c.cycles();
    let mut leaked = Vec::new();
    for k in 0..cycles {
        if c.traced > 0 && k == cycles.saturating_sub(c.traced) {
            p.enable_trace(INCIDENT_RING);
        }
        match c.mapi {
            Mapi::Leaky => {
                let a = p.open_simple(tid, "Mutant", None, st(Op::Mutant));
                let b = p.open_simple(tid, "Mutant", Some(SPOOLER_LOCK), st(Op::NamedMutant));
                let s = p.open_simple(tid, "Section", None, st(Op::Section));
                let e = p.open_simple(tid, "Event", None, st(Op::EventOpen));
                p.close(tid, e, st(Op::EventClose));
                leaked.push([a, b, s]);
            }
            Mapi::Fixed => {
                let a = p.open_simple(tid, "Mutant", None, st(Op::Mutant));
                let s = p.open_simple(tid, "Section", None, st(Op::Section));
                let e = p.open_simple(tid, "Event", None, st(Op::EventOpen));
                p.close(tid, e, st(Op::EventClose));
                p.close(tid, s, st(Op::Close));
                p.close(tid, a, st(Op::Close));
            }
        }
    }
    Ok(Sim {
        customer: c.clone(),
        space,
        process: p,
        leaked,
    })
}

// ------------------------------------------------------------------------------ crashes

/// A crashing thread: CONTEXT bytes, captured stack, exception.
#[derive(Debug, Clone)]
pub struct Crash {
    pub thread_id: u32,
    pub context: Vec<u8>,
    /// Instruction pointer / stack pointer at the crash.
    pub ip: u64,
    pub sp: u64,
    pub stack: Vec<u8>,
    pub exception: ExceptionInfo,
    /// Return addresses on the stack, innermost first (frames 1.. of a correct unwind).
    pub returns: Vec<u64>,
}

/// Top of the MAPI thread's stack (x86).
pub const X86_STACK_TOP: u64 = 0x00F7_0000;
/// Top of the MAPI thread's stack (AMD64).
pub const X64_STACK_TOP: u64 = 0x0000_00A1_2C50_0000;
/// The faulting read of the access violation: `[eax+0x10]` with eax = 0.
pub const AV_READ_ADDRESS: u64 = 0x10;

/// Crash of a customer's MAPI thread.
///
/// * AccessViolation (x86): Eip `MSMAPI32!SzGPrev+0x2c1` reads `[eax+0x10]`, eax = 0. EBP
///   chain (all frames have `push ebp; mov ebp, esp`): Esp+0x20 = Ebp → [saved ebp = Esp+0x60,
///   ret `MSMAPI32!MAPIInitialize+0x1c4`]; Esp+0x60 → [Esp+0xa0, ret MailSvc call site];
///   Esp+0xa0 → [Esp+0xe0, ret MailSvc loop]; Esp+0xe0 → [0, ret
///   `kernel32!BaseThreadStart+0x37`]. Stack 0x180 bytes.
/// * NoMemory (AMD64): Rip `KERNELBASE+0x34fd9` (RaiseException); return addresses at
///   Rsp+0xd8 (`MSMAPI32+0x3d2c8`), +0x118 (`MSMAPI32+0x1a9c4`), +0x168 (MailSvc call site),
///   +0x1c8 (MailSvc loop), +0x1f8 (`KERNEL32+0x17034`), +0x228 (`ntdll+0x52651`); Rbp 0.
///   Stack 0x260 bytes.
pub fn crash(sim: &Sim, kind: CrashKind) -> Crash {
    let c = &sim.customer;
    let sp = &sim.space;
    let tid = c.mapi_tid();
    let [call, lp] = exe_frames(c.arch, c.exe, false);
    match kind {
        CrashKind::AccessViolation => {
            assert_eq!(c.arch, Arch::X86, "the access violation is an x86 crash");
            let size = 0x180usize;
            let esp = X86_STACK_TOP - size as u64;
            let mut st = vec![0u8; size];
            let mut put = |off: usize, v: u64| {
                st[off..off + 4].copy_from_slice(&(v as u32).to_le_bytes());
            };
            let returns = vec![
                sp.addr("MSMAPI32!MAPIInitialize+0x1c4"),
                sp.addr(call),
                sp.addr(lp),
                sp.addr("kernel32!BaseThreadStart+0x37"),
            ];
            put(0x00, 0); // local: session = NULL
            put(0x04, esp + 0x90); // local: pointer into the caller's frame
            put(0x08, 0x0016_3A28); // local: heap pointer
            for (i, &ret) in returns.iter().enumerate() {
                let ebp = 0x20 + 0x40 * i;
                let next = if i + 1 < returns.len() {
                    esp + (ebp + 0x40) as u64
                } else {
                    0
                };
                put(ebp, next);
                put(ebp + 4, ret);
            }
            put(0x28, 0); // SzGPrev(NULL, 0x11)
            put(0x2c, 0x11);
            put(0x68, 0x0016_3A28); // MAPIInitialize(&session)
            put(0xe8, 0x0016_2F80); // thread parameter
            let eip = sp.addr("MSMAPI32!SzGPrev+0x2c1");
            let ctx = ContextX86 {
                context_flags: CONTEXT_X86_ALL,
                eflags: 0x0001_0246,
                edi: 0x11,
                esi: 0x0016_3A28,
                ebx: 0,
                edx: (esp + 0x90) as u32,
                ecx: 0x11,
                eax: 0,
                ebp: (esp + 0x20) as u32,
                eip: eip as u32,
                esp: esp as u32,
            };
            Crash {
                thread_id: tid,
                context: ctx.to_bytes(),
                ip: eip,
                sp: esp,
                stack: st,
                exception: ExceptionInfo {
                    thread_id: tid,
                    code: EXCEPTION_ACCESS_VIOLATION,
                    flags: 0,
                    record: 0,
                    address: eip,
                    parameters: vec![0, AV_READ_ADDRESS],
                    thread_context: Location::default(),
                },
                returns,
            }
        }
        CrashKind::NoMemory => {
            assert_eq!(c.arch, Arch::Amd64, "the no-memory crash is an AMD64 crash");
            let size = 0x260usize;
            let rsp = X64_STACK_TOP - size as u64;
            let mut st = vec![0u8; size];
            let mut put = |off: usize, v: u64| st[off..off + 8].copy_from_slice(&v.to_le_bytes());
            let returns = vec![
                sp.addr("MSMAPI32+0x3d2c8"),
                sp.addr("MSMAPI32+0x1a9c4"),
                sp.addr(call),
                sp.addr(lp),
                sp.addr("KERNEL32+0x17034"),
                sp.addr("ntdll+0x52651"),
            ];
            // RaiseException's EXCEPTION_RECORD on its stack: code, flags, record, address.
            put(
                0x20,
                u64::from(STATUS_NO_MEMORY) | (u64::from(EXCEPTION_NONCONTINUABLE) << 32),
            );
            put(0x28, 0);
            for (off, &ret) in [0xd8usize, 0x118, 0x168, 0x1c8, 0x1f8, 0x228]
                .iter()
                .zip(&returns)
            {
                put(*off, ret);
            }
            put(0xe0, 0x0000_01D4_7E2A_3C00); // MSMAPI32 locals: heap pointers
            put(0x130, 0x0000_01D4_7E2A_3C00);
            put(0x180, rsp + 0x1a0);
            let rip = sp.addr("KERNELBASE+0x34fd9");
            let ctx = ContextAmd64 {
                context_flags: CONTEXT_AMD64_ALL,
                eflags: 0x0000_0246,
                rax: 0,
                rcx: u64::from(STATUS_NO_MEMORY),
                rdx: u64::from(EXCEPTION_NONCONTINUABLE),
                rbx: 0x0000_01D4_7E2A_3C00,
                rsp,
                rbp: 0,
                rsi: 0,
                rdi: 0x0000_01D4_7E2A_3C00,
                r8: 0,
                r9: 0,
                r10: 0,
                r11: 0x0000_0000_0000_0246,
                r12: 0,
                r13: 0,
                r14: 0,
                r15: 0,
                rip,
            };
            Crash {
                thread_id: tid,
                context: ctx.to_bytes(),
                ip: rip,
                sp: rsp,
                stack: st,
                exception: ExceptionInfo {
                    thread_id: tid,
                    code: STATUS_NO_MEMORY,
                    flags: EXCEPTION_NONCONTINUABLE,
                    record: 0,
                    address: rip,
                    parameters: Vec::new(),
                    thread_context: Location::default(),
                },
                returns,
            }
        }
    }
}

// ------------------------------------------------------------------------------ rendering

fn system_info(c: &Customer) -> SystemInfo {
    let mut si = match c.arch {
        Arch::X86 => SystemInfo::windows_xp_sp2_x86(),
        Arch::Amd64 => SystemInfo::windows_10_x64(),
    };
    si.number_of_processors = c.processors;
    si
}

/// Threads: main, MAPI (runs the cycles; crashes), pool.
pub fn threads(c: &Customer) -> Vec<Thread> {
    let tids = c.tids();
    (0..3)
        .map(|i| match c.arch {
            Arch::X86 => Thread {
                thread_id: tids[i],
                suspend_count: 0,
                priority_class: 0x20,
                priority: 0,
                teb: 0x7FFD_F000 - 0x1000 * i as u64,
                stack_start: [0x0012_C000, X86_STACK_TOP - 0x1C0, 0x0106_F000][i],
            },
            Arch::Amd64 => Thread {
                thread_id: tids[i],
                suspend_count: 0,
                priority_class: 0x20,
                priority: 0,
                teb: 0x0000_00A1_2B8E_1000 + 0x2000 * i as u64,
                stack_start: [
                    0x0000_00A1_2C0F_E000,
                    X64_STACK_TOP - 0x2A0,
                    0x0000_00A1_2C8F_D000,
                ][i],
            },
        })
        .collect()
}

/// Render a simulated customer dump. Directory: ThreadList(3), ModuleList(4), [MemoryList(5),
/// Exception(6) for crashes], SystemInfo(7), MiscInfo(15), HandleData(12),
/// [HandleOperationList(18) when traced], right after the header. Header Flags 0x4.
pub fn render(sim: &Sim) -> Vec<u8> {
    render_with(sim, 8, |_| {})
}

/// [`render`] with `slots` directory entries reserved after the header and `extra` called last
/// to add more streams (a benchmark's Memory64ListStream).
pub fn render_with(sim: &Sim, slots: usize, extra: impl FnOnce(&mut DumpWriter)) -> Vec<u8> {
    let c = &sim.customer;
    let crash = c.crash.map(|k| crash(sim, k));
    let mut w = DumpWriter::with_directory_slots(slots);
    w.set_time_date_stamp(c.capture_time)
        .set_flags(MINIDUMP_WITH_HANDLE_DATA);
    let mut stack_mem = None;
    let mut ctx_loc = Location::default();
    if let Some(cr) = &crash {
        stack_mem = Some((cr.sp, w.add_memory_bytes(&cr.stack)));
        ctx_loc = w.add_context(&cr.context);
    }
    let threads: Vec<ThreadEx> = threads(c)
        .into_iter()
        .map(|t| match &crash {
            Some(cr) if cr.thread_id == t.thread_id => ThreadEx {
                thread: Thread {
                    stack_start: cr.sp,
                    ..t
                },
                stack: stack_mem,
                context: ctx_loc,
            },
            _ => ThreadEx {
                thread: t,
                ..ThreadEx::default()
            },
        })
        .collect();
    w.add_thread_list_ex(&threads);
    w.add_module_list(&sim.space.module_list());
    if let (Some(cr), Some(sm)) = (&crash, stack_mem) {
        w.add_memory_list_at(&[sm]);
        w.add_exception(&ExceptionInfo {
            thread_context: ctx_loc,
            ..cr.exception.clone()
        });
    }
    w.add_system_info(&system_info(c));
    let cyc = c.cycles();
    w.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID | MISC1_PROCESS_TIMES,
        process_id: c.pid,
        process_create_time: c.create_time(),
        process_user_time: 30 + cyc / 2,
        process_kernel_time: 10 + cyc / 5,
    });
    w.add_handle_data(c.descriptors, &sim.process.handle_descriptors());
    if sim.process.tracing() {
        w.add_handle_operations(&sim.process.trace_records(TraceOrder::NewestFirst));
    }
    extra(&mut w);
    w.finish()
}

/// `hostile.dmp`: a MailSvc.exe (x86) dump whose HandleDataStream header claims
/// `NumberOfDescriptors` = 0xFFFFFFFF while the stream (DataSize 96) holds 2 v2 descriptors.
pub fn hostile() -> io::Result<Vec<u8>> {
    let c = cust(
        HOSTILE_FILE,
        HOSTILE_PID,
        HOSTILE_TIME,
        STARTUP,
        Arch::X86,
        Mapi::Fixed,
        Exe::V5304,
        false,
        0,
        0,
        None,
        2,
    );
    let space = space(&c)?;
    let mut w = DumpWriter::with_directory_slots(5);
    w.set_time_date_stamp(HOSTILE_TIME)
        .set_flags(MINIDUMP_WITH_HANDLE_DATA);
    w.add_thread_list(&threads(&c));
    w.add_module_list(&space.module_list());
    w.add_system_info(&system_info(&c));
    w.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID | MISC1_PROCESS_TIMES,
        process_id: HOSTILE_PID,
        process_create_time: HOSTILE_TIME - STARTUP,
        process_user_time: 1,
        process_kernel_time: 1,
    });
    let ty = w.add_string("Event");
    let mut b = Vec::new();
    for v in [16, 40, HOSTILE_CLAIMED, 0] {
        put_u32(&mut b, v);
    }
    for h in [4u64, 8] {
        b.extend_from_slice(&h.to_le_bytes());
        for v in [ty, 0, 0, 0x001F_0003, 1, 1, 0, 0] {
            put_u32(&mut b, v);
        }
    }
    w.add_stream(HANDLE_DATA_STREAM, &b);
    Ok(w.finish())
}

// ------------------------------------------------------------------------------ fixtures

/// One generated file of `batch/`.
#[derive(Debug, Clone)]
pub struct BatchFile {
    pub rel_path: String,
    pub bytes: Vec<u8>,
}

/// Every file of `batch/` (16 customer dumps in [`customers`] order, then truncated.dmp,
/// empty.dmp, notes.txt, hostile.dmp).
pub fn fixtures() -> io::Result<Vec<BatchFile>> {
    let mut out = Vec::new();
    for c in customers() {
        let sim = simulate(&c)?;
        out.push(BatchFile {
            rel_path: c.file.clone(),
            bytes: render(&sim),
        });
    }
    let mut t = render(&simulate(&truncated_source())?);
    t.truncate(t.len() / 2);
    out.push(BatchFile {
        rel_path: TRUNCATED_FILE.to_owned(),
        bytes: t,
    });
    out.push(BatchFile {
        rel_path: EMPTY_FILE.to_owned(),
        bytes: Vec::new(),
    });
    out.push(BatchFile {
        rel_path: NOTES_FILE.to_owned(),
        bytes: NOTES_TEXT.as_bytes().to_vec(),
    });
    out.push(BatchFile {
        rel_path: HOSTILE_FILE.to_owned(),
        bytes: hostile()?,
    });
    Ok(out)
}

/// Write `batch/` below `outdir`; returns the paths written.
pub fn write(outdir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for f in fixtures()? {
        let path = outdir.join(&f.rel_path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &f.bytes)?;
        paths.push(path);
    }
    Ok(paths)
}

// ------------------------------------------------------------------------------ facts

/// What a reader should find in one customer dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub total: usize,
    pub by_type: BTreeMap<String, usize>,
    pub records: usize,
    /// Live handles whose newest record is an OPEN (all with an MSMAPI32 frame).
    pub live_with_open: usize,
}

pub fn expected(sim: &Sim) -> Expected {
    let recs = sim.process.trace_records(TraceOrder::NewestFirst);
    let live = sim.process.handle_values();
    let live_with_open = live
        .iter()
        .filter(|v| {
            recs.iter()
                .find(|r| r.handle == **v)
                .is_some_and(|r| r.operation_type == crate::writer::HANDLE_OP_OPEN)
        })
        .count();
    Expected {
        total: sim.process.handle_count(),
        by_type: sim.process.counts_by_type(),
        records: recs.len(),
        live_with_open,
    }
}

/// Median of a sorted-or-not list (mean of the two middle values for even lengths).
pub fn median(v: &[usize]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    let n = s.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        s[n / 2] as f64
    } else {
        (s[n / 2 - 1] + s[n / 2]) as f64 / 2.0
    }
}

fn utc(t: u32) -> String {
    // Civil-from-days (Howard Hinnant), enough for the README.
    let days = i64::from(t / 86_400);
    let secs = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The README table and aggregates of scenario L (for `make-fixtures --facts`).
pub fn facts(s: &mut String) -> io::Result<()> {
    let files = fixtures()?;
    let size = |rel: &str| {
        files
            .iter()
            .find(|f| f.rel_path == rel)
            .map_or(0, |f| f.bytes.len())
    };
    writeln!(s, "## batch dumps").ok();
    writeln!(s, "| file | bytes | pid | capture (UTC) | create | arch | MSMAPI32 | MailSvc | AvScan | cycles | total | Mutant | Section | trace (records / live with OPEN) | crash |").ok();
    let mut groups: BTreeMap<(bool, &str), Vec<usize>> = BTreeMap::new();
    for c in customers() {
        let sim = simulate(&c)?;
        let e = expected(&sim);
        let n = |t: &str| e.by_type.get(t).copied().unwrap_or(0);
        writeln!(
            s,
            "| {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.file,
            size(&c.file),
            c.pid,
            c.capture_time,
            utc(c.capture_time),
            c.create_time(),
            c.arch.name(),
            c.mapi.version_str(),
            c.exe.version_str(),
            if c.avscan { "yes" } else { "no" },
            c.cycles(),
            e.total,
            n("Mutant"),
            n("Section"),
            if e.records > 0 {
                format!("yes ({} / {})", e.records, e.live_with_open)
            } else {
                "no".to_owned()
            },
            match c.crash {
                Some(CrashKind::AccessViolation) => "0xC0000005",
                Some(CrashKind::NoMemory) => "0xC0000017",
                None => "",
            }
        )
        .ok();
        writeln!(
            s,
            "    desc {:?} tids {:x?} types {:?}",
            c.descriptors,
            c.tids(),
            e.by_type
        )
        .ok();
        let top = c.file.starts_with("batch/site-b/");
        for recursive in [false, true] {
            if recursive || !top {
                groups
                    .entry((recursive, c.mapi.version_str()))
                    .or_default()
                    .push(e.total);
            }
        }
        if let Some(k) = c.crash {
            let cr = crash(&sim, k);
            writeln!(
                s,
                "    crash ip={:#x} sp={:#x} returns={:x?}",
                cr.ip, cr.sp, cr.returns
            )
            .ok();
        }
    }
    for ((recursive, v), totals) in &groups {
        let mut t = totals.clone();
        t.sort_unstable();
        writeln!(
            s,
            "## aggregate recursive={recursive} MSMAPI32 {v}: dumps {} median {} max {} totals {:?}",
            t.len(),
            median(&t),
            t.last().copied().unwrap_or(0),
            t
        )
        .ok();
    }
    let full = render(&simulate(&truncated_source())?);
    let cut = size(TRUNCATED_FILE);
    writeln!(s, "## {TRUNCATED_FILE} ({cut} bytes of {})", full.len()).ok();
    let u32_at = |o: usize| u32::from_le_bytes(full[o..o + 4].try_into().expect("4 bytes"));
    for i in 0..u32_at(8) as usize {
        let e = 0x20 + 12 * i;
        let (ty, sz, rva) = (u32_at(e), u32_at(e + 4), u32_at(e + 8));
        writeln!(
            s,
            "    stream {ty} rva={rva:#x} size={sz:#x} end={:#x} {}",
            rva + sz,
            if (rva + sz) as usize <= cut {
                "intact"
            } else if (rva as usize) < cut {
                "cut"
            } else {
                "beyond"
            }
        )
        .ok();
    }
    writeln!(s, "## {HOSTILE_FILE} ({} bytes)", size(HOSTILE_FILE)).ok();
    writeln!(s, "## {NOTES_FILE} ({} bytes)", size(NOTES_FILE)).ok();
    // Stacks.
    for c in customers().iter().filter(|c| c.traced > 0) {
        let sim = simulate(c)?;
        for op in [
            Op::Mutant,
            Op::NamedMutant,
            Op::Section,
            Op::EventOpen,
            Op::EventClose,
            Op::Close,
        ] {
            if (c.mapi == Mapi::Leaky && op == Op::Close)
                || (c.mapi == Mapi::Fixed && op == Op::NamedMutant)
            {
                continue;
            }
            let f = stack_frames(c, op);
            writeln!(s, "## stack {} {op:?}", c.file).ok();
            for fr in f {
                writeln!(s, "    {:#x} {fr}", sim.space.addr(fr)).ok();
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------ benchmark

pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `i`-th benchmark customer (deterministic): 4 in 7 leaky (20–139 cycles), the others
/// fixed (up to 2 days); arch, MailSvc version, AvScan and 1–10 workers vary independently;
/// every 5th traced (last 10 cycles); `i % 50 == 7` is a leaky x86 access violation and
/// `i % 50 == 32` a leaky AMD64 `STATUS_NO_MEMORY` crash.
pub fn bench_customer(i: u32) -> Customer {
    let h = splitmix(u64::from(i));
    let bit = |n: u32| (h >> n) & 1 == 1;
    let crash = match i % 50 {
        7 => Some(CrashKind::AccessViolation),
        32 => Some(CrashKind::NoMemory),
        _ => None,
    };
    let leaky = crash.is_some() || (h % 7) < 4;
    let arch = match crash {
        Some(CrashKind::AccessViolation) => Arch::X86,
        Some(CrashKind::NoMemory) => Arch::Amd64,
        None if bit(8) => Arch::Amd64,
        None => Arch::X86,
    };
    let exe = if bit(9) { Exe::V5304 } else { Exe::V5201 };
    let cycles = 20 + ((h >> 16) % 120) as u32;
    let uptime = if leaky {
        leaky_uptime(cycles, ((h >> 24) % 300) as u32)
    } else {
        STARTUP + ((h >> 24) % 172_800) as u32
    };
    cust(
        &format!("bench-{i:05}-{:04x}.dmp", (h >> 48) as u16),
        4 * (100 + ((h >> 32) % 4000) as u32),
        1_772_496_000 + (u64::from(i) * 347 % 2_592_000) as u32,
        uptime,
        arch,
        if leaky { Mapi::Leaky } else { Mapi::Fixed },
        exe,
        bit(10),
        1 + ((h >> 40) % 10) as u32,
        match i % 5 {
            0 => 10,
            _ => 0,
        },
        crash,
        [1, 2, 4, 8][((h >> 12) & 3) as usize],
    )
}

/// Render benchmark dump `i`.
pub fn bench_dump(i: u32) -> io::Result<(Customer, Vec<u8>)> {
    let c = bench_customer(i);
    let sim = simulate(&c)?;
    Ok((c, render(&sim)))
}

/// Write `n` benchmark dumps into `outdir` (not committed anywhere); returns the total bytes.
pub fn write_bench(outdir: &Path, n: u32) -> io::Result<u64> {
    std::fs::create_dir_all(outdir)?;
    let mut total = 0u64;
    for i in 0..n {
        let (c, bytes) = bench_dump(i)?;
        std::fs::write(outdir.join(&c.file), &bytes)?;
        total += bytes.len() as u64;
    }
    Ok(total)
}
