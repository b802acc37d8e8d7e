//! Issue 13, series section, end to end: the order of inputs without capture times, restarts
//! as segments, warnings that change the conclusion first in every format, `--fail-on-leak`.

use serde_json::Value;

use crate::common::{column, dumpleak, json, stdout, testdata};

const BEFORE: &str = "testdata/logs/handle-before.txt";
const AFTER: &str = "testdata/logs/handle-after.txt";

fn codes(report: &Value) -> Vec<&str> {
    column(&report["warnings"], "code")
}

/// The line of `text` holding `needle`, by number.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in {text}"))
}

#[test]
fn listings_without_capture_times_keep_the_command_line_order() {
    for (first, second) in [(BEFORE, AFTER), (AFTER, BEFORE)] {
        let report = json(&["series", first, second]);
        assert_eq!(report["order"], "given");
        let paths = column(&report["segments"][0]["dumps"], "path");
        assert_eq!(paths, [first, second], "never re-sorted by file name");
        assert!(!codes(&report).contains(&"order-by-name"));
        let no_time = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|warning| warning["code"] == "no-capture-time")
            .expect("a no-capture-time note");
        assert!(no_time["message"]
            .as_str()
            .unwrap()
            .contains("they are taken in the order given"));
    }
    // No capture times: per cycle only, no per-hour column.
    let text = stdout(&["series", BEFORE, AFTER], 0);
    assert!(
        text.contains("Per cycle") && !text.contains("Per hour"),
        "{text}"
    );
    assert!(text.contains("(no capture times: 2 dumps in the order given)"));
}

#[test]
fn a_directory_without_capture_times_is_in_name_order_and_says_so_first_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    // By name, the later listing comes first.
    std::fs::copy(testdata("logs/handle-after.txt"), dir.path().join("a.txt")).unwrap();
    std::fs::copy(testdata("logs/handle-before.txt"), dir.path().join("b.txt")).unwrap();
    let path = dir.path().to_str().unwrap();
    let report = json(&["series", path]);
    assert_eq!(report["order"], "name");
    let paths = column(&report["segments"][0]["dumps"], "path");
    assert!(paths[0].ends_with("a.txt") && paths[1].ends_with("b.txt"));
    assert_eq!(codes(&report)[0], "order-by-name");
    let alert = "the dumps are in file-name order";

    let text = stdout(&["series", path], 0);
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("  WARNING: {alert}")),
        "{text}"
    );
    let markdown = stdout(&["series", path, "--format", "markdown"], 0);
    assert!(
        line_of(&markdown, alert) < line_of(&markdown, "| Type"),
        "{markdown}"
    );
    assert!(markdown.contains(&format!("> **Warning:** {alert}")));
    let html = stdout(&["series", path, "--format", "html"], 0);
    let at = html.find(alert).expect("alert in the page");
    assert!(at < html.find("<table").unwrap());
    assert!(html[..at].contains("class=\"alert\""));
    // CSV has no room for it: it goes to stderr.
    dumpleak()
        .args(["series", path, "--format", "csv"])
        .assert()
        .success()
        .stderr(predicates::str::contains(alert));
    // Not in the notes at the end a second time.
    assert_eq!(text.matches(alert).count(), 1);

    // --order time refuses inputs without capture times.
    dumpleak()
        .args(["series", path, "--order", "time"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--order time: 2 of 2 inputs have no capture time (a.txt, b.txt)",
        ));
}

