//! Local lookups: a flat directory, a SymSrv store (one or two tiers), compressed files and
//! `file.ptr` pointers.

use super::key::store_folders;
use super::FileKey;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file found in a directory.
#[derive(Debug)]
pub(super) struct StoreHit {
    /// The file (a CAB when `compressed`).
    pub path: PathBuf,
    /// The file is the compressed form (`name_`), to be expanded.
    pub compressed: bool,
    /// Where it was found, for the origin: `flat`, `store`, `two-tier store`, `file.ptr`.
    pub layout: &'static str,
}

/// Largest `file.ptr` read.
const MAX_PTR_BYTES: u64 = 4096;

/// What a `file.ptr` says.
enum Pointer {
    /// `PATH:<path>`.
    Path(PathBuf),
    /// `MSG:<text>`.
    Message(String),
    /// Anything else.
    Unrecognised,
}

/// Parses the text of a `file.ptr`.
fn parse_pointer(text: &str) -> Pointer {
    let text = text.trim();
    if let Some(path) = text.strip_prefix("PATH:") {
        let path = path.trim();
        if !path.is_empty() {
            return Pointer::Path(PathBuf::from(path));
        }
    }
    match text.strip_prefix("MSG:") {
        Some(message) => Pointer::Message(message.trim().to_string()),
        None => Pointer::Unrecognised,
    }
}

/// Reads at most [`MAX_PTR_BYTES`] of the pointer file at `ptr`: only a regular file (a FIFO
/// or a device would block or never end).
fn read_pointer(ptr: &Path) -> std::io::Result<Pointer> {
    let file = open_regular(ptr)?;
    let mut bytes = Vec::new();
    file.take(MAX_PTR_BYTES).read_to_end(&mut bytes)?;
    Ok(parse_pointer(&String::from_utf8_lossy(&bytes)))
}

/// Opens `path` when it is a regular file, checked before opening (opening a FIFO blocks) and
/// again on the open file.
fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    let not_regular = || std::io::Error::other("not a regular file");
    if !fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Characters that reorder the text around them (the Unicode bidi marks, embeddings,
/// overrides and isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Longest `MSG:` text shown, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// A store's message as it may be shown: control, C1 and bidi-override characters escaped
/// (`\x1b`, `\u{202e}`), at most [`MAX_MESSAGE_CHARS`] characters.
fn shown_message(message: &str) -> String {
    let mut shown = String::new();
    for (index, c) in message.chars().enumerate() {
        if index == MAX_MESSAGE_CHARS {
            shown.push('…');
            break;
        }
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            c if c.is_ascii_control() => shown.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if c.is_control() || is_bidi_control(c) => {
                shown.push_str(&format!("\\u{{{:x}}}", u32::from(c)))
            }
            c => shown.push(c),
        }
    }
    shown
}

/// The compressed form of a file name: its last character replaced by `_`.
pub(super) fn compressed_name(name: &str) -> String {
    let mut compressed = name.to_string();
    compressed.pop();
    compressed.push('_');
    compressed
}

/// Looks for `key` in `dir`: flat first (when `flat`), then the two-tier layout (when
/// `index2.txt` is present), then the one-tier store layout. `file.ptr` messages and broken
/// pointers become notes; a pointer is followed only to a regular file of at most
/// `max_bytes`.
pub(super) fn lookup(
    dir: &Path,
    key: &FileKey,
    flat: bool,
    max_bytes: u64,
    notes: &mut Vec<String>,
) -> Option<StoreHit> {
    let names = variants(&key.name, false);
    if flat {
        if let Some(hit) = in_folder(dir, &names, "flat") {
            return Some(hit);
        }
    }
    let folders: Vec<String> = store_folders(&key.name)
        .iter()
        .flat_map(|folder| variants(folder, false))
        .collect();
    let store = Store {
        names: &names,
        folders: &folders,
        max_bytes,
    };
    if dir.join("index2.txt").is_file() {
        let prefixes: Vec<String> = folders
            .iter()
            .map(|n| n.chars().take(2).collect())
            .collect();
        for tier in existing_dirs(dir, &prefixes) {
            if let Some(hit) = store.search(&tier, key, "two-tier store", notes) {
                return Some(hit);
            }
        }
    }
    store.search(dir, key, "store", notes)
}

