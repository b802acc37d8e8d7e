//! Scenario L (`testdata/batch/`): the committed customer dumps parse with the independent
//! `minidump` crate and show the documented pids, times, versions, counts, traces and crashes;
//! the bad files are what the README says; the aggregate points at MSMAPI32 11.0.5601.0.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dumpleak_fixtures::batch::{
    self, Arch, CrashKind, Mapi, EMPTY_FILE, HOSTILE_CLAIMED, HOSTILE_FILE, NOTES_FILE,
    TRUNCATED_FILE,
};
use dumpleak_fixtures::default_testdata_dir;
use minidump::{
    Minidump, MinidumpException, MinidumpHandleDataStream, MinidumpMiscInfo, MinidumpModuleList,
    MinidumpSystemInfo, MinidumpThreadList, Module,
};

fn td(rel: &str) -> PathBuf {
    default_testdata_dir().join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(td(rel)).unwrap_or_else(|e| panic!("{rel}: {e} (run make-fixtures)"))
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// The README table: file, pid, capture, arch (0 x86 / 9 AMD64), MSMAPI32, MailSvc, AvScan,
/// total, Mutant, Section, trace records (0 = none), crash code (0 = none).
type Row = (
    &'static str,
    u32,
    u32,
    u16,
    &'static str,
    &'static str,
    bool,
    usize,
    usize,
    usize,
    usize,
    u32,
);
#[rustfmt::skip]
const TABLE: &[Row] = &[
    ("batch/cust-7f3a.dmp", 2148, 1_772_529_262, 0, "11.0.5601.0", "5.2.0.1", true, 540, 322, 163, 200, 0),
    ("batch/cust-0c91.dmp", 3412, 1_772_642_465, 9, "11.0.5601.0", "5.3.0.4", false, 769, 472, 238, 0, 0),
    ("batch/cust-e45b.dmp", 5876, 1_772_676_468, 0, "11.0.5601.0", "5.3.0.4", true, 987, 622, 313, 150, 0xC000_0005),
    ("batch/cust-2d08.dmp", 1204, 1_772_710_210, 0, "11.0.5601.0", "5.2.0.1", false, 1240, 782, 393, 0, 0),
    ("batch/cust-b6c2.dmp", 7720, 1_772_841_511, 9, "11.0.5601.0", "5.2.0.1", false, 1396, 892, 448, 0, 0xC000_0017),
    ("batch/cust-51ef.dmp", 4412, 1_772_954_534, 9, "11.0.5601.0", "5.3.0.4", true, 594, 362, 183, 180, 0),
    ("batch/cust-9a37.dmp", 6088, 1_773_061_557, 0, "11.0.5601.0", "5.3.0.4", false, 892, 552, 278, 0, 0),
    ("batch/cust-c8d4.dmp", 2964, 1_773_168_363, 0, "11.0.5601.0", "5.2.0.1", true, 1125, 702, 353, 0, 0),
    ("batch/cust-3e6f.dmp", 3340, 1_772_546_559, 0, "11.0.8161.0", "5.3.0.4", true, 57, 2, 3, 0, 0),
    ("batch/cust-a019.dmp", 9012, 1_772_612_390, 9, "11.0.8161.0", "5.2.0.1", false, 70, 2, 3, 0, 0),
    ("batch/cust-64b8.dmp", 1876, 1_772_793_207, 0, "11.0.8161.0", "5.2.0.1", false, 52, 2, 3, 120, 0),
    ("batch/cust-d2a5.dmp", 5532, 1_772_917_876, 9, "11.0.8161.0", "5.3.0.4", true, 78, 2, 3, 0, 0),
    ("batch/cust-18c7.dmp", 4700, 1_773_208_122, 0, "11.0.8161.0", "5.2.0.1", true, 63, 2, 3, 0, 0),
    ("batch/cust-f05e.dmp", 8164, 1_773_329_229, 9, "11.0.8161.0", "5.3.0.4", false, 67, 2, 3, 0, 0),
    ("batch/site-b/cust-4b7d.dmp", 2240, 1_773_045_618, 0, "11.0.5601.0", "5.3.0.4", false, 676, 412, 208, 0, 0),
    ("batch/site-b/cust-8d3c.dmp", 6356, 1_773_255_835, 9, "11.0.8161.0", "5.2.0.1", true, 60, 2, 3, 0, 0),
];

/// What one dump says, read with `minidump`.
#[derive(Debug)]
struct Parsed {
    pid: u32,
    capture: u32,
    arch: u16,
    /// File name (lower case) → (version, base, size).
    modules: BTreeMap<String, (String, u64, u64)>,
    total: usize,
    types: BTreeMap<String, usize>,
    /// Handle value → type.
    handles: BTreeMap<u64, String>,
    /// (handle, op, stack) in file order.
    records: Option<Vec<(u64, u32, Vec<u64>)>>,
    crash: Option<u32>,
}

fn parse(rel: &str) -> Parsed {
    let dump = Minidump::read(read(rel)).unwrap_or_else(|e| panic!("{rel}: {e:?}"));
    let misc = dump.get_stream::<MinidumpMiscInfo>().unwrap();
    let sys = dump.get_stream::<MinidumpSystemInfo>().unwrap();
    let modules = dump.get_stream::<MinidumpModuleList>().unwrap();
    let hd = dump.get_stream::<MinidumpHandleDataStream>().unwrap();
    let mut types = BTreeMap::new();
    let mut handles = BTreeMap::new();
    for h in hd.iter() {
        let t = h.type_name.clone().unwrap();
        *types.entry(t.clone()).or_insert(0) += 1;
        handles.insert(*h.raw.handle().unwrap(), t);
    }
    let records = dump.get_raw_stream(18).ok().map(|b| {
        assert_eq!((u32_at(b, 0), u32_at(b, 4)), (16, 288), "{rel}");
        let n = u32_at(b, 8) as usize;
        assert_eq!(b.len(), 16 + 288 * n, "{rel}");
        (0..n)
            .map(|i| {
                let e = 16 + 288 * i;
                let depth = u32_at(b, e + 24) as usize;
                assert_eq!(u32_at(b, e + 8), *misc.raw.process_id().unwrap());
                let stack = (0..depth).map(|j| u64_at(b, e + 32 + 8 * j)).collect();
                (u64_at(b, e), u32_at(b, e + 16), stack)
            })
            .collect()
    });
    let crash = dump
        .get_stream::<MinidumpException>()
        .ok()
        .map(|e| e.raw.exception_record.exception_code);
    Parsed {
        pid: *misc.raw.process_id().unwrap(),
        capture: dump.header.time_date_stamp,
        arch: sys.raw.processor_architecture,
        modules: modules
            .iter()
            .map(|m| {
                let file = m.code_file().rsplit('\\').next().unwrap().to_lowercase();
                (
                    file,
                    (
                        m.version().unwrap().into_owned(),
                        m.base_address(),
                        m.size(),
                    ),
                )
            })
            .collect(),
        total: hd.iter().count(),
        types,
        handles,
        records,
        crash,
    }
}

#[test]
fn table_matches_the_generator() {
    let customers = batch::customers();
    assert_eq!(customers.len(), TABLE.len());
    for (c, row) in customers.iter().zip(TABLE) {
        assert_eq!(c.file, row.0);
        assert_eq!(c.pid, row.1);
        assert_eq!(c.capture_time, row.2);
        let sim = batch::simulate(c).unwrap();
        let e = batch::expected(&sim);
        assert_eq!(e.total, row.7, "{}", row.0);
        assert_eq!(e.by_type["Mutant"], row.8, "{}", row.0);
        assert_eq!(e.by_type["Section"], row.9, "{}", row.0);
        assert_eq!(e.records, row.10, "{}", row.0);
    }
}

#[test]
fn customer_dumps_parse_and_show_the_documented_facts() {
    for &(rel, pid, capture, arch, mapi, exe, avscan, total, mutant, section, recs, crash) in TABLE
    {
        let p = parse(rel);
        assert_eq!(p.pid, pid, "{rel}");
        assert_eq!(p.capture, capture, "{rel}");
        assert_eq!(p.arch, arch, "{rel}");
        assert_eq!(p.modules["msmapi32.dll"].0, mapi, "{rel}");
        assert_eq!(p.modules["mailsvc.exe"].0, exe, "{rel}");
        assert_eq!(p.modules.contains_key("avscan.dll"), avscan, "{rel}");
        if avscan {
            assert_eq!(p.modules["avscan.dll"].0, "3.1.0.0");
        }
        assert!(p.modules.contains_key("ntdll.dll") && p.modules.contains_key("kernel32.dll"));
        assert_eq!(p.total, total, "{rel}");
        assert_eq!(p.types["Mutant"], mutant, "{rel}");
        assert_eq!(p.types["Section"], section, "{rel}");
        let leaky = mapi == "11.0.5601.0";
        if leaky {
            assert!((300..=900).contains(&mutant) && (150..=450).contains(&section));
            assert!(total > 500, "{rel}");
        } else {
            assert!((50..=80).contains(&total), "{rel}");
        }
        assert_eq!(p.crash.unwrap_or(0), crash, "{rel}");
        match &p.records {
            None => assert_eq!(recs, 0, "{rel}"),
            Some(r) => {
                assert_eq!(r.len(), recs, "{rel}");
                // Newest first: the first record of a value is its newest.
                let mut newest: BTreeMap<u64, (u32, &Vec<u64>)> = BTreeMap::new();
                for (h, op, st) in r {
                    newest.entry(*h).or_insert((*op, st));
                }
                let (_, base, size) = p.modules["msmapi32.dll"];
                let in_mapi = |st: &Vec<u64>| st.iter().any(|a| (base..base + size).contains(a));
                assert!(r.iter().all(|(_, _, st)| in_mapi(st)), "{rel}");
                let live_open: Vec<_> = p
                    .handles
                    .iter()
                    .filter(|(v, _)| newest.get(v).is_some_and(|(op, _)| *op == 1))
                    .collect();
                if leaky {
                    // 3 leaked handles per traced cycle: 2 Mutant + 1 Section, all via MSMAPI32.
                    assert_eq!(live_open.len(), recs / 5 * 3, "{rel}");
                    let mutants = live_open.iter().filter(|(_, t)| *t == "Mutant").count();
                    assert_eq!(mutants, recs / 5 * 2, "{rel}");
                    assert!(live_open
                        .iter()
                        .all(|(_, t)| *t == "Mutant" || *t == "Section"));
                } else {
                    assert!(live_open.is_empty(), "{rel}: balanced trace");
                }
            }
        }
    }
}

#[test]
fn nothing_but_msmapi32_goes_with_the_counts() {
    let parsed: Vec<(bool, Parsed)> = TABLE
        .iter()
        .map(|r| (r.0.starts_with("batch/site-b/"), parse(r.0)))
        .collect();
    let median = |mut v: Vec<usize>| -> f64 {
        v.sort_unstable();
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2] as f64
        } else {
            (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
        }
    };
    for (recursive, want) in [
        (
            false,
            [
                ("11.0.5601.0", 8, 939.5, 1396),
                ("11.0.8161.0", 6, 65.0, 78),
            ],
        ),
        (
            true,
            [
                ("11.0.5601.0", 9, 892.0, 1396),
                ("11.0.8161.0", 7, 63.0, 78),
            ],
        ),
    ] {
        let set: Vec<&Parsed> = parsed
            .iter()
            .filter(|(sub, _)| recursive || !sub)
            .map(|(_, p)| p)
            .collect();
        for (v, n, med, max) in want {
            let totals: Vec<usize> = set
                .iter()
                .filter(|p| p.modules["msmapi32.dll"].0 == v)
                .map(|p| p.total)
                .collect();
            assert_eq!(totals.len(), n, "{v}");
            assert_eq!(median(totals.clone()), med, "{v}");
            assert_eq!(totals.iter().max().copied(), Some(max), "{v}");
        }
        // Half of each group has MailSvc 5.2.0.1 / AvScan (4 of 8 and 3 of 6 at the top level).
        if !recursive {
            for (leaky, n) in [(true, 8), (false, 6)] {
                let g: Vec<&&Parsed> = set
                    .iter()
                    .filter(|p| (p.modules["msmapi32.dll"].0 == "11.0.5601.0") == leaky)
                    .collect();
                assert_eq!(g.len(), n);
                let v52 = g
                    .iter()
                    .filter(|p| p.modules["mailsvc.exe"].0 == "5.2.0.1")
                    .count();
                let av = g
                    .iter()
                    .filter(|p| p.modules.contains_key("avscan.dll"))
                    .count();
                assert_eq!((v52, av), (n / 2, n / 2), "leaky={leaky}");
            }
        }
    }
}

