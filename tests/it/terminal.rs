//! Reports on a terminal: run under a pseudo-terminal (util-linux `script`, in every Debian
//! system) of a given size, the tables and prose fit the width without splitting a word,
//! version or module name; colour is on there and off in a pipe, with `NO_COLOR` or
//! `--color never`; a terminal that reports 0×0 counts as unknown.

use crate::common::{self, INCIDENT, INCIDENT_IMAGES, ROOT};

/// `s` quoted for `sh`.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs dumpleak with `args` with its standard output (and error) on a pseudo-terminal of
/// `columns` × `rows`, with `env` set; returns what the terminal received (CR LF as LF).
fn in_terminal(columns: u16, rows: u16, env: &[(&str, &str)], args: &[&str]) -> String {
    let binary = assert_cmd::cargo::cargo_bin("dumpleak");
    let command: Vec<String> = std::iter::once(binary.display().to_string())
        .chain(args.iter().map(|arg| arg.to_string()))
        .map(|arg| quoted(&arg))
        .collect();
    let line = format!(
        "stty cols {columns} rows {rows}; exec {}",
        command.join(" ")
    );
    let cache = tempfile::tempdir().unwrap();
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .current_dir(ROOT)
        .env("SHELL", "/bin/sh")
        .env("XDG_CACHE_HOME", cache.path())
        .env("TERM", "xterm")
        .env_remove("_NT_SYMBOL_PATH")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    for (name, value) in env {
        script.env(name, value);
    }
    let output = script
        .output()
        .expect("script(1) from util-linux (Debian's bsdutils) runs commands on a pseudo-terminal");
    // A batch with bad inputs exits 1 (the fixtures hold some).
    let expected = if args.first() == Some(&"batch") { 1 } else { 0 };
    assert_eq!(
        output.status.code(),
        Some(expected),
        "dumpleak {args:?} on a terminal: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .replace("\r\n", "\n")
}

/// `text` without ANSI escape sequences.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn widest(text: &str) -> usize {
    text.lines()
        .map(|line| line.chars().count())
        .max()
        .unwrap_or(0)
}

/// Every `MSMAPI32` is the whole name (`MSMAPI32.DLL`, or a frame's `MSMAPI32!…`) and every
/// `11.0.5601` the whole version.
fn names_and_versions_intact(text: &str) {
    for (at, _) in text.match_indices("MSMAPI32") {
        let rest = &text[at + "MSMAPI32".len()..];
        assert!(
            rest.starts_with(".DLL") || rest.starts_with('!') || rest.starts_with('+'),
            "a split module name at {at}:\n{text}"
        );
    }
    for (at, _) in text.match_indices("11.0.5601") {
        assert!(
            text[at..].starts_with("11.0.5601.0"),
            "a split version at {at}:\n{text}"
        );
    }
    for (at, _) in text.match_indices("11.0.8161") {
        assert!(
            text[at..].starts_with("11.0.8161.0"),
            "a split version at {at}:\n{text}"
        );
    }
}

fn incident_diff() -> Vec<&'static str> {
    [&INCIDENT[..], &INCIDENT_IMAGES].concat()
}

const BATCH: [&str; 5] = [
    "batch",
    "testdata/batch",
    "--known",
    "testdata/known-issues.toml",
    "-q",
];
const SERIES: [&str; 4] = ["series", "testdata/series", "-q", "--symbols"];

#[test]
fn reports_fit_80_and_100_columns_with_names_and_versions_whole() {
    let series: Vec<&str> = SERIES.iter().copied().chain(["testdata"]).collect();
    for columns in [80, 100] {
        for args in [incident_diff(), BATCH.to_vec(), series.clone()] {
            let text = in_terminal(columns, 50, &[("NO_COLOR", "1")], &args);
            assert!(!text.contains('\x1b'), "NO_COLOR: {text}");
            assert_eq!(
                widest(&text),
                widest(&text).min(usize::from(columns)),
                "{args:?} at {columns} columns:\n{text}"
            );
            names_and_versions_intact(&text);
            // The same report as piped, only laid out differently: same words.
            let piped = common::stdout(&args, if args[0] == "batch" { 1 } else { 0 });
            for word in ["MSMAPI32.DLL", "11.0.5601.0", "Mutant", "leak"] {
                assert_eq!(
                    text.contains(word),
                    piped.contains(word),
                    "{word} in {args:?} at {columns}"
                );
            }
        }
    }
}

