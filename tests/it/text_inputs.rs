//! Debugger logs and handle.exe output wherever dumps are taken (the CLI end to end).

use serde_json::Value;

use crate::common::{assert_warning, column, dumpleak, find, json, testdata};

fn delta(report: &Value, type_name: &str) -> i64 {
    find(&report["by_type"], "type", type_name)["delta"]
        .as_i64()
        .unwrap()
}

/// The facts every variant of the sample log must give.
/// `all_inferred`: the log prints no `!handle h f` blocks, so every type comes from the API.
fn assert_sample_log_facts(report: &Value, with_version: bool, all_inferred: bool) {
    let new = &report["new_handles"];
    assert_eq!(new.as_array().unwrap().len(), 3, "{new}");
    for (handle, type_name, module) in [
        ("0x498", "Event", "AcmeNet.dll"),
        ("0x4a0", "Event", "AcmeNet.dll"),
        ("0x4b4", "File", "OrderSync.exe"),
    ] {
        let row = find(new, "handle", handle);
        assert_eq!(row["type"], type_name, "{row}");
        if all_inferred {
            assert_eq!(row["type_inferred"], true, "{row}");
        }
        assert_eq!(row["blamed_module"], module, "{row}");
    }
    let acme = find(&report["stacks"], "blamed_module", "AcmeNet.dll");
    assert_eq!(acme["count"], 2);
    assert_eq!(acme["types"]["Event"], 2);
    assert_eq!(
        acme["frames"][2], "AcmeNet!AcmeConnectionPool::Acquire+0xb1",
        "frames keep the log's text, offsets unpadded"
    );
    assert_eq!(acme["frame_details"][2]["origin"], "log");
    if with_version {
        assert_eq!(acme["blamed_version"], "4.2.17.0");
    }
    assert_eq!(delta(report, "Event"), 2);
    assert_eq!(delta(report, "File"), 1);
}

#[test]
fn sample_log_is_a_diff_by_itself() {
    let report = json(&["show", "testdata/logs/windbg-htrace-diff.log"]);
    assert_sample_log_facts(&report, true, true);
    assert_eq!(report["after"]["pid"], 0x1f3c);
    assert_eq!(report["after"]["process"], "OrderSync.exe");
    let after = find(&report["by_type"], "type", "Event");
    assert_eq!(
        (after["before"].as_u64(), after["after"].as_u64()),
        (Some(212), Some(214))
    );
    assert_warning(&report, |w| w.contains("inferred from the API"));
}

