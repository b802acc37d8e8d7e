//! End-to-end tests: the `dumpleak` binary on the committed fixtures (see testdata/README.md).

use serde_json::Value;

use crate::common::{
    assert_warning, dumpleak, find, fixture, json, stdout, strings, testdata, INCIDENT,
    INCIDENT_IMAGES, SUSPECT,
};
use predicates::prelude::PredicateBooleanExt;

/// The incident diff with images and the suspect, as the README runs it.
fn incident_args() -> Vec<&'static str> {
    [&INCIDENT[..], &INCIDENT_IMAGES, &SUSPECT].concat()
}

fn incident_diff() -> Value {
    json(&incident_args())
}

/// The change in the count of `type_name`.
fn type_delta(report: &Value, type_name: &str) -> i64 {
    find(&report["by_type"], "type", type_name)["delta"]
        .as_i64()
        .unwrap()
}

/// The warnings of a report as the text report prints them (`file: message`).
#[test]
fn incident_diff_counts_growth_per_type() {
    let report = incident_diff();
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["before"]["pid"], 3856);
    assert_eq!(report["before"]["process"], "OrderMailer.exe");
    assert_eq!(report["after"]["captured_at"], "2026-03-02T08:50:00Z");
    assert_eq!(report["total_delta"], 9);
    assert_eq!(type_delta(&report, "Mutant"), 6);
    assert_eq!(type_delta(&report, "Section"), 3);
    // Sorted by delta: the two growing types first, everything else unchanged.
    let by_type = report["by_type"].as_array().unwrap();
    assert_eq!(by_type[0]["type"], "Mutant");
    assert_eq!(by_type[1]["type"], "Section");
    assert!(by_type[2..].iter().all(|row| row["delta"] == 0));
    assert_eq!(report["new_handles"].as_array().unwrap().len(), 9);
    assert_eq!(report["closed_handles"].as_array().unwrap().len(), 0);
}

#[test]
fn incident_diff_blames_msmapi32_with_its_version() {
    let report = incident_diff();
    let stacks = report["stacks"].as_array().unwrap();
    assert_eq!(stacks.len(), 3);
    for stack in stacks {
        assert_eq!(stack["count"], 3);
        assert_eq!(stack["blamed_module"], "MSMAPI32.DLL");
        assert_eq!(stack["blamed_version"], "11.0.5601.0");
        assert_eq!(
            stack["blamed_path"],
            "C:\\Program Files\\Common Files\\System\\MSMAPI\\1033\\MSMAPI32.DLL"
        );
    }
    let mutant_stack = stacks
        .iter()
        .find(|stack| strings(&stack["frames"]).contains(&"MSMAPI32!SzGPrev+0x293".to_string()))
        .expect("the SzGPrev stack");
    assert_eq!(
        strings(&mutant_stack["frames"])[..4],
        [
            "ntdll!NtCreateMutant+0xc",
            "kernel32!CreateMutexA+0x65",
            "MSMAPI32!SzGPrev+0x293",
            "MSMAPI32!MAPIInitialize+0x1c4"
        ]
    );
    assert_eq!(mutant_stack["types"]["Mutant"], 3);
    let section_stack = stacks
        .iter()
        .find(|stack| stack["types"]["Section"] == 3)
        .expect("the Section stack");
    assert_eq!(
        strings(&section_stack["frames"])[1],
        "kernel32!CreateFileMappingA+0x4e"
    );
    assert_eq!(
        strings(&section_stack["frames"])[4],
        "OrderMailer+0x1a2b",
        "a module without symbols reads module+rva"
    );
    for handle in report["new_handles"].as_array().unwrap() {
        assert_eq!(handle["blamed_module"], "MSMAPI32.DLL");
        assert_eq!(handle["blamed_version"], "11.0.5601.0");
        assert_eq!(handle["trace"], "open");
        assert!(handle["stack"].as_array().unwrap().len() >= 6);
        assert!(handle["handle"].as_str().unwrap().starts_with("0x"));
    }
}

