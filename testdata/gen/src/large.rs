//! Benchmark inputs too large to commit, generated at benchmark time (`make-fixtures --large
//! OUTDIR [GIB]`, `compare/compare.sh`, the criterion benches):
//!
//! * `large-a.dmp` / `large-b.dmp`: two dumps of one long-running MailSvc.exe (AMD64, MSMAPI32
//!   11.0.5601.0, the customer model of [`crate::batch`]) with 25,000 worker connections.
//!   Tracing (ring of 200,000 records) starts after 319 MAPI cycles; A is taken 7,000 traced
//!   cycles later (97,000 handles, 175,000 trace records), B 1,000 cycles after A (100,000
//!   handles, 200,000 records, the ring exactly full). Each traced cycle writes 25 records: the
//!   leaky MAPI cycle (5: OPEN Mutant, OPEN spooler lock, OPEN Section, OPEN Event, CLOSE
//!   Event) and 10 balanced open/close pairs on the worker thread (File, Event, Key, File,
//!   Semaphore, File, Event, Key, File, Event). Between A and B: +3,000 handles (1,000 × 2
//!   Mutant + 1 Section).
//! * `small.dmp`: a customer-style dump (AMD64, 120 leaky cycles, the last 10 traced, 6
//!   workers).
//! * `small-full-memory.dmp` / `large-b-full-memory.dmp`: the same streams as `small.dmp` /
//!   `large-b.dmp` plus a Memory64ListStream describing several GiB (default 6) of process
//!   memory: heap-like ranges of 4 KiB–8 MiB in address order, then the module images. The
//!   memory bytes are written as a hole (`set_len`), so the files are sparse: their apparent
//!   size is GiBs, their disk usage that of the streams.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::batch::{
    baseline, cust, render, render_with, space, stack_frames, Arch, Customer, Exe, Mapi, Op, Sim,
    CYCLE, STARTUP,
};
use crate::scenarios::SPOOLER_LOCK;
use crate::sim::Process;
use crate::writer::set_memory64_base;

/// Handles in `large-b.dmp`.
pub const LARGE_HANDLES: usize = 100_000;
/// Trace records in `large-b.dmp` (= the ring capacity).
pub const LARGE_TRACE_RECORDS: usize = 200_000;
/// Worker connections (Thread + Event + File each) opened at start-up.
pub const LARGE_WORKERS: u32 = 25_000;
/// MAPI cycles before tracing starts.
pub const LARGE_UNTRACED_CYCLES: u32 = 319;
/// Traced MAPI cycles before `large-a.dmp`.
pub const LARGE_A_TRACED_CYCLES: u32 = 7_000;
/// Traced MAPI cycles before `large-b.dmp`.
pub const LARGE_B_TRACED_CYCLES: u32 = 8_000;
/// Process id of the large dumps.
pub const LARGE_PID: u32 = 7412;
const LARGE_CREATE_TIME: u32 = 1_770_000_000;

/// What one balanced open/close pair on the worker thread opens, with its stack (AMD64 raw
/// frames, innermost first: system call stub, KERNELBASE API, MailSvc worker code, worker loop,
/// thread start).
const CHURN: [(&str, Option<&str>, [&str; 3]); 10] = [
    (
        "File",
        Some(r"\Device\HarddiskVolume3\MailData\Queue"),
        ["ntdll+0x9d0e4", "KERNELBASE+0x25b71", "MailSvc+0x31a40"],
    ),
    (
        "Event",
        None,
        ["ntdll+0x9d4c4", "KERNELBASE+0x3a0b6", "MailSvc+0x31c88"],
    ),
    (
        "Key",
        Some(r"\REGISTRY\MACHINE\SOFTWARE\Contoso\MailSvc\Routing"),
        ["ntdll+0x9d3a4", "KERNELBASE+0x2d1e0", "MailSvc+0x32014"],
    ),
    (
        "File",
        Some(r"\Device\HarddiskVolume3\MailData\Outbox"),
        ["ntdll+0x9d0e4", "KERNELBASE+0x25b71", "MailSvc+0x31a9c"],
    ),
    (
        "Semaphore",
        None,
        ["ntdll+0x9d6a4", "KERNELBASE+0x3c2f0", "MailSvc+0x32250"],
    ),
    (
        "File",
        Some(r"\Device\HarddiskVolume3\MailData\Journal"),
        ["ntdll+0x9d0e4", "KERNELBASE+0x25b71", "MailSvc+0x31b12"],
    ),
    (
        "Event",
        None,
        ["ntdll+0x9d4c4", "KERNELBASE+0x3a0b6", "MailSvc+0x31cd0"],
    ),
    (
        "Key",
        Some(r"\REGISTRY\MACHINE\SOFTWARE\Contoso\MailSvc\Limits"),
        ["ntdll+0x9d3a4", "KERNELBASE+0x2d1e0", "MailSvc+0x3207c"],
    ),
    (
        "File",
        Some(r"\Device\HarddiskVolume3\MailData\Queue\index"),
        ["ntdll+0x9d0e4", "KERNELBASE+0x25b71", "MailSvc+0x31b7e"],
    ),
    (
        "Event",
        None,
        ["ntdll+0x9d4c4", "KERNELBASE+0x3a0b6", "MailSvc+0x31d14"],
    ),
];
const CHURN_CLOSE: [&str; 3] = ["ntdll+0x9d1a4", "KERNELBASE+0x2f3c2", "MailSvc+0x31e02"];
const WORKER_LOOP: [&str; 3] = ["MailSvc+0x18a2c", "KERNEL32+0x17034", "ntdll+0x52651"];

