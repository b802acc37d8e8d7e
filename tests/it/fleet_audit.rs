//! Regressions from the audit of the fleet view (issue 13, batch): answers that read right but
//! were wrong — duplicates counted twice, headlines from one dump against one, system DLLs of
//! real Windows dumps at rank 1, folded groups led by name — and the small ones (p-values,
//! headings, failures naming their file twice, empty tables).

use crate::common::{dumpleak, stdout};
use serde_json::Value;

fn batch_json(args: &[&str]) -> Value {
    let output = dumpleak()
        .arg("batch")
        .args(args)
        .args(["-q", "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn a_failure_names_its_file_once_in_every_format() {
    let report = batch_json(&["testdata/series"]);
    let failure = &report["failures"][0];
    assert_eq!(failure["file"], "testdata/series/broken.dmp");
    let error = failure["error"].as_str().unwrap();
    assert!(
        error.starts_with("HandleDataStream at file offset"),
        "{error}"
    );
    let text = stdout(&["batch", "-q", "testdata/series"], 1);
    assert!(
        text.contains("  - testdata/series/broken.dmp: HandleDataStream at file offset"),
        "{text}"
    );
    let csv = stdout(
        &[
            "batch",
            "-q",
            "testdata/series",
            "--format",
            "csv",
            "--table",
            "failures",
        ],
        1,
    );
    assert!(
        csv.contains("testdata/series/broken.dmp,\"HandleDataStream at file offset"),
        "{csv}"
    );
    assert_eq!(csv.matches("broken.dmp").count(), 1, "{csv}");
}

#[test]
fn without_handle_data_the_ranking_is_a_sentence_not_an_empty_table() {
    let dump = "testdata/real/breakpad-minidump2/minidump2.dmp";
    let text = stdout(&["batch", "-q", dump], 0);
    assert!(
        text.contains("No module version is ranked: no dump has handle data."),
        "{text}"
    );
    assert!(!text.contains("│ Rank"), "{text}");
    assert!(
        text.starts_with("dumpleak batch: 1 dump processed"),
        "{text}"
    );
    let csv = stdout(
        &["batch", "-q", dump, "--format", "csv", "--table", "modules"],
        0,
    );
    assert!(csv.starts_with("Rank,Module,Version,"), "{csv}");
    assert_eq!(csv.lines().count(), 1, "{csv}");
}

#[test]
fn the_ranking_heading_says_whether_system_modules_are_included() {
    let default = stdout(&["batch", "-q", "testdata/batch/cust-0c91.dmp"], 0);
    assert!(
        default.contains("(system modules left out unless --include-system-modules)"),
        "{default}"
    );
    let included = stdout(
        &[
            "batch",
            "-q",
            "--include-system-modules",
            "testdata/batch/cust-0c91.dmp",
        ],
        0,
    );
    assert!(!included.contains("left out unless"), "{included}");
    assert!(included.contains("(system modules included)"), "{included}");
    let report = batch_json(&["--include-system-modules", "testdata/batch/cust-0c91.dmp"]);
    assert_eq!(report["aggregate"]["system_modules_included"], true);
}

#[test]
fn one_dump_is_one_dump_not_1_dumps() {
    let text = stdout(
        &[
            "batch",
            "-q",
            "testdata/batch/cust-0c91.dmp",
            "testdata/batch/cust-18c7.dmp",
        ],
        0,
    );
    assert!(
        text.contains("MailSvc.exe: 5.3.0.4 median 769 (1 dump) vs 5.2.0.1 median 63 (1 dump)"),
        "{text}"
    );
}
