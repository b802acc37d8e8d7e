//! Every generated dump parses with the independent `minidump` crate and matches what the
//! simulator put in; the committed files are reproduced byte for byte.

use std::collections::BTreeMap;

use dumpleak_fixtures::scenarios::{self, Incident, INCIDENT_CREATE_TIME, INCIDENT_PID};
use dumpleak_fixtures::{
    all_fixtures, default_testdata_dir, write_all, DescriptorVersion, TraceOrder,
};
use minidump::{
    Minidump, MinidumpHandleDataStream, MinidumpMiscInfo, MinidumpModuleList, MinidumpSystemInfo,
    MinidumpThreadList, Module,
};

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Decoded AVRF_HANDLE_OPERATION: (handle, pid, tid, op, stack).
type Op = (u64, u32, u32, u32, Vec<u64>);

fn parse_ops(b: &[u8]) -> Vec<Op> {
    assert_eq!(u32_at(b, 0), 16, "SizeOfHeader");
    assert_eq!(u32_at(b, 4), 288, "SizeOfEntry");
    assert_eq!(u32_at(b, 12), 0, "Reserved");
    let n = u32_at(b, 8) as usize;
    assert_eq!(b.len(), 16 + 288 * n);
    (0..n)
        .map(|i| {
            let e = 16 + 288 * i;
            let depth = u32_at(b, e + 24) as usize;
            assert!(depth <= 32);
            let stack: Vec<u64> = (0..32).map(|j| u64_at(b, e + 32 + 8 * j)).collect();
            assert!(stack[depth..].iter().all(|&a| a == 0), "unused slots zero");
            (
                u64_at(b, e),
                u32_at(b, e + 8),
                u32_at(b, e + 12),
                u32_at(b, e + 16),
                stack[..depth].to_vec(),
            )
        })
        .collect()
}

#[test]
fn every_fixture_parses_with_rust_minidump() {
    let fixtures = all_fixtures().unwrap();
    assert_eq!(fixtures.len(), 47);
    for f in &fixtures {
        let name = f.rel_path;
        if name == dumpleak_fixtures::series::SERIES_BROKEN_FILE {
            // Deliberately truncated; checked in tests/series.rs.
            continue;
        }
        let dump = Minidump::read(&f.bytes[..]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(dump.header.signature, 0x504d_444d, "{name}");
        assert_eq!(dump.header.version & 0xffff, 0xa793, "{name}");
        assert_eq!(dump.header.time_date_stamp, f.capture_time, "{name}");
        assert_eq!(dump.header.flags, f.flags, "{name}");
        assert_eq!(dump.header.stream_directory_rva, 32, "{name}");

        let sys = dump.get_stream::<MinidumpSystemInfo>().unwrap();
        assert_eq!(
            sys.raw.processor_architecture, f.system_info.processor_architecture,
            "{name}"
        );
        assert_eq!(sys.raw.build_number, f.system_info.build_number, "{name}");
        assert_eq!(sys.raw.platform_id, 2);
        let csd = sys
            .csd_version()
            .map(|c| c.into_owned())
            .unwrap_or_default();
        assert_eq!(csd, f.system_info.csd_version, "{name}");

        let misc = dump.get_stream::<MinidumpMiscInfo>().unwrap();
        assert_eq!(misc.raw.process_id(), Some(&f.pid), "{name}");
        assert_eq!(
            misc.raw.process_create_time(),
            Some(&f.create_time),
            "{name}"
        );

        let modules = dump.get_stream::<MinidumpModuleList>().unwrap();
        let got: Vec<_> = modules.iter().collect();
        assert_eq!(got.len(), f.modules.len(), "{name}");
        for (m, want) in got.iter().zip(&f.modules) {
            assert_eq!(m.code_file(), want.name, "{name}");
            assert_eq!(m.base_address(), want.base_of_image);
            assert_eq!(m.size(), u64::from(want.size_of_image));
            assert_eq!(m.raw.time_date_stamp, want.time_date_stamp);
            let v = want.file_version;
            let ver = format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]);
            assert_eq!(m.version().as_deref(), Some(ver.as_str()), "{name}");
            assert!(m.debug_identifier().is_some(), "{name}: {}", want.name);
            assert!(m.debug_file().is_some());
        }

        let threads = dump.get_stream::<MinidumpThreadList>().unwrap();
        assert!(!threads.threads.is_empty());

        match &f.handles {
            None => assert!(
                dump.get_stream::<MinidumpHandleDataStream>().is_err(),
                "{name}"
            ),
            Some(want) => {
                let hd = dump.get_stream::<MinidumpHandleDataStream>().unwrap();
                let got: Vec<_> = hd.iter().collect();
                assert_eq!(got.len(), want.len(), "{name}");
                let v2 = f.descriptor_version == Some(DescriptorVersion::V2);
                for (g, w) in got.iter().zip(want) {
                    assert_eq!(g.raw.handle(), Some(&w.handle));
                    assert_eq!(g.type_name, w.type_name, "{name}");
                    assert_eq!(g.object_name, w.object_name, "{name}");
                    assert_eq!(g.raw.handle_count(), Some(&w.handle_count));
                    assert_eq!(g.raw.pointer_count(), Some(&w.pointer_count));
                    assert!(g.raw.pointer_count() >= g.raw.handle_count());
                    let infos = if v2 { w.object_info.len() } else { 0 };
                    assert_eq!(g.object_infos.len(), infos, "{name}");
                }
                if v2 && name != "reuse/before.dmp" {
                    assert!(got.iter().any(|g| g.object_infos.len() == 2), "{name}");
                }
            }
        }

        match &f.trace {
            None => assert!(dump.get_raw_stream(18).is_err(), "{name}"),
            Some(want) => {
                let ops = parse_ops(dump.get_raw_stream(18).unwrap());
                assert_eq!(ops.len(), want.len(), "{name}");
                for (o, w) in ops.iter().zip(want) {
                    assert_eq!(o.0, w.handle);
                    assert_eq!(o.1, f.pid);
                    assert_eq!(o.3, w.operation_type);
                    assert_eq!(o.4, w.stack);
                }
                // Every handle open at capture whose value has records has an OPEN as its
                // newest record.
                let newest_first = f.trace_order == Some(TraceOrder::NewestFirst);
                let mut newest: BTreeMap<u64, u32> = BTreeMap::new();
                let iter: Box<dyn Iterator<Item = &Op>> = if newest_first {
                    Box::new(ops.iter())
                } else {
                    Box::new(ops.iter().rev())
                };
                for o in iter {
                    newest.entry(o.0).or_insert(o.3);
                }
                for h in f.handles.as_ref().unwrap() {
                    if let Some(&op) = newest.get(&h.handle) {
                        assert_eq!(op, 1, "{name}: {:#x}", h.handle);
                    }
                }
            }
        }
    }
}

