//! Scenario K of `testdata/README.md`: `series/` — Indexer.exe (x64, pid 7300) observed over 8
//! dumps, one after each 15-minute cycle, with three behaviours on top of a constant baseline:
//!
//! * **leak** — FeedSync.dll opens one unnamed Section per cycle and never closes it;
//! * **plateau** — ShardCache.dll opens named File handles while warming up (3, 3, 2, 1, then 0
//!   per cycle) and keeps them;
//! * **churn** — WorkPool.dll starts `WORKERS[k]` worker threads per cycle and closes the
//!   previous cycle's ones.
//!
//! Plus `series/zz-other-process.dmp` (the same program, pid 7301, captured mid-series) and
//! `series/broken.dmp` (dump 0 truncated to half its size).

use crate::baseline::{
    contoso_x64, named, open_all, win10_kernelbase, win10_module, win10_ntdll, StartupHandle,
};
use crate::scenarios::{DumpSpec, Fixture, INCIDENT_RING};
use crate::sim::{AddressSpace, Process, TraceOrder};
use crate::writer::{DescriptorVersion, SystemInfo, Thread, MINIDUMP_WITH_HANDLE_DATA};

pub const SERIES_PID: u32 = 7300;
/// 2026-03-02 15:00:00 UTC.
pub const SERIES_CREATE_TIME: u32 = 1_772_463_600;
/// Length of a cycle in seconds.
pub const SERIES_CYCLE: u32 = 900;
/// Number of dumps (cycles 0..=7).
pub const SERIES_DUMPS: usize = 8;
/// Tracing is enabled one minute after start, after the baseline was opened.
pub const SERIES_TRACE_ENABLED: u32 = SERIES_CREATE_TIME + 60;

/// The other Indexer.exe process of `zz-other-process.dmp`.
pub const SERIES_OTHER_PID: u32 = 7301;
/// 2026-03-02 15:40:00 UTC.
pub const SERIES_OTHER_CREATE_TIME: u32 = 1_772_466_000;
/// The other process is dumped after its cycle 1: 16:10 UTC, between dumps 3 (16:00) and 4
/// (16:15) of the series.
pub const SERIES_OTHER_CYCLES: usize = 2;

/// The dump of the series that `broken.dmp` is a truncated copy of (time order index).
pub const SERIES_BROKEN_FROM: usize = 0;

/// File names in time order (dump k = after cycle k). Lexical order is not time order.
pub const SERIES_FILES: [&str; SERIES_DUMPS] = [
    "series/indexer-7f3a9c.dmp",
    "series/indexer-1b8e42.dmp",
    "series/indexer-c45d07.dmp",
    "series/indexer-05e6b1.dmp",
    "series/indexer-a92f58.dmp",
    "series/indexer-3d71ce.dmp",
    "series/indexer-e8094b.dmp",
    "series/indexer-6c2ad3.dmp",
];
pub const SERIES_OTHER_FILE: &str = "series/zz-other-process.dmp";
pub const SERIES_BROKEN_FILE: &str = "series/broken.dmp";

/// Worker threads WorkPool.dll has open after cycle k (the churn).
pub const WORKERS: [usize; SERIES_DUMPS] = [4, 1, 6, 2, 5, 0, 6, 3];
/// Shard files ShardCache.dll opens in cycle k (the plateau): 3, 6, 8, 9, 9, … in total.
pub const SHARDS_OPENED: [usize; SERIES_DUMPS] = [3, 3, 2, 1, 0, 0, 0, 0];

/// Thread ids: main thread, ShardCache's loader, WorkPool's dispatcher, FeedSync's poller.
pub const TID_MAIN: u32 = 0x1C84;
pub const TID_CACHE: u32 = 0x1F3C;
pub const TID_POOL: u32 = 0x2368;
pub const TID_FEED: u32 = 0x2A10;

pub const INDEXER_PATH: &str = r"C:\Program Files\Contoso\Indexer\Indexer.exe";
pub const SHARDCACHE_PATH: &str = r"C:\Program Files\Contoso\Indexer\ShardCache.dll";
pub const FEEDSYNC_PATH: &str = r"C:\Program Files\Contoso\Indexer\FeedSync.dll";
pub const WORKPOOL_PATH: &str = r"C:\Program Files\Contoso\Indexer\WorkPool.dll";

