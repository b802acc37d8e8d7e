//! Symbol stores as others lay them out (issue 15): Breakpad's `NAME.pdb/<ID>/NAME.sym` in
//! local directories and on a symbol server (on 127.0.0.1), a CAB under the plain name from a
//! server, and the one note that says where dumpleak looked.

use crate::common::server::TestServer;
use crate::common::{dumpleak, fixture};
use dumpleak::symbols::locate::{FileKey, Locator, LocatorOptions, SymbolPath};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;

const SYM_ID: &str = "5A9832E5287241C1838ED98914E9B7FF1";

/// test_app.sym of the real Breakpad store.
fn test_app_sym() -> Vec<u8> {
    fixture(&format!(
        "real/breakpad-minidump2/symbols/test_app.pdb/{SYM_ID}/test_app.sym"
    ))
}

fn sym_key() -> FileKey {
    FileKey::new("test_app.sym", SYM_ID)
}

fn options(cache: &Path) -> LocatorOptions {
    LocatorOptions {
        offline: false,
        cache_dir: cache.to_path_buf(),
        timeout: Duration::from_secs(5),
        download_deadline: Duration::from_secs(30),
        max_download_bytes: 1 << 24,
    }
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

#[test]
fn breakpad_layout_is_searched_in_local_directories() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let path = dir
        .path()
        .join("test_app.pdb")
        .join(SYM_ID)
        .join("test_app.sym");
    write(&path, &test_app_sym());
    let locator = Locator::new(
        SymbolPath::from_dirs(&[dir.path().to_path_buf()]),
        options(cache.path()),
    );
    let file = locator
        .find(&sym_key())
        .file
        .expect("found in the Breakpad layout");
    assert_eq!(file.path, path);
    assert_eq!(file.origin, format!("{} (store)", dir.path().display()));
}

#[test]
fn breakpad_layout_is_asked_of_symbol_servers() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    write(
        &root
            .path()
            .join("test_app.pdb")
            .join(SYM_ID)
            .join("test_app.sym"),
        &test_app_sym(),
    );
    let server = TestServer::start(root.path(), |_| None);
    let path = format!("srv*{}*{}", cache.path().display(), server.url());
    let locator = Locator::new(SymbolPath::parse(&path).unwrap(), options(cache.path()));
    let located = locator.find(&sym_key());
    let file = located.file.expect("downloaded");
    assert_eq!(fs::read(&file.path).unwrap(), test_app_sym());
    assert_eq!(
        server.request_paths(),
        [format!("/symbols/test_app.pdb/{SYM_ID}/test_app.sym")]
    );
}

#[test]
fn a_cabinet_under_the_plain_name_on_a_server_is_expanded_whatever_its_member_is_called() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let pdb = fixture("pdb/leakylib.pdb");
    let id = "4F5704A7F90205594C4C44205044422E1";
    let mut builder = cab::CabinetBuilder::new();
    builder
        .add_folder(cab::CompressionType::MsZip)
        .add_file("leakylib-release.pdb");
    let mut writer = builder.build(std::io::Cursor::new(Vec::new())).unwrap();
    while let Some(mut file) = writer.next_file().unwrap() {
        std::io::Write::write_all(&mut file, &pdb).unwrap();
    }
    let cab = writer.finish().unwrap().into_inner();
    write(
        &root
            .path()
            .join("leakylib.pdb")
            .join(id)
            .join("leakylib.pdb"),
        &cab,
    );
    let server = TestServer::start(root.path(), |_| None);
    let path = format!("srv*{}*{}", cache.path().display(), server.url());
    let locator = Locator::new(SymbolPath::parse(&path).unwrap(), options(cache.path()));
    let located = locator.find(&FileKey::new("leakylib.pdb", id));
    let file = located
        .file
        .unwrap_or_else(|| panic!("{:?}", located.notes));
    assert_eq!(fs::read(&file.path).unwrap(), pdb);
}

fn show_json(args: &[&str]) -> Value {
    let output = dumpleak()
        .arg("show")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn one_note_says_where_dumpleak_looked_for_missing_symbol_files() {
    let cache = TempDir::new().unwrap();
    let empty = TempDir::new().unwrap();
    let report = show_json(&[
        "testdata/pdb/crash.dmp",
        "--symbols",
        "testdata/pdb",
        "--symbols",
        &empty.path().display().to_string(),
        "--cache-dir",
        &cache.path().display().to_string(),
    ]);
    let notes: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|warning| warning["message"].as_str())
        .filter(|message| message.contains("looked in"))
        .collect();
    assert_eq!(
        notes,
        [format!(
            "symbols for Widget.exe: no matching PDB or Breakpad symbol file found; looked in testdata/pdb, {}",
            empty.path().display()
        )]
    );
}

#[test]
fn no_note_when_the_symbols_were_found() {
    let cache = TempDir::new().unwrap();
    let report = show_json(&[
        "testdata/real/breakpad-minidump2/minidump2.dmp",
        "--symbols",
        "testdata/real/breakpad-minidump2/symbols",
        "--cache-dir",
        &cache.path().display().to_string(),
    ]);
    let warnings = report["warnings"].to_string();
    assert!(!warnings.contains("looked in"), "{warnings}");
}