#[test]
fn committed_files_are_reproduced_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let written = write_all(tmp.path()).unwrap();
    assert_eq!(written.len(), 47 + 20);
    let committed = default_testdata_dir();
    for p in written {
        let rel = p.strip_prefix(tmp.path()).unwrap();
        let want = std::fs::read(committed.join(rel))
            .unwrap_or_else(|e| panic!("{}: {e} (run make-fixtures)", rel.display()));
        let got = std::fs::read(&p).unwrap();
        assert!(got == want, "{} differs: run make-fixtures", rel.display());
    }
}

/// Scenario M: every dump of `series-noisy/` holds the documented counts per type, an hour
/// after the one before, without a trace stream.
#[test]
fn noisy_series_has_the_documented_counts() {
    use dumpleak_fixtures::noisy::{NOISY_COUNTS, NOISY_FILES, NOISY_FIRST_CAPTURE};
    let fixtures = all_fixtures().unwrap();
    for (k, rel) in NOISY_FILES.iter().enumerate() {
        let f = fixtures.iter().find(|f| f.rel_path == *rel).expect(rel);
        assert_eq!(
            f.capture_time,
            NOISY_FIRST_CAPTURE + 3600 * k as u32,
            "{rel}"
        );
        assert!(f.trace.is_none(), "{rel}: no tracing");
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for handle in f.handles.as_ref().expect("handle data") {
            *counts
                .entry(handle.type_name.clone().unwrap_or_default())
                .or_default() += 1;
        }
        for (type_name, per_dump) in NOISY_COUNTS {
            assert_eq!(
                counts.get(type_name),
                Some(&per_dump[k]),
                "{rel} {type_name}"
            );
        }
        assert_eq!(
            counts.len(),
            NOISY_COUNTS.len(),
            "{rel}: only the six types"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    let a = all_fixtures().unwrap();
    let b = all_fixtures().unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.bytes, y.bytes, "{}", x.rel_path);
    }
}

/// The README facts of scenario A.
#[test]
fn incident_facts() {
    let mut inc = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, 4096).unwrap();
    assert_eq!(inc.process.handle_count(), 40);
    for _ in 0..2 {
        inc.run_cycle();
    }
    let before = inc.process.clone();
    assert_eq!(inc.capture_time(), 1_772_439_600);
    for _ in 0..3 {
        inc.run_cycle();
    }
    assert_eq!(inc.capture_time(), 1_772_441_400);
    let after = &inc.process;
    let cb = before.counts_by_type();
    let ca = after.counts_by_type();
    for (ty, n) in &ca {
        let d = *n as i64 - *cb.get(ty).unwrap_or(&0) as i64;
        let want = match ty.as_str() {
            "Mutant" => 6,
            "Section" => 3,
            _ => 0,
        };
        assert_eq!(d, want, "{ty}");
    }
    let new: Vec<u64> = after
        .handle_values()
        .into_iter()
        .filter(|h| !before.is_open(*h))
        .collect();
    assert_eq!(
        new,
        vec![0xbc, 0xc0, 0xc4, 0xc8, 0xcc, 0xd0, 0xd4, 0xd8, 0xdc]
    );
    // The spooler lock: 5 handles to one object after cycle 4.
    let descs = after.handle_descriptors();
    let spool: Vec<_> = descs
        .iter()
        .filter(|d| d.object_name.as_deref() == Some(scenarios::SPOOLER_LOCK))
        .collect();
    assert_eq!(spool.len(), 5);
    assert!(spool
        .iter()
        .all(|d| d.handle_count == 5 && d.pointer_count == 6));
    // MapiHelper is in no leaking stack.
    let helper = inc.space.module("MapiHelper").module.base_of_image;
    for frames in [
        scenarios::STACK_MUTANT_A,
        scenarios::STACK_MUTANT_B,
        scenarios::STACK_SECTION,
    ] {
        for a in inc.space.stack(frames) {
            assert!(!(helper..helper + 0x4000).contains(&a));
        }
    }
}