/// Leak: FeedSync.dll creates a file mapping (NtCreateSection ← CreateFileMappingW).
pub const STACK_FEED_SECTION: &[&str] = &[
    "ntdll+0x9db84",
    "KERNELBASE+0x5a2e0",
    "FeedSync+0x1a3c4",
    "FeedSync+0xc7f0",
    "Indexer+0x2b9d0",
    "Indexer+0x11e44",
    "ntdll+0x52651",
];
/// Plateau: ShardCache.dll opens a shard (NtCreateFile ← CreateFileW).
pub const STACK_CACHE_FILE: &[&str] = &[
    "ntdll+0x9d8e4",
    "KERNELBASE+0x2a1c0",
    "ShardCache+0x8e10",
    "ShardCache+0x4b2c",
    "Indexer+0x3c0a8",
    "Indexer+0x11e44",
    "ntdll+0x52651",
];
/// Churn: WorkPool.dll starts a worker (NtCreateThreadEx ← CreateRemoteThreadEx).
pub const STACK_POOL_THREAD_OPEN: &[&str] = &[
    "ntdll+0x9e6a4",
    "KERNELBASE+0x6b2f0",
    "WorkPool+0x31d8",
    "WorkPool+0x1f40",
    "Indexer+0x2e5b0",
    "Indexer+0x11e44",
    "ntdll+0x52651",
];
/// Churn: WorkPool.dll closes a finished worker's handle (NtClose ← CloseHandle).
pub const STACK_POOL_THREAD_CLOSE: &[&str] = &[
    "ntdll+0x9d1a4",
    "KERNELBASE+0x2f3c2",
    "WorkPool+0x3460",
    "WorkPool+0x1f40",
    "Indexer+0x2e5b0",
    "Indexer+0x11e44",
    "ntdll+0x52651",
];

/// Name of shard file `i` (opened by ShardCache.dll, in this order).
pub fn shard_name(i: usize) -> String {
    format!(r"C:\ProgramData\Indexer\shards\shard-{i:02}.idx")
}

/// Capture time of dump k (taken right after cycle k).
pub fn series_capture_time(create: u32, k: usize) -> u32 {
    create + SERIES_CYCLE * (k as u32 + 1)
}

/// The 30 startup handles (opened before tracing; never closed): the Contoso x64 baseline
/// ([`contoso_x64`], the WIL staging mutant's name contains the pid) and Indexer.exe's own six.
pub fn series_baseline(pid: u32) -> Vec<StartupHandle> {
    let mut handles = contoso_x64(pid);
    handles.extend([
        (
            "File",
            named(r"\Device\HarddiskVolume3\Program Files\Contoso\Indexer"),
        ),
        ("Key", named(r"\REGISTRY\MACHINE\SOFTWARE\Contoso\Indexer")),
        ("Event", named(r"\Sessions\1\BaseNamedObjects\IndexerStop")),
        (
            "Section",
            named(r"\Sessions\1\BaseNamedObjects\IndexerSharedStats"),
        ),
        ("EtwRegistration", None),
        ("File", named(r"\Device\CNG")),
    ]);
    handles
}

/// Indexer.exe 4.0.2.17, ntdll.dll, KERNELBASE.dll, ShardCache.dll 2.1.0.5, FeedSync.dll
/// 7.3.1.0, WorkPool.dll 1.0.9.2 (load order; no images, synthetic RSDS records).
pub fn series_space() -> AddressSpace {
    AddressSpace {
        modules: vec![
            win10_module(
                0x0000_7FF6_52A4_0000,
                0x5C000,
                0x67A1_3C52,
                INDEXER_PATH,
                [4, 0, 2, 17],
                0x5A6B_7C8D,
            ),
            win10_ntdll(),
            win10_kernelbase(),
            win10_module(
                0x0000_7FFD_1E20_0000,
                0x48000,
                0x6612_4F0A,
                SHARDCACHE_PATH,
                [2, 1, 0, 5],
                0x6E7F_8091,
            ),
            win10_module(
                0x0000_7FFD_1C91_0000,
                0x61000,
                0x6655_A1E3,
                FEEDSYNC_PATH,
                [7, 3, 1, 0],
                0x7F80_91A2,
            ),
            win10_module(
                0x0000_7FFD_1BA8_0000,
                0x27000,
                0x6580_77B4,
                WORKPOOL_PATH,
                [1, 0, 9, 2],
                0x0891_A2B3,
            ),
        ],
    }
}

