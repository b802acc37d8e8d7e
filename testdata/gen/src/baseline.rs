//! What the simulated processes of several scenarios share: the system modules they load
//! ([`xp_ntdll`], [`win10_ntdll`], ...) and the handles Windows opens for them at start-up before
//! their own code runs ([`xp_startup`], [`xp_messaging`], [`win10_startup`], [`contoso_x64`]).
//! Each scenario composes its module list and startup handle table from these pieces and its
//! own; the compositions reproduce the committed fixtures byte for byte.

use std::io;

use crate::pe::PeImage;
use crate::scenarios::{KERNEL32_DLL, MSMAPI32_DLL, NTDLL_DLL};
use crate::sim::{LoadedModule, Process};
use crate::writer::{CvRecord, Guid, Module};

// ---------------------------------------------------------------------------------- modules

/// A CodeView RSDS record (GUID, age, PDB name).
pub(crate) fn rsds(
    data1: u32,
    data2: u16,
    data3: u16,
    data4: [u8; 8],
    age: u32,
    pdb: &str,
) -> CvRecord {
    CvRecord::Rsds {
        guid: Guid {
            data1,
            data2,
            data3,
            data4,
        },
        age,
        pdb_name: pdb.to_owned(),
    }
}

/// A DLL backed by a PE image: base, size, checksum and timestamp come from the image.
pub(crate) fn image_module(
    bytes: &[u8],
    path: &str,
    version: [u16; 4],
    cv: CvRecord,
) -> io::Result<LoadedModule> {
    let img = PeImage::parse(bytes)?;
    Ok(LoadedModule {
        module: Module {
            base_of_image: img.image_base,
            size_of_image: img.size_of_image,
            checksum: img.checksum,
            time_date_stamp: img.time_date_stamp,
            name: path.to_owned(),
            file_version: version,
            product_version: version,
            is_dll: true,
            cv_record: Some(cv),
        },
        image: Some(img),
    })
}

/// A module without an image (frames into it are written `module+0xrva`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn raw_module(
    base: u64,
    size: u32,
    checksum: u32,
    timestamp: u32,
    path: &str,
    version: [u16; 4],
    is_dll: bool,
    cv: CvRecord,
) -> LoadedModule {
    LoadedModule {
        module: Module {
            base_of_image: base,
            size_of_image: size,
            checksum,
            time_date_stamp: timestamp,
            name: path.to_owned(),
            file_version: version,
            product_version: version,
            is_dll,
            cv_record: Some(cv),
        },
        image: None,
    }
}

/// A module without an image whose checksum and RSDS record are derived from `seed`; the PDB
/// is the lower-cased file stem plus `.pdb`. Modules ending in `.exe` are not DLLs.
pub(crate) fn win10_module(
    base: u64,
    size: u32,
    ts: u32,
    path: &str,
    ver: [u16; 4],
    seed: u32,
) -> LoadedModule {
    let file = path.rsplit('\\').next().unwrap_or(path);
    let pdb = match file.rsplit_once('.') {
        Some((stem, _)) => format!("{}.pdb", stem.to_ascii_lowercase()),
        None => format!("{file}.pdb"),
    };
    raw_module(
        base,
        size,
        size ^ seed,
        ts,
        path,
        ver,
        !path.ends_with(".exe"),
        rsds(
            seed,
            (seed >> 7) as u16,
            (seed >> 13) as u16,
            (u64::from(seed) * 0x9E37_79B9).to_le_bytes(),
            1,
            &pdb,
        ),
    )
}

/// Where MSMAPI32.DLL is installed (both platforms, every version).
pub const MSMAPI32_PATH: &str = r"C:\Program Files\Common Files\System\MSMAPI\1033\MSMAPI32.DLL";

/// Windows XP SP2 ntdll.dll 5.1.2600.2180 (the image [`NTDLL_DLL`]).
pub fn xp_ntdll() -> io::Result<LoadedModule> {
    image_module(
        NTDLL_DLL,
        r"C:\WINDOWS\system32\ntdll.dll",
        [5, 1, 2600, 2180],
        rsds(
            0x3651_5FB5,
            0xD043,
            0x45E4,
            [0x91, 0xF6, 0x72, 0xFA, 0x2E, 0x28, 0x78, 0xC0],
            2,
            "ntdll.pdb",
        ),
    )
}

