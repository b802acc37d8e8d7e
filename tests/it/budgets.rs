//! Issue 14, item 6: inputs that are small on disk and were large in memory, run end to end.
//! Their peak memory is measured in `tests/bounded_memory.rs`; here the reports say what was
//! cut and why.

use crate::common::{amplify, dumpleak};

/// Writes `bytes` to a file `name` in a new temporary folder.
fn input(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn run(args: &[&std::ffi::OsStr]) -> (String, String) {
    let output = dumpleak().args(args).arg("--offline").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_crash_stack_of_endless_frames_is_walked_to_1024_and_says_so() {
    let (_dir, dump) = input(
        "threads.dmp",
        &amplify::crash_with_shared_stacks(64, 64 * 1024),
    );
    let (text, _) = run(&["show".as_ref(), dump.as_os_str()]);
    assert!(
        text.contains("… 1012 more frames, and more: the walk stopped at 1024 frames"),
        "{text}"
    );
    assert!(
        text.contains(
            "the crash stack walk stopped at 1024 frames (a deep recursion, or a damaged stack)"
        ),
        "{text}"
    );
}

#[test]
fn a_name_shared_by_many_handles_is_cut_in_tables_and_whole_in_json() {
    let (_dir, before) = input(
        "before.dmp",
        &amplify::handles_sharing_one_name(0, 32_768, 1_772_441_000),
    );
    let after_bytes = amplify::handles_sharing_one_name(300, 32_768, 1_772_441_400);
    let after = before.with_file_name("after.dmp");
    std::fs::write(&after, after_bytes).unwrap();
    let diff = ["diff".as_ref(), before.as_os_str(), after.as_os_str()];
    let (text, _) = run(&diff);
    // 4,048 bytes of the name (1,349 characters of 3 bytes, cut at a character boundary).
    let cut = format!(
        "{}… ({} bytes not shown)",
        amplify::wide_name(1_349),
        3 * 32_768 - 3 * 1_349
    );
    let start: String = text.chars().take(2000).collect();
    assert!(text.contains(&cut), "{start}");
    assert!(text.len() < 2 * 1024 * 1024, "{} bytes", text.len());
    let (json, _) = run(&[&diff[..], &["--format".as_ref(), "json".as_ref()]].concat());
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names = report["new_handles"].as_array().unwrap();
    assert_eq!(names.len(), 300);
    assert!(names
        .iter()
        .all(|handle| handle["name"].as_str() == Some(amplify::wide_name(32_768).as_str())));
}

/// Runs the binary with `args` in a shell whose address space is limited to 1 GiB
/// (`ulimit -v`): what does not fit fails there instead of taking the machine.
#[cfg(target_os = "linux")]
fn run_in_1_gib(args: &[&str]) -> std::process::Output {
    let binary = assert_cmd::cargo::cargo_bin("dumpleak");
    std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$@\"")
        .arg("sh")
        .arg(binary)
        .args(args)
        .arg("--offline")
        .current_dir(crate::common::ROOT)
        .env("XDG_CACHE_HOME", tempfile::tempdir().unwrap().keep())
        .output()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_device_that_never_ends_is_read_up_to_the_cap_and_refused() {
    // /dev/zero reports a length of 0 and was read until memory ran out.
    let output = run_in_1_gib(&["show", "/dev/zero"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "/dev/zero: not a regular file (a pipe or a device) and longer than 512 MiB, the most dumpleak reads into memory"
        ),
        "{stderr}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn in_a_batch_an_input_over_a_budget_fails_alone() {
    let output = run_in_1_gib(&[
        "batch",
        "testdata/incident/before.dmp",
        "/dev/zero",
        "testdata/incident/after.dmp",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 processed, 1 failed"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["file"], "/dev/zero");
    assert!(
        failures[0]["error"]
            .as_str()
            .unwrap()
            .contains("longer than 512 MiB"),
        "{failures:?}"
    );
}

// `/dev/stdin` is a Unix path.
#[cfg(unix)]
#[test]
fn a_dump_or_a_log_through_a_pipe_is_read_once_without_mapping() {
    // `show <(cat after.dmp)`: the pipe was read for its signature, then rewound (an
    // "Illegal seek"), or opened again with its first bytes gone.
    for input in ["incident/after.dmp", "logs/windbg-htrace-diff.log"] {
        let output = dumpleak()
            .args(["show", "/dev/stdin", "--offline", "--format", "json"])
            .pipe_stdin(crate::common::testdata(input))
            .unwrap()
            .output()
            .unwrap();
        assert!(output.status.success(), "{input}: {output:?}");
        let direct = dumpleak()
            .args(["show", "--offline", "--format", "json"])
            .arg(crate::common::testdata(input))
            .output()
            .unwrap();
        // What was read, without the names of the input in it.
        let text = |bytes: &[u8]| {
            let report: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            ["by_type", "modules", "new_handles", "trace"].map(|key| report[key].clone())
        };
        assert_eq!(text(&output.stdout), text(&direct.stdout), "{input}");
    }
}
