//! Debugger logs as people paste them (issue 20), end to end through the binary: plain
//! `!htrace`, blocks cut short, several sessions, counts that must add up, frames the log does
//! not have, Markdown quoting, `handle -v` CSV, handle.exe 3.x, kernel-mode sessions, null
//! fields for text inputs and one reading in every command.

use serde_json::Value;

use crate::common::{assert_warning, column, dumpleak, find, json, warnings};

/// No warning of `report` says a line of its input was not understood.
fn assert_all_understood(report: &Value) {
    let all = warnings(report);
    assert!(all.iter().all(|w| !w.contains("not understood")), "{all:?}");
}

fn pasted(name: &str) -> String {
    format!("testdata/logs/pasted/{name}")
}

/// The warnings of `report` with code `code`.
fn coded<'a>(report: &'a Value, code: &str) -> Vec<&'a str> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|warning| warning["code"] == code)
        .map(|warning| warning["message"].as_str().unwrap())
        .collect()
}

/// `(handle, type, blamed module)` of every new handle of a diff-shaped report.
fn new_handles(report: &Value) -> Vec<(String, String, String)> {
    report["new_handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap_or("").to_string();
            (text("handle"), text("type"), text("blamed_module"))
        })
        .collect()
}

fn growth(report: &Value) -> (i64, usize, usize) {
    (
        report["total_delta"].as_i64().unwrap(),
        report["new_handles"].as_array().unwrap().len(),
        report["closed_handles"].as_array().unwrap().len(),
    )
}

// 1. Plain `!htrace`.

#[test]
fn plain_htrace_is_analysed_as_a_trace() {
    let report = json(&["show", &pasted("plain-htrace.log")]);
    // 0x2c4 was opened and then closed; 0x2bc is a bad reference: only 0x2c0 and 0x2c8 are open.
    let expected = [
        ("0x2c0", "Mutant", "TileCache"),
        ("0x2c8", "Mutant", "TileCache"),
    ]
    .map(|(h, t, m)| (h.to_string(), t.to_string(), m.to_string()));
    assert_eq!(new_handles(&report), expected);
    let stack = &report["stacks"][0];
    assert_eq!(
        (stack["count"].as_u64(), stack["blamed_module"].as_str()),
        (Some(2), Some("TileCache"))
    );
    // 64-bit addresses stay whole.
    assert_eq!(
        stack["frame_details"][2]["address"], 0x7ffc_21c0_5a88_u64,
        "{stack}"
    );
    assert_eq!(report["after"]["pid"], 0xe10);
    assert_eq!(report["after"]["trace_records"], 5);
}

#[test]
fn plain_htrace_without_separators_reads_every_record() {
    let report = json(&["show", &pasted("plain-htrace-dense.log")]);
    let handles: Vec<String> = new_handles(&report).into_iter().map(|row| row.0).collect();
    assert_eq!(handles, ["0x2c0", "0x2c4", "0x2c8"]);
    assert_eq!(
        find(&report["new_handles"], "handle", "0x2c4")["type"],
        "Event"
    );
}

#[test]
fn handles_lists_the_open_handles_of_a_plain_htrace() {
    let report = json(&["handles", &pasted("plain-htrace.log")]);
    assert_eq!(column(&report["handles"], "handle"), ["0x2c0", "0x2c8"]);
    let row = find(&report["handles"], "handle", "0x2c8");
    assert_eq!(row["type"], "Mutant");
    assert_eq!(row["blamed_module"], "TileCache");
    assert_eq!(row["stack"][2], "TileCache!CacheLock::Create+0x48");
}

// 2. Block boundaries.

#[test]
fn a_diff_block_without_its_count_ends_at_the_prose() {
    let report = json(&["show", &pasted("diff-runs-on.log")]);
    // The unrelated example after the prose (handle 0x320, pid 0x999) is not part of it.
    let handles: Vec<String> = new_handles(&report).into_iter().map(|row| row.0).collect();
    assert_eq!(handles, ["0xa08", "0xa10"]);
    assert_eq!(report["after"]["pid"], 0x1794);
    let incomplete = coded(&report, "log-incomplete");
    assert!(
        incomplete
            .iter()
            .any(|w| w.contains("block 0 (line 1) ends at line 24 without its closing count line")),
        "{incomplete:?}"
    );
    assert!(
        incomplete
            .iter()
            .any(|w| w.contains("header says 0x3 new stack trace(s)")
                && w.contains("but 2 record(s) were read")),
        "{incomplete:?}"
    );
    let elided = coded(&report, "log-elided");
    assert!(
        elided
            .iter()
            .any(|w| w.contains("elides records (1 `...` line(s))")),
        "{elided:?}"
    );
}

