//! Reports of hostile dumps (issue 14, items 1–3): strings from a dump never drive the
//! terminal (control, C1, bidi characters; forged lines), never become Markdown structure
//! (headings, links, images, HTML, code fences, table cells), and never start a spreadsheet
//! formula in CSV. JSON keeps them exact.
//!
//! The dumps are written here with the fixture generator's [`DumpWriter`]: object names, type
//! names, module paths (so process name and stack frames) and the service-pack string all
//! carry attacks. Every report that shows such strings (show, diff, series, batch) is rendered
//! in every format and checked; Markdown is parsed with a CommonMark parser (pulldown-cmark,
//! GitHub's extensions on) and must give back exactly the document's strings, escaped, in the
//! document's structure.

use dumpleak::analysis::{DiffOptions, SeriesOptions};
use dumpleak::report::document::ColumnKind;
use dumpleak::report::document::{Block, Document};
use dumpleak::report::{self, Format, RenderOptions};
use dumpleak::sanitize::is_hidden;
use dumpleak::snapshot::LoadOptions;
use dumpleak::symbols::Symbolizer;
use dumpleak::{BatchOptions, ShowOutcome};
use dumpleak_fixtures::writer::{
    DescriptorVersion, DumpWriter, HandleDescriptor, HandleOperation, MiscInfo, Module, SystemInfo,
    MISC1_PROCESS_ID, MISC1_PROCESS_TIMES,
};
use pulldown_cmark::Parser;
use serde::Serialize;
use std::path::PathBuf;

use crate::common::dumpleak;
use crate::common::synth::Rng;
use crate::fuzz_corpus::harness::render as properties;

/// Object names: each an attack on one format (names keep `/`; module file names cannot).
const HOSTILE_NAMES: &[&str] = &[
    "\n# INJ heading\n![x](http://evil/x.png)",
    "[click](http://evil) <http://evil/auto> [ref]: http://evil",
    "```\n<script>alert(1)</script>\n```",
    "a | b | c",
    "| --- | --- |",
    "report\u{202e}fdp.exe",
    "\x1b]52;c;ZXZpbA==\x07\x1b]0;title\x07\x1b[2J\rINJ forged line",
    "\u{9b}31mC1\u{85}\u{2066}iso\u{2069}",
    "=HYPERLINK(\"http://evil\",\"x\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "&#x202e; &lt;script&gt; &amp;",
    "~~~\n    indented\n- item\n1. one\n---\n> quote",
    "*emph* _under_ ~~strike~~ $x^2$ [^1] <b>bold</b>",
    "# Heading",
    "- item",
    "1. one",
];
/// A handle type name (types head table rows and stack summaries).
const HOSTILE_TYPE: &str = "Ev\x1b[8ment\n# INJ type|x";
/// The executable: the process name.
const HOSTILE_EXE: &str = "C:\\app\\Ord\x1b[31mer\u{202e}gpj.exe";
/// The leaking DLL: blamed module, frames, module tables.
const HOSTILE_DLL: &str =
    "C:\\evil\\# Ev\x1b]0;x\x07il\n# INJ dll `` `x` |[a](b)<i>\u{202e}lld.dll";
/// The service-pack string (the OS field).
const HOSTILE_CSD: &str = "Service Pack 2\x1b]0;owned\x07\n# INJ sp";
const EXE_BASE: u64 = 0x7ff6_0000_0000;
const DLL_BASE: u64 = 0x7ffa_0000_0000;