#[test]
fn order_given_keeps_dumps_given_newest_first_and_says_so_first() {
    let mut args = vec!["series".to_string()];
    for cycle in (0..7).rev() {
        args.push(format!("testdata/incident/series/cycle-{cycle}.dmp"));
    }
    args.extend(["--order".to_string(), "given".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = json(&refs);
    assert_eq!(report["order"], "given");
    let series = &report["segments"][0];
    assert_eq!(
        series["total"]["counts"],
        serde_json::json!([61, 58, 55, 52, 49, 46, 43])
    );
    assert_eq!(series["total"]["class"], "decline");
    assert_eq!(codes(&report)[0], "order-not-time");
    // The capture times contradict the order: no rates per hour.
    assert_eq!(series["total"]["slope_per_hour"], Value::Null);
    let text = stdout(&refs, 0);
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("  WARNING: --order given keeps an order that is not the capture-time order"));
}

#[test]
fn a_restart_splits_the_series_into_segments_said_first() {
    let args = [
        "series",
        "testdata/incident/series",
        "testdata/other-process.dmp",
        "--symbols",
        "testdata/incident/images",
    ];
    let report = json(&args);
    let segments = report["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0]["pid"], 3856);
    assert_eq!(segments[0]["dumps"].as_array().unwrap().len(), 7);
    assert_eq!(segments[1]["pid"], 5120);
    assert_eq!(segments[1]["process_started_at"], "2026-03-02T10:00:00Z");
    assert_eq!(
        segments[1]["dumps"][0]["path"],
        "testdata/other-process.dmp"
    );
    assert_eq!(segments[1]["total"]["too_few"], true);
    // Not left out: analysed.
    assert_eq!(report["excluded"], serde_json::json!([]));
    assert_eq!(codes(&report)[0], "process-restarted");
    assert!(segments[0]["modules"][0]["headline"]
        .as_str()
        .unwrap()
        .starts_with(
            "MSMAPI32.DLL 11.0.5601.0: +3.0 handles/cycle (2 Mutant, 1 Section) from 3 stacks, \
             retained in all 6 later dumps"
        ));

    let text = stdout(&args, 0);
    let first = text.lines().nth(1).unwrap();
    assert!(
        first.starts_with(
            "  WARNING: the process restarted: cycle-6.dmp is OrderMailer.exe pid 3856"
        ),
        "{first}"
    );
    assert!(first
        .contains("other-process.dmp is OrderMailer.exe pid 5120 started 2026-03-02T10:00:00Z"));
    assert!(text.contains("Segments  2: the process restarted"));
    assert!(
        line_of(&text, "Segment 1 of 2: pid 3856") < line_of(&text, "Segment 2 of 2: pid 5120")
    );
    let markdown = stdout(&[&args[..], &["--format", "markdown"]].concat(), 0);
    assert!(
        line_of(&markdown, "> **Warning:** the process restarted") < line_of(&markdown, "| Type")
    );
    let html = stdout(&[&args[..], &["--format", "html"]].concat(), 0);
    assert!(html.find("the process restarted").unwrap() < html.find("<table").unwrap());
    // Every CSV table covers both segments, numbered.
    let csv = stdout(
        &[&args[..], &["--format", "csv", "--table", "dumps"]].concat(),
        0,
    );
    assert!(csv.starts_with("Segment,Dump,File,"), "{csv}");
    assert!(csv
        .lines()
        .any(|line| line.starts_with("2,0,testdata/other-process.dmp,")));
}

#[test]
fn fail_on_leak_exits_3_when_a_type_or_module_leaks() {
    let incident = ["series", "testdata/incident/series", "--fail-on-leak"];
    let output = dumpleak().args(incident).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stdout).contains("MSMAPI32.DLL 11.0.5601.0"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--fail-on-leak"));
    // The slow leak of the noisy series trips it too…
    stdout(&["series", "testdata/series-noisy", "--fail-on-leak"], 3);
    // …unless it is slower than --min-growth; a decline and a plateau are no leak.
    let quiet = stdout(
        &[
            "series",
            "testdata/series-noisy",
            "--fail-on-leak",
            "--min-growth",
            "1",
            "--format",
            "json",
        ],
        0,
    );
    let report: Value = serde_json::from_str(&quiet).unwrap();
    let classes = column(&report["segments"][0]["types"], "class");
    assert!(classes.contains(&"decline") && !classes.contains(&"leak"));
    // Too few dumps is no verdict, so no leak; and without the flag a leak exits 0.
    stdout(&["series", BEFORE, AFTER, "--fail-on-leak"], 0);
    stdout(&["series", "testdata/incident/series"], 0);
}
