//! Finds a symbol file (a PDB, a Breakpad `.sym` or a PE image) by name and identity along a
//! Windows symbol path, the way SymSrv and WinDbg do, and returns a local, uncompressed file.
//!
//! The path is searched in order. A plain directory is searched flat (`DIR/name`) and as a
//! symbol store (`DIR/name/ID/name`, with a first tier `DIR/na/…` when `index2.txt` is
//! present); in a store the file may also be compressed (`name_`, a CAB) or a `file.ptr`. An
//! HTTP(S) server is asked for the same paths after its cache; downloads land in the cache in
//! store layout. Names and ids come from dumps and are checked before they touch a path. A
//! `file.ptr` is followed only in a local store, and only to a regular file; a server's
//! pointer is at most a message (`MSG:`), shown sanitised.
//!
//! Asking servers needs the `http` feature. Without it a `srv*…*https://…` element still
//! parses and its cache is still searched, but the server is never asked: each file not found
//! gets one note naming the servers skipped ("built without HTTP support").
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
mod cache;
#[cfg(feature = "http")]
mod http;
mod key;
#[cfg(feature = "http")]
mod server;
#[cfg(not(feature = "http"))]
#[path = "no_server.rs"]
mod server;
#[cfg(feature = "http")]
mod sniff;
mod store;
mod symbol_path;
mod verify;

pub use key::{store_id, FileKey, IdSource};
pub use symbol_path::{is_foreign_windows_path, PathElement, SymbolPath};

use server::Servers;
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::StoreHit;

/// Places [`Locator::places`] lists at most.
pub const MAX_PLACES_LISTED: usize = 8;

/// A symbol server and the folder its files are cached in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Server<'a> {
    /// The server's address.
    pub url: &'a str,
    /// Where its files are kept.
    pub cache: &'a Path,
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
    /// Longest time one download may take in all (redirects included), however steadily the
    /// server sends: a server trickling bytes is cut here.
    pub download_deadline: Duration,
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
    /// Online, the default cache, 60 s timeout, 120 s per download, 2 GiB cap.
    fn default() -> Self {
        LocatorOptions {
            offline: false,
            cache_dir: LocatorOptions::default_cache_dir(),
            timeout: Duration::from_secs(60),
            download_deadline: Duration::from_secs(120),
            max_download_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// What [`Locator::find`] found, and what went wrong on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Located {
    /// The file, when found.
    pub file: Option<LocatedFile>,
    /// Warnings for the report: a server down, garbage served, the size cap, offline, a
    /// rejected name, ….
    pub notes: Vec<String>,
}

/// A local, uncompressed symbol file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    servers: Servers,
}

impl Locator {
    /// A locator searching `path`.
    pub fn new(path: SymbolPath, options: LocatorOptions) -> Locator {
        Locator {
            servers: Servers::new(
                options.timeout,
                options.download_deadline,
                options.max_download_bytes,
            ),
            path,
            options,
        }
    }

    /// Finds `key` along the path; the first element that has it wins.
    pub fn find(&self, key: &FileKey) -> Located {
        let mut notes = Vec::new();
        if let Err(reason) = key::check_key(key) {
            notes.push(format!(
                "not looking for symbol file {:?} (id {:?}): {reason}",
                key.name, key.id
            ));
            return Located { file: None, notes };
        }
        let mut active_cache: Option<PathBuf> = None;
        let mut skipped_servers = Vec::new();
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
                    let server = Server { url, cache: &cache };
                    let found = self.at_server(key, server, &mut notes);
                    if found.is_none() && self.servers_skipped().is_some() {
                        skipped_servers.push(url.as_str());
                    }
                    found
                }
            };
            if found.is_some() {
                return Located { file: found, notes };
            }
        }
        if let (false, Some(why)) = (skipped_servers.is_empty(), self.servers_skipped()) {
            // The same words for every file, so that a report says it once.
            notes.push(format!(
                "{why}: symbol server {} not asked",
                skipped_servers.join(", ")
            ));
        }
        Located { file: None, notes }
    }

    /// The places [`Locator::find`] searches, in order, for a note saying where a file was
    /// not found: at most [`MAX_PLACES_LISTED`], then how many more. Each directory is
    /// searched flat and in the SymSrv and Breakpad store layouts, each server after its cache.
    pub fn places(&self) -> Vec<String> {
        let mut places = Vec::new();
        let mut active_cache: Option<PathBuf> = None;
        for element in self.path.elements() {
            match element {
                PathElement::Cache(dir) => {
                    active_cache = Some(dir.clone().unwrap_or_else(|| self.default_cache()));
                    continue;
                }
                PathElement::Directory(dir) | PathElement::Store { path: dir, .. } => {
                    places.push(dir.display().to_string())
                }
                PathElement::Server { cache, url } => {
                    let cache = cache
                        .clone()
                        .or_else(|| active_cache.clone())
                        .unwrap_or_else(|| self.default_cache());
                    let asked = match self.servers_skipped() {
                        Some(why) => format!("not asked: {why}"),
                        None => format!("cache {}", cache.display()),
                    };
                    places.push(format!("{url} ({asked})"));
                }
            }
        }
        if places.len() > MAX_PLACES_LISTED {
            let more = places.len() - MAX_PLACES_LISTED;
            places.truncate(MAX_PLACES_LISTED);
            places.push(format!("{more} more"));
        }
        places
    }

    /// Why symbol servers are not asked at all, when they are not.
    fn servers_skipped(&self) -> Option<&'static str> {
        if self.options.offline {
            Some("offline")
        } else if !server::AVAILABLE {
            Some("built without HTTP support (the `http` feature)")
        } else {
            None
        }
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

    /// A server's cache, then (online) the server, downloading into that cache.
    fn at_server(
        &self,
        key: &FileKey,
        server: Server,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        let cached = self.in_cache(key, server, notes);
        if cached.is_some() || self.servers_skipped().is_some() {
            return cached;
        }
        self.servers.download(key, server, notes)
    }

    /// A server's cache.
    fn in_cache(
        &self,
        key: &FileKey,
        server: Server,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        let Server { url, cache } = server;
        let origin = |_: &str| format!("{} (cache of {url})", cache.display());
        self.search_local(key, cache, false, origin, Keep::Expanded(cache), notes)
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
        } = store::lookup(dir, key, flat, self.options.max_download_bytes, notes)?;
        if compressed {
            let max_bytes = self.options.max_download_bytes;
            return Some(LocatedFile {
                path: cache::expand_in(key, &path, cache, max_bytes, notes)?,
                origin: origin(&format!("{layout}, compressed")),
            });
        }
        let origin = origin(layout);
        if let Keep::Expanded(_) = keep {
            return Some(LocatedFile { path, origin });
        }
        let max_bytes = self.options.max_download_bytes;
        Some(match cache::copy_in(key, &path, cache, max_bytes, notes) {
            Some(copy) => LocatedFile {
                path: copy,
                origin: format!("{origin}, cached in {}", cache.display()),
            },
            None => LocatedFile { path, origin },
        })
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