/// A dump of pid 42 (started at a fixed time) holding one handle per hostile name, plus
/// `new` more opened by the hostile DLL (with trace records), captured at `time`.
fn hostile_dump(new: usize, time: u32) -> Vec<u8> {
    let mut writer = DumpWriter::with_directory_slots(6);
    writer.set_time_date_stamp(time);
    writer.add_system_info(&SystemInfo {
        csd_version: HOSTILE_CSD.to_string(),
        ..SystemInfo::windows_10_x64()
    });
    writer.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID | MISC1_PROCESS_TIMES,
        process_id: 42,
        process_create_time: 1_772_400_000,
        process_user_time: 1,
        process_kernel_time: 1,
    });
    let module = |name: &str, base_of_image: u64, is_dll: bool| Module {
        base_of_image,
        size_of_image: 0x10_0000,
        checksum: 0,
        time_date_stamp: 0x5f00_0000,
        name: name.to_string(),
        file_version: [1, 2, 3, 4],
        product_version: [1, 2, 3, 4],
        is_dll,
        cv_record: None,
    };
    writer.add_module_list(&[
        module(HOSTILE_EXE, EXE_BASE, false),
        module(HOSTILE_DLL, DLL_BASE, true),
    ]);
    let handle = |value: u64, index: usize| HandleDescriptor {
        handle: value,
        type_name: Some(
            if index % 2 == 0 {
                "Event"
            } else {
                HOSTILE_TYPE
            }
            .to_string(),
        ),
        object_name: Some(HOSTILE_NAMES[index % HOSTILE_NAMES.len()].to_string()),
        attributes: 0,
        granted_access: 0x1f_0003,
        handle_count: 1,
        pointer_count: 1,
        object_info: Vec::new(),
    };
    let old = (0..HOSTILE_NAMES.len()).map(|index| handle(4 * (index as u64 + 1), index));
    let fresh = (0..new).map(|index| handle(0x1000 + 4 * index as u64, index));
    writer.add_handle_data(DescriptorVersion::V2, &old.chain(fresh).collect::<Vec<_>>());
    let operations: Vec<HandleOperation> = (0..new)
        .map(|index| HandleOperation {
            handle: 0x1000 + 4 * index as u64,
            process_id: 42,
            thread_id: 7,
            operation_type: 1,
            spare0: 0,
            index: index as u32,
            stack: vec![DLL_BASE + 0x1234 + index as u64 % 3, EXE_BASE + 0x2000],
        })
        .collect();
    writer.add_handle_operations(&operations);
    writer.finish()
}

/// A hostile file name as this system allows it: Windows refuses control characters and
/// `<>:"|?*` in file names, so there the name keeps only plain characters and no attack
/// marker (the strings inside the dumps stay hostile).
fn file_name(name: &str) -> String {
    if cfg!(windows) {
        name.replace("INJ", "inj")
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || ".-_ ".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    } else {
        name.to_string()
    }
}

