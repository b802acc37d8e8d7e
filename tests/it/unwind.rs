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