/// Windows XP SP2 kernel32.dll 5.1.2600.2180 (the image [`KERNEL32_DLL`]).
pub fn xp_kernel32() -> io::Result<LoadedModule> {
    image_module(
        KERNEL32_DLL,
        r"C:\WINDOWS\system32\kernel32.dll",
        [5, 1, 2600, 2180],
        rsds(
            0x72F3_9C1A,
            0x6E0B,
            0x4B35,
            [0xA6, 0x0C, 0x1D, 0x53, 0x9B, 0x84, 0x27, 0xE2],
            2,
            "kernel32.pdb",
        ),
    )
}

/// The leaky MSMAPI32.DLL 11.0.5601.0 on x86 (the image [`MSMAPI32_DLL`]).
pub fn xp_msmapi32() -> io::Result<LoadedModule> {
    image_module(
        MSMAPI32_DLL,
        MSMAPI32_PATH,
        [11, 0, 5601, 0],
        rsds(
            0x0C3F_A12D,
            0x8E57,
            0x4F6B,
            [0xB2, 0x19, 0x5C, 0xE4, 0x70, 0x3D, 0x96, 0x0A],
            1,
            "msmapi32.pdb",
        ),
    )
}

/// The version of every Windows 10 system module in the fixtures (build 19041.3636).
const WIN10_VERSION: [u16; 4] = [10, 0, 19041, 3636];

/// Windows 10 x64 ntdll.dll (no image).
pub fn win10_ntdll() -> LoadedModule {
    win10_module(
        0x0000_7FFD_2B5D_0000,
        0x1F8000,
        0xC36E_9E8A,
        r"C:\Windows\SYSTEM32\ntdll.dll",
        WIN10_VERSION,
        0x2B3C_4D5E,
    )
}

/// Windows 10 x64 KERNEL32.DLL (no image).
pub fn win10_kernel32() -> LoadedModule {
    win10_module(
        0x0000_7FFD_2A8A_0000,
        0xBD000,
        0x5E2C_7B0F,
        r"C:\Windows\System32\KERNEL32.DLL",
        WIN10_VERSION,
        0x3C4D_5E6F,
    )
}

/// Windows 10 x64 KERNELBASE.dll (no image).
pub fn win10_kernelbase() -> LoadedModule {
    win10_module(
        0x0000_7FFD_28F5_0000,
        0x2F6000,
        0x9C8D_1E42,
        r"C:\Windows\System32\KERNELBASE.dll",
        WIN10_VERSION,
        0x4D5E_6F70,
    )
}

// ---------------------------------------------------------------------------- startup handles

