//! Command-line conventions: help that matches behaviour (each subcommand's own formats and
//! tables, examples, README's usage block), the format from the output file's name,
//! completions and the man page, `--pid` for every input kind, `--top`, `--only-changed`,
//! `--redact`.

use crate::common::{self, INCIDENT, INCIDENT_IMAGES, ROOT};
use serde_json::Value;

fn help(args: &[&str]) -> String {
    common::stdout(args, 0)
}

/// The values clap lists for an option in long help: the `- value` lines under it, or its
/// `[possible values: …]`.
fn listed_values(help: &str, option: &str) -> Vec<String> {
    let start = help
        .find(&format!("--{option} <"))
        .unwrap_or_else(|| panic!("--{option} in {help}"));
    let mut values = Vec::new();
    for line in help[start..].lines().skip(1) {
        let line = line.trim();
        if line.starts_with("--") || (line.starts_with('-') && line.get(2..3) == Some(",")) {
            break;
        }
        if let Some(value) = line.strip_prefix("- ") {
            values.push(value.split(':').next().unwrap_or("").trim().to_string());
        }
        if let Some(list) = line
            .split_once("[possible values: ")
            .and_then(|(_, rest)| rest.split_once(']'))
        {
            values.extend(list.0.split(", ").map(str::to_string));
        }
    }
    values
}

#[test]
fn each_subcommand_offers_its_own_formats_and_tables() {
    let report_formats = ["table", "markdown", "json", "csv", "html"];
    for (subcommand, tables) in [
        ("diff", vec!["handles", "types", "stacks", "modules"]),
        ("series", vec!["types", "retained", "dumps", "modules"]),
        ("handles", vec!["handles", "history"]),
        (
            "show",
            vec!["types", "modules", "unloaded", "handles", "stacks"],
        ),
    ] {
        let text = help(&[subcommand, "--help"]);
        assert_eq!(
            listed_values(&text, "format"),
            report_formats,
            "{subcommand}"
        );
        assert_eq!(listed_values(&text, "table"), tables, "{subcommand}");
        assert!(
            text.contains("\nExamples:\n  dumpleak "),
            "{subcommand}: {text}"
        );
        // The default names only the extensions this command writes.
        let unwrapped = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            unwrapped.contains("extension (.txt .md .json .csv .html), else table"),
            "{subcommand}: {text}"
        );
    }
    for subcommand in ["batch", "merge"] {
        let text = help(&[subcommand, "--help"]);
        let mut formats = report_formats.to_vec();
        formats.push("jsonl");
        assert_eq!(listed_values(&text, "format"), formats, "{subcommand}");
        assert_eq!(
            listed_values(&text, "table"),
            ["dumps", "modules", "versions", "failures", "skipped"]
        );
        assert!(text.contains("\nExamples:\n  dumpleak "), "{subcommand}");
    }
    assert!(help(&["generate", "--help"]).contains("\nExamples:\n  dumpleak generate"));
    // What help does not offer is refused as a usage error.
    let diff: Vec<&str> = INCIDENT.to_vec();
    for bad in [
        ["--format", "jsonl"],
        ["--table", "dumps"],
        ["--format", "yaml"],
    ] {
        let args: Vec<&str> = diff.iter().copied().chain(bad).collect();
        common::stdout(&args, 2);
    }
}

#[test]
fn every_table_help_offers_is_there() {
    let run = |args: &[&str], table: &str, code: i32| {
        let mut args = args.to_vec();
        args.extend(["--format", "csv", "--table", table]);
        let text = common::stdout(&args, code);
        assert!(text.lines().count() >= 1, "{args:?}");
    };
    for table in ["handles", "types", "stacks", "modules"] {
        run(&INCIDENT, table, 0);
        run(&["show", "testdata/logs/windbg-htrace-diff.log"], table, 0);
    }
    for table in ["types", "retained", "dumps", "modules"] {
        run(&["series", "testdata/series", "-q"], table, 0);
    }
    for table in ["dumps", "modules", "versions", "failures", "skipped"] {
        run(&["batch", "testdata/batch", "-q"], table, 1);
    }
    run(&["handles", "testdata/incident/after.dmp"], "handles", 0);
    run(
        &["handles", "testdata/incident/after.dmp", "--history"],
        "history",
        0,
    );
    for table in ["types", "modules"] {
        run(&["show", "testdata/incident/after.dmp"], table, 0);
    }
    let unloading = "testdata/real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp";
    run(&["show", unloading, "--modules"], "unloaded", 0);
    // Help says which inputs have which of show's tables.
    let text = help(&["show", "--help"]);
    let table_help = &text[text.find("--table <ID>").unwrap()..];
    let table_help = table_help[..table_help.find("[possible values").unwrap()]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        table_help.contains("types and modules (and unloaded, with --modules,")
            && table_help.contains("as a diff, with handles, types, stacks and modules"),
        "{table_help}"
    );
}