/// Writes `(name, bytes)` files into a fresh directory (names as [`file_name`] allows).
fn write_files(files: &[(&str, Vec<u8>)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = files
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(file_name(name));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    (dir, paths)
}

/// The series: three dumps, 2, 10 and 19 handles opened by the DLL, an hour apart.
fn series_dumps() -> (tempfile::TempDir, Vec<PathBuf>) {
    write_files(&[
        ("a.dmp", hostile_dump(2, 1_772_441_400)),
        ("b.dmp", hostile_dump(10, 1_772_445_000)),
        (
            "c\x1b]0;t\x07\n# INJ name\u{202e}.dmp",
            hostile_dump(19, 1_772_448_600),
        ),
    ])
}

/// A batch folder: the series' dumps, a text file whose first line attacks (batch quotes
/// it in the failure), and a file with a hostile name.
fn batch_inputs() -> (tempfile::TempDir, Vec<PathBuf>) {
    write_files(&[
        ("a.dmp", hostile_dump(2, 1_772_441_400)),
        ("b.dmp", hostile_dump(19, 1_772_448_600)),
        (
            "notes\x1b]0;x\x07\n# INJ notes\u{202e}.txt",
            b"# Heading ![x](http://evil/x.png) <script>x</script> \x1b[2J | =1+1\n".to_vec(),
        ),
    ])
}

/// A report: its model (JSON), its document, and a name for messages.
struct Rendered {
    name: &'static str,
    json: String,
    document: Document,
}

fn rendered<M: Serialize>(name: &'static str, model: &M, document: Document) -> Rendered {
    let json = report::render(model, &document, Format::Json, &options(), "").unwrap();
    Rendered {
        name,
        json,
        document,
    }
}

fn options() -> RenderOptions {
    RenderOptions::default()
}

/// Every report that shows strings from dumps, built from the hostile dumps.
fn hostile_reports() -> Vec<Rendered> {
    let symbolizer = Symbolizer::default();
    let (_dir, series) = series_dumps();
    let diff =
        dumpleak::diff_files(&series[0], &series[2], &symbolizer, &DiffOptions::default()).unwrap();
    let snapshot = dumpleak::snapshot::load_with(&series[2], &LoadOptions::default()).unwrap();
    let ShowOutcome::Summary(show) =
        dumpleak::show_input(snapshot, &symbolizer, &DiffOptions::default(), 12)
    else {
        panic!("a dump gives a summary");
    };
    let trend = dumpleak::series_files(
        &series,
        &LoadOptions::default(),
        &symbolizer,
        &SeriesOptions::default(),
        &|| {},
    )
    .unwrap();
    let (_batch_dir, inputs) = batch_inputs();
    let batch = dumpleak::batch_files(
        &inputs,
        &LoadOptions::default(),
        &symbolizer,
        &BatchOptions::default(),
        &|_| {},
    )
    .unwrap();
    assert_eq!(batch.aggregate.failed, 1, "the text file fails");
    vec![
        rendered("diff", &diff, report::diff_document(&diff)),
        rendered("show", &show, report::show_document(&show, true)),
        rendered("series", &trend, report::series_document(&trend)),
        rendered("batch", &batch, report::batch_document(&batch)),
    ]
}

fn render(report: &Rendered, format: Format, table: Option<&str>) -> String {
    let mut options = options();
    options.table = table.map(str::to_string);
    report::render(&(), &report.document, format, &options, "").unwrap()
}

/// Fails when `text` holds a hidden character (other than its own line ends) or a line that
/// a newline or carriage return inside a dump string started: every such line of the attacks
/// begins with `INJ`, which must follow the escaped `\n# ` or `\r`.
fn assert_no_raw_controls(name: &str, text: &str) {
    if let Some(ch) = text.chars().find(|&ch| ch != '\n' && is_hidden(ch)) {
        panic!("{name}: raw {ch:?} in\n{text}");
    }
    for (at, _) in text.match_indices("INJ") {
        let before = &text[..at];
        assert!(
            before.ends_with("\\n# ") || before.ends_with("\\r"),
            "{name}: a dump string started a line at byte {at}:\n{text}"
        );
    }
}

#[test]
fn terminal_tables_show_control_bidi_and_newline_characters_escaped() {
    for report in hostile_reports() {
        let text = render(&report, Format::Table, None);
        assert_no_raw_controls(report.name, &text);
        let lists_handles = report.name == "diff";
        if lists_handles {
            assert!(text.contains(r"\x1b]52;c;ZXZpbA==\x07"), "{}", report.name);
        }
        assert!(
            text.contains(r"# Ev\x1b]0;x\x07il\n# INJ dll"),
            "{}: {text}",
            report.name
        );
    }
}

#[test]
fn html_pages_escape_controls_and_keep_their_shape() {
    for report in hostile_reports() {
        let html = render(&report, Format::Html, None);
        assert_no_raw_controls(report.name, &html);
        for forbidden in ["<script", "<img", "<a ", "<b>", "<i>"] {
            assert!(!html.contains(forbidden), "{}: {forbidden}", report.name);
        }
        let tables = report
            .document
            .blocks
            .iter()
            .filter_map(|block| match block {
                Block::Table(table) => Some(table),
                _ => None,
            });
        let (mut rows, mut cells) = (0, 0);
        for table in tables {
            // Detail columns move into one expandable cell under the row (when not empty).
            let main = |index: usize| table.kind(index) != ColumnKind::Detail;
            rows += 1 + table.rows.len().max(1);
            cells += (0..table.headers.len())
                .filter(|&index| main(index))
                .count()
                + usize::from(table.rows.is_empty());
            for row in &table.rows {
                cells += (0..row.len()).filter(|&index| main(index)).count();
                cells +=
                    usize::from((0..row.len()).any(|index| !main(index) && !row[index].is_empty()));
            }
        }
        assert_eq!(html.matches("<tr>").count(), rows, "{}", report.name);
        let tags: usize = ["<td>", "<td ", "<th>", "<th "]
            .iter()
            .map(|tag| html.matches(tag).count())
            .sum();
        assert_eq!(tags, cells, "{}", report.name);
    }
}

#[test]
fn markdown_of_hostile_dumps_parses_back_to_the_same_strings_in_the_same_structure() {
    for report in hostile_reports() {
        let markdown = render(&report, Format::Markdown, None);
        assert_no_raw_controls(report.name, &markdown);
        let parsed = properties::parsed_units(&markdown);
        let expected = properties::expected_units(&report.document);
        for (index, (parsed, expected)) in parsed.iter().zip(&expected).enumerate() {
            assert_eq!(
                parsed, expected,
                "{}: unit {index}\n{markdown}",
                report.name
            );
        }
        assert_eq!(parsed.len(), expected.len(), "{}\n{markdown}", report.name);
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, Parser::new(&markdown));
        for forbidden in ["<script", "<img", "<a ", "<b>", "<i>"] {
            assert!(!html.contains(forbidden), "{}: {forbidden}", report.name);
        }
    }
}

