//! Finds a symbol file (a PDB, a Breakpad `.sym` or a PE image) by name and identity along a
//! Windows symbol path, the way SymSrv and WinDbg do, and returns a local, uncompressed file.
//!
//! The path is searched in order. A plain directory is searched flat (`DIR/name`) and as a
//! symbol store (`DIR/name/ID/name`, with a first tier `DIR/na/…` when `index2.txt` is
//! present); in a store the file may also be compressed (`name_`, a CAB) or a `file.ptr`. An
//! HTTP(S) server is asked for the same paths after its cache; downloads land in the cache in
//! store layout. Names and ids come from dumps and are checked before they touch a path.
//!
//! ```no_run
//! use dumpleak::symbols::locate::{FileKey, Locator, LocatorOptions, SymbolPath};
//!
//! let path = SymbolPath::parse(r"srv*C:\symcache*https://msdl.microsoft.com/download/symbols")?;
//! let locator = Locator::new(path, LocatorOptions::default());
//! let found = locator.find(&FileKey::new("ntdll.pdb", "1EB9FACB04EA273BB4BA52C8D1A4C2EE1"));
//! if let Some(file) = found.file {
//!     println!("{} from {}", file.path.display(), file.origin);
//! }
//! for note in &found.notes {
//!     eprintln!("note: {note}");
//! }
//! # Ok::<(), String>(())
//! ```

mod cab;
mod http;
mod store;
mod symbol_path;

pub use symbol_path::{PathElement, SymbolPath};

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use store::StoreHit;
use tempfile::NamedTempFile;

/// A file to find: its name and its SymSrv identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    /// File name without directories (`leakylib.pdb`, `MSMAPI32.DLL`, `leakylib.sym`).
    pub name: String,
    /// Identity folder name: a PDB's GUID and age (`3F1A…7D1`), an image's TimeDateStamp and
    /// SizeOfImage (`42435B8E4000`); a Breakpad file uses its PDB's.
    pub id: String,
}

impl FileKey {
    /// A key from a name and an id.
    pub fn new(name: impl Into<String>, id: impl Into<String>) -> FileKey {
        FileKey {
            name: name.into(),
            id: id.into(),
        }
    }
}

/// How a [`Locator`] searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatorOptions {
    /// Never contact a symbol server (caches and directories are still searched).
    pub offline: bool,
    /// Download cache for `srv*URL` without a cache of its own (and `cache*`), and where
    /// compressed files from plain directories are expanded.
    pub cache_dir: PathBuf,
    /// Longest wait for a server to connect, answer, or send the next part of a body.
    pub timeout: Duration,
    /// Largest file downloaded or expanded; bigger ones are abandoned and deleted.
    pub max_download_bytes: u64,
}

impl LocatorOptions {
    /// The per-user cache: `<user cache dir>/dumpleak/symbols`, else under the temp dir.
    pub fn default_cache_dir() -> PathBuf {
        dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("dumpleak")
            .join("symbols")
    }
}

impl Default for LocatorOptions {
    /// Online, the default cache, 60 s timeout, 2 GiB cap.
    fn default() -> Self {
        LocatorOptions {
            offline: false,
            cache_dir: LocatorOptions::default_cache_dir(),
            timeout: Duration::from_secs(60),
            max_download_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// What [`Locator::find`] found, and what went wrong on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Located {
    /// The file, when found.
    pub file: Option<LocatedFile>,
    /// Warnings for the report: a server down, garbage served, the size cap, offline, a
    /// rejected name, ….
    pub notes: Vec<String>,
}

/// A local, uncompressed symbol file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Where it came from, for the report: `C:\syms (store)`, `https://host/path
    /// (downloaded)`, `C:\cache (cache of https://host/path)`, ….
    pub origin: String,
}

/// Searches a symbol path. Cheap to call repeatedly and safe to share between threads; it
/// remembers, for its lifetime, files a server does not have and servers that did not answer.
pub struct Locator {
    path: SymbolPath,
    options: LocatorOptions,
    agent: ureq::Agent,
    /// (server URL, name, id) the server did not have or served unusable.
    misses: Mutex<HashSet<(String, String, String)>>,
    /// Servers that could not be reached, with why.
    unreachable: Mutex<Vec<(String, String)>>,
}

impl Locator {
    /// A locator searching `path`.
    pub fn new(path: SymbolPath, options: LocatorOptions) -> Locator {
        Locator {
            agent: http::agent(options.timeout),
            path,
            options,
            misses: Mutex::new(HashSet::new()),
            unreachable: Mutex::new(Vec::new()),
        }
    }