#[test]
fn a_lone_carriage_return_in_a_record_does_not_cut_it_silently() {
    // CRLF log whose frame line is broken after its colon by a lone CR: the frame keeps its
    // text and the record its outer frames.
    let report = json(&["show", &pasted("cr-in-frame.log")]);
    assert_eq!(
        new_handles(&report),
        [("0x2c0".to_string(), "File".to_string(), "Foo".to_string())]
    );
    assert_eq!(
        report["stacks"][0]["frames"],
        serde_json::json!([
            "ntdll!NtCreateFile+0x14",
            "KERNELBASE!CreateFileW+0x50",
            "Foo!Bar+0x48"
        ])
    );
    assert!(coded(&report, "log-incomplete").is_empty(), "{report}");

    // A lone CR that splits a `Thread ID` line: the block ends there, and the record lines
    // after it are said to be unread.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("split.log");
    let text = std::fs::read_to_string(crate::common::testdata("logs/pasted/cr-in-frame.log"))
        .unwrap()
        .replacen(
            "0x0000000000001a04, Process",
            "0x0000000000001a04,\r Process",
            1,
        );
    std::fs::write(&log, text).unwrap();
    let report = json(&["show", log.to_str().unwrap()]);
    let notes = coded(&report, "log-incomplete");
    assert!(
        notes.iter().any(|note| note.contains(
            "line 3 is not !htrace output (`Thread ID = 0x0000000000001a04,`) and ends the block, but 3 line(s) of !htrace records follow it (from line 5)"
        )),
        "{notes:?}"
    );
}

// 3. Which process.

#[test]
fn the_pid_comes_from_the_records_not_from_an_event_line() {
    let report = json(&["show", &pasted("event-pid-elsewhere.log")]);
    assert_eq!(report["after"]["pid"], 0x1794);
    assert_warning(&report, |w| {
        w.contains("the !htrace records are of process 6036 (0x1794)")
    });
}

#[test]
fn several_process_ids_in_one_session_are_a_warning_at_the_top() {
    let log = pasted("diff-runs-on.log");
    let report = json(&["show", &log]);
    let first = &report["warnings"][0];
    assert_eq!(first["code"], "log-sessions", "{}", report["warnings"]);
    assert_eq!(
        first["message"],
        "several process ids appear in the log (2457 (0x999), 6036 (0x1794)); reported: \
         6036 (0x1794) alone, not merged (choose another with --pid or --block)"
    );
    // The hint works: --pid takes the block of the other process.
    let other = json(&["show", &log, "--pid", "2457"]);
    assert_eq!(other["after"]["pid"], 0x999);
    assert_eq!(
        new_handles(&other)
            .into_iter()
            .map(|row| row.0)
            .collect::<Vec<_>>(),
        ["0x320"]
    );
}

#[test]
fn several_sessions_are_kept_apart_with_a_warning_at_the_top() {
    let log = pasted("two-sessions.log");
    let last = json(&["show", &log]);
    let handles: Vec<String> = new_handles(&last).into_iter().map(|row| row.0).collect();
    assert_eq!(
        handles,
        ["0x450", "0x454"],
        "the last session alone, never a merge"
    );
    assert_eq!(last["after"]["pid"], 0xf28);
    let first_warning = &last["warnings"][0];
    assert_eq!(
        first_warning["code"], "log-sessions",
        "{}",
        last["warnings"]
    );
    let message = first_warning["message"].as_str().unwrap();
    assert!(
        message.contains("2 debugger sessions")
            && message.contains("pid 3600 (0xe10)")
            && message.contains("pid 3880 (0xf28)"),
        "{message}"
    );

    for choice in [["--pid", "3600"], ["--block", "0"]] {
        let first = json(&["show", &log, choice[0], choice[1]]);
        let handles: Vec<String> = new_handles(&first).into_iter().map(|row| row.0).collect();
        assert_eq!(handles, ["0x2c8"], "{choice:?}");
        assert_eq!(first["after"]["pid"], 0xe10, "{choice:?}");
        assert_eq!(first["after"]["process"], Value::Null);
    }
    let beyond = dumpleak()
        .args(["show", &log, "--block", "2"])
        .output()
        .unwrap();
    assert!(!beyond.status.success());
    let stderr = String::from_utf8_lossy(&beyond.stderr);
    assert!(
        stderr.contains("--block 2: the log has 2 !htrace blocks"),
        "{stderr}"
    );
}

