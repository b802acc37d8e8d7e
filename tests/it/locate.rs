//! `dumpleak::symbols::locate`: symbol path parsing, local stores, and an HTTP symbol server
//! on 127.0.0.1 (tiny_http, ephemeral port). Nothing here leaves the loopback interface.

use dumpleak::symbols::locate::{
    FileKey, Located, Locator, LocatorOptions, PathElement, SymbolPath,
};
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tiny_http::{Header, Response, ResponseBox};

use crate::common::server::TestServer;

const PDB_MAGIC: &[u8] = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0";
const PDB_NAME: &str = "leakylib.pdb";
const PDB_ID: &str = "3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1";

fn pdb_key() -> FileKey {
    FileKey::new(PDB_NAME, PDB_ID)
}

/// A small file that passes as a PDB, different for each `tag`.
fn pdb_bytes(tag: &str) -> Vec<u8> {
    let mut bytes = PDB_MAGIC.to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes.extend(std::iter::repeat_n(0x5a, 200));
    bytes
}

/// A CAB (MSZIP) holding `files`.
fn cab_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    for (name, _) in files {
        folder.add_file(*name);
    }
    let mut writer = builder.build(Cursor::new(Vec::new())).unwrap();
    let mut contents = files.iter();
    while let Some(mut file) = writer.next_file().unwrap() {
        std::io::Write::write_all(&mut file, contents.next().unwrap().1).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// `root/name/ID/file`.
fn store_file(root: &Path, file: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(PDB_NAME).join(PDB_ID).join(file);
    write(&path, bytes);
    path
}

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn options(cache: &Path) -> LocatorOptions {
    LocatorOptions {
        offline: false,
        cache_dir: cache.to_path_buf(),
        timeout: Duration::from_secs(5),
        max_download_bytes: 1 << 20,
    }
}

fn locator(path: &str, cache: &Path) -> Locator {
    Locator::new(SymbolPath::parse(path).unwrap(), options(cache))
}

fn dirs_locator(dirs: &[&Path], cache: &Path) -> Locator {
    let dirs: Vec<PathBuf> = dirs.iter().map(|dir| dir.to_path_buf()).collect();
    Locator::new(SymbolPath::from_dirs(&dirs), options(cache))
}

fn found_bytes(located: &Located) -> Vec<u8> {
    let file = located
        .file
        .as_ref()
        .unwrap_or_else(|| panic!("not found; notes: {:?}", located.notes));
    fs::read(&file.path).unwrap()
}

fn has_note(located: &Located, needle: &str) -> bool {
    located.notes.iter().any(|note| note.contains(needle))
}

fn assert_note(located: &Located, needle: &str) {
    assert!(
        has_note(located, needle),
        "no note with {needle:?}: {:?}",
        located.notes
    );
}

// ---------------------------------------------------------------------------------------------
// Symbol path parsing

#[test]
fn symbol_path_forms() {
    use PathElement::*;
    let p = PathBuf::from;
    let server = |cache: Option<&str>, url: &str| Server {
        cache: cache.map(PathBuf::from),
        url: url.to_string(),
    };
    let cases: Vec<(&str, Vec<PathElement>)> = vec![
        (
            r"srv*C:\cache*https://msdl.microsoft.com/download/symbols",
            vec![server(
                Some(r"C:\cache"),
                "https://msdl.microsoft.com/download/symbols",
            )],
        ),
        (
            "SRV*/tmp/c*http://127.0.0.1:1/syms/",
            vec![server(Some("/tmp/c"), "http://127.0.0.1:1/syms")],
        ),
        (
            r"symsrv*symsrv.dll*C:\cache*https://sym.example/s",
            vec![server(Some(r"C:\cache"), "https://sym.example/s")],
        ),
        (
            "srv*https://sym.example/s",
            vec![server(None, "https://sym.example/s")],
        ),
        (
            "srv**https://sym.example/s",
            vec![server(None, "https://sym.example/s")],
        ),
        (
            "srv*/c1*/c2*https://sym.example/s",
            vec![server(Some("/c1"), "https://sym.example/s")],
        ),
        ("cache*/tmp/cache", vec![Cache(Some(p("/tmp/cache")))]),
        ("cache*", vec![Cache(None)]),
        (
            r"srv*C:\cache*\\server\symbols",
            vec![Store {
                cache: Some(p(r"C:\cache")),
                path: p(r"\\server\symbols"),
            }],
        ),
        (
            "srv*/local/store",
            vec![Store {
                cache: None,
                path: p("/local/store"),
            }],
        ),
        (
            r" C:\syms ;; ;/other/dir;",
            vec![Directory(p(r"C:\syms")), Directory(p("/other/dir"))],
        ),
        (
            "cache*/c;/dir;srv*https://a.example/s;SRV*/d*HTTPS://b.example",
            vec![
                Cache(Some(p("/c"))),
                Directory(p("/dir")),
                server(None, "https://a.example/s"),
                server(Some("/d"), "HTTPS://b.example"),
            ],
        ),
        ("", vec![]),
        (" ; ;", vec![]),
    ];
    for (text, expected) in cases {
        let parsed = SymbolPath::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        assert_eq!(parsed.elements(), expected.as_slice(), "{text}");
    }
    let two_caches = SymbolPath::parse("srv*/c1*/c2*https://sym.example/s").unwrap();
    assert!(two_caches.notes()[0].contains("only the first cache"));
}

#[test]
fn symbol_path_errors() {
    for bad in [
        "srv*",
        "srv*/cache*",
        "SRV* ",
        "symsrv*symsrv.dll",
        "symsrv*symsrv.dll*",
        "cache*/a*/b",
        "foo*bar",
        "https://sym.example/s",
        "srv*/cache*ftp://sym.example/s",
        "srv*file:///syms",
        "/dir;srv*",
    ] {
        let error = SymbolPath::parse(bad).expect_err(bad);
        assert!(!error.is_empty(), "{bad}");
    }
    assert!(SymbolPath::parse("https://x.example")
        .unwrap_err()
        .contains("srv*https://x.example"));
}

#[test]
fn from_dirs_and_extend() {
    let mut path = SymbolPath::parse("srv*/c*https://a.example").unwrap();
    path.extend(SymbolPath::from_dirs(&[
        PathBuf::from("/x"),
        PathBuf::from("/y"),
    ]));
    assert_eq!(path.elements().len(), 3);
    assert_eq!(
        path.elements()[2],
        PathElement::Directory(PathBuf::from("/y"))
    );
}

#[test]
fn locator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Locator>();
}