fn large_customer(file: &str, traced_cycles: u32) -> Customer {
    let cycles = LARGE_UNTRACED_CYCLES + traced_cycles;
    let uptime = STARTUP + CYCLE * cycles + 17;
    cust(
        file,
        LARGE_PID,
        LARGE_CREATE_TIME + uptime,
        uptime,
        Arch::Amd64,
        Mapi::Leaky,
        Exe::V5304,
        false,
        LARGE_WORKERS,
        traced_cycles,
        None,
        16,
    )
}

/// The two large dumps `(large-a.dmp, large-b.dmp)` (see the module documentation).
pub fn large_pair() -> io::Result<(Vec<u8>, Vec<u8>)> {
    let (a, b) = large_sims()?;
    Ok((render(&a), render(&b)))
}

/// The simulated processes behind `large-a.dmp` and `large-b.dmp`.
pub fn large_sims() -> io::Result<(Sim, Sim)> {
    let b_customer = large_customer("large-b.dmp", LARGE_B_TRACED_CYCLES);
    let space = space(&b_customer)?;
    let [main, mapi, pool] = b_customer.tids();
    let stack = |op: Op| space.stack(&stack_frames(&b_customer, op));
    let (mutant, named, section) = (
        stack(Op::Mutant),
        stack(Op::NamedMutant),
        stack(Op::Section),
    );
    let (event_open, event_close) = (stack(Op::EventOpen), stack(Op::EventClose));
    let churn: Vec<(&str, Option<&str>, Vec<u64>)> = CHURN
        .iter()
        .map(|(ty, name, frames)| {
            let all: Vec<&str> = frames.iter().chain(&WORKER_LOOP).copied().collect();
            (*ty, *name, space.stack(&all))
        })
        .collect();
    let close_frames: Vec<&str> = CHURN_CLOSE.iter().chain(&WORKER_LOOP).copied().collect();
    let churn_close = space.stack(&close_frames);

    let mut p = Process::new(LARGE_PID);
    for (ty, name) in baseline(Arch::Amd64, LARGE_PID) {
        p.open_simple(main, ty, name.as_deref(), &[]);
    }
    for _ in 0..LARGE_WORKERS {
        p.open_simple(pool, "Thread", None, &[]);
        p.open_simple(pool, "Event", None, &[]);
        p.open_simple(pool, "File", Some(r"\Device\Afd\Endpoint"), &[]);
    }
    let mut leaked = Vec::new();
    let mut a = None;
    for k in 0..LARGE_UNTRACED_CYCLES + LARGE_B_TRACED_CYCLES {
        if k == LARGE_UNTRACED_CYCLES {
            p.enable_trace(LARGE_TRACE_RECORDS);
        }
        if k == LARGE_UNTRACED_CYCLES + LARGE_A_TRACED_CYCLES {
            a = Some((p.clone(), leaked.clone()));
        }
        let m = p.open_simple(mapi, "Mutant", None, &mutant);
        let n = p.open_simple(mapi, "Mutant", Some(SPOOLER_LOCK), &named);
        let s = p.open_simple(mapi, "Section", None, &section);
        let e = p.open_simple(mapi, "Event", None, &event_open);
        p.close(mapi, e, &event_close);
        leaked.push([m, n, s]);
        for (ty, name, stack) in &churn {
            let h = p.open_simple(pool, ty, *name, stack);
            p.close(pool, h, &churn_close);
        }
    }
    let (a_process, a_leaked) = a.expect("A is taken before the last cycle");
    let a_sim = Sim {
        customer: large_customer("large-a.dmp", LARGE_A_TRACED_CYCLES),
        space: space.clone(),
        process: a_process,
        leaked: a_leaked,
    };
    let b_sim = Sim {
        customer: b_customer,
        space,
        process: p,
        leaked,
    };
    Ok((a_sim, b_sim))
}

/// The customer behind `small.dmp` / `small-full-memory.dmp`.
pub fn small_customer() -> Customer {
    cust(
        "small.dmp",
        5524,
        1_772_600_000,
        STARTUP + CYCLE * 120 + 41,
        Arch::Amd64,
        Mapi::Leaky,
        Exe::V5201,
        true,
        6,
        10,
        None,
        4,
    )
}

