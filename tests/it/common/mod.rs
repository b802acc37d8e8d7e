//! Helpers shared by the integration tests: running the binary, reading fixtures, looking
//! things up in JSON reports, and the snapshot settings of every insta snapshot.

// Some of its builders are used by tests/bounded_memory.rs only.
#[allow(dead_code)]
pub mod amplify;
pub mod server;
pub mod synth;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository root: the working directory of every run, fixtures are relative to it.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `diff` of the incident replica (testdata/incident), before and after.
pub const INCIDENT: [&str; 3] = [
    "diff",
    "testdata/incident/before.dmp",
    "testdata/incident/after.dmp",
];

/// The incident's images, for named frames.
pub const INCIDENT_IMAGES: [&str; 2] = ["--symbols", "testdata/incident/images"];

/// The module the incident's customer suspected.
pub const SUSPECT: [&str; 2] = ["--suspect", "MapiHelper.dll"];

/// `testdata/<path>` in the repository.
pub fn testdata(path: &str) -> PathBuf {
    Path::new(ROOT).join("testdata").join(path)
}

/// The bytes of `testdata/<path>`.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(testdata(path)).unwrap_or_else(|error| panic!("testdata/{path}: {error}"))
}

/// The binary in the repository root, with no symbol path from the environment, no terminal
/// width or colour settings, and a per-user cache of its own (no run sees another's
/// SymCaches).
pub fn dumpleak() -> Command {
    let home = tempfile::tempdir().unwrap().keep();
    let mut command = Command::cargo_bin("dumpleak").expect("binary built");
    command
        .current_dir(ROOT)
        .env_remove("_NT_SYMBOL_PATH")
        // Reports are rendered as for a pipe: no width, no colour, whatever the caller's
        // terminal settings.
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("HOME", &home);
    command
}

/// Runs dumpleak with `args` plus `--format json`; it must succeed.
pub fn json(args: &[&str]) -> Value {
    let output = dumpleak()
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "dumpleak {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// Runs dumpleak with `args`; it must exit with `code`. Returns stdout.
pub fn stdout(args: &[&str], code: i32) -> String {
    let output = dumpleak().args(args).output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(code),
        "dumpleak {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("reports are UTF-8")
}

/// The item of the JSON array `list` whose `key` is `value`.
pub fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

/// The string `key` of every item of the JSON array `list`.
pub fn column<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string {key} in {item}"))
        })
        .collect()
}

/// A JSON array of strings.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|item| item.as_str().unwrap().to_string())
        .collect()
}

/// Asserts that one of the report's warnings `matches`.
pub fn assert_warning(report: &Value, matches: impl Fn(&str) -> bool) {
    let warnings = warnings(report);
    assert!(
        warnings.iter().any(|warning| matches(warning)),
        "no such warning in {warnings:?}"
    );
}

/// The warnings of a report as the text report prints them (`file: message`).
pub fn warnings(report: &Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|warning| {
            let message = warning["message"].as_str().unwrap();
            match warning["file"].as_str() {
                Some(file) => format!("{file}: {message}"),
                None => message.to_string(),
            }
        })
        .collect()
}

/// The settings of every snapshot: the files are `tests/snapshots/<name>.snap`, named
/// without the module (so a test can move between modules), with `description` (the command
/// line, say) in the header and no expression.
pub fn snapshot_settings(description: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(ROOT).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    settings
}