    /// Finds `key` along the path; the first element that has it wins.
    pub fn find(&self, key: &FileKey) -> Located {
        let mut notes = Vec::new();
        if let Err(reason) = check_key(key) {
            notes.push(format!(
                "not looking for symbol file {:?} (id {:?}): {reason}",
                key.name, key.id
            ));
            return Located { file: None, notes };
        }
        let mut active_cache: Option<PathBuf> = None;
        let mut skipped_offline = Vec::new();
        for element in self.path.elements() {
            let found = match element {
                PathElement::Cache(dir) => {
                    active_cache = Some(dir.clone().unwrap_or_else(|| self.default_cache()));
                    continue;
                }
                PathElement::Directory(dir) => {
                    self.in_directory(key, dir, true, active_cache.as_deref(), &mut notes)
                }
                PathElement::Store { cache, path } => {
                    let cache = cache.as_deref().or(active_cache.as_deref());
                    self.in_directory(key, path, false, cache, &mut notes)
                }
                PathElement::Server { cache, url } => {
                    let cache = cache
                        .clone()
                        .or_else(|| active_cache.clone())
                        .unwrap_or_else(|| self.default_cache());
                    if self.options.offline {
                        let found = self.in_cache(key, &cache, url, &mut notes);
                        if found.is_none() {
                            skipped_offline.push(url.as_str());
                        }
                        found
                    } else {
                        self.on_server(key, url, &cache, &mut notes)
                    }
                }
            };
            if found.is_some() {
                return Located { file: found, notes };
            }
        }
        if !skipped_offline.is_empty() {
            notes.push(format!(
                "offline: symbol server {} not asked for {} ({})",
                skipped_offline.join(", "),
                key.name,
                key.id
            ));
        }
        Located { file: None, notes }
    }

    fn default_cache(&self) -> PathBuf {
        self.options.cache_dir.clone()
    }

    /// A plain directory (`flat`) or a store directory; files found are copied into `cache`
    /// when given, and compressed ones expanded there (or into the default cache).
    fn in_directory(
        &self,
        key: &FileKey,
        dir: &Path,
        flat: bool,
        cache: Option<&Path>,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        if let Some(cache) = cache {
            let origin = |_: &str| format!("{} (cache of {})", cache.display(), dir.display());
            if let Some(found) =
                self.search_local(key, cache, false, origin, Keep::Expanded(cache), notes)
            {
                return Some(found);
            }
        }
        let origin = |layout: &str| format!("{} ({layout})", dir.display());
        match cache {
            Some(cache) => self.search_local(key, dir, flat, origin, Keep::Copied(cache), notes),
            None => {
                let cache = self.default_cache();
                self.search_local(key, dir, flat, origin, Keep::Expanded(&cache), notes)
            }
        }
    }

    /// Looks in `dir`; `keep` says which hits go into the cache. `origin` describes a hit from
    /// its layout.
    fn search_local(
        &self,
        key: &FileKey,
        dir: &Path,
        flat: bool,
        origin: impl Fn(&str) -> String,
        keep: Keep,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        let (Keep::Expanded(cache) | Keep::Copied(cache)) = keep;
        let StoreHit {
            path,
            compressed,
            layout,
        } = store::lookup(dir, key, flat, notes)?;
        if compressed {
            let target = self.expand_into_cache(key, &path, cache, notes)?;
            return Some(LocatedFile {
                path: target,
                origin: origin(&format!("{layout}, compressed")),
            });
        }
        let origin = origin(layout);
        if let Keep::Expanded(_) = keep {
            return Some(LocatedFile { path, origin });
        }
        match copy_into_cache(key, &path, cache) {
            Ok(copy) => Some(LocatedFile {
                path: copy,
                origin: format!("{origin}, cached in {}", cache.display()),
            }),
            Err(note) => {
                notes.push(note);
                Some(LocatedFile { path, origin })
            }
        }
    }