/// The names a store lookup tries.
struct Store<'a> {
    /// Case variants of the file name.
    names: &'a [String],
    /// Case variants of the folders it may be kept under ([`store_folders`]).
    folders: &'a [String],
    max_bytes: u64,
}

impl Store<'_> {
    /// `root/folder/ID/{name, name_, file.ptr}`.
    fn search(
        &self,
        root: &Path,
        key: &FileKey,
        layout: &'static str,
        notes: &mut Vec<String>,
    ) -> Option<StoreHit> {
        in_store(
            root,
            key,
            self.folders,
            self.names,
            layout,
            self.max_bytes,
            notes,
        )
    }
}

/// `root/folder/ID/{name, name_, file.ptr}`.
fn in_store(
    root: &Path,
    key: &FileKey,
    folders: &[String],
    names: &[String],
    layout: &'static str,
    max_bytes: u64,
    notes: &mut Vec<String>,
) -> Option<StoreHit> {
    let ids = variants(&key.id, true);
    for name_dir in existing_dirs(root, folders) {
        for id_dir in existing_dirs(&name_dir, &ids) {
            if let Some(hit) = in_folder(&id_dir, names, layout) {
                return Some(hit);
            }
            let ptr = id_dir.join("file.ptr");
            if ptr.exists() {
                return follow_pointer(&ptr, max_bytes, notes);
            }
        }
    }
    None
}

/// `dir/name` or `dir/name_`, in any of the case variants.
fn in_folder(dir: &Path, names: &[String], layout: &'static str) -> Option<StoreHit> {
    let plain = names.iter().map(|name| (dir.join(name), false));
    let compressed = names
        .iter()
        .map(|name| (dir.join(compressed_name(name)), true));
    plain
        .chain(compressed)
        .find(|(path, _)| path.is_file())
        .map(|(path, compressed)| StoreHit {
            // A cabinet under the plain name is expanded like `name_`.
            compressed: compressed || super::cab::is_cabinet(&path),
            path,
            layout,
        })
}

/// A `file.ptr` in a local store: `PATH:` may name a regular file of at most `max_bytes`
/// (any local or UNC path: the store's owner wrote it).
fn follow_pointer(ptr: &Path, max_bytes: u64, notes: &mut Vec<String>) -> Option<StoreHit> {
    let shown = ptr.display();
    let found = pointer_target(ptr, &shown.to_string()).and_then(|target| {
        let refused = |why: String| format!("{shown} points to {}, {why}", target.display());
        match fs::metadata(&target) {
            Ok(meta) if !meta.is_file() => Err(refused("which is not a regular file".into())),
            Ok(meta) if meta.len() > max_bytes => Err(refused(format!(
                "{} bytes, over the {max_bytes}-byte limit",
                meta.len()
            ))),
            Ok(_) => Ok(target),
            Err(error) => Err(refused(format!("which cannot be read: {error}"))),
        }
    });
    let path = found.map_err(|note| notes.push(note)).ok()?;
    Some(StoreHit {
        path,
        compressed: false,
        layout: "file.ptr",
    })
}

/// The absolute path the `PATH:` of the `file.ptr` at `ptr` names; otherwise a note that
/// calls the pointer `what` and says why there is none (`MSG:`, unreadable, not a pointer).
fn pointer_target(ptr: &Path, what: &str) -> Result<PathBuf, String> {
    match read_pointer(ptr).map_err(|error| format!("cannot read {what}: {error}"))? {
        Pointer::Path(target) => Ok(std::path::absolute(&target).unwrap_or(target)),
        other => Err(pointer_note(other, what)),
    }
}