#[test]
fn crash_dumps_unwind_into_the_right_module() {
    use minidump_processor::process_minidump;
    use minidump_unwind::{simple_symbol_supplier, Symbolizer};
    for c in batch::customers().iter().filter(|c| c.crash.is_some()) {
        let kind = c.crash.unwrap();
        let sim = batch::simulate(c).unwrap();
        let cr = batch::crash(&sim, kind);
        let dump = Minidump::read(read(&c.file)).unwrap();
        let exc = dump.get_stream::<MinidumpException>().unwrap();
        assert_eq!(exc.thread_id, c.mapi_tid());
        let ctx_size = exc.raw.thread_context.data_size;
        assert_eq!(
            ctx_size,
            if c.arch == Arch::X86 { 716 } else { 1232 },
            "{}",
            c.file
        );
        let threads = dump.get_stream::<MinidumpThreadList>().unwrap();
        let t = threads.get_thread(c.mapi_tid()).unwrap();
        assert_eq!(t.raw.thread_context.data_size, ctx_size);
        assert_eq!(t.raw.stack.start_of_memory_range, cr.sp);
        let provider = Symbolizer::new(simple_symbol_supplier(vec![]));
        let state = pollster::block_on(process_minidump(&dump, &provider)).unwrap();
        let info = state.exception_info.as_ref().unwrap();
        let t = &state.threads[state.requesting_thread.unwrap()];
        println!("== {} {:?} {:?}", c.file, kind, info.reason);
        let module = |i: usize| {
            t.frames[i].module.as_ref().map_or("?".to_owned(), |m| {
                m.code_file().rsplit('\\').next().unwrap().to_owned()
            })
        };
        for (i, f) in t.frames.iter().enumerate() {
            println!("{i:2} {:#018x} {:?} {}", f.instruction, f.trust, module(i));
        }
        assert_eq!(t.frames[0].instruction, cr.ip, "{}", c.file);
        let ips: Vec<u64> = t.frames.iter().map(|f| f.instruction).collect();
        let mut want = vec![cr.ip];
        want.extend(cr.returns.iter().map(|r| r - 1));
        assert_eq!(ips, want, "{}", c.file);
        match kind {
            CrashKind::AccessViolation => {
                assert_eq!(info.address.0, batch::AV_READ_ADDRESS);
                assert_eq!(module(0), "MSMAPI32.DLL");
                assert_eq!(module(1), "MSMAPI32.DLL");
                assert_eq!(module(2), "MailSvc.exe");
                assert_eq!(c.mapi, Mapi::Leaky);
            }
            CrashKind::NoMemory => {
                assert_eq!(module(0), "KERNELBASE.dll");
                assert_eq!(module(1), "MSMAPI32.DLL");
                assert_eq!(module(3), "MailSvc.exe");
            }
        }
    }
}

