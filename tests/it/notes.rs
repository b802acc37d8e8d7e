//! Notes said once: a symbol note shared by many modules is one line naming them, a server
//! that is down is one warning with the number of modules affected, `--offline` says once
//! that servers were not asked; mistakes in the symbol path are warned first and nothing is
//! created where the user did not ask.

use crate::common::{self, ROOT};
use serde_json::Value;

/// A loopback port nothing listens on (connections are refused).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn incident(dir: &std::path::Path, extra: &[&str]) -> (Value, String) {
    let output = common::dumpleak()
        .current_dir(dir)
        .arg("diff")
        .arg(format!("{ROOT}/testdata/incident/before.dmp"))
        .arg(format!("{ROOT}/testdata/incident/after.dmp"))
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        serde_json::from_slice(&output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn messages(report: &Value, code: &str) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|warning| warning["code"] == code)
        .map(|warning| warning["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn offline_says_once_that_servers_were_not_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = format!(
        "srv*{}*http://127.0.0.1:{}/symbols",
        dir.path().join("cache").display(),
        closed_port()
    );
    let (report, _) = incident(dir.path(), &["--symbol-path", &path, "--offline"]);
    let notes = messages(&report, "symbol-note");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].starts_with(
            "symbols for 4 modules (MSMAPI32.DLL, OrderMailer.exe, kernel32.dll, ntdll.dll): offline: symbol server"
        ),
        "{notes:#?}"
    );
}

#[test]
fn a_server_that_is_down_is_one_warning_with_the_modules_affected() {
    let dir = tempfile::tempdir().unwrap();
    let path = format!(
        "srv*{}*http://127.0.0.1:{}/symbols",
        dir.path().join("cache").display(),
        closed_port()
    );
    let (report, _) = incident(dir.path(), &["--symbol-path", &path]);
    let notes = messages(&report, "symbol-note");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].starts_with("symbols for 4 modules ("),
        "{notes:#?}"
    );
    assert!(notes[0].contains("could not be reached"), "{notes:#?}");
}

// `C:\Symbols` is a path of another system only off Windows (tests/it/windows.rs covers
// symbol paths on Windows).
#[cfg(not(windows))]
#[test]
fn symbol_path_mistakes_are_warned_first_and_create_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("symbols.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let missing = elsewhere.path().join("missing");
    let path = format!(
        r"srv*C:\Symbols*http://127.0.0.1:{}/symbols;{};{}",
        closed_port(),
        missing.display(),
        file.display()
    );
    let cache = elsewhere.path().join("cache");
    let (report, stderr) = incident(
        cwd.path(),
        &[
            "--symbol-path",
            &path,
            "--cache-dir",
            &cache.display().to_string(),
        ],
    );
    let warnings = report["warnings"].as_array().unwrap();
    let first: Vec<&str> = warnings[..3]
        .iter()
        .map(|warning| warning["code"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["symbol-path"; 3], "{warnings:#?}");
    let said = messages(&report, "symbol-path").join("\n");
    assert!(
        said.contains(r"symbol cache C:\Symbols is a Windows path"),
        "{said}"
    );
    assert!(said.contains("does not exist: left out"), "{said}");
    assert!(said.contains("is a file, not a folder: left out"), "{said}");
    assert!(
        stderr.contains(r"dumpleak: warning: symbol cache C:\Symbols"),
        "{stderr}"
    );
    let created: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().flatten().collect();
    assert!(
        created.is_empty(),
        "created in the current directory: {created:?}"
    );
    assert!(!missing.exists());

    // The terminal report says it right under the title.
    let table = common::dumpleak()
        .current_dir(cwd.path())
        .args(["diff", &format!("{ROOT}/testdata/incident/before.dmp")])
        .arg(format!("{ROOT}/testdata/incident/after.dmp"))
        .args(["--symbol-path", &path, "--offline"])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let second = text.lines().nth(1).unwrap_or("");
    assert!(
        second.starts_with(r"  WARNING: symbol cache C:\Symbols"),
        "{text}"
    );
    assert!(std::fs::read_dir(cwd.path()).unwrap().next().is_none());
}

#[cfg(not(windows))]
#[test]
fn a_windows_cache_dir_on_another_system_is_not_created_here() {
    let cwd = tempfile::tempdir().unwrap();
    let path = format!(
        "srv*http://127.0.0.1:{}/symbols;{ROOT}/testdata/incident/images",
        closed_port()
    );
    let (report, _) = incident(
        cwd.path(),
        &["--symbol-path", &path, "--cache-dir", r"D:\cache"],
    );
    let said = messages(&report, "symbol-path").join("\n");
    assert!(
        said.contains(r"--cache-dir D:\cache is a Windows path"),
        "{said}"
    );
    assert!(std::fs::read_dir(cwd.path()).unwrap().next().is_none());
}
