//! `dumpleak batch` and `dumpleak merge` on the customer-dump folder (testdata/batch).

use serde_json::Value;

use crate::common::{dumpleak, stdout};

/// Runs a batch; returns (exit code, JSON report, stderr).
fn batch(args: &[&str]) -> (Option<i32>, Value, String) {
    let output = dumpleak()
        .arg("batch")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {stderr}"));
    (output.status.code(), report, stderr)
}

fn module<'a>(report: &'a Value, name: &str, version: &str) -> &'a Value {
    report["aggregate"]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["module"] == name && row["version"] == version)
        .unwrap_or_else(|| panic!("no {name} {version}"))
}

#[test]
fn folder_triage_points_at_the_leaking_version_and_names_bad_files() {
    let (code, report, stderr) = batch(&["testdata/batch", "--quiet"]);
    assert_eq!(code, Some(1), "some inputs failed");
    assert!(
        stderr.contains("dumpleak batch: 14 processed, 3 failed, 1 skipped"),
        "{stderr}"
    );
    assert_eq!(report["aggregate"]["processed"], 14);
    assert_eq!(report["aggregate"]["failed"], 3);
    assert_eq!(
        report["skipped"][0]["file"]
            .as_str()
            .unwrap()
            .replace('\\', "/"),
        "testdata/batch/notes.txt"
    );
    assert_eq!(
        report["skipped"][0]["reason"],
        "text that is not a debugger log or handle.exe output"
    );
    let failures: Vec<(&str, &str)> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["error"].as_str().unwrap()))
        .collect();
    for (name, reason) in [
        ("empty.dmp", "empty file"),
        ("hostile.dmp", "NumberOfDescriptors 4294967295"),
        ("truncated.dmp", ""),
    ] {
        assert!(
            failures
                .iter()
                .any(|(file, error)| file.ends_with(name) && error.contains(reason)),
            "{name}: {failures:?}"
        );
    }
    let top = &report["aggregate"]["modules"][0];
    assert_eq!(top["module"], "MSMAPI32.DLL");
    assert_eq!(top["version"], "11.0.5601.0");
    assert_eq!(top["dumps"], 8);
    assert!(top["ratio"].as_f64().unwrap() > 5.0, "{top}");
    assert_eq!(top["dominant_types"][0]["type"], "Mutant");
    let fixed = module(&report, "MSMAPI32.DLL", "11.0.8161.0");
    assert_eq!(fixed["dumps"], 6);
    assert!(fixed["ratio"].as_f64().unwrap() < 1.0);
    // Neither the service's own version nor the antivirus goes with the high counts.
    for (name, version) in [
        ("MailSvc.exe", "5.2.0.1"),
        ("MailSvc.exe", "5.3.0.4"),
        ("AvScan.dll", "3.1.0.0"),
    ] {
        let row = module(&report, name, version);
        assert!(row["rank"].as_u64().unwrap() > 1, "{row}");
        assert!(row["ratio"].as_f64().unwrap() < top["ratio"].as_f64().unwrap() / 2.0);
    }
    let crashes = &report["aggregate"]["crashes"];
    assert_eq!(
        crashes
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        2
    );
    let crashed: Vec<&Value> = report["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| !row["crash"].is_null())
        .collect();
    assert_eq!(crashed.len(), 2);
    assert!(crashed
        .iter()
        .any(|row| row["crash"]["code"] == "0xc0000005"
            && row["crash"]["faulting_module"] == "MSMAPI32.DLL"));
    for row in report["dumps"].as_array().unwrap() {
        assert_eq!(row["process"], "MailSvc.exe");
        assert!(row["handle_count"].as_u64().unwrap() > 0);
    }
    // System modules every XP and Windows 10 machine loads take no ranks.
    for system in [
        "ntdll.dll",
        "kernel32.dll",
        "KERNEL32.DLL",
        "KERNELBASE.dll",
    ] {
        assert!(report["aggregate"]["modules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["module"] != system));
    }
}

#[test]
fn recursive_jobs_and_known_issues() {
    let (_, flat, _) = batch(&["testdata/batch", "-q"]);
    let (_, deep, _) = batch(&["testdata/batch", "--recursive", "-q", "--jobs", "1"]);
    assert_eq!(deep["aggregate"]["processed"], 16);
    let (_, parallel, _) = batch(&["testdata/batch", "--recursive", "-q", "--jobs", "2"]);
    assert_eq!(
        deep, parallel,
        "the thread count does not change the report"
    );
    assert_ne!(flat, deep);

    let (_, known, _) = batch(&[
        "testdata/batch",
        "-q",
        "--known",
        "testdata/known-issues.toml",
        "--symbols",
        "testdata/incident/images",
    ]);
    let label =
        "MAPI handle leak: MAPIInitialize/MAPIUninitialize leaves 2 Mutant + 1 Section per cycle";
    assert_eq!(known["aggregate"]["known_issues"][label], 8);
    for row in known["dumps"].as_array().unwrap() {
        let leaky = row["modules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "MSMAPI32.DLL" && m["version"] == "11.0.5601.0");
        let labelled = row["known_issues"].as_array().unwrap().iter().any(|issue| {
            issue["label"] == label && issue["link"].as_str().unwrap().starts_with("https://")
        });
        assert_eq!(leaky, labelled, "{}", row["file"]);
    }
    let traced = known["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| !row["blamed"].as_array().unwrap().is_empty())
        .expect("a traced dump");
    assert_eq!(traced["blamed"][0]["module"], "MSMAPI32.DLL");
    assert!(traced["stacks"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .any(|frame| frame.as_str().unwrap().starts_with("MSMAPI32")));

    dumpleak()
        .args([
            "batch",
            "testdata/batch",
            "--known",
            "testdata/batch/notes.txt",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("notes.txt"));
}

#[test]
fn jsonl_shards_merge_to_the_same_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.jsonl");
    dumpleak()
        .args([
            "batch",
            "testdata/batch",
            "-q",
            "--format",
            "jsonl",
            "--output",
        ])
        .arg(&whole)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 14 + 4 + 1);
    assert_eq!(lines.last().unwrap()["kind"], "aggregate");
    assert_eq!(
        lines.iter().filter(|line| line["kind"] == "dump").count(),
        14
    );

    // Two shards over disjoint halves of the folder, as two machines would run them.
    let mut files: Vec<String> = std::fs::read_dir("testdata/batch")
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.path().display().to_string())
        .collect();
    files.sort();
    let (first, second) = files.split_at(files.len() / 2);
    let mut shards = Vec::new();
    for (index, part) in [first, second].iter().enumerate() {
        let shard = dir.path().join(format!("shard-{index}.jsonl"));
        dumpleak()
            .arg("batch")
            .args(part.iter())
            .args(["-q", "--format", "jsonl", "--output"])
            .arg(&shard)
            .output()
            .unwrap();
        shards.push(shard);
    }
    let merged = dumpleak()
        .arg("merge")
        .args(&shards)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let mut merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let (_, mut one_run, _) = batch(&["testdata/batch", "-q"]);
    // The folder run passed over its subfolder; the shards named files. Everything else agrees.
    assert_eq!(
        one_run["aggregate"]["caveats"][0],
        "1 subfolder was not searched (--recursive searches subfolders)"
    );
    for report in [&mut merged, &mut one_run] {
        report["aggregate"]["caveats"] = Value::Array(Vec::new());
    }
    assert_eq!(merged["aggregate"], one_run["aggregate"]);
    assert_eq!(merged["dumps"], one_run["dumps"]);
    let mut streamed = lines.last().unwrap().clone();
    streamed.as_object_mut().unwrap().remove("kind");
    streamed["caveats"] = Value::Array(Vec::new());
    assert_eq!(
        merged["aggregate"], streamed,
        "the streamed aggregate line is the same too"
    );

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"kind\":\"dump\"}\n").unwrap();
    dumpleak()
        .args(["merge"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("bad.jsonl:1"));
}

#[test]
fn table_markdown_and_csv() {
    // Exit status 1: some inputs fail.
    let text = stdout(&["batch", "testdata/batch", "-q"], 1);
    assert!(
        text.contains("Strongest association  MSMAPI32.DLL 11.0.5601.0: median"),
        "{text}"
    );
    assert!(text.contains("hostile.dmp"));
    let csv = stdout(
        &[
            "batch",
            "testdata/batch",
            "-q",
            "--format",
            "csv",
            "--table",
            "modules",
        ],
        1,
    );
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("1,MSMAPI32.DLL,11.0.5601.0,8,"));
    let markdown = stdout(
        &["batch", "testdata/batch", "-q", "--format", "markdown"],
        1,
    );
    assert!(markdown.starts_with("# dumpleak batch"));
}