// ---------------------------------------------------------------------------------------------
// Local directories and stores

#[test]
fn flat_directory() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    write(&dir.path().join(PDB_NAME), &pdb_bytes("flat"));
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    assert_eq!(found_bytes(&located), pdb_bytes("flat"));
    assert!(located.file.unwrap().origin.contains("(flat)"));
}

#[test]
fn one_tier_store() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let path = store_file(dir.path(), PDB_NAME, &pdb_bytes("store"));
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    let file = located.file.unwrap();
    assert_eq!(file.path, path);
    assert_eq!(file.origin, format!("{} (store)", dir.path().display()));
}

#[test]
fn store_matches_case_insensitively() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    // Stored upper case; asked for in lower case with a lower-case id.
    let upper = PDB_NAME.to_uppercase();
    write(
        &dir.path().join(&upper).join(PDB_ID).join(&upper),
        &pdb_bytes("upper"),
    );
    let key = FileKey::new(PDB_NAME, PDB_ID.to_lowercase());
    let located = dirs_locator(&[dir.path()], cache.path()).find(&key);
    assert_eq!(found_bytes(&located), pdb_bytes("upper"));
}

#[test]
fn two_tier_store() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let path = dir
        .path()
        .join("le")
        .join(PDB_NAME)
        .join(PDB_ID)
        .join(PDB_NAME);
    write(&path, &pdb_bytes("two-tier"));
    write(&dir.path().join("pingme.txt"), b"");
    fs::create_dir(dir.path().join("000Admin")).unwrap();
    // Without index2.txt the first tier is not looked at.
    let locator = dirs_locator(&[dir.path()], cache.path());
    assert!(locator.find(&pdb_key()).file.is_none());
    write(&dir.path().join("index2.txt"), b"");
    let file = locator.find(&pdb_key()).file.unwrap();
    assert_eq!(file.path, path);
    assert!(file.origin.contains("two-tier store"));
}

#[test]
fn compressed_file_in_store() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let original = pdb_bytes("compressed");
    store_file(
        dir.path(),
        "leakylib.pd_",
        &cab_bytes(&[(PDB_NAME, &original)]),
    );
    let locator = dirs_locator(&[dir.path()], cache.path());
    let located = locator.find(&pdb_key());
    assert_eq!(found_bytes(&located), original);
    let file = located.file.unwrap();
    assert!(file.path.starts_with(cache.path()), "{:?}", file.path);
    assert!(file.origin.contains("compressed"));
    // Expanded once: the second find reuses the expanded file.
    assert_eq!(locator.find(&pdb_key()).file.unwrap().path, file.path);
    assert_eq!(files_under(cache.path()), vec![file.path]);
}

