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
/// The identity of testdata/pdb/leakylib.pdb.
const PDB_ID: &str = "4F5704A7F90205594C4C44205044422E1";

fn pdb_key() -> FileKey {
    FileKey::new(PDB_NAME, PDB_ID)
}

/// The real PDB (testdata/pdb), of [`PDB_ID`]: what a download, an expansion or a copy into
/// the cache must be to be kept.
fn real_pdb() -> Vec<u8> {
    crate::common::fixture("pdb/leakylib.pdb")
}

/// A small file that starts like a PDB, different for each `tag`: enough for lookups in local
/// directories, which use files where they are.
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
        download_deadline: Duration::from_secs(30),
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
    let original = real_pdb();
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

/// A cabinet's member may be named otherwise than the file asked for: its identity decides
/// (a `crash.pd_` made from `crash_v2.pdb`), the name does not.
#[test]
fn compressed_file_of_another_member_name_is_accepted_when_its_identity_matches() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let cab = cab_bytes(&[("leakylib_v2.pdb", &real_pdb())]);
    store_file(dir.path(), "leakylib.pd_", &cab);
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    assert_eq!(found_bytes(&located), real_pdb());
    let cached = cache.path().join(PDB_NAME).join(PDB_ID).join(PDB_NAME);
    assert_eq!(located.file.unwrap().path, cached);
}

/// A cabinet stored under the plain name (`leakylib.pdb` that is a CAB) is expanded, in a
/// directory and in a cache alike.
#[test]
fn compressed_file_under_the_plain_name_is_expanded() {
    let dir = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let cab = cab_bytes(&[(PDB_NAME, &real_pdb())]);
    write(&dir.path().join(PDB_NAME), &cab);
    let located = dirs_locator(&[dir.path()], cache.path()).find(&pdb_key());
    assert_eq!(found_bytes(&located), real_pdb());
    let file = located.file.unwrap();
    assert!(file.path.starts_with(cache.path()), "{:?}", file.path);
    assert!(file.origin.contains("flat, compressed"), "{}", file.origin);

    // A cache whose own entry is the cabinet: the expanded file replaces it.
    let cache = TempDir::new().unwrap();
    let entry = store_file(cache.path(), PDB_NAME, &cab);
    let path = format!("srv*{}*http://127.0.0.1:9/symbols", cache.path().display());
    let mut offline = options(cache.path());
    offline.offline = true;
    let located = Locator::new(SymbolPath::parse(&path).unwrap(), offline).find(&pdb_key());
    assert_eq!(found_bytes(&located), real_pdb());
    assert_eq!(located.file.unwrap().path, entry);
    assert_eq!(fs::read(&entry).unwrap(), real_pdb());
    assert_eq!(files_under(cache.path()), vec![entry]);
}