const SERIES_THREADS: &[Thread] = &[
    Thread {
        thread_id: TID_MAIN,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 0,
        teb: 0x0000_00B2_1E6A_1000,
        stack_start: 0x0000_00B2_1E9F_E000,
    },
    Thread {
        thread_id: TID_CACHE,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 0,
        teb: 0x0000_00B2_1E6A_3000,
        stack_start: 0x0000_00B2_1EBF_D000,
    },
    Thread {
        thread_id: TID_POOL,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 1,
        teb: 0x0000_00B2_1E6A_5000,
        stack_start: 0x0000_00B2_1EDF_C000,
    },
    Thread {
        thread_id: TID_FEED,
        suspend_count: 0,
        priority_class: 0x20,
        priority: 2,
        teb: 0x0000_00B2_1E6A_7000,
        stack_start: 0x0000_00B2_1EFF_E000,
    },
];

/// One Indexer.exe simulation.
#[derive(Debug, Clone)]
pub struct Indexer {
    pub space: AddressSpace,
    pub process: Process,
    pub create_time: u32,
    /// Cycles completed so far.
    pub cycles: usize,
    /// Section opened (and leaked) in each cycle.
    pub sections: Vec<u64>,
    /// Shard files opened in each cycle.
    pub shards: Vec<Vec<u64>>,
    /// Worker thread handles opened in each cycle (closed in the next one).
    pub workers: Vec<Vec<u64>>,
    /// Worker thread handles closed in each cycle.
    pub workers_closed: Vec<Vec<u64>>,
    shards_total: usize,
}

impl Indexer {
    /// Start the process, open the 30 baseline handles, enable tracing.
    pub fn start(pid: u32, create_time: u32) -> Indexer {
        let space = series_space();
        let mut process = Process::new(pid);
        open_all(&mut process, TID_MAIN, &series_baseline(pid));
        process.enable_trace(INCIDENT_RING);
        Indexer {
            space,
            process,
            create_time,
            cycles: 0,
            sections: Vec::new(),
            shards: Vec::new(),
            workers: Vec::new(),
            workers_closed: Vec::new(),
            shards_total: 0,
        }
    }

    /// One cycle, records oldest to newest: WorkPool opens `WORKERS[k]` threads; FeedSync opens
    /// one Section; ShardCache opens `SHARDS_OPENED[k]` files; WorkPool closes the previous
    /// cycle's threads (in the order they were opened).
    pub fn run_cycle(&mut self) {
        let k = self.cycles;
        let st = |f: &[&str]| self.space.stack(f);
        let (t_open, t_close) = (st(STACK_POOL_THREAD_OPEN), st(STACK_POOL_THREAD_CLOSE));
        let (feed, cache) = (st(STACK_FEED_SECTION), st(STACK_CACHE_FILE));
        let p = &mut self.process;
        let new_workers: Vec<u64> = (0..WORKERS[k])
            .map(|_| p.open_simple(TID_POOL, "Thread", None, &t_open))
            .collect();
        self.sections
            .push(p.open_simple(TID_FEED, "Section", None, &feed));
        let mut files = Vec::new();
        for _ in 0..SHARDS_OPENED[k] {
            let name = shard_name(self.shards_total);
            files.push(p.open_simple(TID_CACHE, "File", Some(&name), &cache));
            self.shards_total += 1;
        }
        self.shards.push(files);
        let old = self.workers.last().cloned().unwrap_or_default();
        for &h in &old {
            p.close(TID_POOL, h, &t_close);
        }
        self.workers_closed.push(old);
        self.workers.push(new_workers);
        self.cycles += 1;
    }