#[test]
fn csv_cells_never_start_a_formula_and_keep_the_text() {
    let mut quoted = 0;
    for report in hostile_reports() {
        for table in report.document.tables() {
            let csv = render(&report, Format::Csv, Some(table.id));
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(csv.as_bytes());
            let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(
                records.len(),
                table.rows.len() + 1,
                "{} {}",
                report.name,
                table.id
            );
            let rows = std::iter::once(&table.headers).chain(&table.rows);
            for (record, row) in records.iter().zip(rows) {
                assert_eq!(record.len(), row.len());
                for (written, cell) in record.iter().zip(row) {
                    if properties::runs_as_formula(cell) {
                        assert_eq!(written, format!("'{cell}"));
                        quoted += 1;
                    } else {
                        assert_eq!(written, cell, "{} {}", report.name, table.id);
                    }
                }
            }
        }
    }
    assert!(quoted > 0, "the hostile names reach some CSV table");
}

#[test]
fn json_keeps_the_exact_strings() {
    let dll = HOSTILE_DLL.rsplit('\\').next().unwrap();
    for report in hostile_reports() {
        let value: serde_json::Value = serde_json::from_str(&report.json).unwrap();
        let mut strings = Vec::new();
        collect_strings(&value, &mut strings);
        let mut exact = vec![dll];
        if report.name == "diff" {
            exact.extend([HOSTILE_NAMES[6], HOSTILE_TYPE, HOSTILE_CSD]);
        }
        for text in exact {
            assert!(
                strings.iter().any(|string| string.contains(text)),
                "{}: {text:?}",
                report.name
            );
        }
    }
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        serde_json::Value::Object(map) => map.values().for_each(|item| collect_strings(item, out)),
        _ => {}
    }
}

