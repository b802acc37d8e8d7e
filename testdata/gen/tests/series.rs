//! Scenario K (`testdata/series/`): the committed dumps parse with the independent `minidump`
//! crate and show the documented counts, time order, trends and retained handles.

use std::collections::{BTreeMap, BTreeSet};

use dumpleak_fixtures::default_testdata_dir;
use dumpleak_fixtures::series::{
    self, series_space, SERIES_BROKEN_FILE, SERIES_BROKEN_FROM, SERIES_CREATE_TIME, SERIES_FILES,
    SERIES_OTHER_CREATE_TIME, SERIES_OTHER_FILE, SERIES_OTHER_PID, SERIES_PID,
};
use minidump::{
    Minidump, MinidumpHandleDataStream, MinidumpMiscInfo, MinidumpModuleList, MinidumpSystemInfo,
    Module,
};

/// The README table (time order).
const TOTAL: [usize; 8] = [38, 39, 47, 45, 49, 45, 52, 50];
const SECTION: [usize; 8] = [3, 4, 5, 6, 7, 8, 9, 10];
const FILE: [usize; 8] = [6, 9, 11, 12, 12, 12, 12, 12];
const THREAD: [usize; 8] = [6, 3, 8, 4, 7, 2, 8, 5];
const RECORDS: [usize; 8] = [8, 17, 27, 37, 45, 51, 58, 68];
const CAPTURE: [u32; 8] = [
    1_772_464_500,
    1_772_465_400,
    1_772_466_300,
    1_772_467_200,
    1_772_468_100,
    1_772_469_000,
    1_772_469_900,
    1_772_470_800,
];
/// Types of the baseline that never change: (type, count).
const STABLE: &[(&str, usize)] = &[
    ("ALPC Port", 1),
    ("Directory", 2),
    ("EtwRegistration", 2),
    ("Event", 3),
    ("IRTimer", 2),
    ("IoCompletion", 1),
    ("Key", 4),
    ("Mutant", 1),
    ("Process", 1),
    ("Semaphore", 2),
    ("Token", 1),
    ("TpWorkerFactory", 1),
    ("WaitCompletionPacket", 2),
];

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

type Identity = (u64, String, Option<String>);

struct Parsed {
    pid: u32,
    create: u32,
    capture: u32,
    handles: Vec<Identity>,
    /// (handle, pid, tid, op, stack) in file order.
    ops: Vec<(u64, u32, u32, u32, Vec<u64>)>,
}