/// Memory ranges `(start, size)` of the full-memory dump, in address order, summing to at
/// least `total` bytes: heap-like ranges of 1–2048 pages with gaps between them, then every
/// module image.
pub fn full_memory_ranges(sim: &Sim, total: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let mut address: u64 = 0x0000_01F0_0000_0000;
    let mut sum = 0u64;
    let mut state = 0x5eed_u64;
    while sum < total {
        state = crate::batch::splitmix(state);
        let pages = 1u64 << (state % 12);
        let size = pages * 0x1000;
        let gap = 0x1000 * (1 + (state >> 20) % 256);
        ranges.push((address, size));
        sum += size;
        address += size + gap;
    }
    let mut modules: Vec<(u64, u64)> = sim
        .space
        .modules
        .iter()
        .map(|m| (m.module.base_of_image, u64::from(m.module.size_of_image)))
        .collect();
    modules.sort_unstable();
    ranges.extend(modules);
    ranges
}

/// A full-memory twin of a simulated dump: the same streams plus a Memory64ListStream.
pub struct FullMemory {
    /// Header and streams; the memory bytes follow from this length rounded up to 16.
    pub streams: Vec<u8>,
    /// The memory ranges `(start, size)` the Memory64ListStream describes.
    pub ranges: Vec<(u64, u64)>,
}

impl FullMemory {
    /// `sim` rendered with `memory_bytes` (or a little more) of memory.
    pub fn of(sim: &Sim, memory_bytes: u64) -> FullMemory {
        let ranges = full_memory_ranges(sim, memory_bytes);
        let mut location = None;
        let mut streams = render_with(sim, 9, |w| {
            location = Some(w.add_memory64_descriptors(&ranges));
        });
        let base = (streams.len() as u64).next_multiple_of(16);
        set_memory64_base(&mut streams, location.expect("extra streams added"), base);
        FullMemory { streams, ranges }
    }

    /// Write the dump: the streams, then a hole up to the end of the memory bytes. Returns the
    /// apparent file size.
    pub fn write(&self, path: &Path) -> io::Result<u64> {
        let base = (self.streams.len() as u64).next_multiple_of(16);
        let memory: u64 = self.ranges.iter().map(|r| r.1).sum();
        let mut f = File::create(path)?;
        f.write_all(&self.streams)?;
        f.set_len(base + memory)?;
        Ok(base + memory)
    }
}

/// Write the benchmark inputs into `outdir`: `large-a.dmp`, `large-b.dmp`,
/// `large-b-full-memory.dmp`, `small.dmp` and `small-full-memory.dmp` (the full-memory ones
/// sparse, with about `memory_gib` GiB of memory); returns each path with its apparent size.
pub fn write_large(outdir: &Path, memory_gib: u64) -> io::Result<Vec<(PathBuf, u64)>> {
    std::fs::create_dir_all(outdir)?;
    let mut out = Vec::new();
    let small = crate::batch::simulate(&small_customer())?;
    let (a, b) = large_sims()?;
    for (name, sim) in [("large-a", &a), ("large-b", &b), ("small", &small)] {
        let path = outdir.join(format!("{name}.dmp"));
        let bytes = render(sim);
        std::fs::write(&path, &bytes)?;
        out.push((path, bytes.len() as u64));
        if name != "large-a" {
            let path = outdir.join(format!("{name}-full-memory.dmp"));
            let size = FullMemory::of(sim, memory_gib << 30).write(&path)?;
            out.push((path, size));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_pair_has_the_documented_sizes() {
        let (a, b) = large_pair().unwrap();
        let count = |d: &[u8], stream: u32| -> u32 {
            let n = u32::from_le_bytes(d[8..12].try_into().unwrap()) as usize;
            let dir = u32::from_le_bytes(d[12..16].try_into().unwrap()) as usize;
            (0..n)
                .map(|i| &d[dir + 12 * i..dir + 12 * i + 12])
                .find(|e| u32::from_le_bytes(e[0..4].try_into().unwrap()) == stream)
                .map(|e| {
                    let rva = u32::from_le_bytes(e[8..12].try_into().unwrap()) as usize;
                    u32::from_le_bytes(d[rva + 8..rva + 12].try_into().unwrap())
                })
                .unwrap()
        };
        assert_eq!(count(&b, 12) as usize, LARGE_HANDLES);
        assert_eq!(count(&b, 18) as usize, LARGE_TRACE_RECORDS);
        assert_eq!(count(&a, 12), 97_000);
        assert_eq!(count(&a, 18), 175_000);
    }

    #[test]
    fn full_memory_dump_is_the_small_one_plus_memory() {
        let sim = crate::batch::simulate(&small_customer()).unwrap();
        let small = render(&sim);
        let full = FullMemory::of(&sim, 64 << 20);
        let ranges = &full.ranges;
        assert!(ranges.iter().map(|r| r.1).sum::<u64>() >= 64 << 20);
        assert!(ranges.windows(2).all(|w| w[0].0 + w[0].1 < w[1].0));
        let dir = tempfile_dir();
        let path = dir.join("full.dmp");
        let size = full.write(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert_eq!(full.streams[..4], small[..4]);
        assert!(full.streams.len() > small.len());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("dumpleak-large-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