#[test]
fn compressed_file_must_hold_exactly_the_named_file() {
    for (label, cab) in [
        ("other name", cab_bytes(&[("other.pdb", &pdb_bytes("x"))])),
        (
            "two files",
            cab_bytes(&[(PDB_NAME, &pdb_bytes("x")), ("extra.txt", b"extra")]),
        ),
        ("not a cab", b"MSCF but not really a cabinet".to_vec()),
    ] {
        let dir = TempDir::new().unwrap();
        let cache = TempDir::new().unwrap();
        store_file(dir.path(), "leakylib.pd_", &cab);
        let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
        assert!(located.file.is_none(), "{label}");
        assert!(
            has_note(&located, "leakylib.pd_"),
            "{label}: {:?}",
            located.notes
        );
        assert!(files_under(cache.path()).is_empty(), "{label}");
    }
}

#[test]
fn file_ptr_path_and_message() {
    let dir = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let target = elsewhere.path().join("real.pdb");
    write(&target, &pdb_bytes("pointed"));
    store_file(
        dir.path(),
        "file.ptr",
        format!("PATH:{}\r\n", target.display()).as_bytes(),
    );
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    assert_eq!(located.file.as_ref().unwrap().path, target);
    assert!(located.file.unwrap().origin.contains("file.ptr"));

    // A relative PATH is resolved against the current directory (the crate root in tests).
    store_file(dir.path(), "file.ptr", b"PATH:Cargo.toml");
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    let expected = std::env::current_dir().unwrap().join("Cargo.toml");
    assert_eq!(located.file.unwrap().path, expected);

    store_file(dir.path(), "file.ptr", b"MSG:withdrawn by the vendor");
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "withdrawn by the vendor");

    // An absolute path as the platform writes it (std::path::absolute gives a Unix-style
    // path on Windows a drive letter).
    let missing = if cfg!(windows) {
        r"C:\no\such\file.pdb"
    } else {
        "/no/such/file.pdb"
    };
    store_file(dir.path(), "file.ptr", format!("PATH:{missing}").as_bytes());
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, missing);
}

#[test]
fn cache_element_caches_later_directories() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let default_cache = TempDir::new().unwrap();
    write(&dir.path().join(PDB_NAME), &pdb_bytes("copied"));
    let path = format!("cache*{};{}", cache.path().display(), dir.path().display());
    let locator = locator(&path, default_cache.path());
    let first = locator.find(&pdb_key()).file.unwrap();
    let cached = cache.path().join(PDB_NAME).join(PDB_ID).join(PDB_NAME);
    assert_eq!(first.path, cached);
    assert_eq!(fs::read(&cached).unwrap(), pdb_bytes("copied"));
    fs::remove_file(dir.path().join(PDB_NAME)).unwrap();
    let second = locator.find(&pdb_key()).file.unwrap();
    assert_eq!(second.path, cached);
    assert!(second.origin.contains("cache of"), "{}", second.origin);
    assert!(files_under(default_cache.path()).is_empty());
}

#[test]
fn srv_with_a_directory_store_copies_into_its_cache() {
    let store = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(store.path(), PDB_NAME, &pdb_bytes("share"));
    // Flat files are not looked at in a srv* store.
    write(&store.path().join("other.pdb"), &pdb_bytes("flat"));
    let path = format!("srv*{}*{}", cache.path().display(), store.path().display());
    let locator = locator(&path, cache.path());
    let file = locator.find(&pdb_key()).file.unwrap();
    assert!(file.path.starts_with(cache.path()));
    assert_eq!(fs::read(&file.path).unwrap(), pdb_bytes("share"));
    assert!(locator
        .find(&FileKey::new("other.pdb", PDB_ID))
        .file
        .is_none());
}

#[test]
fn first_element_that_has_the_file_wins() {
    let first = TempDir::new().unwrap();
    let second = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    write(&second.path().join(PDB_NAME), &pdb_bytes("second"));
    let locator = dirs_locator(&[first.path(), second.path()], cache.path());
    assert_eq!(found_bytes(&locator.find(&pdb_key())), pdb_bytes("second"));
    write(&first.path().join(PDB_NAME), &pdb_bytes("first"));
    assert_eq!(found_bytes(&locator.find(&pdb_key())), pdb_bytes("first"));
}

