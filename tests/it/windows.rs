//! Windows behaviour, on the Windows build (on Linux CI: x86_64-pc-windows-gnu under Wine, see
//! .ci/wine/run): drive-letter and backslash paths wherever a path is accepted, symbol paths
//! as WinDbg users write them, the default cache under the local application-data folder, and
//! dumps that another process (procdump) still has open for writing.

use crate::common::{self, dumpleak, testdata, INCIDENT_IMAGES, SUSPECT};
use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

const FILE_SHARE_READ: u32 = 0x1;
const FILE_SHARE_WRITE: u32 = 0x2;

/// `path` made absolute the Windows way: `X:\dir\file`, backslashes only (checked, so that the
/// tests below really pass such paths).
fn drive_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap();
    let text = absolute.to_str().unwrap().to_string();
    let bytes = text.as_bytes();
    assert!(
        bytes.len() > 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":\\",
        "not a drive-letter path: {text}"
    );
    assert!(!text.contains('/'), "{text}");
    text
}

/// `path` relative to the repository root, with backslashes.
fn backslashed(path: &str) -> String {
    path.replace('/', "\\")
}

/// `text` as a JSON string's contents (backslashes doubled).
fn json_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
}

fn run(args: &[&str]) -> Output {
    dumpleak().args(args).output().expect("runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeded(args: &[&str]) -> Output {
    let output = run(args);
    assert!(
        output.status.success(),
        "dumpleak {args:?}: {}",
        stderr(&output)
    );
    output
}

/// The stacks and blamed modules of a diff report: what must not depend on how paths are
/// written.
fn attribution(report: &Value) -> (Value, Value) {
    (report["stacks"].clone(), report["modules"].clone())
}

/// The incident diff (as the README runs it) with every path written by `path`, in JSON.
fn incident_args(path: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut args = vec![
        "diff".to_string(),
        path("testdata/incident/before.dmp"),
        path("testdata/incident/after.dmp"),
        INCIDENT_IMAGES[0].to_string(),
        path(INCIDENT_IMAGES[1]),
    ];
    args.extend(SUSPECT.map(String::from));
    args.extend(["--format", "json"].map(String::from));
    args
}

fn run_strings(args: &[String]) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    succeeded(&refs)
}

#[test]
fn inputs_symbols_cache_and_output_take_drive_letter_paths() {
    let root = format!("{}\\", drive_path(Path::new(common::ROOT)));
    let absolute = |relative: &str| format!("{root}{}", backslashed(relative));
    let work = TempDir::new().unwrap();
    let cache = drive_path(&work.path().join("symbol cache"));
    let report_path = drive_path(&work.path().join("report.json"));

    // Relative and backslashed: the attribution the forward-slash paths give.
    let expected = run_strings(&incident_args(&|path| backslashed(path))).stdout;
    let expected = String::from_utf8(expected).unwrap();
    let expected_report: Value = serde_json::from_str(&expected).unwrap();
    let forward = common::json(&[&common::INCIDENT[..], &INCIDENT_IMAGES, &SUSPECT].concat());
    assert_eq!(attribution(&expected_report), attribution(&forward));
    assert_eq!(expected_report["total_delta"], 9);

    // Absolute `X:\…` inputs and --symbols, a --cache-dir with a space, --output to a file:
    // the report is the relative one with the root in front of every path.
    let mut args = incident_args(&absolute);
    args.extend([
        "--cache-dir".into(),
        cache,
        "--output".into(),
        report_path.clone(),
    ]);
    assert!(
        run_strings(&args).stdout.is_empty(),
        "the report went to --output"
    );
    let written = fs::read_to_string(&report_path).unwrap();
    assert!(written.contains(&json_escaped(&root)), "{written}");
    assert_eq!(written.replace(&json_escaped(&root), ""), expected);

    // `X:/…` (forward slashes after the drive) and verbatim `\\?\X:\…` paths, as some tools
    // print them: the same attribution.
    for variant in [root.replace('\\', "/"), format!("\\\\?\\{root}")] {
        let path = |relative: &str| format!("{variant}{}", backslashed(relative));
        let report: Value =
            serde_json::from_slice(&run_strings(&incident_args(&path)).stdout).unwrap();
        assert_eq!(
            attribution(&report),
            attribution(&expected_report),
            "{variant}"
        );
        let msmapi = common::find(&report["symbols"], "module", "MSMAPI32.DLL");
        assert_eq!(msmapi["origin"], "exports", "{variant}: {msmapi}");
    }
}