/// The code block under README's `## Usage`.
fn readme_usage() -> String {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let section = &readme[readme.find("\n## Usage\n").expect("a Usage section")..];
    let block = &section[section.find("```\n").expect("a code block") + 4..];
    block[..block.find("```").unwrap()].to_string()
}

#[test]
fn readme_usage_is_what_help_prints() {
    let help = help(&["--help"]);
    let summary = &help[help.find("Usage summary:\n").expect("a usage summary") + 15..];
    let summary = &summary[..summary.find("\n\n").unwrap() + 1];
    assert_eq!(
        readme_usage(),
        summary,
        "README.md's Usage block differs from `dumpleak --help`; paste the summary into it"
    );
    for subcommand in [
        "show", "handles", "diff", "series", "batch", "merge", "generate",
    ] {
        assert!(
            summary.contains(&format!("dumpleak {subcommand} ")),
            "{subcommand}"
        );
    }
}

#[test]
fn the_format_follows_the_output_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let written = |name: &str, extra: &[&str], code: i32| {
        let path = dir.path().join(name);
        let mut args: Vec<String> = INCIDENT.iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["-o".to_string(), path.display().to_string()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        common::stdout(&refs, code);
        std::fs::read_to_string(&path).unwrap_or_default()
    };
    assert!(written("r.html", &[], 0).starts_with("<!DOCTYPE html>"));
    assert!(written("r.HTM", &[], 0).starts_with("<!DOCTYPE html>"));
    assert!(written("r.md", &[], 0).contains("\n| Type | Before | After | Delta |\n"));
    let json: Value = serde_json::from_str(&written("r.json", &[], 0)).unwrap();
    assert_eq!(json["total_delta"], 9);
    assert!(written("r.csv", &[], 0).starts_with("Change,Handle,Type,Name,"));
    assert!(written("r.txt", &[], 0).starts_with("dumpleak diff: "));
    assert!(written("report", &[], 0).starts_with("dumpleak diff: "));
    // --format wins over the name.
    assert!(written("r.json", &["--format", "markdown"], 0).starts_with("# dumpleak diff"));
    // JSON Lines is for batch and merge: a diff refuses the name rather than write another
    // format under it.
    assert_eq!(written("r.jsonl", &[], 2), "");
    let lines = dir.path().join("b.jsonl");
    common::stdout(
        &[
            "batch",
            "testdata/batch",
            "-q",
            "-o",
            &lines.display().to_string(),
        ],
        1,
    );
    let text = std::fs::read_to_string(&lines).unwrap();
    assert!(text
        .lines()
        .all(|line| serde_json::from_str::<Value>(line).is_ok()));
    assert!(text
        .lines()
        .last()
        .unwrap()
        .contains("\"kind\":\"aggregate\""));
}