#[test]
fn handle_output_and_htrace_of_different_processes_are_not_merged() {
    let log = pasted("mixed-processes.log");
    let trace = json(&["show", &log]);
    assert_eq!(
        trace["warnings"][0]["code"], "log-sessions",
        "{}",
        trace["warnings"]
    );
    assert_eq!(trace["after"]["pid"], 0x1794);
    // Without the other process's summary the per-type table counts the traced handles only.
    assert_eq!(trace["after"]["handle_count"], 1);
    assert_eq!(growth(&trace), (1, 1, 0));

    let handles = json(&["show", &log, "--pid", "3600"]);
    assert_eq!(handles["dump"]["pid"], 0xe10);
    assert_eq!(handles["dump"]["handle_count"], 3);
    assert_eq!(handles["trace"], Value::Null);
    assert_eq!(handles["warnings"][0]["code"], "log-sessions");
}

// 4. Counts that add up.

#[test]
fn growth_is_new_minus_closed_with_unknown_types() {
    for name in ["diff-untyped.log", "diff-untyped-summary.log"] {
        let report = json(&["show", &pasted(name)]);
        assert_eq!(growth(&report), (2, 2, 0), "{name}");
        assert_eq!(report["new_handles"][0]["type"], "(none)", "{name}");
    }
    let report = json(&["show", &pasted("diff-untyped-summary.log")]);
    assert_warning(&report, |w| {
        w.contains("summary (42 handles) does not list the types")
    });
}

#[test]
fn a_summary_whose_total_differs_from_its_types_is_flagged() {
    let report = json(&["show", &pasted("summary-mismatch.log")]);
    assert_eq!(
        coded(&report, "summary-total"),
        ["the !handle summary says 111 handles but its types add up to 99: the counts per type are reported as listed"]
    );
    assert_eq!(report["dump"]["handle_count"], 99);
}

// 5. Frames the log does not have.

#[test]
fn empty_elided_and_truncated_stacks_are_said_and_verifier_is_system() {
    let report = json(&["show", &pasted("frames.log")]);
    let no_frames = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stack| stack["frames"].as_array().unwrap().is_empty())
        .expect("a stack without frames");
    assert_eq!(no_frames["handles"], serde_json::json!(["0x100", "0x104"]));
    assert_eq!(no_frames["blamed_module"], Value::Null);
    // The elided record keeps the type its visible frames show.
    assert_eq!(
        find(&report["new_handles"], "handle", "0x104")["type"],
        "Event"
    );
    // Kernel frames of the 16-frame stack are system; the stack is marked truncated.
    assert_eq!(
        find(&report["new_handles"], "handle", "0x108")["blamed_module"],
        "Scanner"
    );
    let truncated = coded(&report, "stacks-truncated");
    assert!(
        truncated.len() == 1
            && truncated[0].contains("16 frames")
            && truncated[0].contains("0x108"),
        "{truncated:?}"
    );
    // Application Verifier's layers are not blamed.
    assert_eq!(
        find(&report["new_handles"], "handle", "0x10c")["blamed_module"],
        "Scanner"
    );
    assert!(!coded(&report, "log-elided").is_empty());

    let text = crate::common::stdout(&["show", &pasted("frames.log")], 0);
    assert!(text.contains("blamed: no frames recorded"), "{text}");
    assert!(
        !text.contains("no module outside the system modules"),
        "{text}"
    );
}

#[test]
fn frames_at_one_address_show_only_text_the_log_printed_for_them() {
    let report = json(&["show", &pasted("same-address-texts.log")]);
    // 0x…5a88 is `TileCache+0x5a88` in the earlier block, before `.reload`: the chosen
    // block's own text is shown. 0x…5b10 is `Renew` in one record and `Open` in the other:
    // neither text is shown for both.
    assert_eq!(
        report["stacks"][0]["frames"],
        serde_json::json!([
            "ntdll!NtCreateMutant+0x14",
            "TileCache!CacheLock::Create+0x48",
            "0x7ffc21c05b10"
        ])
    );
    assert_warning(&report, |w| {
        w.contains("the log prints different texts for frames at the same address (0x7ffc21c05b10: `TileCache!CacheLock::Renew+0x10` and `TileCache!CacheLock::Open+0x20`)")
    });
}

