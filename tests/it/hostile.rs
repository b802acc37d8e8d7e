//! Truncated, corrupt and hostile dumps: every one gives `Ok` or a clear error, never a panic,
//! a hang or an unbounded allocation.

use dumpleak::snapshot::load_minidump_bytes;
use dumpleak::snapshot::LoadError as Error;
use dumpleak_fixtures::writer::{
    DumpWriter, Location, SystemInfo, HANDLE_DATA_STREAM, HANDLE_OPERATION_LIST_STREAM,
};
use std::path::Path;

use crate::common::amplify;
use crate::common::synth::{small_dump, stream_location, words, Rng};
use crate::common::{dumpleak, fixture};

/// A small dump whose only interesting stream is `stream_type` holding `payload`.
fn dump_with_stream(stream_type: u32, payload: &[u8]) -> Vec<u8> {
    small_dump(|writer| {
        writer.add_stream(stream_type, payload);
    })
}

/// A stream header: size of header, size of entry, number of entries, reserved.
fn header(a: u32, b: u32, c: u32) -> Vec<u8> {
    words(&[a, b, c, 0])
}

#[test]
fn truncation_at_any_offset_is_an_error_or_a_snapshot_never_a_panic() {
    for name in [
        "incident/after.dmp",
        "notrace-x64/after.dmp",
        "reuse/after.dmp",
    ] {
        let bytes = fixture(name);
        let mut errors = 0;
        for cut in (0..bytes.len()).step_by(7) {
            if load_minidump_bytes(Path::new(name), &bytes[..cut]).is_err() {
                errors += 1;
            }
        }
        assert!(errors > 0, "{name}: cutting the file must be noticed");
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let bytes = fixture("incident/after.dmp");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..3000 {
        let mut mutated = bytes.clone();
        for _ in 0..4 {
            let seed = rng.next();
            let at = (seed % mutated.len() as u64) as usize;
            mutated[at] ^= (seed >> 32) as u8 | 1;
        }
        let _ = load_minidump_bytes(Path::new("mutated.dmp"), &mutated);
    }
}

#[test]
fn four_billion_handles_in_a_small_file_fail_fast() {
    let dump = dump_with_stream(HANDLE_DATA_STREAM, &header(16, 40, u32::MAX));
    assert!(dump.len() < 4096);
    let error = load_minidump_bytes(Path::new("huge-count.dmp"), &dump).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("huge-count.dmp: HandleDataStream at file offset 0x"),
        "{message}"
    );
    assert!(
        message.contains("NumberOfDescriptors 4294967295"),
        "{message}"
    );
}

#[test]
fn four_billion_trace_records_fail_fast() {
    let dump = dump_with_stream(HANDLE_OPERATION_LIST_STREAM, &header(16, 288, u32::MAX));
    let error = load_minidump_bytes(Path::new("huge-trace.dmp"), &dump).unwrap_err();
    assert!(matches!(
        error,
        Error::BadStream {
            stream: "HandleOperationListStream",
            ..
        }
    ));
    assert!(error.to_string().contains("NumberOfEntries 4294967295"));
}

#[test]
fn a_stream_past_the_end_of_the_file_is_named() {
    let mut writer = DumpWriter::with_directory_slots(2);
    writer.add_system_info(&SystemInfo::windows_10_x64());
    writer.add_directory_entry(
        HANDLE_DATA_STREAM,
        Location {
            data_size: 0x10_0000,
            rva: 0x100,
        },
    );
    let dump = writer.finish();
    let error = load_minidump_bytes(Path::new("short.dmp"), &dump).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("HandleDataStream at file offset 0x100") && message.contains("truncated"),
        "{message}"
    );
}

#[test]
fn garbage_and_empty_files_are_not_minidumps() {
    for bytes in [&b""[..], b"MDM", b"MDMP", b"PK\x03\x04 not a dump"] {
        let error = load_minidump_bytes(Path::new("x.dmp"), bytes).unwrap_err();
        assert!(matches!(error, Error::NotMinidump { .. }), "{error}");
    }
}