    /// Expands the CAB at `cab` (from a directory) into `cache/name/ID/name`.
    fn expand_into_cache(
        &self,
        key: &FileKey,
        cab: &Path,
        cache: &Path,
        notes: &mut Vec<String>,
    ) -> Option<PathBuf> {
        let target = cache_path(cache, key);
        if target.is_file() {
            return Some(target);
        }
        let result = create_parent(&target).and_then(|dir| {
            let expanded = cab::expand(cab, &key.name, &dir, self.options.max_download_bytes)?;
            persist(expanded, &target)
        });
        match result {
            Ok(path) => Some(path),
            Err(note) => {
                notes.push(note);
                remove_empty_dirs(&target, cache);
                None
            }
        }
    }

    fn in_cache(
        &self,
        key: &FileKey,
        cache: &Path,
        url: &str,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        let origin = |_: &str| format!("{} (cache of {url})", cache.display());
        self.search_local(key, cache, false, origin, Keep::Expanded(cache), notes)
    }

    /// The server's cache, then `URL/name/ID/name`, `…/name_` and `…/file.ptr`.
    fn on_server(
        &self,
        key: &FileKey,
        url: &str,
        cache: &Path,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        if let Some(found) = self.in_cache(key, cache, url, notes) {
            return Some(found);
        }
        if let Some(reason) = self.unreachable_reason(url) {
            notes.push(format!(
                "symbol server {url} not asked for {}: it could not be reached earlier ({reason})",
                key.name
            ));
            return None;
        }
        let miss = (
            url.to_string(),
            key.name.to_lowercase(),
            key.id.to_uppercase(),
        );
        if lock(&self.misses).contains(&miss) {
            return None;
        }
        let found = self.download(key, url, cache, notes);
        if found.is_none() {
            lock(&self.misses).insert(miss);
        }
        found
    }

    fn unreachable_reason(&self, url: &str) -> Option<String> {
        lock(&self.unreachable)
            .iter()
            .find(|(server, _)| server == url)
            .map(|(_, reason)| reason.clone())
    }

    fn download(
        &self,
        key: &FileKey,
        url: &str,
        cache: &Path,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        let target = cache_path(cache, key);
        let found = create_parent(&target)
            .map_err(|note| notes.push(note))
            .ok()
            .and_then(|dir| self.try_downloads(key, url, &dir, &target, notes));
        if found.is_none() {
            remove_empty_dirs(&target, cache);
        }
        found.map(|path| LocatedFile {
            path,
            origin: format!("{url} (downloaded)"),
        })
    }

    /// `URL/name/ID/name`, then `…/name_`, then `…/file.ptr`; the first answer other than
    /// "not found" decides.
    fn try_downloads(
        &self,
        key: &FileKey,
        url: &str,
        dir: &Path,
        target: &Path,
        notes: &mut Vec<String>,
    ) -> Option<PathBuf> {
        let base = format!(
            "{url}/{}/{}",
            http::encode_segment(&key.name),
            http::encode_segment(&key.id)
        );
        for name in [key.name.clone(), store::compressed_name(&key.name)] {
            let from = format!("{base}/{}", http::encode_segment(&name));
            if let Some(body) = self.get(&from, dir, url, notes).ok()? {
                return self.store_download(key, body, &from, target, notes);
            }
        }
        let from = format!("{base}/file.ptr");
        let body = self.get(&from, dir, url, notes).ok()??;
        follow_remote_pointer(body.path(), &from, notes)
    }