#[test]
fn sample_log_variants_give_the_same_report() {
    let utf8 = json(&["show", "testdata/logs/windbg-htrace-diff.log"]);
    let utf16 = json(&["show", "testdata/logs/windbg-htrace-diff-utf16.log"]);
    assert_eq!(utf8["stacks"], utf16["stacks"]);
    assert_eq!(utf8["by_type"], utf16["by_type"]);
    assert_sample_log_facts(&utf16, true, true);
    let no_lmv = json(&["show", "testdata/logs/windbg-no-lmv.log"]);
    assert_sample_log_facts(&no_lmv, false, true);
    assert_eq!(
        find(&no_lmv["stacks"], "blamed_module", "AcmeNet.dll")["blamed_version"],
        Value::Null
    );
    let x86 = json(&["show", "testdata/logs/windbg-x86.log"]);
    assert!(!x86["new_handles"].as_array().unwrap().is_empty());
    assert!(x86["stacks"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .all(|frame| !frame.as_str().unwrap().contains("+0x0000")));
}

#[test]
fn the_last_diff_block_is_used_unless_one_is_chosen() {
    let last = json(&["show", "testdata/logs/windbg-two-diffs.log"]);
    assert_sample_log_facts(&last, true, false);
    // This log prints `!handle 4a0 f` and `!handle 4b4 f`: those types are not inferred.
    assert_eq!(
        find(&last["new_handles"], "handle", "0x4a0")["type_inferred"],
        false
    );
    assert_eq!(
        find(&last["new_handles"], "handle", "0x498")["type_inferred"],
        true
    );
    let first = json(&["show", "testdata/logs/windbg-two-diffs.log", "--block", "0"]);
    let handles = column(&first["new_handles"], "handle");
    assert_eq!(handles, ["0x3f0", "0x3f4"]);
    dumpleak()
        .args(["show", "testdata/logs/windbg-two-diffs.log", "--block", "9"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("!htrace blocks"));
}

#[test]
fn a_truncated_log_keeps_what_it_has_and_says_so() {
    let report = json(&["show", "testdata/logs/windbg-truncated.log"]);
    assert!(!report["new_handles"].as_array().unwrap().is_empty());
    assert_warning(&report, |w| w.contains("cut") || w.contains("truncated"));
}

#[test]
fn handle_exe_pair_shows_duplicates_of_one_mutant() {
    let report = json(&[
        "diff",
        "testdata/logs/handle-before.txt",
        "testdata/logs/handle-after.txt",
    ]);
    assert_eq!(report["after"]["pid"], 5520);
    assert_eq!(delta(&report, "Mutant"), 3);
    assert_eq!(delta(&report, "File"), 1);
    assert_eq!(
        delta(&report, "Event"),
        0,
        "one Event closed, another opened"
    );
    let duplicates = &report["duplicates"][0];
    assert_eq!(
        duplicates["name"],
        "\\Sessions\\1\\BaseNamedObjects\\CSPMUTX"
    );
    assert_eq!(duplicates["new"], 3);
    for handle in ["0x6c", "0x74", "0x78"] {
        assert_eq!(
            find(&report["new_handles"], "handle", handle)["same_object_as"],
            "0x60"
        );
    }
    assert_eq!(report["new_objects"], 2, "the File and the Event");
    let file = find(&report["new_handles"], "handle", "0x70");
    assert_eq!(
        file["name"],
        "C:\\ProgramData\\PrintApp\\spool\\job-0001.tmp"
    );
    assert_eq!(
        find(&report["closed_handles"], "handle", "0x68")["type"],
        "Event"
    );
    assert_eq!(
        find(&report["new_handles"], "handle", "0x7c")["type"],
        "Event"
    );
}

#[test]
fn handle_exe_with_several_processes_needs_a_pid() {
    dumpleak()
        .args(["show", "testdata/logs/handle-two-processes.txt"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--pid"))
        .stderr(predicates::str::contains("Print Helper.exe pid 7124"));
    let report = json(&[
        "show",
        "testdata/logs/handle-two-processes.txt",
        "--pid",
        "7124",
    ]);
    assert_eq!(report["dump"]["process"], "Print Helper.exe");
    assert_eq!(report["dump"]["handle_count"], 6);
}

#[test]
fn handle_summaries_compare_per_type_only() {
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("handle-summary-later.txt");
    let text = std::fs::read_to_string(testdata("logs/handle-summary.txt")).unwrap();
    let text = text
        .replace("Event           : 214", "Event           : 220")
        .replace("Total handles: 360", "Total handles: 366");
    std::fs::write(&later, text).unwrap();
    let report = json(&[
        "diff",
        "testdata/logs/handle-summary.txt",
        later.to_str().unwrap(),
    ]);
    assert_eq!(report["total_delta"], 6);
    assert_eq!(find(&report["by_type"], "type", "Event")["after"], 220);
    assert_warning(&report, |w| {
        w.contains("type summary without a handle list")
    });
    let show = json(&["show", "testdata/logs/handle-summary.txt"]);
    assert_eq!(show["dump"]["handle_count"], 360);
}

#[test]
fn unknown_text_lists_the_supported_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "Dear support,\nthe service leaks.\n").unwrap();
    dumpleak()
        .args(["show", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("notes.txt"))
        .stderr(predicates::str::contains("WinDbg/cdb session logs"))
        .stderr(predicates::str::contains("handle.exe"));
}