#[test]
fn bad_files_are_bad() {
    // Empty and text: not minidumps at all.
    assert!(read(EMPTY_FILE).is_empty());
    assert!(Minidump::read(read(EMPTY_FILE)).is_err());
    let notes = read(NOTES_FILE);
    assert!(std::str::from_utf8(&notes).unwrap().is_ascii());
    assert!(Minidump::read(notes).is_err());

    // Truncated: the first half of a complete dump of pid 3100.
    let t = read(TRUNCATED_FILE);
    let src = batch::truncated_source();
    let full = batch::render(&batch::simulate(&src).unwrap());
    assert_eq!(t.len(), full.len() / 2);
    assert_eq!(&full[..t.len()], &t[..]);
    let dump = Minidump::read(t).unwrap();
    let misc = dump.get_stream::<MinidumpMiscInfo>().unwrap();
    assert_eq!(misc.raw.process_id(), Some(&3100));
    assert!(dump.get_stream::<MinidumpHandleDataStream>().is_err());

    // Hostile: 0xFFFFFFFF descriptors claimed, 2 present; rejected or bounded, never allocated.
    let h = read(HOSTILE_FILE);
    assert!(h.len() < 2048);
    let dump = Minidump::read(h.clone()).unwrap();
    let raw = dump.get_raw_stream(12).unwrap();
    assert_eq!(raw.len(), 16 + 2 * 40);
    assert_eq!(u32_at(raw, 8), HOSTILE_CLAIMED);
    if let Ok(hd) = dump.get_stream::<MinidumpHandleDataStream>() {
        assert!(hd.iter().count() <= 2);
    }
    let misc = dump.get_stream::<MinidumpMiscInfo>().unwrap();
    assert_eq!(misc.raw.process_id(), Some(&batch::HOSTILE_PID));
}