fn parse(bytes: Vec<u8>) -> Parsed {
    let dump = Minidump::read(bytes).unwrap();
    let misc = dump.get_stream::<MinidumpMiscInfo>().unwrap();
    let sys = dump.get_stream::<MinidumpSystemInfo>().unwrap();
    assert_eq!(sys.raw.processor_architecture, 9);
    assert_eq!(
        (
            sys.raw.major_version,
            sys.raw.minor_version,
            sys.raw.build_number
        ),
        (10, 0, 19045)
    );
    let modules = dump.get_stream::<MinidumpModuleList>().unwrap();
    let versions: Vec<(String, String)> = modules
        .iter()
        .map(|m| {
            let file = m.code_file().rsplit('\\').next().unwrap().to_owned();
            (file, m.version().unwrap().into_owned())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("Indexer.exe", "4.0.2.17"),
        ("ntdll.dll", "10.0.19041.3636"),
        ("KERNELBASE.dll", "10.0.19041.3636"),
        ("ShardCache.dll", "2.1.0.5"),
        ("FeedSync.dll", "7.3.1.0"),
        ("WorkPool.dll", "1.0.9.2"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(versions, want);
    assert!(modules.iter().all(|m| m.debug_identifier().is_some()));
    let hd = dump.get_stream::<MinidumpHandleDataStream>().unwrap();
    let handles = hd
        .iter()
        .map(|h| {
            (
                *h.raw.handle().unwrap(),
                h.type_name.clone().unwrap(),
                h.object_name.clone(),
            )
        })
        .collect();
    let raw = dump.get_raw_stream(18).unwrap();
    assert_eq!((u32_at(raw, 0), u32_at(raw, 4)), (16, 288));
    let n = u32_at(raw, 8) as usize;
    assert_eq!(raw.len(), 16 + 288 * n);
    let ops = (0..n)
        .map(|i| {
            let e = 16 + 288 * i;
            let depth = u32_at(raw, e + 24) as usize;
            let stack = (0..depth).map(|j| u64_at(raw, e + 32 + 8 * j)).collect();
            (
                u64_at(raw, e),
                u32_at(raw, e + 8),
                u32_at(raw, e + 12),
                u32_at(raw, e + 16),
                stack,
            )
        })
        .collect();
    Parsed {
        pid: *misc.raw.process_id().unwrap(),
        create: *misc.raw.process_create_time().unwrap(),
        capture: dump.header.time_date_stamp,
        handles,
        ops,
    }
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(default_testdata_dir().join(rel)).unwrap()
}

#[test]
fn series_dumps_show_leak_plateau_churn() {
    let space = series_space();
    let leak = space.stack(series::STACK_FEED_SECTION);
    let cache = space.stack(series::STACK_CACHE_FILE);
    let churn_open = space.stack(series::STACK_POOL_THREAD_OPEN);
    let churn_close = space.stack(series::STACK_POOL_THREAD_CLOSE);
    let dumps: Vec<Parsed> = SERIES_FILES.iter().map(|f| parse(read(f))).collect();
    for (k, d) in dumps.iter().enumerate() {
        let file = SERIES_FILES[k];
        assert_eq!(d.pid, SERIES_PID, "{file}");
        assert_eq!(d.create, SERIES_CREATE_TIME, "{file}");
        assert_eq!(d.capture, CAPTURE[k], "{file}");
        assert_eq!(d.capture, SERIES_CREATE_TIME + 900 * (k as u32 + 1));
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, t, _) in &d.handles {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        assert_eq!(d.handles.len(), TOTAL[k], "{file}");
        assert_eq!(counts["Section"], SECTION[k], "{file}");
        assert_eq!(counts["File"], FILE[k], "{file}");
        assert_eq!(counts["Thread"], THREAD[k], "{file}");
        for (t, n) in STABLE {
            assert_eq!(counts[t], *n, "{file} {t}");
        }
        assert_eq!(counts.len(), STABLE.len() + 3, "{file}");
        assert_eq!(d.ops.len(), RECORDS[k], "{file}");
        // Newest first: the first record is this cycle's last operation.
        let newest: BTreeMap<u64, &(u64, u32, u32, u32, Vec<u64>)> =
            d.ops.iter().rev().map(|o| (o.0, o)).collect();
        for o in &d.ops {
            assert_eq!(o.1, SERIES_PID);
            let want_stack = match (o.2, o.3) {
                (series::TID_FEED, 1) => &leak,
                (series::TID_CACHE, 1) => &cache,
                (series::TID_POOL, 1) => &churn_open,
                (series::TID_POOL, 2) => &churn_close,
                other => panic!("{file}: unexpected record {other:?}"),
            };
            assert_eq!(&o.4, want_stack);
        }
        // Every traced live handle's newest record is its OPEN, with the stack of its type.
        for (v, t, name) in &d.handles {
            let Some(o) = newest.get(v) else {
                assert!(*v <= 0x78, "{file}: {v:#x} has no record");
                continue;
            };
            assert_eq!(o.3, 1, "{file}: {v:#x}");
            let want = match t.as_str() {
                "Section" => &leak,
                "File" => {
                    assert!(name
                        .as_deref()
                        .unwrap()
                        .starts_with(r"C:\ProgramData\Indexer\shards\shard-"));
                    &cache
                }
                "Thread" => &churn_open,
                _ => panic!("{file}: {t} has records"),
            };
            assert_eq!(&o.4, want, "{file}: {v:#x}");
        }
    }
    // Nothing but Section, File and Thread changes; the Section count grows by 1 per dump.
    for k in 1..8 {
        assert_eq!(SECTION[k], SECTION[k - 1] + 1);
    }

    // Retained since (identity = value, type, name), measured at the last dump.
    let sets: Vec<BTreeSet<&Identity>> = dumps.iter().map(|d| d.handles.iter().collect()).collect();
    let last = &dumps[7];
    let newest: BTreeMap<u64, &Vec<u64>> = last.ops.iter().rev().map(|o| (o.0, &o.4)).collect();
    let mut by_stack: BTreeMap<(&str, usize), usize> = BTreeMap::new();
    for id in &sets[7] {
        let mut since = 7;
        while since > 0 && sets[since - 1].contains(id) {
            since -= 1;
        }
        let stack = match newest.get(&id.0) {
            None => "baseline",
            Some(s) if **s == leak => "leak",
            Some(s) if **s == cache => "cache",
            Some(s) if **s == churn_open => "churn",
            Some(_) => "other",
        };
        *by_stack.entry((stack, since)).or_default() += 1;
    }
    let want: BTreeMap<(&str, usize), usize> = [
        (("baseline", 0), 30),
        (("leak", 0), 1),
        (("leak", 1), 1),
        (("leak", 2), 1),
        (("leak", 3), 1),
        (("leak", 4), 1),
        (("leak", 5), 1),
        (("leak", 6), 1),
        (("leak", 7), 1),
        (("cache", 0), 3),
        (("cache", 1), 3),
        (("cache", 2), 2),
        (("cache", 3), 1),
        (("churn", 7), 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_stack, want);
}

#[test]
fn series_file_names_and_outsiders() {
    // Lexical order is neither time order nor its reverse.
    let mut sorted = SERIES_FILES.to_vec();
    sorted.sort();
    assert_ne!(sorted, SERIES_FILES.to_vec());
    sorted.reverse();
    assert_ne!(sorted, SERIES_FILES.to_vec());

    let other = parse(read(SERIES_OTHER_FILE));
    assert_eq!(other.pid, SERIES_OTHER_PID);
    assert_eq!(other.create, SERIES_OTHER_CREATE_TIME);
    assert!(CAPTURE[3] < other.capture && other.capture < CAPTURE[4]);
    assert_eq!(other.handles.len(), 39);

    let full = read(SERIES_FILES[SERIES_BROKEN_FROM]);
    let broken = read(SERIES_BROKEN_FILE);
    assert_eq!(broken.len(), full.len() / 2);
    assert_eq!(&broken[..], &full[..broken.len()]);
    // The header and directory survive, the handle data and the trace do not.
    if let Ok(dump) = Minidump::read(broken) {
        assert!(dump.get_stream::<MinidumpHandleDataStream>().is_err());
        assert!(dump.get_raw_stream(18).is_err());
    }
}