#[test]
fn batch_takes_drive_letter_paths_for_inputs_known_rules_and_output() {
    let work = TempDir::new().unwrap();
    let shard = drive_path(&work.path().join("batch.jsonl"));
    let dir = drive_path(&testdata("batch"));
    let known = drive_path(&testdata("known-issues.toml"));
    let args = [
        "batch", &dir, "--known", &known, "--format", "jsonl", "--output", &shard, "--quiet",
    ];
    let output = run(&args);
    // Some of the batch fixtures are unreadable on purpose: exit 1, and still a full shard.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let shard_text = fs::read_to_string(&shard).unwrap();
    let labelled = shard_text
        .lines()
        .filter(|line| line.contains("MAPI handle leak"))
        .count();
    assert!(
        labelled >= 8,
        "{labelled} dumps matched a rule:\n{shard_text}"
    );
    let first_dump = format!("{dir}\\cust-0c91.dmp");
    assert!(
        shard_text.contains(&json_escaped(&first_dump)),
        "{shard_text}"
    );
}

/// `srv*CACHE*URL`, `SRV*…`, `cache*DIR;srv*URL` and a plain `X:\dir`, written as WinDbg users
/// write them, through --symbol-path and through _NT_SYMBOL_PATH.
#[test]
fn symbol_paths_as_windbg_users_write_them() {
    let server = common::server::TestServer::start(&testdata("symstore"), |_| None);
    let pdb_in_store = |cache: &str| {
        Path::new(cache)
            .join("leakylib.pdb")
            .join("4F5704A7F90205594C4C44205044422E1")
            .join("leakylib.pdb")
    };
    let work = TempDir::new().unwrap();
    // A SymCache of its own for each run: one converted earlier would spare the download.
    let runs = std::cell::Cell::new(0);
    let pdb_args = |extra: &[&str]| -> Vec<String> {
        runs.set(runs.get() + 1);
        let symcache = drive_path(&work.path().join(format!("symcache {}", runs.get())));
        let mut args: Vec<String> = [
            "diff",
            "testdata\\pdb\\before.dmp",
            "testdata\\pdb\\after.dmp",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|arg| arg.to_string()));
        args.extend([
            "--cache-dir".into(),
            symcache,
            "--format".into(),
            "json".into(),
        ]);
        args
    };
    let named = |report: &Value| {
        report["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|stack| stack["frames"].as_array().unwrap().clone())
            .any(|frame| {
                frame
                    .as_str()
                    .unwrap()
                    .starts_with("leakylib!session_init+0x14 ")
            })
    };

    for (label, upper) in [("srv", false), ("SRV", true)] {
        let cache = drive_path(&work.path().join(format!("{label} cache")));
        let srv = if upper { "SRV" } else { "srv" };
        let path = format!("{srv}*{cache}*{}", server.url());
        let args = pdb_args(&["--symbol-path", &path]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let report: Value = serde_json::from_slice(&succeeded(&refs).stdout).unwrap();
        assert!(named(&report), "{path}: {report}");
        assert!(
            pdb_in_store(&cache).is_file(),
            "{path}: not cached in {cache}"
        );
    }

    // From the environment: a cache for what the later elements find, then the server; and a
    // plain directory with a drive letter.
    let cache = drive_path(&work.path().join("env cache"));
    let nt_symbol_path = format!("cache*{cache};srv*{}", server.url());
    let args = pdb_args(&[]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = dumpleak()
        .env("_NT_SYMBOL_PATH", &nt_symbol_path)
        .args(&refs)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(named(&report), "{nt_symbol_path}: {report}");
    assert!(
        pdb_in_store(&cache).is_file(),
        "{nt_symbol_path}: {}",
        report["symbols"]
    );

    let store = drive_path(&testdata("symstore"));
    let output = dumpleak()
        .env("_NT_SYMBOL_PATH", format!(" {store} ;"))
        .args(&refs)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(named(&report), "{store}: {report}");
}

/// `dirs::cache_dir()` is the known folder LocalAppData on Windows, which Windows (and Wine)
/// also puts into %LOCALAPPDATA%.
#[test]
fn the_default_cache_is_under_local_app_data() {
    let local = PathBuf::from(std::env::var_os("LOCALAPPDATA").expect("LOCALAPPDATA is set"));
    let default = dumpleak::symbols::locate::LocatorOptions::default_cache_dir();
    assert_eq!(default, local.join("dumpleak").join("symbols"));
}

/// The incident's later dump, padded past 256 KiB when `mapped` (dumpleak maps such files
/// instead of reading them), written to `dir`.
fn dump_copy(dir: &Path, mapped: bool) -> (PathBuf, Vec<u8>) {
    let mut bytes = common::fixture("incident/after.dmp");
    if mapped {
        bytes.resize(300 * 1024, 0);
    }
    let path = dir.join(if mapped { "mapped.dmp" } else { "read.dmp" });
    fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// Opens `path` for writing as a dump writer might: without sharing (`share` 0) or letting
/// others read (and write).
fn hold_for_writing(path: &Path, share: u32) -> File {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .share_mode(share)
        .open(path)
        .unwrap()
}

fn show_json(path: &Path) -> Output {
    run(&["show", path.to_str().unwrap(), "--format", "json"])
}

#[test]
fn a_dump_another_process_holds_open_for_writing_is_read() {
    let work = TempDir::new().unwrap();
    for mapped in [false, true] {
        let (path, _) = dump_copy(work.path(), mapped);
        for share in [FILE_SHARE_READ, FILE_SHARE_READ | FILE_SHARE_WRITE] {
            let writer = hold_for_writing(&path, share);
            let output = show_json(&path);
            assert!(
                output.status.success(),
                "mapped {mapped}, share {share}: {}",
                stderr(&output)
            );
            let report: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(report["dump"]["handle_count"], 55, "{report}");
            drop(writer);
        }
    }
}

#[test]
fn a_dump_still_being_written_is_a_clear_error_then_read_once_complete() {
    let work = TempDir::new().unwrap();
    let path = work.path().join("writing.dmp");
    let bytes = common::fixture("incident/after.dmp");
    let mut writer = hold_for_writing(&path, FILE_SHARE_READ);
    // Just created, then half written: an error naming the file, never a crash.
    for written in [0, bytes.len() / 2] {
        writer.write_all(&bytes[..written]).unwrap();
        writer.flush().unwrap();
        let output = show_json(&path);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{written} bytes: {message}");
        assert!(message.contains("writing.dmp"), "{message}");
        assert!(!message.contains("panicked"), "{message}");
        if written > 0 {
            assert!(message.contains("truncated"), "{message}");
        }
    }
    writer.write_all(&bytes[bytes.len() / 2..]).unwrap();
    writer.flush().unwrap();
    let output = show_json(&path);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_dump_held_without_sharing_is_a_clear_error() {
    let work = TempDir::new().unwrap();
    let (path, _) = dump_copy(work.path(), false);
    let writer = hold_for_writing(&path, 0);
    let output = show_json(&path);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("read.dmp: cannot read"), "{message}");
    assert!(message.contains("another process"), "{message}");
    assert!(message.contains("procdump"), "{message}");
    drop(writer);
    assert!(show_json(&path).status.success());
}

/// While dumpleak has a dump open (mapped or read), its writer can still open it for writing
/// and append, and it can be deleted: dumpleak opens files with std's default share mode,
/// FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE.
#[test]
fn an_open_dump_never_blocks_its_writer() {
    let work = TempDir::new().unwrap();
    for mapped in [false, true] {
        let (path, bytes) = dump_copy(work.path(), mapped);
        let dump = dumpleak::snapshot::Dump::open(&path).unwrap();
        let mut writer = OpenOptions::new()
            .append(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .open(&path)
            .unwrap_or_else(|error| panic!("mapped {mapped}: {error}"));
        writer.write_all(b"more").unwrap();
        drop(writer);
        assert_eq!(dump.bytes().as_slice(), &bytes[..]);
        assert_eq!(fs::metadata(&path).unwrap().len(), bytes.len() as u64 + 4);
        // Nor a clean-up that deletes it.
        fs::remove_file(&path).unwrap_or_else(|error| panic!("mapped {mapped}: {error}"));
        assert_eq!(dump.bytes().as_slice(), &bytes[..]);
    }
}