// 6. Formats.

#[test]
fn a_markdown_quoted_log_reads_like_the_log() {
    let quoted = json(&["show", &pasted("quoted.md")]);
    let plain = json(&["show", &pasted("plain-htrace.log")]);
    assert_eq!(new_handles(&quoted), new_handles(&plain));
    assert_eq!(quoted["stacks"][0]["frames"], plain["stacks"][0]["frames"]);
}

#[test]
fn handle_csv_listings_are_read_whatever_their_header() {
    let report = json(&["handles", &pasted("handle-v.csv")]);
    assert_eq!(report["dump"]["pid"], 3600);
    assert_eq!(
        column(&report["handles"], "handle"),
        ["0x40", "0x44", "0x48", "0x4c", "0x50"]
    );
    assert_eq!(
        find(&report["handles"], "handle", "0x48")["type"],
        "ALPC Port"
    );
    let file = find(&report["handles"], "handle", "0x50");
    assert_eq!(file["name"], r"C:\Users\ana\Documents\notes, draft.txt");

    // The header names Type before Handle; the rows put the user, then the handle, then the type.
    let report = json(&["handles", &pasted("handle-v-mismatch.csv")]);
    assert_eq!(
        column(&report["handles"], "handle"),
        ["0x40", "0x44", "0x4c"]
    );
    assert_eq!(
        column(&report["handles"], "type"),
        ["File", "Event", "Mutant"]
    );
    let mutant = find(&report["handles"], "handle", "0x4c");
    assert_eq!(mutant["name"], r"\Sessions\1\BaseNamedObjects\ViewerLock");
    assert_all_understood(&report);
}

#[test]
fn handle_csv_columns_follow_the_header_and_quoting() {
    // handle v5.1: Share Flags, Name and Access after the type; quoted fields with commas and
    // doubled quotes; the rows of pid 3600 are split around pid 3601's.
    let csv = pasted("handle-v5-columns.csv");
    let report = json(&["handles", &csv, "--pid", "3600"]);
    assert_eq!(
        column(&report["handles"], "handle"),
        ["0x40", "0x44", "0x4c"]
    );
    let names: Vec<&Value> = report["handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|handle| &handle["name"])
        .collect();
    assert_eq!(
        names,
        [
            &Value::from(r"C:\Program Files\Viewer"),
            &Value::Null,
            &Value::from(r"C:\notes\q1, draft.txt"),
        ]
    );
    assert_eq!(
        find(&report["handles"], "handle", "0x40")["granted_access"],
        "0x100020"
    );
    let report = json(&["handles", &csv, "--pid", "3601"]);
    assert_eq!(report["dump"]["process"], "Viewer, Beta.exe");
    assert_eq!(
        report["handles"][0]["name"],
        r#"\Sessions\1\BaseNamedObjects\a"b"#
    );
    // Two processes, each named once.
    let output = dumpleak().args(["handles", &csv]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Viewer.exe pid 3600, Viewer, Beta.exe pid 3601")
            && stderr.matches("3600").count() == 1,
        "{stderr}"
    );
}

#[test]
fn handle_exe_3_banners_are_read() {
    let report = json(&["handles", &pasted("handle-v3.txt")]);
    assert_eq!(report["dump"]["process"], "Viewer.exe");
    assert_eq!(column(&report["handles"], "type"), ["Key", "Event", "File"]);
    assert_all_understood(&report);
}

#[test]
fn kernel_mode_sessions_are_refused_as_such() {
    for name in ["kernel.log", "kernel-handle.log"] {
        let output = dumpleak().args(["show", &pasted(name)]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("kernel-mode debugger output"),
            "{name}: {stderr}"
        );
        assert!(
            !stderr.contains("procdump") && !stderr.contains("no handle data"),
            "{name}: {stderr}"
        );
    }
}

// 7. Fields a log does not have.

#[test]
fn text_inputs_have_null_fields_and_no_dump_advice() {
    let report = json(&["show", &pasted("modload-only.log")]);
    assert_eq!(report["dump_flags"], Value::Null);
    assert_eq!(report["dump"]["handle_count"], Value::Null);
    assert_eq!(report["dump"]["captured_at"], Value::Null);
    for name in ["modload-only.log", "handle-v3.txt", "summary-mismatch.log"] {
        let report = json(&["show", &pasted(name)]);
        assert_eq!(report["dump_flags"], Value::Null, "{name}");
        for warning in warnings(&report) {
            assert!(
                !warning.contains("procdump") && !warning.contains("HandleDataStream"),
                "{name}: {warning}"
            );
        }
    }
    // Modules of `ModLoad:` lines: no timestamp; the table leaves it blank.
    for module in report["modules"].as_array().unwrap() {
        assert_eq!(module["timestamp"], Value::Null, "{module}");
        assert!(module["size"].is_string(), "{module}");
    }
    let text = dumpleak()
        .args(["show", &pasted("modload-only.log")])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&text.stdout).contains("00000000"));
    // The handles of a trace in a log: no access mask, no object handle count.
    let diff = json(&["show", &pasted("plain-htrace.log")]);
    for row in diff["new_handles"].as_array().unwrap() {
        for key in ["granted_access", "object_handle_count"] {
            assert_eq!(row[key], Value::Null, "{key}: {row}");
        }
    }
    let handles = json(&["handles", &pasted("plain-htrace.log")]);
    for row in handles["handles"].as_array().unwrap() {
        for key in [
            "granted_access",
            "handle_count",
            "pointer_count",
            "attributes",
        ] {
            assert_eq!(row[key], Value::Null, "{key}: {row}");
        }
    }
}