#[test]
fn compressed_file_must_expand_to_the_file_asked_for() {
    for (label, cab) in [
        ("other name", cab_bytes(&[("other.pdb", &pdb_bytes("x"))])),
        (
            "other name, real PDB of another identity",
            cab_bytes(&[(
                "unwindlib.pdb",
                &crate::common::fixture("pdb/x86/unwindlib.pdb"),
            )]),
        ),
        (
            "two files, none of them named",
            cab_bytes(&[("a.pdb", &real_pdb()), ("b.pdb", &real_pdb())]),
        ),
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
    write(&dir.path().join(PDB_NAME), &real_pdb());
    let path = format!("cache*{};{}", cache.path().display(), dir.path().display());
    let locator = locator(&path, default_cache.path());
    let first = locator.find(&pdb_key()).file.unwrap();
    let cached = cache.path().join(PDB_NAME).join(PDB_ID).join(PDB_NAME);
    assert_eq!(first.path, cached);
    assert_eq!(fs::read(&cached).unwrap(), real_pdb());
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
    store_file(store.path(), PDB_NAME, &real_pdb());
    // Flat files are not looked at in a srv* store.
    write(&store.path().join("other.pdb"), &pdb_bytes("flat"));
    let path = format!("srv*{}*{}", cache.path().display(), store.path().display());
    let locator = locator(&path, cache.path());
    let file = locator.find(&pdb_key()).file.unwrap();
    assert!(file.path.starts_with(cache.path()));
    assert_eq!(fs::read(&file.path).unwrap(), real_pdb());
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
    store_file(root.path(), PDB_NAME, &real_pdb());
    let server = TestServer::start(root.path(), |_| None);
    let locator = server_locator(&server, cache.path());

    let first = locator.find(&pdb_key());
    assert_eq!(found_bytes(&first), real_pdb());
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
    store_file(root.path(), PDB_NAME, &real_pdb());
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
    let original = real_pdb();
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

/// A `file.ptr` served by the server at `root`, then the locator's answer.
fn served_pointer(root: &Path, server: &TestServer, cache: &Path, text: &[u8]) -> Located {
    store_file(root, "file.ptr", text);
    server_locator(server, cache).find(&pdb_key())
}

#[test]
fn file_ptr_paths_from_a_server_are_never_followed() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let server = TestServer::start(root.path(), |_| None);
    // A real symbol file, and a file that must never be quoted.
    let target = elsewhere.path().join("real.pdb");
    write(&target, &real_pdb());
    let secret = elsewhere.path().join("passwd");
    write(&secret, b"root:x:0:0:secret-hash:/root:/bin/sh\n");
    for pointed in [&target, &secret] {
        let text = format!("PATH:{}", pointed.display());
        let located = served_pointer(root.path(), &server, cache.path(), text.as_bytes());
        assert!(located.file.is_none(), "{pointed:?} followed");
        assert_eq!(located.notes.len(), 1, "{:?}", located.notes);
        let note = &located.notes[0];
        assert!(
            note.contains("pointers from symbol servers are not followed"),
            "{note}"
        );
        assert!(
            note.starts_with(&format!("{}/{PDB_NAME}/{PDB_ID}/file.ptr ", server.url())),
            "{note}"
        );
        assert!(!note.contains("root:x"), "{note}");
        assert!(!note.contains(&pointed.display().to_string()), "{note}");
    }
    assert!(files_under(cache.path()).is_empty());

    let located = served_pointer(root.path(), &server, cache.path(), b"MSG:not public");
    assert!(located.file.is_none());
    assert_note(&located, "file.ptr says: not public");

    // The message is shown without its control characters, and only its start.
    let hostile = format!(
        "MSG:\x1b]52;c;QUJD\x07\x1b[2J\rgone\u{202e}{}",
        "x".repeat(3000)
    );
    let located = served_pointer(root.path(), &server, cache.path(), hostile.as_bytes());
    let note = &located.notes[0];
    assert!(
        !note.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{note:?}"
    );
    assert!(
        note.contains("says: \\x1b]52;c;QUJD\\x07\\x1b[2J\\rgone\\u{202e}xxx"),
        "{note}"
    );
    assert!(note.len() < 400, "{} bytes", note.len());
}

/// Runs `find` on another thread; fails when it takes longer than 20 s (a blocked open).
fn find_within_20s(locator: &Arc<Locator>, key: FileKey) -> Located {
    let (sender, receiver) = std::sync::mpsc::channel();
    let locator = Arc::clone(locator);
    std::thread::spawn(move || sender.send(locator.find(&key)));
    receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the lookup hung")
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn file_ptr_to_a_fifo_or_device_never_blocks() {
    let elsewhere = TempDir::new().unwrap();
    let fifo = elsewhere.path().join("fifo");
    mkfifo(&fifo);
    // From a server: not followed at all.
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(
        root.path(),
        "file.ptr",
        format!("PATH:{}", fifo.display()).as_bytes(),
    );
    let server = TestServer::start(root.path(), |_| None);
    let located = find_within_20s(&Arc::new(server_locator(&server, cache.path())), pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "not followed");
    // From a local store: only to a regular file.
    for target in [fifo.as_path(), Path::new("/dev/zero"), elsewhere.path()] {
        let store = TempDir::new().unwrap();
        store_file(
            store.path(),
            "file.ptr",
            format!("PATH:{}", target.display()).as_bytes(),
        );
        let located = find_within_20s(
            &Arc::new(dirs_locator(&[store.path()], cache.path())),
            pdb_key(),
        );
        assert!(located.file.is_none(), "{target:?}");
        assert_note(&located, "which is not a regular file");
    }
    // The pointer file itself a FIFO.
    let store = TempDir::new().unwrap();
    let ptr = store.path().join(PDB_NAME).join(PDB_ID).join("file.ptr");
    fs::create_dir_all(ptr.parent().unwrap()).unwrap();
    mkfifo(&ptr);
    let located = find_within_20s(
        &Arc::new(dirs_locator(&[store.path()], cache.path())),
        pdb_key(),
    );
    assert!(located.file.is_none());
    assert_note(&located, "not a regular file");
}

#[test]
fn file_ptr_in_a_local_store_is_followed_only_to_a_file_within_the_size_cap() {
    let store = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let target = elsewhere.path().join("big.pdb");
    let mut big = pdb_bytes("big");
    big.resize(4096, 0);
    write(&target, &big);
    store_file(
        store.path(),
        "file.ptr",
        format!("PATH:{}", target.display()).as_bytes(),
    );
    let mut options = options(cache.path());
    options.max_download_bytes = 1000;
    let path = SymbolPath::from_dirs(&[store.path().to_path_buf()]);
    let located = Locator::new(path.clone(), options.clone()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "4096 bytes, over the 1000-byte limit");
    options.max_download_bytes = 4096;
    let located = Locator::new(path, options).find(&pdb_key());
    assert_eq!(located.file.unwrap().path, target);
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
    assert_note(&located, "(33 bytes of HTML or XML)");
    assert_note(&located, &server.url());
    assert!(files_under(cache.path()).is_empty());
    // Not downloaded again.
    locator.find(&pdb_key());
    assert_eq!(server.requests(), 1);
}

#[test]
fn notes_never_quote_what_a_server_sent() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, b"AKIAsecretkey=1\n\x1b]0;title\x07");
    let server = TestServer::start(root.path(), |_| None);
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    assert!(located.file.is_none());
    assert_note(&located, "(26 bytes of binary data); discarded");
    for note in &located.notes {
        assert!(!note.contains("AKIA") && !note.contains("title"), "{note}");
    }
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
    // Not tried again for the next file, and said in the same words (a report says it once).
    let first_notes = located.notes.clone();
    let located = locator.find(&FileKey::new("other.pdb", PDB_ID));
    assert_eq!(located.notes, first_notes);
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
    write(&root.path().join("blobs").join("a"), &real_pdb());
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
    assert_eq!(found_bytes(&located), real_pdb());

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
    store_file(root.path(), PDB_NAME, &real_pdb());
    let server = TestServer::start(root.path(), |_| None);
    let locator = Arc::new(server_locator(&server, cache.path()));
    let served = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let locator = Arc::clone(&locator);
            let served = Arc::clone(&served);
            std::thread::spawn(move || {
                let located = locator.find(&pdb_key());
                assert_eq!(found_bytes(&located), real_pdb());
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

// ---------------------------------------------------------------------------------------------
// What becomes a cache entry

#[test]
fn downloads_are_kept_only_when_complete_and_of_the_identity_asked_for() {
    let pdb = real_pdb();
    let dll = crate::common::fixture("pdb/leakylib.dll");
    let other_id = "4F5704A7F90205594C4C44205044422E2";
    let sym = format!("MODULE windows x86_64 {other_id} leakylib.pdb\nPUBLIC 1000 0 f\n");
    // An MSF header for two pages, then junk.
    let mut junk = pdb[..64].to_vec();
    junk[40..44].copy_from_slice(&2u32.to_le_bytes());
    junk.resize(8192, 0xa5);
    let (dll_name, dll_id) = ("leakylib.dll", "A3E750526000");
    let cases = [
        (
            "truncated",
            PDB_NAME,
            PDB_ID,
            pdb[..pdb.len() - 4096].to_vec(),
            "is a truncated PDB (69632 of 73728 bytes)".to_string(),
        ),
        (
            "another PDB",
            PDB_NAME,
            other_id,
            pdb.clone(),
            format!("is the PDB of {PDB_ID}, not of {other_id}"),
        ),
        (
            "junk with a PDB magic",
            PDB_NAME,
            PDB_ID,
            junk,
            "is a damaged PDB (8192 bytes)".to_string(),
        ),
        (
            "an image for a PDB",
            PDB_NAME,
            PDB_ID,
            dll.clone(),
            "is not a PDB (3584 bytes, a pe file)".to_string(),
        ),
        (
            "another Breakpad file",
            "leakylib.sym",
            PDB_ID,
            sym.into_bytes(),
            format!("is the Breakpad file of {other_id}, not of {PDB_ID}"),
        ),
        (
            "a truncated image",
            dll_name,
            dll_id,
            dll[..2048].to_vec(),
            "is a truncated PE image (2048 of 3584 bytes)".to_string(),
        ),
        (
            "another image",
            dll_name,
            "A3E750527000",
            dll.clone(),
            "is the PE image of a3e750526000, not of A3E750527000".to_string(),
        ),
    ];
    for compressed in [false, true] {
        for (label, name, id, bytes, expected) in &cases {
            let root = TempDir::new().unwrap();
            let cache = TempDir::new().unwrap();
            let dir = root.path().join(name).join(id);
            if compressed {
                let cab = cab_bytes(&[(name, bytes)]);
                // `leakylib.pd_`: the last character replaced by `_`.
                write(&dir.join(format!("{}_", &name[..name.len() - 1])), &cab);
            } else {
                write(&dir.join(name), bytes);
            }
            let server = TestServer::start(root.path(), |_| None);
            let located = server_locator(&server, cache.path()).find(&FileKey::new(*name, *id));
            assert!(located.file.is_none(), "{label} (compressed: {compressed})");
            assert!(
                has_note(&located, &format!("{expected}; discarded")),
                "{label} (compressed: {compressed}): {:?}",
                located.notes
            );
            assert!(
                files_under(cache.path()).is_empty(),
                "{label}: {:?}",
                files_under(cache.path())
            );
        }
    }
    // The same files, whole and of the right identity, are kept.
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, &pdb);
    write(
        &root.path().join("leakylib.dll/A3E750526000/leakylib.dll"),
        &dll,
    );
    let server = TestServer::start(root.path(), |_| None);
    let locator = server_locator(&server, cache.path());
    assert_eq!(found_bytes(&locator.find(&pdb_key())), pdb);
    let image = locator.find(&FileKey::new("leakylib.dll", "A3E750526000"));
    assert_eq!(found_bytes(&image), dll);
}

/// A body of `length` bytes sent one byte a second, until `stop` is set.
struct Trickle {
    sent: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::SeqCst) || self.sent == 60 || buf.is_empty() {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_secs(1));
        buf[0] = PDB_MAGIC.get(self.sent).copied().unwrap_or(0);
        self.sent += 1;
        Ok(1)
    }
}