#[test]
fn incident_diff_module_table_and_suspect() {
    let report = incident_diff();
    let modules = report["modules"].as_array().unwrap();
    assert_eq!(modules[0]["name"], "MSMAPI32.DLL");
    assert_eq!(modules[0]["blamed"], 9);
    assert_eq!(modules[0]["inclusive"], 9);
    assert_eq!(modules[0]["blamed_types"]["Mutant"], 6);
    assert_eq!(modules[0]["symbols"], "exports");
    let kernel32 = find(&report["modules"], "name", "kernel32.dll");
    assert_eq!(kernel32["system"], true);
    assert_eq!(kernel32["blamed"], 0);
    assert_eq!(kernel32["inclusive"], 9);
    assert!(
        !modules.iter().any(|row| row["name"] == "MapiHelper.dll"),
        "the helper opens and closes its handles every cycle"
    );
    let suspect = &report["suspects"][0];
    assert_eq!(suspect["loaded"], true);
    assert_eq!(suspect["stacks"], 0);
    assert_eq!(suspect["stacks_total"], 3);
    assert_eq!(
        suspect["verdict"],
        "MapiHelper.dll 2.4.1.7: in 0 of 3 outstanding stacks"
    );
}

#[test]
fn incident_diff_shows_duplicated_handles_to_one_named_mutant() {
    let report = incident_diff();
    let duplicates = report["duplicates"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0]["type"], "Mutant");
    assert_eq!(
        duplicates[0]["name"],
        "\\BaseNamedObjects\\MAPI_SPOOLER_LOCK"
    );
    assert_eq!(duplicates[0]["new"], 3);
}

#[test]
fn incident_diff_says_symbols_are_export_only() {
    let report = incident_diff();
    assert_warning(&report, |w| {
        w.contains("export symbols only") && w.contains("MSMAPI32.DLL")
    });
    assert_warning(&report, |w| w.contains("no symbols for OrderMailer.exe"));
}

#[test]
fn incident_diff_without_images_reads_module_plus_rva() {
    let report = json(&INCIDENT);
    let frames = strings(&report["stacks"][0]["frames"]);
    assert!(
        frames.iter().all(|frame| !frame.contains('!')),
        "{frames:?}"
    );
    assert!(frames[0].starts_with("ntdll+0x"));
    // The blamed module does not depend on symbols.
    assert_eq!(report["stacks"][0]["blamed_module"], "MSMAPI32.DLL");
}

#[test]
fn table_output_reads_like_a_bug_report() {
    let text = stdout(&incident_args(), 0);
    assert!(text.contains(
        "MSMAPI32.DLL 11.0.5601.0: 9 of 9 new handles (6 Mutant, 3 Section) in 3 of 3 stacks"
    ));
    assert!(text.contains("MSMAPI32!SzGPrev+0x293"));
    assert!(text.contains("kernel32!CreateMutexA+0x65"));
    assert!(text.contains("MapiHelper.dll 2.4.1.7: in 0 of 3 outstanding stacks"));
    assert!(text.contains(
        "Growth   +9 handles (9 new: 6 to new objects, 3 more handles to objects already open; 0 closed) in 30m"
    ));
    let mutant_row = text
        .lines()
        .find(|line| line.contains(" Mutant ") && line.contains("+6"))
        .expect("Mutant row with +6");
    assert!(
        mutant_row.contains(" 5 ") && mutant_row.contains(" 11 "),
        "{mutant_row}"
    );
}

#[test]
fn output_is_deterministic() {
    let first = incident_diff();
    let second = incident_diff();
    assert_eq!(first, second);
}

#[test]
fn dump_without_trace_says_how_to_get_stacks() {
    let report = json(&[
        "diff",
        "testdata/notrace-x64/before.dmp",
        "testdata/notrace-x64/after.dmp",
    ]);
    assert_eq!(report["after"]["arch"], "amd64");
    assert_eq!(report["after"]["trace_records"], Value::Null);
    assert_eq!(type_delta(&report, "Event"), 2);
    assert_eq!(type_delta(&report, "Key"), 1);
    assert_eq!(type_delta(&report, "File"), -1);
    assert_eq!(report["stacks"].as_array().unwrap().len(), 0);
    assert_eq!(report["trace"]["available"], false);
    for handle in report["new_handles"].as_array().unwrap() {
        assert_eq!(handle["trace"], "not-traced");
    }
    assert_warning(&report, |w| {
        w.starts_with("no allocation stacks") && w.contains("!htrace -enable")
    });
}