#[test]
fn completions_and_man_page_are_generated() {
    for (what, marker) in [
        ("complete-bash", "_dumpleak()"),
        ("complete-zsh", "#compdef dumpleak"),
        ("complete-fish", "complete -c dumpleak"),
        ("complete-powershell", "Register-ArgumentCompleter"),
        ("man", ".TH dumpleak 1"),
    ] {
        let text = common::stdout(&["generate", what], 0);
        assert!(text.contains(marker), "{what}: {text}");
        let option = if what == "man" {
            "series"
        } else {
            "symbol-path"
        };
        assert!(text.contains(option), "{what}");
    }
    // The bash script parses (where there is a bash), and completes the subcommand's own
    // formats.
    let bash = common::stdout(&["generate", "complete-bash"], 0);
    #[cfg(unix)]
    {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dumpleak.bash");
        std::fs::write(&file, &bash).unwrap();
        let status = std::process::Command::new("bash")
            .arg("-n")
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(bash.contains("table markdown json csv html jsonl"));
    assert!(bash.contains("table markdown json csv html\""));
    // The pages dumpleak(1) lists under SUBCOMMANDS exist, with each subcommand's options.
    let main_page = common::stdout(&["generate", "man"], 0);
    for (name, option) in [
        ("show", "crash\\-frames"),
        ("handles", "history"),
        ("diff", "fail\\-on\\-growth"),
        ("series", "fail\\-on\\-leak"),
        ("batch", "include\\-system\\-modules"),
        ("merge", "include\\-system\\-modules"),
    ] {
        assert!(
            main_page.contains(&format!("dumpleak\\-{name}(1)")),
            "{name}"
        );
        let page = common::stdout(&["generate", "man", name], 0);
        assert!(page.contains(&format!(".TH dumpleak-{name} 1")), "{page}");
        assert!(page.contains(&format!("dumpleak {name}")), "{page}");
        assert!(page.contains(option), "{name}: {page}");
    }
    common::stdout(&["generate", "man", "nosuch"], 2);
    common::stdout(&["generate", "complete-bash", "show"], 2);
}

fn incident_json(extra: &[&str]) -> Value {
    let args: Vec<&str> = [&INCIDENT[..], &INCIDENT_IMAGES, extra].concat();
    common::json(&args)
}

#[test]
fn pid_selects_the_process_of_every_input_kind() {
    // A dump of another process is refused, naming both pids.
    let output = common::dumpleak()
        .args(INCIDENT)
        .args(["--pid", "4"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("this is pid 3856, not the process --pid 4 selects"),
        "{stderr}"
    );
    assert_eq!(incident_json(&["--pid", "3856"])["total_delta"], 9);
    // A series takes only that process's dumps, whatever their kind.
    let series = common::json(&["series", "testdata/series", "-q", "--pid", "7300"]);
    let excluded = series["excluded"].to_string();
    assert!(excluded.contains("zz-other-process.dmp"), "{excluded}");
    assert!(excluded.contains("this is pid 7301, not the process --pid 7300 selects"));
    let other = common::json(&["series", "testdata/series", "-q"]);
    assert!(!other["excluded"].to_string().contains("--pid"));
    // A debugger log: its pid is 7996.
    let log = "testdata/logs/windbg-htrace-diff.log";
    common::stdout(&["show", log, "--pid", "7996"], 0);
    common::stdout(&["show", log, "--pid", "1"], 2);
}

#[test]
fn top_keeps_the_first_stacks_and_rows() {
    let args: Vec<&str> = [&INCIDENT[..], &INCIDENT_IMAGES, &["--top", "1"]].concat();
    let text = common::stdout(&args, 0);
    assert!(text.contains("  #1  +3 handles"));
    assert!(!text.contains("  #2  +3 handles"), "{text}");
    assert!(
        text.contains("… 2 more stacks left out (--top 1)"),
        "{text}"
    );
    assert!(text.contains("… 13 more rows left out (--top 1)"), "{text}");
    assert!(text.contains("… 8 more rows left out (--top 1)"), "{text}");
    let csv: Vec<&str> = args.iter().copied().chain(["--format", "csv"]).collect();
    assert_eq!(common::stdout(&csv, 0).lines().count(), 2);
    // JSON is the whole model.
    assert_eq!(
        incident_json(&["--top", "1"])["stacks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // `--top 0` would show nothing: a usage error that says why.
    let zero: Vec<&str> = [&INCIDENT[..], &["--top", "0"]].concat();
    let output = common::dumpleak().args(&zero).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 1"));
}

#[test]
fn only_changed_hides_the_types_that_did_not_change() {
    let report = incident_json(&["--only-changed"]);
    assert_eq!(
        common::column(&report["by_type"], "type"),
        ["Mutant", "Section"]
    );
    assert_eq!(report["total_delta"], 9);
    let args: Vec<&str> = [&INCIDENT[..], &["--only-changed"]].concat();
    let text = common::stdout(&args, 0);
    assert!(!text.contains("│ Event "), "{text}");
    let series = common::json(&["series", "testdata/series", "-q", "--only-changed"]);
    let types = common::column(&series["segments"][0]["types"], "type");
    assert_eq!(types, ["Section", "File", "Thread"]);
}

#[test]
fn redact_replaces_user_machine_and_object_names_in_every_format() {
    // The dumps, copied under a user's home folder, are named by that path in the report.
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("home").join("alice").join("dumps");
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["before.dmp", "after.dmp"] {
        std::fs::copy(
            common::testdata(&format!("incident/{name}")),
            folder.join(name),
        )
        .unwrap();
    }
    let before = folder.join("before.dmp").display().to_string();
    let after = folder.join("after.dmp").display().to_string();
    let object = r"\BaseNamedObjects\MAPI_SPOOLER_LOCK";
    for format in ["table", "markdown", "json", "csv", "html"] {
        let text = common::stdout(&["diff", &before, &after, "--format", format], 0);
        assert!(text.contains("SPOOLER"), "{format}");
        // The CSV handle table names no dump.
        // (Windows writes the path with backslashes, JSON escapes them: look for the user.)
        assert_eq!(text.contains("alice"), format != "csv", "{format}");
        let text = common::stdout(
            &[
                "diff",
                &before,
                &after,
                "--format",
                format,
                "--redact=names",
            ],
            0,
        );
        assert!(!text.contains("alice"), "{format}: {text}");
        assert!(!text.contains("SPOOLER"), "{format}: {text}");
        assert!(text.contains("name1"), "{format}: {text}");
        if format != "csv" {
            assert!(
                text.contains("home") && text.contains("user1"),
                "{format}: {text}"
            );
            // Module names and versions stay: the report must still say what leaks.
            assert!(
                text.contains("MSMAPI32.DLL") && text.contains("11.0.5601.0"),
                "{format}"
            );
        }
    }
    // Without `names`, object names stay.
    let text = common::stdout(&["diff", &before, &after, "--redact"], 0);
    assert!(text.contains(object) && !text.contains("alice"), "{text}");
}

#[test]
fn readme_shows_the_incident_diff_at_80_columns_as_it_is() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let at = readme
        .find("The incident diff below at 80 columns")
        .expect("the sample");
    let block = &readme[at..];
    let block = &block[block.find("```\n").unwrap() + 4..];
    let sample = &block[..block.find("```").unwrap()];
    let args: Vec<&str> = [
        &INCIDENT[..],
        &INCIDENT_IMAGES,
        &common::SUSPECT,
        &["--color", "never"],
    ]
    .concat();
    let output = common::dumpleak()
        .args(&args)
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(sample),
        "README's 80-column sample is stale:\n{text}"
    );
    assert!(sample.lines().all(|line| line.chars().count() <= 80));
    assert!(!sample.contains('\x1b'));
}

/// The samples in docs/guide.md written as "`dumpleak ARGS…`" followed by "at N columns…:" and
/// a code block: each is the start of what that command prints at that width.
#[test]
fn guide_samples_are_what_the_commands_print() {
    let guide = std::fs::read_to_string(format!("{ROOT}/docs/guide.md")).unwrap();
    let mut checked = 0;
    let mut rest = guide.as_str();
    while let Some(at) = rest.find("\n`dumpleak ") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find('`') else { break };
        let command = &rest[..end];
        let after = &rest[end + 1..];
        let Some(width) = after
            .strip_prefix("\nat ")
            .and_then(|s| s.split_once(" columns"))
            .map(|(width, _)| width)
        else {
            continue;
        };
        let block = &after[after.find("```\n").unwrap() + 4..];
        let sample = &block[..block.find("```").unwrap()];
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let output = common::dumpleak()
            .args(&args)
            .args(["--color", "never"])
            .env("COLUMNS", width)
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(
            text.starts_with(sample),
            "the guide's sample of `{command}` is stale; it now prints:\n{text}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "the guide's samples were not all found");
}

#[test]
fn readme_shows_the_batch_sample_at_100_columns_as_it_is() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let at = readme
        .find("The batch sample below at 100 columns")
        .expect("the sample");
    let block = &readme[at..];
    let block = &block[block.find("```\n").unwrap() + 4..];
    let sample = &block[..block.find("```").unwrap()];
    let output = common::dumpleak()
        .args(["batch", "testdata/batch", "-q", "--color", "never"])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with(sample),
        "README's batch sample is stale:\n{text}"
    );
    assert!(sample.contains("11.0.5601.0\n    goes with higher handle counts (14.5×, p = 0.0007)"));
}