#[test]
fn committed_batch_is_reproduced() {
    let files = batch::fixtures().unwrap();
    assert_eq!(files.len(), 20);
    for f in &files {
        assert!(read(&f.rel_path) == f.bytes, "{} differs", f.rel_path);
    }
    // Nothing else in batch/ (and site-b/ holds exactly the two site-b dumps).
    let mut on_disk = Vec::new();
    for dir in ["batch", "batch/site-b"] {
        for e in std::fs::read_dir(td(dir)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                on_disk.push(format!("{dir}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    on_disk.sort();
    let mut want: Vec<String> = files.iter().map(|f| f.rel_path.clone()).collect();
    want.sort();
    assert_eq!(on_disk, want);
}

#[test]
fn bench_dumps_are_deterministic_and_parse() {
    let mut leaky = 0;
    let mut traced = 0;
    let mut crashed = 0;
    for i in 0..200 {
        let (c, bytes) = batch::bench_dump(i).unwrap();
        assert_eq!(batch::bench_dump(i).unwrap().1, bytes);
        let dump = Minidump::read(&bytes[..]).unwrap();
        let hd = dump.get_stream::<MinidumpHandleDataStream>().unwrap();
        let n = hd.iter().count();
        if c.mapi == Mapi::Leaky {
            leaky += 1;
            assert!(n > 100, "{}", c.file);
        } else {
            assert!(n < 100, "{}", c.file);
        }
        traced += usize::from(dump.get_raw_stream(18).is_ok());
        crashed += usize::from(dump.get_stream::<MinidumpException>().is_ok());
        assert!(bytes.len() < 64 * 1024, "{}: {}", c.file, bytes.len());
    }
    assert!((80..=140).contains(&leaky), "{leaky}");
    assert!(traced >= 20, "{traced}");
    assert!(crashed >= 1, "{crashed}");
}