#[test]
fn looping_object_info_chain_is_cut_with_a_warning() {
    // Descriptor v2 whose ObjectInfoRva points at a record whose NextInfoRva points back.
    let mut writer = DumpWriter::with_directory_slots(4);
    writer.add_system_info(&SystemInfo::windows_10_x64());
    let type_name = writer.add_string("Mutant");
    let info = writer.reserve(16);
    writer.patch(
        info,
        &[info, 2, 4, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let mut stream = header(16, 40, 1);
    stream.extend(0x44u64.to_le_bytes());
    for field in [type_name, 0, 0, 0x1f0001, 1, 1, info, 0] {
        stream.extend(field.to_le_bytes());
    }
    writer.add_stream(HANDLE_DATA_STREAM, &stream);
    let snapshot = load_minidump_bytes(Path::new("loop.dmp"), &writer.finish()).unwrap();
    let handles = snapshot.handles.unwrap();
    assert_eq!(handles[0].type_name.as_deref(), Some("Mutant"));
    assert_eq!(handles[0].object_info.len(), 1);
    assert!(snapshot
        .warnings
        .iter()
        .any(|w| w.message.contains("looped")));
}

#[test]
fn a_crash_dump_whose_object_info_chain_loops_still_gets_its_crash_stack() {
    // rust-minidump 0.27 (under the stack walker) follows a looping chain forever, allocating
    // until memory runs out; fuzzing found it (fuzz/regressions/load_minidump/oom-*). The walker
    // must never see the handle streams.
    let mut dump = fixture("batch/cust-b6c2.dmp");
    let (stream, _) = stream_location(&dump, HANDLE_DATA_STREAM);
    let word = |dump: &[u8], at: usize| u32::from_le_bytes(dump[at..at + 4].try_into().unwrap());
    let (header_size, descriptor_size, count) = (
        word(&dump, stream) as usize,
        word(&dump, stream + 4) as usize,
        word(&dump, stream + 8) as usize,
    );
    assert_eq!(descriptor_size, 40, "a v2 fixture");
    let info = (0..count)
        .map(|index| word(&dump, stream + header_size + index * descriptor_size + 32))
        .find(|&rva| rva != 0)
        .expect("a descriptor with object information");
    // NextInfoRva of that record points back at the record.
    dump[info as usize..info as usize + 4].copy_from_slice(&info.to_le_bytes());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("looping-crash.dmp");
    std::fs::write(&path, &dump).unwrap();
    let output = dumpleak()
        .arg("show")
        .arg(&path)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("Crash: STATUS_NO_MEMORY"), "{stdout}");
    assert!(stdout.contains("MSMAPI32"), "{stdout}");
    assert!(stdout.contains("looped"), "{stdout}");
    assert_eq!(std::fs::read(&path).unwrap(), dump, "input unchanged");
}

#[test]
fn a_module_list_whose_name_strings_are_tangled_is_named_sanely_with_a_warning() {
    // Names read from the module list itself, and from the middle of another name, were
    // garbage (`\0帀ð\0…`, `evil`) and nothing said so.
    let dump = amplify::modules_with_tangled_names(30);
    let snapshot = load_minidump_bytes(Path::new("tangled.dmp"), &dump).unwrap();
    assert_eq!(snapshot.modules.len(), 30);
    for module in &snapshot.modules {
        let expected = format!("Unknown_Module_{:x}", module.base);
        assert_eq!((&module.name, &module.path), (&expected, &expected));
    }
    let warnings: Vec<&str> = snapshot
        .warnings
        .iter()
        .filter(|warning| warning.code == dumpleak::WarningCode::StreamDamaged)
        .map(|warning| warning.message.as_str())
        .collect();
    assert_eq!(
        warnings,
        [
            "ModuleListStream: the name strings of some modules are tangled (10 point into the \
          module list itself, 20 overlap another module's name): those modules are named after \
          their base address"
        ]
    );
}

#[test]
fn modules_sharing_one_name_string_keep_it_once() {
    let dump = amplify::modules_sharing_one_name(5, 8);
    let snapshot = load_minidump_bytes(Path::new("shared.dmp"), &dump).unwrap();
    let names: Vec<&str> = snapshot.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "\u{4e00}\u{4e00}\u{4e00}\u{4e00}\u{4e00}\u{4e00}\u{4e00}\u{4e00}.dll",
            "Unknown_Module_10100000",
            "Unknown_Module_10200000",
            "Unknown_Module_10300000",
            "Unknown_Module_10400000"
        ]
    );
    assert_eq!(snapshot.process.image_name.as_deref(), Some(names[0]));
    assert!(snapshot.warnings.iter().any(|warning| warning
        .message
        .contains("4 share their name string with another module")));
}