#[test]
fn the_incident_diff_keeps_its_answer_on_one_line_at_80_columns() {
    let text = in_terminal(80, 50, &[("NO_COLOR", "1")], &incident_diff());
    assert!(
        text.contains("  - MSMAPI32.DLL 11.0.5601.0: 9 of 9 new handles"),
        "{text}"
    );
    // The types table fits as a table; the module table too, once its detail columns are
    // left out (and said so).
    assert!(
        text.contains("│ Mutant        ┆      5 ┆    11 ┆    +6 │"),
        "{text}"
    );
    assert!(text.contains("│ MSMAPI32.DLL  "), "{text}");
    assert!(
        text.contains("(left out at this width: Path, Timestamp, PDB;"),
        "{text}"
    );
    // The handles table cannot fit: a list of records.
    assert!(
        text.contains("  Blamed module:  MSMAPI32.DLL\n  Version:        11.0.5601.0\n"),
        "{text}"
    );
}

#[test]
fn a_terminal_that_reports_no_size_is_not_one_character_wide() {
    let piped = common::stdout(&incident_diff(), 0);
    let unknown = in_terminal(0, 0, &[("NO_COLOR", "1")], &incident_diff());
    assert_eq!(unknown, piped, "0×0 without COLUMNS: as wide as it needs");
    let columns = in_terminal(
        0,
        0,
        &[("NO_COLOR", "1"), ("COLUMNS", "80")],
        &incident_diff(),
    );
    assert!(widest(&columns) <= 80, "{columns}");
    assert!(widest(&columns) > 60, "{columns}");
}

#[test]
fn columns_sets_the_width_of_a_pipe() {
    let output = common::dumpleak()
        .args(incident_diff())
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(widest(&text) <= 100, "{text}");
    assert!(widest(&common::stdout(&incident_diff(), 0)) > 100);
}

#[test]
fn colour_on_a_terminal_highlights_the_answer_verdicts_and_alerts() {
    let text = in_terminal(120, 50, &[], &incident_diff());
    assert!(
        text.contains("\x1b[1m\x1b[35mMSMAPI32.DLL 11.0.5601.0\x1b[0m: 9 of 9"),
        "the blamed module and version: {text:?}"
    );
    assert_eq!(
        plain(&text),
        in_terminal(120, 50, &[("NO_COLOR", "1")], &incident_diff())
    );
    let series = in_terminal(
        160,
        50,
        &[],
        &SERIES
            .iter()
            .copied()
            .chain(["testdata"])
            .collect::<Vec<_>>(),
    );
    assert!(
        series.contains("\x1b[1m\x1b[31mleak\x1b[0m"),
        "leak class: {series:?}"
    );
    assert!(series.contains("\x1b[33mplateau\x1b[0m"), "{series:?}");
    // Given newest first: the alert that the order was changed.
    let reversed = in_terminal(
        160,
        50,
        &[],
        &[
            "diff",
            "testdata/incident/after.dmp",
            "testdata/incident/before.dmp",
        ],
    );
    assert!(
        reversed.contains("\x1b[1m\x1b[31mWARNING:\x1b[0m \x1b[1m\x1b[31mgiven newest first"),
        "{reversed:?}"
    );
}

#[test]
fn no_colour_in_a_pipe_with_no_color_or_never_and_forced_with_clicolor_force() {
    let args = incident_diff();
    assert!(!common::stdout(&args, 0).contains('\x1b'));
    let never: Vec<&str> = args.iter().copied().chain(["--color", "never"]).collect();
    assert!(!in_terminal(120, 50, &[], &never).contains('\x1b'));
    assert!(!in_terminal(120, 50, &[("NO_COLOR", "1")], &args).contains('\x1b'));
    let forced = common::dumpleak()
        .args(&args)
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&forced.stdout).contains("\x1b[1m"));
    let always: Vec<&str> = args.iter().copied().chain(["--color", "always"]).collect();
    assert!(common::stdout(&always, 0).contains("\x1b[1m\x1b[35mMSMAPI32.DLL"));
    // Colour is for terminal tables only.
    for format in ["json", "markdown", "csv", "html"] {
        let other: Vec<&str> = always.iter().copied().chain(["--format", format]).collect();
        assert!(!common::stdout(&other, 0).contains('\x1b'), "{format}");
    }
    let on_terminal_json: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    assert!(!in_terminal(120, 50, &[], &on_terminal_json).contains('\x1b'));
}

#[test]
fn a_symbol_path_warning_is_said_once_on_a_terminal_and_on_stderr_when_the_report_goes_elsewhere() {
    let mut args = incident_diff();
    args.extend(["--symbol-path", r"C:\Symbols", "--color", "never"]);
    let text = in_terminal(100, 50, &[], &args);
    let warning = r"symbol folder C:\Symbols is a Windows path";
    assert_eq!(text.matches(warning).count(), 1, "{text}");
    // Piped, the report and standard error each say it.
    let output = common::dumpleak().args(&args).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches(warning)
            .count(),
        1
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr)
            .matches(warning)
            .count(),
        1
    );
}