    pub fn capture_time(&self) -> u32 {
        assert!(self.cycles > 0);
        series_capture_time(self.create_time, self.cycles - 1)
    }

    pub fn spec(&self) -> DumpSpec<'_> {
        let c = self.cycles as u32;
        DumpSpec {
            space: &self.space,
            system_info: SystemInfo::windows_10_x64(),
            process: &self.process,
            threads: SERIES_THREADS,
            create_time: self.create_time,
            capture_time: self.capture_time(),
            user_time: 6 + 9 * c,
            kernel_time: 2 + 4 * c,
            flags: MINIDUMP_WITH_HANDLE_DATA,
            descriptors: Some(DescriptorVersion::V2),
            trace: Some(TraceOrder::NewestFirst),
        }
    }
}

/// The series (time order) and the process state at each dump.
pub fn series_processes() -> Vec<Process> {
    let mut ix = Indexer::start(SERIES_PID, SERIES_CREATE_TIME);
    (0..SERIES_DUMPS)
        .map(|_| {
            ix.run_cycle();
            ix.process.clone()
        })
        .collect()
}

/// All fixtures of scenario K: the 8 dumps (time order), `zz-other-process.dmp`, `broken.dmp`.
pub fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    let mut ix = Indexer::start(SERIES_PID, SERIES_CREATE_TIME);
    for rel in SERIES_FILES {
        ix.run_cycle();
        out.push(crate::scenarios::fixture(rel, &ix.spec()));
    }
    let mut other = Indexer::start(SERIES_OTHER_PID, SERIES_OTHER_CREATE_TIME);
    for _ in 0..SERIES_OTHER_CYCLES {
        other.run_cycle();
    }
    out.push(crate::scenarios::fixture(SERIES_OTHER_FILE, &other.spec()));
    let mut broken = out[SERIES_BROKEN_FROM].clone();
    broken.rel_path = SERIES_BROKEN_FILE;
    let half = broken.bytes.len() / 2;
    broken.bytes.truncate(half);
    out.push(broken);
    out
}

/// `(value, type, name)`: how a handle is identified across dumps.
pub type Identity = (u64, String, Option<String>);

/// Identities of the handles open in a process.
pub fn identities(p: &Process) -> Vec<Identity> {
    p.handle_descriptors()
        .into_iter()
        .map(|d| (d.handle, d.type_name.unwrap_or_default(), d.object_name))
        .collect()
}

/// For every handle of the last dump: the first dump index from which its identity is present
/// in every dump up to the last (0 = open since the first dump).
pub fn retained_since(series: &[Process]) -> Vec<(Identity, usize)> {
    let sets: Vec<std::collections::BTreeSet<Identity>> = series
        .iter()
        .map(|p| identities(p).into_iter().collect())
        .collect();
    let Some(last) = sets.last() else {
        return Vec::new();
    };
    last.iter()
        .map(|id| {
            let mut since = sets.len() - 1;
            while since > 0 && sets[since - 1].contains(id) {
                since -= 1;
            }
            (id.clone(), since)
        })
        .collect()
}