/// One handle opened at start-up: object type and name.
pub type StartupHandle = (&'static str, Option<String>);

/// `Some(name)` as an owned object name.
pub(crate) fn named(name: &str) -> Option<String> {
    Some(name.to_owned())
}

/// Open `handles` in order on thread `tid`, without stacks (before tracing).
pub fn open_all(process: &mut Process, tid: u32, handles: &[StartupHandle]) {
    for (ty, name) in handles {
        process.open_simple(tid, ty, name.as_deref(), &[]);
    }
}

/// The first 29 handles of a Windows XP SP2 process: loader, CSRSS connection, window station
/// and desktop, NLS, crypt32 and the shim engine. `exe_dir` is the NT path of the program's
/// directory, `window_station` the name below `\Windows\WindowStations`, `user_hive` the
/// `\REGISTRY\USER\...` key of the account it runs as.
pub fn xp_startup(exe_dir: &str, window_station: &str, user_hive: &str) -> Vec<StartupHandle> {
    let station = format!(r"\Windows\WindowStations\{window_station}");
    vec![
        ("Directory", named(r"\KnownDlls")),
        ("File", named(exe_dir)),
        ("Event", None),
        ("Event", None),
        (
            "KeyedEvent",
            named(r"\KernelObjects\CritSecOutOfMemoryEvent"),
        ),
        ("Directory", named(r"\Windows")),
        ("Port", None),
        ("WindowStation", Some(station.clone())),
        ("Desktop", named(r"\Default")),
        ("WindowStation", Some(station)),
        ("Directory", named(r"\BaseNamedObjects")),
        ("Semaphore", None),
        ("Semaphore", None),
        (
            "Key",
            named(r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Control\Nls\Sorting\Versions"),
        ),
        ("Key", named(r"\REGISTRY\MACHINE")),
        ("Event", None),
        ("File", named(r"\Device\KsecDD")),
        ("Key", named(user_hive)),
        ("Event", named(r"\BaseNamedObjects\crypt32LogoffEvent")),
        ("Thread", None),
        ("IoCompletion", None),
        ("Thread", None),
        ("Section", named(r"\BaseNamedObjects\ShimSharedMemory")),
        ("Mutant", named(r"\BaseNamedObjects\ShimCacheMutex")),
        (
            "Key",
            named(r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Windows"),
        ),
        ("Event", None),
        ("File", named(r"\Device\Afd\Endpoint")),
        ("Event", None),
        ("Section", None),
    ]
}

/// The 7 handles a Windows XP MAPI client holds once Windows Messaging and COM are up: a
/// worker thread and its event, the Windows Messaging Subsystem key, the COM catalog cache, a
/// socket and a timer.
pub fn xp_messaging() -> Vec<StartupHandle> {
    vec![
        ("Thread", None),
        ("Event", None),
        (
            "Key",
            named(r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows Messaging Subsystem"),
        ),
        ("Section", named(r"\BaseNamedObjects\__ComCatalogCache__")),
        ("Event", None),
        ("File", named(r"\Device\Afd\Endpoint")),
        ("Timer", None),
    ]
}

/// The first 23 handles of a Windows 10 x64 process: loader, thread pool, ETW, the named-object
/// directory `named_objects`, image file execution options, ALPC, the WIL feature-staging
/// mutant `<named_objects>\SM0:<wil_pid>:<wil_tag>:WilStaging_02`, its token and process.
pub fn win10_startup(named_objects: &str, wil_pid: u32, wil_tag: u32) -> Vec<StartupHandle> {
    vec![
        ("Directory", named(r"\KnownDlls")),
        ("File", named(r"\Device\HarddiskVolume3\Windows\System32")),
        ("Event", None),
        (
            "Key",
            named(r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Control\Session Manager"),
        ),
        ("Event", None),
        ("WaitCompletionPacket", None),
        ("IoCompletion", None),
        ("TpWorkerFactory", None),
        ("IRTimer", None),
        ("WaitCompletionPacket", None),
        ("IRTimer", None),
        ("EtwRegistration", None),
        ("Directory", named(named_objects)),
        ("Semaphore", None),
        ("Semaphore", None),
        (
            "Key",
            named(
                r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options",
            ),
        ),
        ("ALPC Port", None),
        ("Thread", None),
        ("Thread", None),
        (
            "Mutant",
            Some(format!(
                r"{named_objects}\SM0:{wil_pid}:{wil_tag}:WilStaging_02"
            )),
        ),
        ("Section", None),
        ("Token", None),
        ("Process", None),
    ]
}

/// The 24 startup handles of the Contoso x64 programs run in session 1 (Indexer.exe,
/// JobRunner.exe, Widget.exe): [`win10_startup`] in `\Sessions\1\BaseNamedObjects` plus the
/// user's `Software\Contoso` key. `wil_pid` is the pid in the WIL mutant's name.
pub fn contoso_x64(wil_pid: u32) -> Vec<StartupHandle> {
    let mut handles = win10_startup(r"\Sessions\1\BaseNamedObjects", wil_pid, 168);
    handles.push((
        "Key",
        named(r"\REGISTRY\USER\S-1-5-21-3623811015-3361044348-30300820-1013\Software\Contoso"),
    ));
    handles
}
