//! Regressions from the audit of the fleet view (issue 13, batch): answers that read right but
//! were wrong — duplicates counted twice, headlines from one dump against one, system DLLs of
//! real Windows dumps at rank 1, folded groups led by name — and the small ones (p-values,
//! headings, failures naming their file twice, empty tables).

use crate::common::{dumpleak, stdout, testdata};
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
    // The folder walker joins names with the system's separator.
    let broken = std::path::Path::new("testdata/series")
        .join("broken.dmp")
        .display()
        .to_string();
    let report = batch_json(&["testdata/series"]);
    let failure = &report["failures"][0];
    assert_eq!(failure["file"], broken.as_str());
    let error = failure["error"].as_str().unwrap();
    assert!(
        error.starts_with("HandleDataStream at file offset"),
        "{error}"
    );
    let text = stdout(&["batch", "-q", "testdata/series"], 1);
    assert!(
        text.contains(&format!("  - {broken}: HandleDataStream at file offset")),
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
        csv.contains(&format!("{broken},\"HandleDataStream at file offset")),
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
    assert!(!text.contains("1 dumps"), "{text}");
}

#[test]
fn no_headline_association_from_one_dump_against_one() {
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
        text.lines().nth(1).unwrap().contains(
            "Strongest association  too few dumps to associate a module with high handle counts (at least 4 dumps that load a module version and 4 that do not)"
        ),
        "{text}"
    );
    assert!(!text.contains("Without "), "{text}");
    let report = batch_json(&[
        "testdata/batch/cust-0c91.dmp",
        "testdata/batch/cust-18c7.dmp",
    ]);
    assert!(report["aggregate"]["top_check"].is_null());
}

#[test]
fn no_headline_association_across_programs_only_within_each() {
    let dir = folder_with_a_copy();
    std::fs::remove_file(dir.path().join("copy-b6c2.dmp")).unwrap();
    std::fs::copy(testdata("incident/after.dmp"), dir.path().join("other.dmp")).unwrap();
    let text = stdout(&["batch", "-q", dir.path().to_str().unwrap()], 0);
    let headlines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("Strongest association"))
        .collect();
    assert_eq!(headlines.len(), 3, "{text}");
    assert!(
        headlines[0]
            .ends_with("none over all dumps: they are of 2 programs, each ranked on its own below"),
        "{text}"
    );
    assert!(
        headlines[1].contains("MSMAPI32.DLL 11.0.5601.0: median 939.5 handles in the 8 dumps"),
        "{text}"
    );
    assert!(headlines[2].contains("too few dumps"), "{text}");
    let report = batch_json(&[dir.path().to_str().unwrap()]);
    assert!(report["aggregate"]["top_check"].is_null());
}

/// The customer dumps of testdata/batch, plus a byte-identical copy of cust-b6c2.dmp named so
/// that it sorts first.
fn folder_with_a_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(testdata("batch")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("cust-") {
            std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    std::fs::copy(
        testdata("batch/cust-b6c2.dmp"),
        dir.path().join("copy-b6c2.dmp"),
    )
    .unwrap();
    dir
}

fn without_files(mut aggregate: Value) -> Value {
    aggregate["skipped"] = Value::Null;
    aggregate["caveats"] = Value::Null;
    aggregate
}

#[test]
fn a_byte_identical_copy_is_one_dump_in_batch_and_in_merge() {
    let dir = folder_with_a_copy();
    let path = dir.path().to_str().unwrap();
    let copy = dir.path().join("copy-b6c2.dmp").display().to_string();
    let original = dir.path().join("cust-b6c2.dmp").display().to_string();
    let report = batch_json(&[path]);
    let aggregate = &report["aggregate"];
    assert_eq!(aggregate["processed"], 14);
    assert_eq!(aggregate["skipped"], 1);
    // The first by path wins, whichever worker finished first.
    assert_eq!(report["skipped"][0]["file"], original.as_str());
    assert_eq!(
        report["skipped"][0]["reason"],
        format!("identical to {copy}").as_str()
    );
    let text = stdout(&["batch", "-q", path], 0);
    assert!(
        text.contains(&format!(
            "Skipped: 1 file identical to another input\n  - {original}: identical to {copy}"
        )),
        "{text}"
    );
    for jobs in ["1", "4"] {
        let again = batch_json(&["--jobs", jobs, path]);
        assert_eq!(again, report, "--jobs {jobs}");
    }
    // The statistics are those of the 14 distinct dumps.
    let distinct = batch_json(&["testdata/batch", "--include", "cust-*"]);
    assert_eq!(
        without_files(aggregate.clone()),
        without_files(distinct["aggregate"].clone())
    );

    // batch → JSONL → merge gives the same counts and statistics, and no duplicate note.
    let shard = dir.path().join("run.jsonl");
    let output = dumpleak()
        .args(["batch", "-q", "--format", "jsonl", "-o"])
        .arg(&shard)
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success());
    let merged = crate::common::json(&["merge", shard.to_str().unwrap()]);
    assert_eq!(merged["aggregate"], *aggregate);
    assert_eq!(merged["aggregate"]["duplicates_dropped"], 0);
}