    /// One GET into a temporary file in `dir`: `Ok(None)` when the server does not have it;
    /// `Err` after a note on any failure (marking the server unreachable when it is).
    fn get(
        &self,
        url: &str,
        dir: &Path,
        server: &str,
        notes: &mut Vec<String>,
    ) -> Result<Option<Body>, ()> {
        match http::fetch(&self.agent, url, dir, self.options.max_download_bytes) {
            http::Fetch::Body(file) => Ok(Some(Body(file))),
            http::Fetch::Missing => Ok(None),
            http::Fetch::Failed { note, unreachable } => {
                if unreachable {
                    lock(&self.unreachable).push((server.to_string(), note.clone()));
                    notes.push(format!(
                        "symbol server {server} could not be reached ({note})"
                    ));
                } else {
                    notes.push(format!("symbol server request {note}"));
                }
                Err(())
            }
        }
    }

    /// Checks a downloaded body and stores it under `target` (expanding a CAB).
    fn store_download(
        &self,
        key: &FileKey,
        body: Body,
        from: &str,
        target: &Path,
        notes: &mut Vec<String>,
    ) -> Option<PathBuf> {
        let result = match sniff(body.path()) {
            Ok(Magic::Cab) => {
                let dir = target.parent().unwrap_or(target);
                cab::expand(body.path(), &key.name, dir, self.options.max_download_bytes).and_then(
                    |expanded| {
                        check_magic(expanded.path(), &format!("{from} expanded"))?;
                        persist(expanded, target)
                    },
                )
            }
            Ok(Magic::Symbols) => persist(body.0, target),
            Ok(Magic::Garbage(start)) => Err(garbage(from, &start)),
            Err(error) => Err(format!("cannot read the download of {from}: {error}")),
        };
        result.map_err(|note| notes.push(note)).ok()
    }
}

/// Which files found in a directory are put into a cache (in store layout).
#[derive(Clone, Copy)]
enum Keep<'a> {
    /// Only compressed files, expanded.
    Expanded(&'a Path),
    /// Every file (`cache*DIR`, `srv*CACHE*STORE`).
    Copied(&'a Path),
}

/// A downloaded body in a temporary file (deleted unless persisted).
struct Body(NamedTempFile);

impl Body {
    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A `file.ptr` from a server: `PATH:` must name a readable symbol file.
fn follow_remote_pointer(ptr: &Path, url: &str, notes: &mut Vec<String>) -> Option<PathBuf> {
    let pointer = match fs::File::open(ptr).and_then(store::read_pointer) {
        Ok(pointer) => pointer,
        Err(error) => {
            notes.push(format!("cannot read {url}: {error}"));
            return None;
        }
    };
    let note = match pointer {
        store::Pointer::Path(target) => {
            let target = std::path::absolute(&target).unwrap_or(target);
            match check_magic(&target, &format!("{} (from {url})", target.display())) {
                Ok(()) => return Some(target),
                Err(note) => note,
            }
        }
        store::Pointer::Message(message) => format!("{url} says: {message}"),
        store::Pointer::Unrecognised => {
            format!("{url} is not a symbol store pointer (expected PATH:… or MSG:…)")
        }
    };
    notes.push(note);
    None
}

/// What a file starts with.
enum Magic {
    /// A cabinet (`MSCF`).
    Cab,
    /// A PDB (MSF 7.00 or 2.00, or a portable PDB), a PE image (`MZ`) or a Breakpad file
    /// (`MODULE `).
    Symbols,
    /// Anything else, with its first bytes.
    Garbage(Vec<u8>),
}

const PDB7_MAGIC: &[u8] = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0";
const PDB2_MAGIC: &[u8] = b"Microsoft C/C++ program database 2.00\r\n\x1aJG\0\0";

fn sniff(path: &Path) -> std::io::Result<Magic> {
    let mut start = Vec::new();
    fs::File::open(path)?.take(64).read_to_end(&mut start)?;
    let symbols = [PDB7_MAGIC, PDB2_MAGIC, b"BSJB", b"MZ", b"MODULE "]
        .iter()
        .any(|magic| start.starts_with(magic));
    Ok(if symbols {
        Magic::Symbols
    } else if start.starts_with(b"MSCF") {
        Magic::Cab
    } else {
        Magic::Garbage(start)
    })
}

/// Ok when `path` is a PDB, PE image or Breakpad file; `what` names it in the note.
fn check_magic(path: &Path, what: &str) -> Result<(), String> {
    match sniff(path) {
        Ok(Magic::Symbols) => Ok(()),
        Ok(Magic::Cab) => Err(garbage(what, b"MSCF")),
        Ok(Magic::Garbage(start)) => Err(garbage(what, &start)),
        Err(error) => Err(format!("cannot read {what}: {error}")),
    }
}

fn garbage(what: &str, start: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(&start[..start.len().min(16)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!(
        "{what} is not a PDB, PE image, CAB or Breakpad file (starts with {shown:?}); discarded"
    )
}

/// `cache/name/ID/name`.
fn cache_path(cache: &Path, key: &FileKey) -> PathBuf {
    cache.join(&key.name).join(&key.id).join(&key.name)
}

fn create_parent(target: &Path) -> Result<PathBuf, String> {
    let dir = target.parent().unwrap_or(Path::new(".")).to_path_buf();
    fs::create_dir_all(&dir)
        .map(|()| dir.clone())
        .map_err(|error| format!("cannot create cache directory {}: {error}", dir.display()))
}

/// Moves a finished temporary file to `target`. When another thread or process got there
/// first (Windows refuses to replace a mapped file), its copy is used.
fn persist(file: NamedTempFile, target: &Path) -> Result<PathBuf, String> {
    match file.persist(target) {
        Ok(_) => Ok(target.to_path_buf()),
        Err(_) if target.is_file() => Ok(target.to_path_buf()),
        Err(error) => Err(format!(
            "cannot write {}: {}",
            target.display(),
            error.error
        )),
    }
}

/// Copies a file found in a directory into the cache's store layout.
fn copy_into_cache(key: &FileKey, source: &Path, cache: &Path) -> Result<PathBuf, String> {
    let target = cache_path(cache, key);
    if target.is_file() {
        return Ok(target);
    }
    let dir = create_parent(&target)?;
    let note = |error: std::io::Error| {
        format!(
            "cannot copy {} into cache {}: {error}",
            source.display(),
            cache.display()
        )
    };
    let mut temp = NamedTempFile::with_prefix_in(".copy-", &dir).map_err(note)?;
    std::io::copy(
        &mut fs::File::open(source).map_err(note)?,
        temp.as_file_mut(),
    )
    .map_err(note)?;
    persist(temp, &target)
}

/// Removes the empty `name/ID` folders a failed download left in `cache`.
fn remove_empty_dirs(target: &Path, cache: &Path) {
    let mut dir = target.parent();
    while let Some(current) = dir.filter(|current| *current != cache && current.starts_with(cache))
    {
        if fs::remove_dir(current).is_err() {
            break;
        }
        dir = current.parent();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Windows device names, reserved with any extension.
const RESERVED_NAMES: [&str; 24] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "CONIN$",
    "CONOUT$",
];

/// Rejects names and ids (from a dump, so hostile) that are not one plain path component.
fn check_key(key: &FileKey) -> Result<(), String> {
    check_component(&key.name).map_err(|reason| format!("bad file name: {reason}"))?;
    check_component(&key.id).map_err(|reason| format!("bad id: {reason}"))?;
    if !key.id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("bad id: not letters and digits".to_string());
    }
    Ok(())
}

fn check_component(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("empty".to_string());
    }
    if text.len() > 255 {
        return Err(format!("{} bytes long (at most 255)", text.len()));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!("control character {c:?}"));
    }
    if let Some(c) = text.chars().find(|c| r#"/\:<>"|?*"#.contains(*c)) {
        return Err(format!(
            "{c:?} is not allowed (path separator, drive or wildcard)"
        ));
    }
    if text.chars().all(|c| c == '.') {
        return Err("dots only (names a directory)".to_string());
    }
    if text.contains("..") {
        return Err("\"..\" could leave the directory".to_string());
    }
    let stem = text.split('.').next().unwrap_or(text).trim_end();
    if RESERVED_NAMES
        .iter()
        .any(|reserved| stem.eq_ignore_ascii_case(reserved))
    {
        return Err(format!("{stem} is a reserved Windows device name"));
    }
    Ok(())
}
