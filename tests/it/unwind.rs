//! Crash stacks unwound with call-frame information (issue 15): the real Breakpad dump with its
//! symbol store gives Breakpad's own stack, frames 1–3 found by call-frame info.

use crate::common::dumpleak;
use serde_json::Value;
use tempfile::TempDir;

const DUMP: &str = "testdata/real/breakpad-minidump2/minidump2.dmp";
const SYMBOLS: &str = "testdata/real/breakpad-minidump2/symbols";

fn show(cache: &TempDir, format: &str) -> String {
    let output = dumpleak()
        .args([
            "show",
            DUMP,
            "--symbols",
            SYMBOLS,
            "--format",
            format,
            "--cache-dir",
        ])
        .arg(cache.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// (frame line, trust) of the crash in the JSON report.
fn frames(report: &Value) -> Vec<(String, String)> {
    report["crash"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|frame| {
            (
                frame["lines"][0].as_str().unwrap().to_string(),
                frame["trust"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// minidump2.stackwalk.out: CrashFunction [test_app.cc : 58] ← main [test_app.cc : 65] ←
/// __tmainCRTStartup [crt0.c : 327] ← kernel32!BaseProcessStart + 0x23, frames 1–3 "Found
/// by: call frame info".
fn expected() -> Vec<(String, String)> {
    [
        ("test_app!`anonymous namespace'::CrashFunction+0xe [c:\\test_app.cc @ 58]", "context"),
        ("test_app!main+0x50 [c:\\test_app.cc @ 65]", "cfi"),
        (
            "test_app!__tmainCRTStartup+0x15f [f:\\sp\\vctools\\crt_bld\\self_x86\\crt\\src\\crt0.c @ 327]",
            "cfi",
        ),
        ("kernel32!BaseProcessStart+0x23", "cfi"),
    ]
    .map(|(line, trust)| (line.to_string(), trust.to_string()))
    .to_vec()
}

#[test]
fn the_real_breakpad_dump_unwinds_as_minidump_stackwalk_does() {
    let cache = TempDir::new().unwrap();
    let report: Value = serde_json::from_str(&show(&cache, "json")).unwrap();
    assert_eq!(frames(&report), expected());
    assert_eq!(report["crash"]["more_frames"], 0);
    // The records were kept next to the SymCache; the next run reads them from there.
    for (pdb, id) in [
        ("test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1"),
        ("kernel32.pdb", "BCE8785C57B44245A669896B6A19B9542"),
    ] {
        let dir = cache.path().join("symcache").join(pdb).join(id);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|name| name.starts_with("cfi-v")),
            "{dir:?}: {names:?}"
        );
    }
    let again: Value = serde_json::from_str(&show(&cache, "json")).unwrap();
    assert_eq!(frames(&again), expected());
}

#[test]
fn every_format_shows_the_frame_trust() {
    let cache = TempDir::new().unwrap();
    let table = show(&cache, "table");
    assert!(
        table.contains("01 test_app!main+0x50 [c:\\test_app.cc @ 65]  (cfi)"),
        "{table}"
    );
    assert!(
        table.contains("03 kernel32!BaseProcessStart+0x23  (cfi)"),
        "{table}"
    );
    let markdown = show(&cache, "markdown");
    assert!(
        markdown.contains("03 kernel32!BaseProcessStart+0x23  (cfi)"),
        "{markdown}"
    );
    let html = show(&cache, "html");
    assert!(
        html.contains("03 kernel32!BaseProcessStart+0x23  (cfi)"),
        "cfi trust not in the HTML page"
    );
}

#[test]
fn without_call_frame_information_the_walker_scans() {
    // The same dump without symbols: frames after the first are guesses, marked so.
    let output = dumpleak()
        .args(["show", DUMP, "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let trusts: Vec<String> = frames(&report)
        .into_iter()
        .map(|(_, trust)| trust)
        .collect();
    assert_eq!(trusts[0], "context");
    assert!(trusts[1..].iter().all(|trust| trust != "cfi"), "{trusts:?}");
}

// ------------------------------------------------- x64 unwind data from a full dump's memory

/// `pdb/crash-fullmem.dmp`: `pdb/crash.dmp` plus leakylib.dll's mapped image (and the stack)
/// in a Memory64ListStream (testdata/README.md, section I).
const FULLMEM: &str = "testdata/pdb/crash-fullmem.dmp";
const CRASH: &str = "testdata/pdb/crash.dmp";

/// `show DUMP --format json` with `symbols` (a folder holding only leakylib.pdb, or none) and
/// a fresh cache.
fn show_crash(dump: &str, symbols: Option<&std::path::Path>) -> Value {
    let cache = TempDir::new().unwrap();
    let mut command = dumpleak();
    command.args(["show", dump, "--format", "json", "--cache-dir"]);
    command.arg(cache.path());
    if let Some(symbols) = symbols {
        command.arg("--symbols").arg(symbols);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A symbol folder with leakylib.pdb and no leakylib.dll: the PDB of an x64 module has no
/// unwind data, so only the image (here: in dump memory) can give it.
fn pdb_only() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::copy("testdata/pdb/leakylib.pdb", dir.path().join("leakylib.pdb")).unwrap();
    dir
}

/// The notes of leakylib.dll's symbol status.
fn leakylib_notes(report: &Value) -> Vec<String> {
    let status = report["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|status| status["module"] == "leakylib.dll")
        .unwrap_or_else(|| panic!("no symbol status for leakylib.dll: {}", report["symbols"]));
    serde_json::from_value(status["notes"].clone()).unwrap()
}

fn trusts(report: &Value) -> Vec<String> {
    frames(report).into_iter().map(|(_, trust)| trust).collect()
}

#[test]
fn x64_unwind_data_is_read_from_the_image_in_dump_memory() {
    let symbols = pdb_only();
    let report = show_crash(FULLMEM, Some(symbols.path()));
    // The stack of show-crash (image on the symbol path), found without the image file.
    let want = [
        (
            "leakylib!acquire_slot (inline) [C:\\build\\leakylib\\leakylib.c @ 52]",
            "context",
        ),
        (
            "leakylib!session_init+0x14 [C:\\build\\leakylib\\leakylib.c @ 69]",
            "cfi",
        ),
        (
            "leakylib!LeakyOpenSession+0xd [C:\\build\\leakylib\\leakylib.c @ 76]",
            "cfi",
        ),
        ("Widget+0x1e2f7", "cfi"),
        ("Widget+0x1b0a4", "scan"),
        ("Widget+0x3a9e0", "scan"),
    ]
    .map(|(line, trust)| (line.to_string(), trust.to_string()));
    assert_eq!(frames(&report), want);
    // No note on leakylib: the image in memory was usable.
    assert_eq!(leakylib_notes(&report), Vec::<String>::new());
    // Without any symbols the frames are named from the image's exports, still walked by CFI.
    let report = show_crash(FULLMEM, None);
    assert_eq!(trusts(&report)[..4], ["context", "cfi", "cfi", "cfi"]);
}

#[test]
fn without_the_image_in_memory_or_on_the_path_x64_frames_are_scanned() {
    let symbols = pdb_only();
    for report in [
        show_crash(CRASH, Some(symbols.path())),
        show_crash(CRASH, None),
    ] {
        let trusts = trusts(&report);
        assert_eq!(trusts[0], "context");
        assert_eq!(trusts[1..4], ["scan", "scan", "scan"], "{trusts:?}");
    }
}

#[test]
fn image_headers_claiming_more_than_is_laid_out_are_a_note() {
    // SizeOfImage 0x10001000 (just over the 256 MiB laid out at most), in the module list and
    // the captured header alike: refused with a note, the frames scanned, no panic.
    let dir = TempDir::new().unwrap();
    let dump = dir.path().join("claims.dmp");
    std::fs::write(
        &dump,
        crate::common::synth::fullmem_crash_claiming(0x1000_1000),
    )
    .unwrap();
    let report = show_crash(dump.to_str().unwrap(), None);
    assert_eq!(trusts(&report)[1..4], ["scan", "scan", "scan"]);
    assert_eq!(
        leakylib_notes(&report),
        [
            "call-frame information: image in dump memory at 0x180000000: SizeOfImage 0x10001000 \
          is larger than any image laid out (256 MiB)"
        ]
    );
    // Claiming exactly 256 MiB is allowed: the unwind data comes from the 24 KiB captured.
    std::fs::write(
        &dump,
        crate::common::synth::fullmem_crash_claiming(256 << 20),
    )
    .unwrap();
    let report = show_crash(dump.to_str().unwrap(), None);
    assert_eq!(trusts(&report)[1..4], ["cfi", "cfi", "cfi"]);
}