#[test]
fn merge_says_whether_duplicates_were_within_one_shard_or_across_shards() {
    let dir = tempfile::tempdir().unwrap();
    let shard = dir.path().join("run.jsonl");
    let output = dumpleak()
        .args([
            "batch",
            "-q",
            "--format",
            "jsonl",
            "testdata/batch/cust-0c91.dmp",
            "testdata/batch/cust-18c7.dmp",
            "-o",
        ])
        .arg(&shard)
        .output()
        .unwrap();
    assert!(output.status.success());
    // A shard of an earlier version, which counted a copy as a dump of its own.
    let text = std::fs::read_to_string(&shard).unwrap();
    let row = text.lines().next().unwrap();
    let copied = row.replace("cust-0c91.dmp", "copy-0c91.dmp");
    let old = dir.path().join("old.jsonl");
    std::fs::write(&old, format!("{copied}\n{text}")).unwrap();
    let merged = crate::common::json(&["merge", old.to_str().unwrap()]);
    let aggregate = &merged["aggregate"];
    assert_eq!(aggregate["processed"], 2);
    assert_eq!(aggregate["duplicates_dropped"], 1);
    let notes: Vec<&str> = aggregate["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note.as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["1 dump appeared more than once within one shard (the same content, under one name or several) and was counted once"]
    );
    let across = crate::common::json(&["merge", shard.to_str().unwrap(), old.to_str().unwrap()]);
    assert_eq!(across["aggregate"]["duplicates_dropped"], 3);
    assert_eq!(
        across["aggregate"]["notes"][0],
        "3 dumps appeared in more than one shard (the same content) and were counted once"
    );
}

#[test]
fn modules_of_the_windows_system_folders_are_system_modules_on_real_dumps() {
    let report = batch_json(&["-r", "testdata/real"]);
    let modules = report["aggregate"]["modules"].as_array().unwrap();
    let names: Vec<&str> = modules
        .iter()
        .map(|row| row["module"].as_str().unwrap())
        .collect();
    // tiny.exe's Windows 11 dump loads CRYPTBASE, IMM32, WINMM, … from C:\WINDOWS\SYSTEM32.
    assert_eq!(names, ["epclient64.dll"], "{modules:?}");
    let tiny = report["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["process"] == "tiny.exe")
        .unwrap();
    let cryptbase = tiny["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["name"] == "CRYPTBASE.DLL")
        .unwrap();
    assert_eq!(cryptbase["system_folder"], true);
    // Ranked too, a system DLL leads no module that is not one: tiny.exe is not folded
    // under CRYPTBASE.DLL.
    let everything = batch_json(&["-r", "--include-system-modules", "testdata/real"]);
    for row in everything["aggregate"]["modules"].as_array().unwrap() {
        let module = row["module"].as_str().unwrap().to_lowercase();
        let folded: Vec<&str> = row["loaded_with"]
            .as_array()
            .unwrap()
            .iter()
            .map(|other| other["module"].as_str().unwrap())
            .collect();
        if module != "epclient64.dll" && module != "tiny.exe" {
            assert!(
                !folded.contains(&"tiny.exe") && !folded.contains(&"epclient64.dll"),
                "{row}"
            );
        }
    }
    // `show` marks them too.
    let show = crate::common::json(&[
        "show",
        "testdata/real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp",
    ]);
    let cryptbase = crate::common::find(&show["modules"], "name", "CRYPTBASE.DLL");
    assert_eq!(cryptbase["system"], true);
    let tiny = crate::common::find(&show["modules"], "name", "tiny.exe");
    assert_eq!(tiny["system"], false);
}