#[test]
fn a_server_that_trickles_is_cut_at_the_download_deadline() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let stop = Arc::clone(&stop);
        TestServer::start(root.path(), move |_| {
            let body = Trickle {
                sent: 0,
                stop: Arc::clone(&stop),
            };
            Some(Response::new(200.into(), vec![], body, Some(60), None).boxed())
        })
    };
    let mut options = options(cache.path());
    // Each byte comes well within the read timeout; only the deadline cuts the download.
    options.timeout = Duration::from_secs(30);
    options.download_deadline = Duration::from_millis(2500);
    let locator = Arc::new(server_locator_with(&server, options));
    let started = std::time::Instant::now();
    let located = find_within_20s(&locator, pdb_key());
    stop.store(true, Ordering::SeqCst);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(located.file.is_none());
    assert_note(
        &located,
        "not done within the 2.5-second download deadline; abandoned",
    );
    assert!(files_under(cache.path()).is_empty());
    assert_note(&located, "too slow, not asked again in this run");
    // Not asked again in this run: a slow server costs one deadline, not one per file.
    let located = locator.find(&FileKey::new("other.pdb", PDB_ID));
    assert_note(&located, "too slow, not asked again in this run");
    assert!(
        !located
            .notes
            .iter()
            .any(|note| note.contains("could not be reached")),
        "{:?}",
        located.notes
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn temporaries_left_by_killed_runs_are_removed_by_the_next_download() {
    let root = TempDir::new().unwrap();
    let cache = TempDir::new().unwrap();
    store_file(root.path(), PDB_NAME, &real_pdb());
    let server = TestServer::start(root.path(), |_| None);
    // A killed run left a partial download an hour and a half ago; another run is downloading.
    let folder = cache.path().join(PDB_NAME).join(PDB_ID);
    write(&folder.join(".download-Xa81kQ"), &real_pdb()[..1000]);
    let ninety_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(5400);
    fs::File::options()
        .write(true)
        .open(folder.join(".download-Xa81kQ"))
        .unwrap()
        .set_modified(ninety_minutes_ago)
        .unwrap();
    write(&folder.join(".download-running"), &real_pdb()[..1000]);
    let located = server_locator(&server, cache.path()).find(&pdb_key());
    let file = located.file.unwrap();
    let mut left = files_under(cache.path());
    left.sort();
    assert_eq!(left, [folder.join(".download-running"), file.path]);
}
