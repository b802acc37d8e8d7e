//! Golden reports: every command on the shipped fixtures, in every format, compared byte for
//! byte with the snapshots in `tests/snapshots/`. A change to any report shows up here as a
//! diff to review (`INSTA_UPDATE=always cargo test --test it golden::` rewrites them, then read
//! `git diff tests/snapshots`).

use crate::common::{self, INCIDENT, INCIDENT_IMAGES, SUSPECT};

/// Runs dumpleak with `args` and `--format FORMAT`; returns stdout with the per-run cache
/// directory replaced by `[CACHE]`, and the exit code.
fn render(args: &[&str], format: &str) -> (String, i32) {
    let cache = tempfile::tempdir().unwrap();
    let output = common::dumpleak()
        .args(args.iter().map(|arg| native_path(arg)))
        .args(["--format", format, "--cache-dir"])
        .arg(cache.path())
        .output()
        .expect("runs");
    let text = String::from_utf8(output.stdout).expect("reports are UTF-8");
    let cache_path = cache.path().display().to_string();
    let text = text
        .replace(&cache_path, "[CACHE]")
        .replace(&cache_path.replace('\\', "\\\\"), "[CACHE]");
    (portable_paths(&text), output.status.code().unwrap_or(-1))
}

/// On Windows the fixtures' paths are passed with backslashes, as Windows users write them
/// (`testdata\pdb\before.dmp`); elsewhere as they are.
fn native_path(arg: &str) -> String {
    if cfg!(windows) && arg.starts_with("testdata/") {
        arg.replace('/', "\\")
    } else {
        arg.to_string()
    }
}

/// On Windows, the paths under `testdata` in a report (given with backslashes, and joined with
/// backslashes by dumpleak; doubled in JSON) written with `/`, so that both platforms compare
/// with the same snapshots. Every other backslash (module paths from the dumps,
/// `C:\WINDOWS\…`) is left alone.
fn portable_paths(text: &str) -> String {
    if !cfg!(windows) {
        return text.to_string();
    }
    let mut portable = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("testdata\\") {
        portable.push_str(&rest[..start]);
        let path = &rest[start..];
        let end = path
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./\\".contains(c)))
            .unwrap_or(path.len());
        let mut after_separator = false;
        for c in path[..end].chars() {
            if c != '\\' {
                portable.push(c);
            } else if !after_separator {
                portable.push('/');
            }
            after_separator = c == '\\';
        }
        rest = &path[end..];
    }
    portable.push_str(rest);
    portable
}

/// One report in the text formats (table, markdown, html, json) and, for each CSV table
/// given, that table.
fn check(name: &str, args: &[&str], expected_code: i32, csv_tables: &[&str]) {
    common::snapshot_settings(&args.join(" ")).bind(|| {
        for format in ["table", "markdown", "html", "json"] {
            let (text, code) = render(args, format);
            assert_eq!(code, expected_code, "{name} {format}: exit status");
            insta::assert_snapshot!(format!("{name}.{format}"), text);
        }
        for table in csv_tables {
            let mut with_table = args.to_vec();
            with_table.extend(["--table", table]);
            let (text, code) = render(&with_table, "csv");
            assert_eq!(code, expected_code, "{name} csv {table}: exit status");
            insta::assert_snapshot!(format!("{name}.csv-{table}"), text);
        }
    });
}

#[test]
fn diff_incident_with_images_and_suspect() {
    let args = [&INCIDENT[..], &INCIDENT_IMAGES, &SUSPECT].concat();
    check(
        "diff-incident",
        &args,
        0,
        &["handles", "types", "stacks", "modules"],
    );
}

#[test]
fn diff_incident_without_symbols() {
    check("diff-incident-nosymbols", &INCIDENT, 0, &["handles"]);
}

#[test]
fn diff_pdb() {
    check(
        "diff-pdb",
        &[
            "diff",
            "testdata/pdb/before.dmp",
            "testdata/pdb/after.dmp",
            "--symbols",
            "testdata/pdb",
        ],
        0,
        &["stacks"],
    );
}

#[test]
fn diff_special_cases() {
    for (name, before, after) in [
        (
            "diff-reuse",
            "testdata/reuse/before.dmp",
            "testdata/reuse/after.dmp",
        ),
        (
            "diff-wrapped",
            "testdata/wrapped/before.dmp",
            "testdata/wrapped/after.dmp",
        ),
        (
            "diff-oldest-first",
            "testdata/incident/before.dmp",
            "testdata/oldest-first/after.dmp",
        ),
        (
            "diff-notrace-x64",
            "testdata/notrace-x64/before.dmp",
            "testdata/notrace-x64/after.dmp",
        ),
        (
            "diff-fullmem",
            "testdata/incident-fullmem/before.dmp",
            "testdata/incident-fullmem/after.dmp",
        ),
        (
            "diff-handle-exe",
            "testdata/logs/handle-before.txt",
            "testdata/logs/handle-after.txt",
        ),
    ] {
        check(name, &["diff", before, after], 0, &["handles"]);
    }
}

#[test]
fn show_inputs() {
    for (name, input) in [
        ("show-incident", "testdata/incident/after.dmp"),
        ("show-nohandles", "testdata/nohandles.dmp"),
        ("show-windbg-diff", "testdata/logs/windbg-htrace-diff.log"),
        ("show-windbg-x86", "testdata/logs/windbg-x86.log"),
        ("show-handle-summary", "testdata/logs/handle-summary.txt"),
        ("show-fullmem", "testdata/incident-fullmem/after-mem64.dmp"),
    ] {
        check(name, &["show", input], 0, &["types"]);
    }
    check(
        "show-incident-modules",
        &["show", "testdata/incident/after.dmp", "--modules"],
        0,
        &["modules"],
    );
    check(
        "show-crash",
        &[
            "show",
            "testdata/pdb/crash.dmp",
            "--symbols",
            "testdata/pdb",
        ],
        0,
        &["types"],
    );
}

#[test]
fn series_reports() {
    check(
        "series-incident",
        &[
            "series",
            "testdata/incident/series",
            "--symbols",
            "testdata/incident/images",
        ],
        0,
        &["types", "retained", "dumps", "modules"],
    );
    check(
        "series-indexer",
        &["series", "testdata/series"],
        0,
        &["types"],
    );
    check(
        "series-noisy",
        &["series", "testdata/series-noisy"],
        0,
        &["types"],
    );
    check(
        "series-restart",
        &[
            "series",
            "testdata/incident/series",
            "testdata/other-process.dmp",
            "--symbols",
            "testdata/incident/images",
        ],
        0,
        &["types", "modules"],
    );
}

#[test]
fn batch_reports() {
    check(
        "batch",
        &[
            "batch",
            "testdata/batch",
            "--known",
            "testdata/known-issues.toml",
            "--quiet",
        ],
        1,
        &["dumps", "modules", "failures"],
    );
}