// ---------------------------------------------------------------------------------------------
// Hostile names and ids

#[test]
fn hostile_names_and_ids_are_rejected() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let server = TestServer::start(dir.path(), |_| None);
    // A file a traversal would reach, to prove nothing is found through one.
    write(&dir.path().join("secret.pdb"), &pdb_bytes("secret"));
    let inner = dir.path().join("inner");
    fs::create_dir(&inner).unwrap();
    let path = format!(
        "{};srv*{}*{}",
        inner.display(),
        cache.path().display(),
        server.url()
    );
    let locator = locator(&path, cache.path());
    let long = "a".repeat(252) + ".pdb";
    let names = [
        "../secret.pdb",
        "..",
        ".",
        "..\\secret.pdb",
        "sub/leakylib.pdb",
        "sub\\leakylib.pdb",
        "/etc/passwd",
        "C:leakylib.pdb",
        "C:\\leakylib.pdb",
        "\\\\server\\share\\leakylib.pdb",
        "leaky\0lib.pdb",
        "leaky\nlib.pdb",
        "leaky\u{7f}lib.pdb",
        "CON",
        "con.pdb",
        "PRN.dll",
        "aux",
        "NUL.sym",
        "COM1.pdb",
        "com9",
        "LPT1.pdb",
        "lpt9.dll",
        "",
        long.as_str(),
        "leaky*.pdb",
        "leakylib.pdb:stream",
    ];
    for name in names {
        let located = locator.find(&FileKey::new(name, PDB_ID));
        assert!(located.file.is_none(), "{name:?}");
        assert!(
            has_note(&located, "not looking for symbol file"),
            "{name:?}: {:?}",
            located.notes
        );
    }
    let ids = [
        "", "..", "../..", "ABC/DEF", "ABC\\DEF", "C:", "ABC\0", "ABC\n", "CON", "LPT1", "ABC DEF",
        "ABC.DEF",
    ];
    for id in ids {
        let located = locator.find(&FileKey::new(PDB_NAME, id));
        assert!(located.file.is_none(), "{id:?}");
        assert!(has_note(&located, "bad id"), "{id:?}: {:?}", located.notes);
    }
    let long_id = "A".repeat(256);
    assert_note(
        &locator.find(&FileKey::new(PDB_NAME, long_id)),
        "at most 255",
    );
    assert_eq!(server.requests(), 0);
    assert!(files_under(cache.path()).is_empty());
    // Names that merely look unusual are fine.
    let located = locator.find(&FileKey::new("CONsole.pdb", PDB_ID));
    assert!(!has_note(&located, "not looking"), "{:?}", located.notes);
    let exactly_255 = "b".repeat(251) + ".pdb";
    let located = locator.find(&FileKey::new(exactly_255, PDB_ID));
    assert!(!has_note(&located, "not looking"), "{:?}", located.notes);
}

// ---------------------------------------------------------------------------------------------
// HTTP symbol server on 127.0.0.1

fn redirect(location: &str) -> ResponseBox {
    Response::empty(302)
        .with_header(Header::from_bytes("Location", location).unwrap())
        .boxed()
}

fn server_locator(server: &TestServer, cache: &Path) -> Locator {
    locator(&format!("srv*{}*{}", cache.display(), server.url()), cache)
}

/// A locator for `srv*URL` alone: downloads go to `options.cache_dir`.
fn server_locator_with(server: &TestServer, options: LocatorOptions) -> Locator {
    let path = SymbolPath::parse(&format!("srv*{}", server.url())).unwrap();
    Locator::new(path, options)
}

#[test]
fn download_then_cache() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, &pdb_bytes("served"));
    let server = TestServer::start(root.path(), |_| None);
    let locator = server_locator(&server, cache.path());

    let first = locator.find(&pdb_key());
    assert_eq!(found_bytes(&first), pdb_bytes("served"));
    let file = first.file.unwrap();
    let cached = cache.path().join(PDB_NAME).join(PDB_ID).join(PDB_NAME);
    assert_eq!(file.path, cached);
    assert_eq!(file.origin, format!("{} (downloaded)", server.url()));
    assert_eq!(
        server.request_paths(),
        vec![format!("/symbols/{PDB_NAME}/{PDB_ID}/{PDB_NAME}")]
    );
    // Only the file: no temporary left beside it.
    assert_eq!(files_under(cache.path()), vec![cached.clone()]);

    let second = locator.find(&pdb_key());
    assert_eq!(second.file.unwrap().path, cached);
    assert_eq!(server.requests(), 1);

    // Another locator (another run) finds it in the cache too.
    let again = server_locator(&server, cache.path()).find(&pdb_key());
    assert!(again.file.unwrap().origin.contains("cache of"));
    assert_eq!(server.requests(), 1);
}