/// The note for a `file.ptr` a symbol server sent (`what` names it): its message, sanitised.
/// A `PATH:` from a server is never followed: it could name any file on this machine, a
/// device, or a share that would be sent this user's credentials.
#[cfg(feature = "http")]
pub(super) fn server_pointer_note(ptr: &Path, what: &str) -> String {
    match read_pointer(ptr) {
        Ok(Pointer::Path(_)) => {
            format!("{what} points to a path; pointers from symbol servers are not followed")
        }
        Ok(other) => pointer_note(other, what),
        Err(error) => format!("cannot read {what}: {error}"),
    }
}

/// The note for a pointer that names no file.
fn pointer_note(pointer: Pointer, what: &str) -> String {
    match pointer {
        Pointer::Message(message) => format!("{what} says: {}", shown_message(&message)),
        Pointer::Path(_) | Pointer::Unrecognised => {
            format!("{what} is not a symbol store pointer (expected PATH:… or MSG:…)")
        }
    }
}

/// Subdirectories of `dir` named by one of `names`, without duplicates (on a case-insensitive
/// file system all variants name one directory).
fn existing_dirs(dir: &Path, names: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for name in names {
        let path = dir.join(name);
        if path.is_dir() && !found.iter().any(|seen| same_dir(seen, &path)) {
            found.push(path);
        }
    }
    found
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `text` as given, then lowercase (names only), then uppercase, without duplicates: cheap
/// case-insensitive matching on case-sensitive file systems.
fn variants(text: &str, id: bool) -> Vec<String> {
    let mut all = vec![text.to_string()];
    if !id {
        all.push(text.to_lowercase());
    }
    all.push(text.to_uppercase());
    let mut unique: Vec<String> = Vec::new();
    for variant in all {
        if !unique.contains(&variant) {
            unique.push(variant);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_parsed() {
        match parse_pointer("  PATH: \\\\share\\syms\\a.pdb \r\n") {
            Pointer::Path(path) => assert_eq!(path, PathBuf::from("\\\\share\\syms\\a.pdb")),
            _ => panic!("PATH: not recognised"),
        }
        match parse_pointer("MSG: withdrawn ") {
            Pointer::Message(message) => assert_eq!(message, "withdrawn"),
            _ => panic!("MSG: not recognised"),
        }
        assert!(matches!(parse_pointer("PATH:"), Pointer::Unrecognised));
        assert!(matches!(parse_pointer("<html>"), Pointer::Unrecognised));
    }

    #[test]
    fn pointer_notes_name_the_pointer() {
        let dir = tempfile::TempDir::new().unwrap();
        let ptr = dir.path().join("file.ptr");
        fs::write(&ptr, "MSG: gone").unwrap();
        assert_eq!(pointer_target(&ptr, "it").unwrap_err(), "it says: gone");
        fs::write(&ptr, "junk").unwrap();
        assert_eq!(
            pointer_target(&ptr, "it").unwrap_err(),
            "it is not a symbol store pointer (expected PATH:… or MSG:…)"
        );
        let missing = dir.path().join("missing.ptr");
        assert!(pointer_target(&missing, "it")
            .unwrap_err()
            .starts_with("cannot read it: "));
    }

    #[test]
    fn messages_are_shown_sanitised_and_capped() {
        assert_eq!(
            shown_message("gone\x1b]52;c;QUJD\x07 \u{202e}exe.txt\r\nPATH:/x\u{85}"),
            "gone\\x1b]52;c;QUJD\\x07 \\u{202e}exe.txt\\r\\nPATH:/x\\u{85}"
        );
        let long = shown_message(&"é".repeat(5000));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(long.ends_with("é…"));
    }

    #[test]
    fn compressed_names_and_case_variants() {
        assert_eq!(compressed_name("leakylib.pdb"), "leakylib.pd_");
        assert_eq!(
            variants("Ntdll.pdb", false),
            ["Ntdll.pdb", "ntdll.pdb", "NTDLL.PDB"]
        );
        assert_eq!(variants("3f1aB1", true), ["3f1aB1", "3F1AB1"]);
        assert_eq!(variants("ABC1", true), ["ABC1"]);
    }
}