#[test]
fn reused_handle_values_count_as_closed_and_new() {
    let report = json(&[
        "diff",
        "testdata/reuse/before.dmp",
        "testdata/reuse/after.dmp",
    ]);
    let handle = |list: &str, value: &str| find(&report[list], "handle", value);
    assert_eq!(handle("closed_handles", "0x1c4")["type"], "Event");
    assert_eq!(
        handle("closed_handles", "0x1c4")["name"],
        "\\BaseNamedObjects\\JobDone"
    );
    assert_eq!(handle("new_handles", "0x1c4")["type"], "File");
    assert_eq!(
        handle("closed_handles", "0x1c8")["name"],
        "\\BaseNamedObjects\\A"
    );
    assert_eq!(
        handle("new_handles", "0x1c8")["name"],
        "\\BaseNamedObjects\\B"
    );
    assert_eq!(handle("new_handles", "0x1c8")["trace"], "open");
}

#[test]
fn wrapped_trace_buffer_is_reported() {
    let report = json(&[
        "diff",
        "testdata/wrapped/before.dmp",
        "testdata/wrapped/after.dmp",
    ]);
    let without = report["trace"]["new_without_record"].as_u64().unwrap();
    assert!(without > 0);
    assert_eq!(
        report["trace"]["new_with_stack"].as_u64().unwrap() + without,
        report["new_handles"].as_array().unwrap().len() as u64
    );
    assert_warning(&report, |w| {
        w.starts_with(&format!("{without} of")) && w.contains("wrapped")
    });
}

#[test]
fn oldest_first_trace_is_detected_and_gives_the_same_stacks() {
    let newest_first = incident_diff();
    let oldest_first = json(&[
        "diff",
        "testdata/incident/before.dmp",
        "testdata/oldest-first/after.dmp",
        "--symbols",
        "testdata/incident/images",
        "--suspect",
        "MapiHelper.dll",
    ]);
    assert_eq!(oldest_first["trace"]["order"], "oldest-first");
    assert_eq!(newest_first["trace"]["order"], "newest-first");
    assert_eq!(oldest_first["stacks"], newest_first["stacks"]);
    assert_eq!(oldest_first["new_handles"], newest_first["new_handles"]);
}

