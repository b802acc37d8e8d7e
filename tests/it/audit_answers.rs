//! Confidently wrong answers an audit of issues 13 and 19 found, end to end: a rise that
//! reversed called a leak, a capture time of 0 taken as real, inputs of another program left
//! out without a word, and a `--limit` already exceeded reported as "reached".

use serde_json::Value;

use crate::common::{column, dumpleak, json, stdout};

/// Writes one handle.exe listing per cycle into `dir` (`l00.txt`, `l01.txt`, …) with
/// `counts[i]` Event handles in listing `i`, and returns their paths in order.
fn event_listings(dir: &std::path::Path, counts: &[usize]) -> Vec<String> {
    counts
        .iter()
        .enumerate()
        .map(|(cycle, &count)| {
            let mut text = String::from(
                "\nNthandle v5.0 - Handle viewer\nCopyright (C) 1997-2022 Mark Russinovich\n\
                 Sysinternals - www.sysinternals.com\n\n------------------------------------\
                 ------------------------------------------\nSvc.exe pid: 4242 CONTOSO\\svc\n",
            );
            for handle in 0..count {
                text.push_str(&format!("{:5X}: Event\n", 4 + 4 * handle));
            }
            let path = dir.join(format!("l{cycle:02}.txt"));
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect()
}

fn series_args(paths: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["series".to_string()];
    args.extend(paths.iter().cloned());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

#[test]
fn a_rise_that_reversed_is_no_leak_and_does_not_fail_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [10, 12, 14, 16, 18, 20, 22, 24, 26, 22, 18, 14];
    let paths = event_listings(dir.path(), &counts);
    let args = series_args(&paths, &["--fail-on-leak"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = stdout(&refs, 0);
    assert!(
        text.contains("Handles     10 → 14 (+2/cycle): churn"),
        "{text}"
    );
    assert!(
        text.contains("rose to ~26 by dump 8, then fell to ~18 over the last 3 dumps"),
        "{text}"
    );
    let report = json(&refs);
    let segment = &report["segments"][0];
    assert_eq!(segment["total"]["class"], "churn");
    assert_eq!(column(&segment["types"], "class"), ["churn"]);
    assert_eq!(segment["exhaustion"], Value::Null);
    // Still rising at the end: a leak, and the gate trips.
    let rising = event_listings(
        dir.path(),
        &[10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32],
    );
    let args = series_args(&rising, &["--fail-on-leak"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = dumpleak().args(&refs).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
}

/// A copy of `testdata/<fixture>` in `dir` named `name`, with the header's TimeDateStamp set
/// to `time`.
fn with_capture_time(dir: &std::path::Path, fixture: &str, name: &str, time: u32) -> String {
    let mut dump = crate::common::fixture(fixture);
    dump[20..24].copy_from_slice(&time.to_le_bytes());
    let path = dir.join(name);
    std::fs::write(&path, dump).unwrap();
    path.to_str().unwrap().to_string()
}

fn codes(report: &Value) -> Vec<&str> {
    column(&report["warnings"], "code")
}

#[test]
fn a_capture_time_of_0_or_before_the_process_start_counts_as_missing_in_diff() {
    let dir = tempfile::tempdir().unwrap();
    let before = "testdata/incident/series/cycle-0.dmp";
    // 0 (1970), and 2026-02-25, five days before the process started (2026-03-02 08:00).
    for (time, why) in [
        (0, "is 0 (1970-01-01)"),
        (
            1_772_000_000,
            "(2026-02-25T06:13:20Z) is earlier than the process start time \
             (2026-03-02T08:00:00Z)",
        ),
    ] {
        let after = with_capture_time(dir.path(), "incident/series/cycle-6.dmp", "c6.dmp", time);
        let report = json(&["diff", before, &after]);
        assert_eq!(report["reordered"], false, "never 'corrected' by that time");
        assert_eq!(report["elapsed_seconds"], Value::Null);
        assert_eq!(report["total_delta"], 18);
        let codes = codes(&report);
        assert!(codes.contains(&"order-unchecked"), "{codes:?}");
        assert!(!codes.contains(&"reordered"), "{codes:?}");
        let warning = crate::common::find(&report["warnings"], "code", "capture-time-not-credible");
        assert_eq!(warning["file"], "c6.dmp");
        assert_eq!(
            warning["message"].as_str().unwrap(),
            format!(
                "the capture time in the dump header {why}: not credible, so it is treated as \
                 missing"
            )
        );
        let text = stdout(&["diff", before, &after], 0);
        assert!(
            !text.contains("given newest first") && !text.contains("56y"),
            "{text}"
        );
        assert!(text.contains("Growth   +18 handles"), "{text}");
    }
}

#[test]
fn a_capture_time_of_0_does_not_move_a_dump_to_the_front_of_a_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["series".to_string()];
    for cycle in 0..6 {
        args.push(format!("testdata/incident/series/cycle-{cycle}.dmp"));
    }
    args.push(with_capture_time(
        dir.path(),
        "incident/series/cycle-6.dmp",
        "c6.dmp",
        0,
    ));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = json(&refs);
    assert_eq!(report["order"], "given");
    let segment = &report["segments"][0];
    assert_eq!(
        segment["total"]["counts"],
        serde_json::json!([43, 46, 49, 52, 55, 58, 61])
    );
    assert_eq!(segment["total"]["class"], "leak");
    let codes = codes(&report);
    assert!(codes.contains(&"capture-time-not-credible"), "{codes:?}");
    assert!(codes.contains(&"no-capture-time"), "{codes:?}");
}

#[test]
fn inputs_of_another_program_are_named_first_in_every_format() {
    let args = [
        "series",
        "testdata/notrace-x64/before.dmp",
        "testdata/notrace-x64/after.dmp",
        "testdata/incident/series/cycle-0.dmp",
        "testdata/incident/series/cycle-1.dmp",
    ];
    let alert = "inputs of another program left out: OrderMailer.exe pid 3856 started \
                 2026-03-02T08:00:00Z (cycle-0.dmp, cycle-1.dmp); the series is of Indexer.exe, \
                 the program of the most inputs (2 of 4; on a tie, the program of the first \
                 input given)";
    let report = json(&args);
    assert_eq!(codes(&report)[0], "different-program");
    assert_eq!(report["warnings"][0]["message"], alert);
    assert_eq!(report["excluded"].as_array().unwrap().len(), 2);
    let text = stdout(&args, 0);
    assert!(
        text.starts_with("dumpleak series: 2 dumps of Indexer.exe\n"),
        "{text}"
    );
    assert_eq!(text.lines().nth(1).unwrap(), format!("  WARNING: {alert}"));
    let first_line = |format: &str| -> (String, String) {
        let output = dumpleak()
            .args(args)
            .args(["--format", format])
            .output()
            .unwrap();
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (markdown, _) = first_line("markdown");
    assert!(
        markdown.find(alert).unwrap() < markdown.find("| Type").unwrap(),
        "{markdown}"
    );
    let (html, _) = first_line("html");
    assert!(html.find(alert).unwrap() < html.find("<table").unwrap());
    let (_, csv_stderr) = first_line("csv");
    assert!(
        csv_stderr.lines().next().unwrap().contains(alert),
        "{csv_stderr}"
    );
    // Given the other way round, the tie goes to OrderMailer.exe.
    let swapped = [args[0], args[3], args[4], args[1], args[2]];
    let report = json(&swapped);
    assert!(report["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("the series is of OrderMailer.exe"));
}

#[test]
fn a_limit_already_exceeded_is_said_so() {
    let args = ["series", "testdata/incident/series", "--limit", "50"];
    let text = stdout(&args, 0);
    assert!(
        text.contains(
            "Exhaustion  50 handles already exceeded: 61 in the last dump, still growing at \
             +18/hour"
        ),
        "{text}"
    );
    assert!(!text.contains("reached at"), "{text}");
    let exhaustion = &json(&args)["segments"][0]["exhaustion"];
    assert_eq!(exhaustion["current"], 61);
    assert_eq!(exhaustion["limit"], 50);
    assert_eq!(exhaustion["cycles_left"], 0.0);
    assert_eq!(exhaustion["hours_left"], 0.0);
    // At the limit exactly: "already reached".
    let text = stdout(&["series", "testdata/incident/series", "--limit", "61"], 0);
    assert!(
        text.contains("61 handles already reached: 61 in the last dump"),
        "{text}"
    );
    // Below it: the date, as before.
    let text = stdout(&["series", "testdata/incident/series", "--limit", "100"], 0);
    assert!(text.contains("100 handles reached at"), "{text}");
}

#[test]
fn every_warning_code_is_documented_in_the_json_contract() {
    let contract =
        std::fs::read_to_string(format!("{}/docs/json.md", crate::common::ROOT)).unwrap();
    let missing: Vec<&str> = dumpleak::warning::WarningCode::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !contract.contains(&format!("\n| `{code}` |")))
        .collect();
    assert!(missing.is_empty(), "not in docs/json.md: {missing:?}");
    assert!(contract.contains("`retained_in` is the number of later dumps"));
}