#[test]
fn the_command_line_escapes_dump_strings_on_stdout_and_stderr() {
    let (dir, paths) = series_dumps();
    let output = dumpleak()
        .args(["diff", "--offline"])
        .args(&paths[..2])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_no_raw_controls("diff table", &stdout);
    assert!(stdout.contains(r"Ord\x1b[31mer\u{202e}gpj.exe"), "{stdout}");

    let bad = dir
        .path()
        .join(file_name("bad\x1b]0;pwned\x07\n# INJ bad\u{202e}.dmp"));
    std::fs::write(&bad, b"MDMP garbage").unwrap();
    let output = dumpleak().arg("show").arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_no_raw_controls("stderr", &stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Windows allows no control characters in file names (see `file_name`).
    if cfg!(not(windows)) {
        assert!(
            stderr.contains(r"bad\x1b]0;pwned\x07\n# INJ bad\u{202e}.dmp"),
            "{stderr}"
        );
    }
}

#[test]
fn hostile_reports_keep_every_property_of_the_render_fuzz_target() {
    for report in hostile_reports() {
        properties::check(&report.document);
    }
}

/// Pieces the pseudo-random strings are made of: syntax of every output format, controls,
/// bidi and invisible characters, formula starts, numbers, and the string separator (0xFF)
/// and one-byte shorthands (0xF8..) of the fuzz target's decoder.
const PIECES: &[&[u8]] = &[
    b"\n",
    b"\r",
    b"\t",
    b"\x1b[2J",
    b"\x1b]52;c;eA==\x07",
    b"\x00",
    b"\x7f",
    b"|",
    b"`",
    b"```",
    b"~~~",
    b"#",
    b"# ",
    b"- ",
    b"+ ",
    b"* ",
    b"1. ",
    b"2) ",
    b"---",
    b"===",
    b"> ",
    b"    ",
    b" ",
    b"[",
    b"]",
    b"](http://e)",
    b"![i](x.png)",
    b"<",
    b">",
    b"<script>",
    b"</td>",
    b"&",
    b"&amp;",
    b"&#x202e;",
    b"$",
    b"$$",
    b"~",
    b"*",
    b"**",
    b"_",
    b"\\",
    b"\"",
    b"'",
    b"=",
    b"+",
    b"-",
    b"@",
    b"=1+1",
    b"-3",
    b"+1.5",
    b"12%",
    b"1e5",
    b"a",
    b"Z",
    b"0",
    b".",
    b":",
    b"http://e",
    b"www.e.com",
    b"[^1]",
    b"[[w]]",
    b"[ ] ",
    "é".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{85}".as_bytes(),
    "\u{9b}".as_bytes(),
    "\u{a0}".as_bytes(),
    "\u{ff1d}".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{e0041}".as_bytes(),
    "日本".as_bytes(),
    b"\xff",
    b"\xf8",
    b"\xfb",
    b"\xc3",
];

#[test]
fn pseudo_random_strings_keep_every_rendering_property() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let mut data = Vec::new();
        for _ in 0..rng.next() % 24 {
            data.extend_from_slice(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
        }
        properties::fuzz(&data);
    }
}

/// Runs `dumpleak ARGS` (table format) and checks its output like the reports above.
fn assert_cli_table_escaped(args: &[&std::ffi::OsStr], expected: &str) {
    let output = dumpleak().args(args).arg("--offline").output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert_no_raw_controls("cli", &stdout);
    assert!(stdout.contains(expected), "{expected} in\n{stdout}");
}

#[test]
fn debugger_log_frames_and_handle_exe_names_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str| std::fs::read_to_string(crate::common::testdata(name)).unwrap();
    let log = dir.path().join("hostile.log");
    let frame = "AcmeConnectionPool::Acquire";
    let hostile = "Acq\x1b]52;c;ZXZpbA==\x07\u{202e}[x](http://e)```|\u{9b}2J";
    std::fs::write(
        &log,
        read("logs/windbg-htrace-diff.log").replace(frame, hostile),
    )
    .unwrap();
    assert_cli_table_escaped(
        &["show".as_ref(), log.as_os_str()],
        r"AcmeNet!Acq\x1b]52;c;ZXZpbA==\x07\u{202e}[x](http://e)```|\u{9b}2J+0xb1",
    );
    let after = dir.path().join("handle-after.txt");
    let name = r"\Sessions\1\BaseNamedObjects\CSPMUTX";
    let hostile = "CSP\x1b]0;t\x07\u{2066}MU\u{85}TX";
    std::fs::write(&after, read("logs/handle-after.txt").replace(name, hostile)).unwrap();
    let before = crate::common::testdata("logs/handle-before.txt");
    assert_cli_table_escaped(
        &["diff".as_ref(), before.as_os_str(), after.as_os_str()],
        r"CSP\x1b]0;t\x07\u{2066}MU\u{85}TX",
    );
}