#[test]
fn dump_without_handle_data_fails_with_capture_advice() {
    dumpleak()
        .args([
            "diff",
            "testdata/incident/before.dmp",
            "testdata/nohandles.dmp",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("nohandles.dmp"))
        .stderr(predicates::str::contains("no handle data"))
        .stderr(predicates::str::contains("procdump -ma"));
}

#[test]
fn bad_inputs_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.dmp");
    std::fs::write(&garbage, b"this is not a dump").unwrap();
    dumpleak()
        .args(["show", garbage.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("garbage.dmp"))
        .stderr(predicates::str::contains(
            "not a minidump, debugger log or handle.exe output",
        ))
        .stderr(predicates::str::contains("this is not").not());
    dumpleak()
        .args(["show", dir.path().join("missing.dmp").to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("missing.dmp: cannot read"));
    let truncated = dir.path().join("truncated.dmp");
    let bytes = fixture("incident/after.dmp");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let output = dumpleak()
        .args(["show", truncated.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("truncated.dmp"));
}

#[test]
fn usage_errors_exit_2() {
    dumpleak().args(["diff", "only-one.dmp"]).assert().code(2);
    dumpleak().args(["frobnicate"]).assert().code(2);
    dumpleak()
        .args(INCIDENT)
        .args(["--table", "stacks"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--table goes with --format csv"));
}

#[test]
fn fail_on_growth_exits_3_over_the_limit() {
    let run = |limit: &str| {
        dumpleak()
            .args(INCIDENT)
            .args(["--fail-on-growth", limit])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run("5"), Some(3));
    assert_eq!(run("9"), Some(0));
}

#[test]
fn csv_and_markdown_render_the_same_report() {
    let run = |extra: &[&str]| stdout(&[&INCIDENT[..], &INCIDENT_IMAGES, extra].concat(), 0);
    let csv = run(&["--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Change,Handle,Type,Name,Same object as,Stack,Blamed module,Version,Trace"
    );
    assert_eq!(lines.len(), 10);
    assert!(lines[1..]
        .iter()
        .all(|line| line.starts_with("new,0x") && line.contains(",MSMAPI32.DLL,11.0.5601.0,open")));
    let stacks = run(&["--format", "csv", "--table", "stacks"]);
    assert_eq!(stacks.lines().count(), 4);
    assert!(stacks.contains("MSMAPI32!SzGPrev+0x293"));
    let markdown = run(&["--format", "markdown"]);
    assert!(markdown.starts_with("# dumpleak diff"));
    assert!(markdown.contains("| Type | Before | After | Delta |"));
    assert!(markdown.contains("| Mutant | 5 | 11 | +6 |"));
    assert!(markdown.contains("```\nhandles "));
}

#[test]
fn output_file_is_written_and_inputs_are_protected() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    dumpleak()
        .args(INCIDENT)
        .args(["--format", "json", "--output"])
        .arg(&report)
        .assert()
        .success()
        .stdout("");
    let written: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["total_delta"], 9);

    let copy = dir.path().join("after.dmp");
    std::fs::copy(testdata("incident/after.dmp"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    dumpleak()
        .args(["diff", "testdata/incident/before.dmp"])
        .arg(&copy)
        .arg("--output")
        .arg(&copy)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("never overwrites its inputs"));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
}

#[test]
fn show_summarises_one_dump() {
    let report = json(&["show", "testdata/incident/after.dmp"]);
    assert_eq!(report["dump"]["pid"], 3856);
    assert_eq!(report["dump"]["arch"], "x86");
    assert_eq!(report["dump"]["os"], "Windows 5.1.2600 Service Pack 2");
    assert_eq!(report["dump"]["process_started_at"], "2026-03-02T08:00:00Z");
    assert_eq!(report["handle_data"], true);
    assert_eq!(report["by_type"][0]["type"], "Mutant");
    assert_eq!(report["by_type"][0]["count"], 11);
    assert_eq!(report["trace"]["order"], "newest-first");
    assert!(report["trace"]["records"].as_u64().unwrap() > 0);
    let msmapi = find(&report["modules"], "name", "MSMAPI32.DLL");
    assert_eq!(msmapi["version"], "11.0.5601.0");
    assert_eq!(msmapi["system"], false);
    assert!(msmapi["pdb"].as_str().unwrap().starts_with("msmapi32.pdb "));

    let text = stdout(&["show", "testdata/incident/after.dmp"], 0);
    assert!(text.contains("MSMAPI32.DLL"));
    assert!(!text.contains("ntdll.dll"), "system modules need --modules");
    let all = stdout(&["show", "testdata/incident/after.dmp", "--modules"], 0);
    assert!(all.contains("ntdll.dll") && all.contains("5.1.2600.2180"));
}

#[test]
fn show_without_handle_data_explains_how_to_capture() {
    let report = json(&["show", "testdata/nohandles.dmp"]);
    assert_eq!(report["handle_data"], false);
    assert_warning(&report, |w| w.contains("MiniDumpWithHandleData"));
}

#[test]
fn images_are_found_in_symbol_store_layout_and_checked_against_the_module() {
    let store = tempfile::tempdir().unwrap();
    let images = testdata("incident/images");
    // SymSrv layout: <store>/<name>/<TimeDateStamp %08X><SizeOfImage %x>/<name>.
    let stored = store.path().join("MSMAPI32.DLL").join("42435B8E4000");
    std::fs::create_dir_all(&stored).unwrap();
    std::fs::copy(images.join("MSMAPI32.DLL"), stored.join("MSMAPI32.DLL")).unwrap();
    // A flat directory holding another build of kernel32.dll (TimeDateStamp changed).
    let other_build = tempfile::tempdir().unwrap();
    let mut kernel32 = std::fs::read(images.join("kernel32.dll")).unwrap();
    let pe_offset = u32::from_le_bytes(kernel32[0x3c..0x40].try_into().unwrap()) as usize;
    kernel32[pe_offset + 8] ^= 0xff;
    std::fs::write(other_build.path().join("KERNEL32.DLL"), kernel32).unwrap();

    let report = json(&[
        "diff",
        "testdata/incident/before.dmp",
        "testdata/incident/after.dmp",
        "--symbols",
        store.path().to_str().unwrap(),
        "--symbols",
        other_build.path().to_str().unwrap(),
    ]);
    let frames = strings(&report["stacks"][0]["frames"]);
    assert_eq!(frames[2], "MSMAPI32!SzGPrev+0x293", "{frames:?}");
    assert_eq!(
        frames[1], "kernel32+0x2e65",
        "another build must not name frames"
    );
    assert_warning(&report, |w| {
        w.starts_with("symbols for kernel32.dll: ") && w.contains("another build")
    });
    let msmapi = find(&report["symbols"], "module", "MSMAPI32.DLL");
    assert_eq!(msmapi["origin"], "exports");
    let file = std::path::Path::new(msmapi["file"].as_str().unwrap());
    assert!(file.ends_with("42435B8E4000/MSMAPI32.DLL"), "{file:?}");
}
