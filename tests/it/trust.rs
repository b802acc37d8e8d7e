//! Answers a user can put in a bug report (issue 13, diff): meaningless comparisons are
//! refused, the order is corrected and said, and what changes the conclusion comes first in
//! every format.

use crate::common::{dumpleak, json, testdata};

const OTHER: [&str; 3] = [
    "diff",
    "testdata/incident/before.dmp",
    "testdata/other-process.dmp",
];

fn run(args: &[&str]) -> std::process::Output {
    dumpleak().args(args).output().expect("runs")
}

#[test]
fn dumps_of_different_processes_are_refused_naming_both() {
    let output = run(&OTHER);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no report is written");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("different processes")
            && stderr.contains("OrderMailer.exe pid 3856")
            && stderr.contains("pid 5120")
            && stderr.contains("--allow-different-process"),
        "{stderr}"
    );
}

#[test]
fn allowed_different_processes_say_so_before_anything_else_in_every_format() {
    let mut args = OTHER.to_vec();
    args.push("--allow-different-process");
    let report = json(&args);
    assert_eq!(report["warnings"][0]["code"], "different-process");

    let text = |format: &str| {
        let mut with_format = args.clone();
        with_format.extend(["--format", format]);
        let output = run(&with_format);
        assert!(output.status.success(), "{format}");
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (table, _) = text("table");
    let second_line = table.lines().nth(1).unwrap();
    assert!(
        second_line.starts_with("  WARNING: the dumps are of different processes"),
        "{table}"
    );
    let (markdown, _) = text("markdown");
    let first_block = markdown.split("\n\n").nth(1).unwrap();
    assert!(
        first_block.starts_with("> **Warning:** the dumps are of different processes"),
        "{markdown}"
    );
    let (html, _) = text("html");
    let alert = html.find("<div class=\"alert\"").expect("an alert box");
    assert!(alert < html.find("<table").unwrap() && alert < html.find("<dl").unwrap());
    let (csv, stderr) = text("csv");
    assert!(csv.starts_with("Change,"), "CSV stays one table: {csv}");
    assert!(
        stderr.starts_with("dumpleak: warning: the dumps are of different processes"),
        "{stderr}"
    );
}

#[test]
fn the_same_capture_twice_is_refused() {
    let output = run(&[
        "diff",
        "testdata/incident/after.dmp",
        "testdata/incident/after.dmp",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("same capture"));

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy-of-after.dmp");
    std::fs::copy(testdata("incident/after.dmp"), &copy).unwrap();
    let output = dumpleak()
        .args(["diff", "testdata/incident/after.dmp"])
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("same capture"));
}

#[test]
fn newest_first_is_compared_older_to_newer_and_said_first() {
    let report = json(&[
        "diff",
        "testdata/incident/after.dmp",
        "testdata/incident/before.dmp",
    ]);
    assert_eq!(report["reordered"], true);
    assert_eq!(report["total_delta"], 9);
    assert_eq!(report["before"]["path"], "testdata/incident/before.dmp");
    assert_eq!(report["stacks"].as_array().unwrap().len(), 3, "stacks kept");
    let first = &report["warnings"][0];
    assert_eq!(first["code"], "reordered");
    assert!(first["message"]
        .as_str()
        .unwrap()
        .starts_with("given newest first; compared older → newer"));

    let output = run(&[
        "diff",
        "testdata/incident/after.dmp",
        "testdata/incident/before.dmp",
        "--fail-on-growth",
        "5",
    ]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "judged in the corrected order"
    );
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .contains("WARNING: given newest first"),
        "{table}"
    );
}

#[test]
fn inputs_without_capture_times_keep_their_order_and_say_it_was_not_checked() {
    let report = json(&[
        "diff",
        "testdata/logs/handle-before.txt",
        "testdata/logs/handle-after.txt",
    ]);
    assert_eq!(report["reordered"], false);
    let codes: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|warning| warning["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"order-unchecked"), "{codes:?}");
}

#[test]
fn a_wrapped_trace_is_an_alert_before_the_tables() {
    let output = run(&[
        "diff",
        "testdata/wrapped/before.dmp",
        "testdata/wrapped/after.dmp",
    ]);
    let table = String::from_utf8(output.stdout).unwrap();
    let alert = table
        .find("WARNING: 5 of 9 new handles have no trace record")
        .unwrap();
    assert!(alert < table.find("Handles by type").unwrap(), "{table}");
}
