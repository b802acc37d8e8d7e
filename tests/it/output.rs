//! Where reports go: write failures are errors (only a closed pipe is quiet), inputs are
//! never overwritten under any name, and reports appear whole.

use crate::common::dumpleak;

#[cfg(target_os = "linux")]
#[test]
fn a_full_standard_output_fails_the_run() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("dumpleak"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["show", "testdata/incident/after.dmp"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("standard output: cannot write report"),
        "{stderr}"
    );
}

#[test]
fn outputs_that_are_inputs_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).unwrap();
    for name in ["before.dmp", "after.dmp"] {
        std::fs::copy(format!("testdata/incident/{name}"), dumps.join(name)).unwrap();
    }
    let original = std::fs::read(dumps.join("after.dmp")).unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::copy("testdata/known-issues.toml", &rules).unwrap();
    let link = dir.path().join("report.html");
    std::fs::hard_link(dumps.join("after.dmp"), &link).unwrap();
    for (args, output) in [
        (vec!["batch", "-q"], dumps.join("after.dmp")),
        (vec!["series", "-q"], dumps.join("after.dmp")),
        (vec!["batch", "-q"], link.clone()),
        (
            vec!["batch", "-q", "--known", rules.to_str().unwrap()],
            rules.clone(),
        ),
    ] {
        let result = dumpleak()
            .args(&args)
            .arg(&dumps)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(result.status.code(), Some(2), "{args:?} -o {output:?}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains("never overwrites its inputs"), "{stderr}");
    }
    assert_eq!(std::fs::read(dumps.join("after.dmp")).unwrap(), original);
    assert_eq!(
        std::fs::read(&rules).unwrap(),
        std::fs::read("testdata/known-issues.toml").unwrap()
    );
}

#[test]
fn jsonl_written_to_a_file_is_complete_and_nothing_is_left_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shard.jsonl");
    dumpleak()
        .args(["batch", "testdata/batch", "-q", "--format", "jsonl", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["kind"], "aggregate");
    assert_eq!(lines.len(), 14 + 4 + 1);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["shard.jsonl"]);
}

#[test]
fn a_batch_run_again_replaces_the_report_it_wrote_into_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["before.dmp", "after.dmp"] {
        std::fs::copy(format!("testdata/incident/{name}"), dir.path().join(name)).unwrap();
    }
    for report in ["report.txt", "report.md", "report.html", "report.jsonl"] {
        let output = dir.path().join(report);
        for run in 0..2 {
            let result = dumpleak()
                .args(["batch", "-q"])
                .arg(dir.path())
                .arg("-o")
                .arg(&output)
                .output()
                .unwrap();
            assert_eq!(
                result.status.code(),
                Some(0),
                "run {run} -o {report}: {}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let text = std::fs::read_to_string(&output).unwrap();
        // The earlier reports in the folder are skipped as non-inputs, never read as dumps.
        let counted = if report.ends_with(".jsonl") {
            "\"processed\":2,\"failed\":0"
        } else {
            "2 dumps processed, 0 failed"
        };
        assert!(text.contains(counted), "{report}: {text}");
    }
    // A text file that is not a report is still protected.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "kept\n").unwrap();
    let result = dumpleak()
        .args(["batch", "-q"])
        .arg(dir.path())
        .arg("-o")
        .arg(&notes)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "kept\n");
}

/// `-o` naming a named pipe (or a device: `-o /dev/null` is the usual way to throw a report
/// away) writes into it: replacing it with a regular file, as a report file is replaced,
/// turned `/dev/null` into a file that every later `> /dev/null` of the machine appended to.
#[cfg(unix)]
#[test]
fn a_report_written_to_a_named_pipe_goes_into_the_pipe_which_stays_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("report.pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap();
    assert!(made.success());
    for (format, expected) in [("json", "\"new_handles\""), ("table", "MSMAPI32")] {
        let reader = {
            let pipe = pipe.clone();
            std::thread::spawn(move || std::fs::read_to_string(pipe).unwrap())
        };
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dumpleak"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "diff",
                "testdata/incident/before.dmp",
                "testdata/incident/after.dmp",
            ])
            .args(["--format", format, "-o"])
            .arg(&pipe)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                // The reader still waits for a writer: one that writes nothing ends it.
                drop(std::fs::OpenOptions::new().write(true).open(&pipe));
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(
            status.is_some_and(|status| status.success()),
            "{format}: {status:?} (stuck waiting for the pipe?)"
        );
        let text = reader.join().unwrap();
        assert!(text.contains(expected), "{format}: {text}");
        assert!(std::fs::metadata(&pipe).unwrap().file_type().is_fifo());
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.pipe"], "no temporary file left beside it");
}