/// Facts of scenario K for `make-fixtures --facts`.
pub fn facts(s: &mut String) {
    use std::fmt::Write as _;
    let space = series_space();
    writeln!(s, "## series modules").ok();
    for m in &space.modules {
        let md = &m.module;
        let cv = match &md.cv_record {
            Some(crate::writer::CvRecord::Rsds {
                guid,
                age,
                pdb_name,
            }) => format!("{} age {age} {pdb_name}", guid.symsrv()),
            _ => String::new(),
        };
        writeln!(
            s,
            "{} base={:#018x} size={:#x} ts={:#010x} checksum={:#x} ver={:?} {cv}",
            md.name,
            md.base_of_image,
            md.size_of_image,
            md.time_date_stamp,
            md.checksum,
            md.file_version
        )
        .ok();
    }
    for (name, frames) in [
        ("FeedSection (leak)", STACK_FEED_SECTION),
        ("CacheFile (plateau)", STACK_CACHE_FILE),
        ("PoolThreadOpen (churn)", STACK_POOL_THREAD_OPEN),
        ("PoolThreadClose (churn)", STACK_POOL_THREAD_CLOSE),
    ] {
        writeln!(s, "## series stack {name}").ok();
        for f in frames {
            writeln!(s, "    {:#018x} {f}", space.addr(f)).ok();
        }
    }
    let base = Indexer::start(SERIES_PID, SERIES_CREATE_TIME);
    writeln!(
        s,
        "## series baseline: {} handles {:?}",
        base.process.handle_count(),
        base.process.counts_by_type()
    )
    .ok();
    let mut ix = base;
    let mut procs = Vec::new();
    let fx = fixtures();
    for (k, rel) in SERIES_FILES.iter().enumerate() {
        ix.run_cycle();
        let p = &ix.process;
        let c = p.counts_by_type();
        let n = |t: &str| c.get(t).copied().unwrap_or(0);
        writeln!(
            s,
            "## dump {k} {rel} ({} bytes): t={} handles={} records={} Section={} File={} Thread={} user/kernel={}/{}",
            fx[k].bytes.len(),
            ix.capture_time(),
            p.handle_count(),
            p.trace_records(TraceOrder::OldestFirst).len(),
            n("Section"),
            n("File"),
            n("Thread"),
            ix.spec().user_time,
            ix.spec().kernel_time,
        )
        .ok();
        writeln!(
            s,
            "    opened: workers {:x?} section {:#x} shards {:x?}; closed workers {:x?}",
            ix.workers[k], ix.sections[k], ix.shards[k], ix.workers_closed[k]
        )
        .ok();
        writeln!(s, "    {:?}", c).ok();
        procs.push(p.clone());
    }
    // Retained since, grouped by the stack of the newest OPEN of the value in the last dump.
    let last = procs.last().expect("8 dumps");
    let recs = last.trace_records(TraceOrder::NewestFirst);
    let stack_name = |v: u64| -> &str {
        match recs.iter().find(|r| r.handle == v) {
            None => "(no record)",
            Some(r) if r.stack == space.stack(STACK_FEED_SECTION) => "leak",
            Some(r) if r.stack == space.stack(STACK_CACHE_FILE) => "cache",
            Some(r) if r.stack == space.stack(STACK_POOL_THREAD_OPEN) => "churn",
            Some(_) => "other",
        }
    };
    writeln!(s, "## retained since (last dump = dump 7)").ok();
    for ((v, t, name), since) in retained_since(&procs) {
        writeln!(
            s,
            "    {v:#x} {t} {} since={since} stack={}",
            name.as_deref().unwrap_or(""),
            stack_name(v)
        )
        .ok();
    }
    let o = &fx[SERIES_DUMPS];
    writeln!(
        s,
        "## {} ({} bytes): pid {} create {} capture {} handles {}",
        o.rel_path,
        o.bytes.len(),
        o.pid,
        o.create_time,
        o.capture_time,
        o.handles.as_ref().map_or(0, Vec::len)
    )
    .ok();
    let b = &fx[SERIES_DUMPS + 1];
    writeln!(
        s,
        "## {} ({} bytes) from dump {SERIES_BROKEN_FROM} ({} bytes)",
        b.rel_path,
        b.bytes.len(),
        fx[SERIES_BROKEN_FROM].bytes.len()
    )
    .ok();
    let full = &fx[SERIES_BROKEN_FROM].bytes;
    let u32_at = |o: usize| u32::from_le_bytes(full[o..o + 4].try_into().expect("4 bytes"));
    for i in 0..u32_at(8) as usize {
        let e = 0x20 + 12 * i;
        let (ty, size, rva) = (u32_at(e), u32_at(e + 4), u32_at(e + 8));
        writeln!(
            s,
            "    stream {ty} rva={rva:#x} size={size:#x} end={:#x} {}",
            rva + size,
            if (rva + size) as usize <= b.bytes.len() {
                "intact"
            } else {
                "cut"
            }
        )
        .ok();
    }
}