#[test]
fn srv_without_cache_uses_preceding_cache_element_then_default() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let default_cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, &pdb_bytes("served"));
    let server = TestServer::start(root.path(), |_| None);

    let path = format!("cache*{};srv*{}", cache.path().display(), server.url());
    let file = locator(&path, default_cache.path())
        .find(&pdb_key())
        .file
        .unwrap();
    assert!(file.path.starts_with(cache.path()));

    let file = locator(&format!("srv*{}", server.url()), default_cache.path())
        .find(&pdb_key())
        .file
        .unwrap();
    assert!(file.path.starts_with(default_cache.path()));
}

#[test]
fn compressed_download() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let original = pdb_bytes("compressed download");
    store_file(
        root.path(),
        "leakylib.pd_",
        &cab_bytes(&[(PDB_NAME, &original)]),
    );
    let server = TestServer::start(root.path(), |_| None);
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert_eq!(found_bytes(&located), original);
    assert_eq!(
        server.request_paths(),
        vec![
            format!("/symbols/{PDB_NAME}/{PDB_ID}/{PDB_NAME}"),
            format!("/symbols/{PDB_NAME}/{PDB_ID}/leakylib.pd_"),
        ]
    );
    let cached = cache.path().join(PDB_NAME).join(PDB_ID).join(PDB_NAME);
    assert_eq!(files_under(cache.path()), vec![cached]);
}

#[test]
fn file_ptr_from_server() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let target = elsewhere.path().join("real.pdb");
    write(&target, &pdb_bytes("pointed"));
    store_file(
        root.path(),
        "file.ptr",
        format!("PATH:{}", target.display()).as_bytes(),
    );
    let server = TestServer::start(root.path(), |_| None);
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert_eq!(located.file.unwrap().path, target);
    assert_eq!(server.requests(), 3);

    store_file(root.path(), "file.ptr", b"MSG:not public");
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "not public");

    // A pointer to something that is not a symbol file is refused.
    let not_symbols = elsewhere.path().join("passwd");
    write(&not_symbols, b"root:x:0:0");
    store_file(
        root.path(),
        "file.ptr",
        format!("PATH:{}", not_symbols.display()).as_bytes(),
    );
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "not a PDB");
}

#[test]
fn not_found_is_remembered() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let server = TestServer::start(root.path(), |_| None);
    let locator = server_locator(&server, cache.path());
    let located = locator.find(&pdb_key());
    assert!(located.file.is_none());
    assert!(located.notes.is_empty(), "{:?}", located.notes);
    assert_eq!(server.requests(), 3); // name, name_, file.ptr
    assert!(locator.find(&pdb_key()).file.is_none());
    assert_eq!(server.requests(), 3);
    // Another key is still asked for.
    locator.find(&FileKey::new("other.pdb", PDB_ID));
    assert_eq!(server.requests(), 6);
    assert!(files_under(cache.path()).is_empty());
    assert_eq!(fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn garbage_is_not_cached() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, b"<html><body>Sign in</body></html>");
    let server = TestServer::start(root.path(), |_| None);
    let locator = server_locator(&server, cache.path());
    let located = locator.find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "not a PDB");
    assert_note(&located, &server.url());
    assert!(files_under(cache.path()).is_empty());
    // Not downloaded again.
    locator.find(&pdb_key());
    assert_eq!(server.requests(), 1);
}

#[test]
fn garbage_inside_a_cab_is_not_cached() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(
        root.path(),
        "leakylib.pd_",
        &cab_bytes(&[(PDB_NAME, b"#!/bin/sh\nrm -rf /\n")]),
    );
    let server = TestServer::start(root.path(), |_| None);
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "not a PDB");
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn server_errors_are_notes() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let server = TestServer::start(root.path(), |_| Some(Response::empty(503).boxed()));
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "server error 503");
    assert_eq!(located.notes.len(), 1, "{:?}", located.notes);
    assert_eq!(server.requests(), 1);
}

