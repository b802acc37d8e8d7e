//! Fleet statistics a user can trust (issue 13, batch): dumps without handle data take no
//! part, versions of one module are compared, programs are kept apart, folders full of other
//! files are triaged, and shards merge to one count per dump.

use crate::common::{dumpleak, testdata};
use serde_json::Value;
use std::path::Path;

fn batch_json(args: &[&str], dir: Option<&Path>) -> (Option<i32>, Value) {
    let mut command = dumpleak();
    command
        .arg("batch")
        .args(args)
        .args(["-q", "--format", "json"]);
    if let Some(dir) = dir {
        command.arg(dir);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {stderr}"));
    (output.status.code(), report)
}

fn copy(from: &str, to: &Path) {
    std::fs::copy(testdata(from), to).unwrap();
}

/// The customer dumps of testdata/batch, without its bad files.
fn good_dumps(dir: &Path) {
    for entry in std::fs::read_dir(testdata("batch")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("cust-") {
            std::fs::copy(entry.path(), dir.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_dump_without_handle_data_is_null_and_takes_no_part() {
    let dir = tempfile::tempdir().unwrap();
    good_dumps(dir.path());
    copy(
        "real/breakpad-win7-nullread/null_read_av.dmp",
        &dir.path().join("win7-crash.dmp"),
    );
    let (code, report) = batch_json(&[], Some(dir.path()));
    assert_eq!(code, Some(0));
    let aggregate = &report["aggregate"];
    assert_eq!(aggregate["processed"], 15);
    assert_eq!(aggregate["without_handle_data"], 1);
    let crash = report["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["file"].as_str().unwrap().ends_with("win7-crash.dmp"))
        .unwrap();
    assert!(crash["handle_count"].is_null());
    assert!(crash["crash"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("EXCEPTION_ACCESS_VIOLATION"));
    // Its modules (advapi32 and company on Windows 7) do not enter the ranking with zero
    // handles: the top answer stays the same as without it.
    let top = &aggregate["modules"][0];
    assert_eq!(
        (top["module"].as_str(), top["dumps"].as_u64()),
        (Some("MSMAPI32.DLL"), Some(8))
    );
    for row in aggregate["modules"].as_array().unwrap() {
        assert_ne!(row["median_handles"], 0.0, "{row}");
    }
    assert!(aggregate["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|note| note
            .as_str()
            .unwrap()
            .starts_with("1 input has no handle data (a dump without a HandleDataStream")));
    let table = dumpleak()
        .args(["batch", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let row = table
        .lines()
        .find(|line| line.contains("win7-crash.dmp"))
        .unwrap();
    assert!(row.contains("n/a"), "{row}");
}

#[test]
fn versions_of_one_module_are_compared_in_every_format() {
    let (_, report) = batch_json(&["testdata/batch"], None);
    let comparison = &report["aggregate"]["version_comparisons"][0];
    assert_eq!(comparison["module"], "MSMAPI32.DLL");
    assert_eq!(comparison["high_version"], "11.0.5601.0");
    let p = comparison["p_value"].as_f64().unwrap();
    assert!(p < 0.001, "{p}");
    assert!((comparison["effect"].as_f64().unwrap() - 939.5 / 65.0).abs() < 1e-9);
    let versions = comparison["versions"].as_array().unwrap();
    assert_eq!(versions[0]["version"], "11.0.5601.0");
    assert_eq!(versions[0]["dumps"], 8);
    for key in ["median_handles", "q1", "q3", "max"] {
        assert!(versions[1][key].is_number(), "{key}");
    }
    let line = "MSMAPI32.DLL: 11.0.5601.0 median 939.5 (8 dumps) vs 11.0.8161.0 median 65 (6 dumps); 11.0.5601.0 goes with higher handle counts";
    for format in ["table", "markdown", "html"] {
        let output = dumpleak()
            .args(["batch", "testdata/batch", "-q", "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(line), "{format}: {text}");
    }
    let csv = dumpleak()
        .args([
            "batch",
            "testdata/batch",
            "-q",
            "--format",
            "csv",
            "--table",
            "versions",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("Module,Version,Dumps,Median,Q1,Q3,Max,Stands out\n"));
    assert!(
        csv.contains("MSMAPI32.DLL,11.0.5601.0,8,939.5,725.2,1153.8,1396,yes\n"),
        "{csv}"
    );
}

#[test]
fn system_modules_take_ranks_only_when_asked() {
    let (_, report) = batch_json(&["testdata/batch"], None);
    let names = |report: &Value| -> Vec<String> {
        report["aggregate"]["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["module"].as_str().unwrap().to_lowercase())
            .collect()
    };
    assert!(!names(&report).contains(&"kernel32.dll".to_string()));
    let (_, everything) = batch_json(&["testdata/batch", "--include-system-modules"], None);
    let all = names(&everything);
    assert!(all.contains(&"msmapi32.dll".to_string()));
    // XP's ntdll and kernel32 load in exactly the dumps of XP machines: one folds under the
    // other instead of taking a second rank.
    let folded: Vec<&Value> = everything["aggregate"]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["loaded_with"].as_array().unwrap())
        .collect();
    assert!(
        folded.iter().any(|module| module["module"] == "ntdll.dll"),
        "{folded:?}"
    );
}

#[test]
fn a_batch_of_several_programs_is_also_ranked_per_program_and_says_so_first() {
    let dir = tempfile::tempdir().unwrap();
    good_dumps(dir.path());
    copy("incident/after.dmp", &dir.path().join("ordermailer.dmp"));
    let (_, report) = batch_json(&[], Some(dir.path()));
    let programs = report["aggregate"]["programs"].as_array().unwrap();
    let names: Vec<&str> = programs
        .iter()
        .map(|program| program["program"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["MailSvc.exe", "OrderMailer.exe"]);
    assert_eq!(programs[0]["dumps"], 14);
    assert_eq!(programs[0]["modules"][0]["module"], "MSMAPI32.DLL");
    let output = dumpleak()
        .args(["batch", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("  WARNING: the batch holds dumps of 2 programs"),
        "{table}"
    );
}

#[test]
fn folders_with_other_files_are_triaged_without_quoting_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    copy("batch/cust-0c91.dmp", &path.join("good.dmp"));
    copy("pdb/leakylib.pdb", &path.join("leakylib.pdb"));
    copy("pdb/leakylib.dll", &path.join("leakylib.dll"));
    copy(
        "real/breakpad-minidump2/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym",
        &path.join("test_app.sym"),
    );
    copy(
        "symstore/leakylib.pdb/4F5704A7F90205594C4C44205044422E1/leakylib.pd_",
        &path.join("leakylib.pd_"),
    );
    std::fs::write(path.join("dumps.zip"), b"PK\x03\x04\x14\0\0\0secret").unwrap();
    std::fs::write(path.join("dump.gz"), b"\x1f\x8b\x08\0\0\0").unwrap();
    std::fs::write(path.join("MEMORY.DMP"), b"PAGEDU64\x0f\0\0\0").unwrap();
    std::fs::write(path.join("report.html"), b"<!DOCTYPE html><html></html>").unwrap();
    std::fs::write(path.join("report.json"), b"{\"schema_version\": 2}").unwrap();
    std::fs::write(
        path.join("credentials.txt"),
        b"password=hunter2\nuser=admin\n",
    )
    .unwrap();
    std::fs::create_dir(path.join("older")).unwrap();
    let (code, report) = batch_json(&[], Some(path));
    assert_eq!(code, Some(0), "everything processed or skipped: exit 0");
    assert_eq!(report["aggregate"]["processed"], 1);
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|input| {
            let file = input["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                input["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason_of = |name: &str| {
        skipped
            .iter()
            .find(|(file, _)| file == name)
            .map(|(_, reason)| reason.as_str())
            .unwrap_or_else(|| panic!("{name} not skipped: {skipped:?}"))
    };
    assert_eq!(reason_of("leakylib.pdb"), "a PDB file (symbols)");
    assert_eq!(reason_of("leakylib.dll"), "a PE image (EXE or DLL)");
    assert_eq!(reason_of("test_app.sym"), "a Breakpad symbol file");
    assert!(reason_of("leakylib.pd_").starts_with("a CAB archive"));
    assert_eq!(reason_of("dumps.zip"), "a ZIP archive");
    assert_eq!(reason_of("dump.gz"), "a gzip file");
    assert!(reason_of("MEMORY.DMP").contains("kernel dump"));
    assert!(reason_of("report.html").contains("HTML"));
    assert!(reason_of("report.json").contains("JSON"));
    assert_eq!(
        reason_of("credentials.txt"),
        "text that is not a debugger log or handle.exe output"
    );
    assert_eq!(skipped.len(), 10);
    assert_eq!(
        report["aggregate"]["caveats"][0],
        "1 subfolder was not searched (--recursive searches subfolders)"
    );
    let text = dumpleak().args(["batch", "-q"]).arg(path).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("secret"),
        "{text}"
    );

    // A truncated dump fails, alone, in one line; exit 1.
    let bytes = std::fs::read(testdata("batch/cust-0c91.dmp")).unwrap();
    std::fs::write(path.join("cut.dmp"), &bytes[..bytes.len() / 3]).unwrap();
    let (code, report) = batch_json(&[], Some(path));
    assert_eq!(code, Some(1));
    let failure = &report["failures"][0];
    assert!(failure["file"].as_str().unwrap().ends_with("cut.dmp"));
    assert!(!failure["error"].as_str().unwrap().contains('\n'));
    let text = dumpleak().args(["batch", "-q"]).arg(path).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.matches("dumpleak reads Windows minidumps").count(), 1);
}

#[test]
fn include_and_exclude_choose_the_files() {
    let (_, report) = batch_json(
        &[
            "testdata/batch",
            "--include",
            "cust-*",
            "--exclude",
            "*-0c91.dmp",
        ],
        None,
    );
    assert_eq!(report["aggregate"]["processed"], 13);
    assert_eq!(report["aggregate"]["failed"], 0);
}

#[test]
fn merge_counts_each_dump_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<String> = std::fs::read_dir(testdata("batch"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("cust-"))
        .map(|name| format!("testdata/batch/{name}"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 14);
    // Overlapping shards: 0..8 and 5..14 share three dumps.
    let mut shards = Vec::new();
    for (index, range) in [0..8, 5..14].into_iter().enumerate() {
        let shard = dir.path().join(format!("shard-{index}.jsonl"));
        dumpleak()
            .arg("batch")
            .args(&files[range])
            .args(["-q", "--format", "jsonl", "-o"])
            .arg(&shard)
            .assert()
            .success();
        shards.push(shard);
    }
    let merge = |shards: &[&Path]| -> Value {
        let output = dumpleak()
            .arg("merge")
            .args(shards)
            .args(["--format", "json"])
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let merged = merge(&[&shards[0], &shards[1]]);
    assert_eq!(merged["aggregate"]["processed"], 14);
    assert_eq!(merged["aggregate"]["duplicates_dropped"], 3);
    assert!(merged["aggregate"]["notes"][0]
        .as_str()
        .unwrap()
        .starts_with("3 dumps appeared in more than one shard"));
    let twice = merge(&[&shards[0], &shards[0]]);
    assert_eq!(twice["aggregate"]["processed"], 8);
    assert_eq!(twice["aggregate"]["duplicates_dropped"], 8);
    // The same dump under another name is the same dump.
    let renamed = dir.path().join("renamed.jsonl");
    let text = std::fs::read_to_string(&shards[0])
        .unwrap()
        .replace("cust-0c91.dmp", "copy-of-0c91.dmp");
    std::fs::write(&renamed, text).unwrap();
    let with_copy = merge(&[&shards[0], &renamed]);
    assert_eq!(with_copy["aggregate"]["processed"], 8);
}

/// A batch sharded with a standard tool (`xargs -P` over a file list, one JSONL shard per
/// process) and merged gives the aggregate of one run over the same files.
#[cfg(unix)]
#[test]
fn a_sharded_batch_with_xargs_merges_to_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("files.txt");
    let mut names: Vec<String> = std::fs::read_dir(testdata("batch"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| format!("testdata/batch/{}", entry.file_name().to_string_lossy()))
        .collect();
    names.sort();
    std::fs::write(&list, names.join("\n") + "\n").unwrap();
    let binary = assert_cmd::cargo::cargo_bin("dumpleak");
    let shards = dir.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    let script = format!(
        "xargs -n 4 -P 3 sh -c '{} batch -q --format jsonl -o {}/shard-$$.jsonl \"$@\"; true' _ < {}",
        binary.display(),
        shards.display(),
        list.display()
    );
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(crate::common::ROOT)
        .env("HOME", dir.path())
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .status()
        .unwrap();
    assert!(status.success());
    let shard_files: Vec<_> = std::fs::read_dir(&shards)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert_eq!(shard_files.len(), names.len().div_ceil(4));
    let merged = dumpleak()
        .arg("merge")
        .args(&shard_files)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let single = dumpleak()
        .arg("batch")
        .args(&names)
        .args(["-q", "--format", "json"])
        .output()
        .unwrap();
    let single: Value = serde_json::from_slice(&single.stdout).unwrap();
    assert_eq!(merged["aggregate"], single["aggregate"]);
    assert_eq!(merged["dumps"], single["dumps"]);
    assert_eq!(merged["failures"], single["failures"]);
    assert_eq!(merged["skipped"], single["skipped"]);
}
