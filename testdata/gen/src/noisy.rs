//! Scenario M of `testdata/README.md`: `series-noisy/` — ReportSvc.exe (x64, pid 6120) dumped
//! every hour from 08:00 to 19:00 UTC (12 dumps), without handle tracing: the series of
//! issue 19, one handle type per behaviour.
//!
//! | type    | counts                                   | truth                               |
//! |---------|------------------------------------------|-------------------------------------|
//! | Event   | 30, 30, 31, 31, … 35, 35                 | slow leak: +1 every 2 hours         |
//! | Key     | 20, 25, 30, 35, 40, 41, 40, 39, 40, …    | warm-up plateau: ~40 from dump 4    |
//! | Section | 60, 58, 56, … 38                         | steady decline: −2 per hour         |
//! | Thread  | 9, 4, 11, 6, 10, 3, 12, 5, 8, 4, 11, 7   | churn (a worker pool)               |
//! | Mutant  | 10, 11, 10, 10, 11, 10, 11, 10, 10, …    | stable within one handle            |
//! | File    | 8 throughout                             | stable                              |
//!
//! Each dump is reached from the previous one by opening handles of a type (the lowest free
//! value, as Windows does) or closing its most recently opened ones.

use crate::scenarios::{fixture, win10_space, DumpSpec, Fixture};
use crate::sim::Process;
use crate::writer::{DescriptorVersion, SystemInfo, Thread, MINIDUMP_WITH_HANDLE_DATA};

pub const NOISY_PID: u32 = 6120;
pub const NOISY_TID: u32 = 0x17F0;
/// 2026-03-02 07:30:00 UTC.
pub const NOISY_CREATE_TIME: u32 = 1_772_436_600;
/// 2026-03-02 08:00:00 UTC: dump 0; dump k an hour after dump k − 1.
pub const NOISY_FIRST_CAPTURE: u32 = 1_772_438_400;
pub const NOISY_DUMPS: usize = 12;
pub const NOISY_EXE: &str = r"C:\Program Files\Contoso\Reports\ReportSvc.exe";

/// File names in time order (their names sort the same way).
pub const NOISY_FILES: [&str; NOISY_DUMPS] = [
    "series-noisy/reportsvc-0800.dmp",
    "series-noisy/reportsvc-0900.dmp",
    "series-noisy/reportsvc-1000.dmp",
    "series-noisy/reportsvc-1100.dmp",
    "series-noisy/reportsvc-1200.dmp",
    "series-noisy/reportsvc-1300.dmp",
    "series-noisy/reportsvc-1400.dmp",
    "series-noisy/reportsvc-1500.dmp",
    "series-noisy/reportsvc-1600.dmp",
    "series-noisy/reportsvc-1700.dmp",
    "series-noisy/reportsvc-1800.dmp",
    "series-noisy/reportsvc-1900.dmp",
];

/// Handles of each type in each dump (type, counts in time order).
pub const NOISY_COUNTS: [(&str, [usize; NOISY_DUMPS]); 6] = [
    ("Event", [30, 30, 31, 31, 32, 32, 33, 33, 34, 34, 35, 35]),
    ("Key", [20, 25, 30, 35, 40, 41, 40, 39, 40, 41, 40, 40]),
    ("Section", [60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38]),
    ("Thread", [9, 4, 11, 6, 10, 3, 12, 5, 8, 4, 11, 7]),
    ("Mutant", [10, 11, 10, 10, 11, 10, 11, 10, 10, 11, 10, 10]),
    ("File", [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]),
];

/// Object name of the `i`-th handle of a type (registry keys and files are named).
fn object_name(type_name: &str, i: usize) -> Option<String> {
    match type_name {
        "Key" => Some(format!(
            r"\REGISTRY\MACHINE\SOFTWARE\Contoso\Reports\Templates\{i:03}"
        )),
        "File" => Some(format!(r"\Device\HarddiskVolume3\Reports\spool-{i:02}.dat")),
        _ => None,
    }
}

/// The 12 dumps, in time order.
pub fn fixtures() -> Vec<Fixture> {
    let space = win10_space(NOISY_EXE, 0x0000_7FF6_2B10_0000);
    let threads = [Thread {
        thread_id: NOISY_TID,
        priority_class: 0x20,
        teb: 0x0000_0091_4D2E_1000,
        stack_start: 0x0000_0091_4D6F_0000,
        ..Thread::default()
    }];
    let mut process = Process::new(NOISY_PID);
    // Per type: the handles open, oldest first; and how many were ever opened (for names).
    let mut open: Vec<Vec<u64>> = vec![Vec::new(); NOISY_COUNTS.len()];
    let mut opened = vec![0usize; NOISY_COUNTS.len()];
    let mut out = Vec::new();
    for (k, rel) in NOISY_FILES.iter().enumerate() {
        for (t, (type_name, counts)) in NOISY_COUNTS.iter().enumerate() {
            while open[t].len() > counts[k] {
                let handle = open[t].pop().expect("more open than wanted");
                process.close(NOISY_TID, handle, &[]);
            }
            while open[t].len() < counts[k] {
                let name = object_name(type_name, opened[t]);
                opened[t] += 1;
                let handle = process.open_simple(NOISY_TID, type_name, name.as_deref(), &[]);
                open[t].push(handle);
            }
        }
        let hours = k as u32;
        out.push(fixture(
            rel,
            &DumpSpec {
                space: &space,
                system_info: SystemInfo::windows_10_x64(),
                process: &process,
                threads: &threads,
                create_time: NOISY_CREATE_TIME,
                capture_time: NOISY_FIRST_CAPTURE + 3600 * hours,
                user_time: 40 + 95 * hours,
                kernel_time: 12 + 31 * hours,
                flags: MINIDUMP_WITH_HANDLE_DATA,
                descriptors: Some(DescriptorVersion::V1),
                trace: None,
            },
        ));
    }
    out
}