#[test]
fn server_down_is_a_note() {
    let cache = TempDir::new().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/symbols");
    let locator = locator(
        &format!("srv*{}*{url}", cache.path().display()),
        cache.path(),
    );
    let located = locator.find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "could not be reached");
    assert_note(&located, &url);
    // Not tried again for the next file.
    let located = locator.find(&FileKey::new("other.pdb", PDB_ID));
    assert_note(&located, "could not be reached earlier");
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn slow_server_times_out() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let server = TestServer::start(root.path(), |_| {
        std::thread::sleep(Duration::from_millis(600));
        None
    });
    let mut options = options(cache.path());
    options.timeout = Duration::from_millis(150);
    let located = server_locator_with(&server, options).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, &server.url());
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn size_cap() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let mut big = pdb_bytes("big");
    big.resize(4096, 0);
    store_file(root.path(), PDB_NAME, &big);
    let chunked = big.clone();
    let server = TestServer::start(root.path(), move |url| {
        // other.pdb: the same body without a Content-Length (chunked).
        url.ends_with("/other.pdb").then(|| {
            Response::new(200.into(), vec![], Cursor::new(chunked.clone()), None, None).boxed()
        })
    });
    let mut options = options(cache.path());
    options.max_download_bytes = 1000;
    let locator = server_locator_with(&server, options);

    let located = locator.find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "4096 bytes, over the 1000-byte");
    let located = locator.find(&FileKey::new("other.pdb", PDB_ID));
    assert!(located.file.is_none());
    assert_note(&located, "1000-byte download limit");
    assert!(files_under(cache.path()).is_empty());
}

#[test]
fn offline_contacts_no_server() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, &pdb_bytes("served"));
    let server = TestServer::start(root.path(), |_| None);
    let mut options = options(cache.path());
    options.offline = true;
    let path = format!("srv*{}*{}", cache.path().display(), server.url());
    let locator = Locator::new(SymbolPath::parse(&path).unwrap(), options);
    let located = locator.find(&pdb_key());
    assert!(located.file.is_none());
    assert_eq!(located.notes.len(), 1, "{:?}", located.notes);
    assert!(located.notes[0].contains("offline"));
    assert!(located.notes[0].contains(&server.url()));
    assert_eq!(server.requests(), 0);

    // The cache is still used offline.
    store_file(cache.path(), PDB_NAME, &pdb_bytes("cached"));
    let located = locator.find(&pdb_key());
    assert_eq!(found_bytes(&located), pdb_bytes("cached"));
    assert!(located.notes.is_empty());
    assert_eq!(server.requests(), 0);
}

#[test]
fn redirects() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    write(
        &root.path().join("blobs").join("a"),
        &pdb_bytes("redirected"),
    );
    let server = TestServer::start(root.path(), |url| {
        let name = url.rsplit('/').next().unwrap_or("");
        match name {
            "leakylib.pdb" => Some(redirect("/symbols/blobs/a")),
            "file.pdb" => Some(redirect("file:///etc/passwd")),
            "ftp.pdb" => Some(redirect("ftp://127.0.0.1/ftp.pdb")),
            "loop.pdb" => Some(redirect(url)),
            _ => None,
        }
    });
    let locator = server_locator(&server, cache.path());
    let located = locator.find(&pdb_key());
    assert_eq!(found_bytes(&located), pdb_bytes("redirected"));

    for (name, needle) in [
        ("file.pdb", "file:///etc/passwd\" refused"),
        ("ftp.pdb", "ftp://127.0.0.1/ftp.pdb\" refused"),
        ("loop.pdb", "more than 5 redirects"),
    ] {
        let before = server.requests();
        let located = locator.find(&FileKey::new(name, PDB_ID));
        assert!(located.file.is_none(), "{name}");
        assert!(has_note(&located, needle), "{name}: {:?}", located.notes);
        let asked = server.requests() - before;
        assert!(asked <= 6, "{name}: {asked} requests");
    }
    assert_eq!(
        files_under(cache.path()),
        vec![cache.path().join(PDB_NAME).join(PDB_ID).join(PDB_NAME)]
    );
}

#[test]
fn concurrent_finds_share_one_file() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, &pdb_bytes("shared"));
    let server = TestServer::start(root.path(), |_| None);
    let locator = Arc::new(server_locator(&server, cache.path()));
    let served = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let locator = Arc::clone(&locator);
            let served = Arc::clone(&served);
            std::thread::spawn(move || {
                let located = locator.find(&pdb_key());
                assert_eq!(found_bytes(&located), pdb_bytes("shared"));
                served.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(served.load(Ordering::SeqCst), 4);
    assert_eq!(files_under(cache.path()).len(), 1);
}