// 8. One reading everywhere.

#[test]
fn batch_show_diff_and_series_read_a_log_alike() {
    let log = pasted("plain-htrace.log");
    let show = json(&["show", &log]);
    let batch = json(&["batch", &log]);
    let row = &batch["dumps"][0];
    assert_eq!(row["handle_count"], 2);
    assert_eq!(row["types"], serde_json::json!({"Mutant": 2}));
    assert_eq!(
        row["blamed"][0]["module"],
        show["stacks"][0]["blamed_module"]
    );
    assert_eq!(row["stacks"][0]["frames"], show["stacks"][0]["frames"]);

    let dense = pasted("plain-htrace-dense.log");
    let diff = json(&["diff", &log, &dense]);
    assert_eq!(diff["before"]["handle_count"], 2);
    assert_eq!(diff["after"]["handle_count"], 3);
    assert_eq!(
        new_handles(&diff),
        [(
            "0x2c4".to_string(),
            "Event".to_string(),
            "Viewer".to_string()
        )]
    );

    let series = json(&["series", &log, &dense, &pasted("quoted.md")]);
    let counts = series_counts(&series);
    assert_eq!(counts, [2, 3, 2]);
}

#[test]
fn a_log_with_a_summary_has_its_total_in_every_command() {
    // The summary says 42 handles; the diff's two new handles are of types it does not list.
    let log = pasted("diff-untyped-summary.log");
    let show = json(&["show", &log]);
    assert_eq!(show["after"]["handle_count"], 42);
    assert_eq!(show["before"]["handle_count"], 40);
    assert_eq!(show["total_delta"], 2);
    let batch = json(&["batch", &log]);
    assert_eq!(batch["dumps"][0]["handle_count"], 42);
    // A second capture of the same log (a byte more, so it is not the same input).
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("later.log");
    let mut text = std::fs::read(&log).unwrap();
    text.extend_from_slice(b"\n");
    std::fs::write(&later, text).unwrap();
    let series = json(&["series", &log, later.to_str().unwrap()]);
    let counts = series_counts(&series);
    assert_eq!(counts, [42, 42]);
}

#[test]
fn modules_of_logs_without_handle_data_stay_out_of_the_ranking() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["modload-only.log", "plain-htrace.log", "handle-v.csv"] {
        std::fs::copy(
            crate::common::testdata(&format!("logs/pasted/{name}")),
            dir.path().join(name),
        )
        .unwrap();
    }
    let batch = json(&["batch", dir.path().to_str().unwrap()]);
    assert_eq!(batch["aggregate"]["without_handle_data"], 1);
    let text = batch["aggregate"].to_string();
    assert!(!text.contains("TileCache.dll"), "{text}");
    // The note does not call a log a dump without a HandleDataStream.
    let notes = batch["aggregate"]["notes"].to_string();
    assert!(
        notes.contains("a log or listing that shows no handles"),
        "{notes}"
    );
}

/// The handle count of each dump of a series report's first segment.
fn series_counts(series: &serde_json::Value) -> Vec<u64> {
    series["segments"][0]["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|dump| dump["handle_count"].as_u64().unwrap())
        .collect()
}
