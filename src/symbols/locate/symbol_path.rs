//! `_NT_SYMBOL_PATH` parsing.

use std::path::{Path, PathBuf};

/// One element of a symbol path, in search order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathElement {
    /// A plain directory: searched flat (`DIR/name`) and as a symbol store.
    Directory(PathBuf),
    /// A symbol store directory given with `srv*` (a local folder or a UNC share): searched as a
    /// store only; files found there are copied into `cache` when one is given.
    Store {
        /// Downstream cache (`srv*CACHE*STORE`); without one, a preceding `cache*DIR` applies.
        cache: Option<PathBuf>,
        /// The store directory.
        path: PathBuf,
    },
    /// An HTTP(S) symbol server; downloads go into `cache` in store layout.
    Server {
        /// Downstream cache (`srv*CACHE*URL`); `None` means the nearest preceding `cache*DIR`,
        /// else the locator's default cache directory.
        cache: Option<PathBuf>,
        /// Server URL, without a trailing `/`.
        url: String,
    },
    /// `cache*DIR`: files found by the elements after it are cached in DIR (`None`: `cache*`
    /// alone, the locator's default cache directory).
    Cache(Option<PathBuf>),
}

/// A parsed symbol path: the elements to search, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolPath {
    elements: Vec<PathElement>,
    notes: Vec<String>,
}

impl SymbolPath {
    /// Parses `_NT_SYMBOL_PATH` syntax: elements separated by `;` (empty ones ignored,
    /// spaces trimmed); `srv*[CACHE*]STORE`, `SRV*…`, `symsrv*DLL*[CACHE*]STORE`, `cache*[DIR]`,
    /// anything else a plain directory. STORE is an `http://` or `https://` URL, or a
    /// directory (local or UNC) used as a store.
    pub fn parse(text: &str) -> Result<SymbolPath, String> {
        let mut path = SymbolPath::default();
        for item in text
            .split(';')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let element = parse_element(item, &mut path.notes)?;
            path.elements.push(element);
        }
        Ok(path)
    }

    /// Plain directories (the `--symbols DIR` shorthand), each searched flat and as a store.
    pub fn from_dirs(dirs: &[PathBuf]) -> SymbolPath {
        SymbolPath {
            elements: dirs.iter().cloned().map(PathElement::Directory).collect(),
            notes: Vec::new(),
        }
    }

    /// The elements, in search order.
    pub fn elements(&self) -> &[PathElement] {
        &self.elements
    }

    /// Warnings from parsing (for example a second cache in `srv*A*B*URL`, which is ignored).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Checks the elements against this system's file system and leaves out (or, for a cache,
    /// replaces by the default cache) those that cannot work: a folder that does not exist or
    /// is a file, and a Windows drive or UNC path on another system, which would otherwise be
    /// taken as a relative folder name (and a cache created under that name in the current
    /// directory). Nothing is created. Returns what is wrong, one sentence per element.
    pub fn check(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut kept = Vec::new();
        for element in std::mem::take(&mut self.elements) {
            let element = match element {
                PathElement::Directory(dir) => {
                    match folder_problem(&dir, "symbol folder", "left out") {
                        Some(problem) => {
                            problems.push(problem);
                            continue;
                        }
                        None => PathElement::Directory(dir),
                    }
                }
                PathElement::Store { cache, path } => {
                    if let Some(problem) = folder_problem(&path, "symbol store", "left out") {
                        problems.push(problem);
                        continue;
                    }
                    PathElement::Store {
                        cache: checked_cache(cache, &mut problems),
                        path,
                    }
                }
                PathElement::Server { cache, url } => PathElement::Server {
                    cache: checked_cache(cache, &mut problems),
                    url,
                },
                PathElement::Cache(cache) => {
                    PathElement::Cache(checked_cache(cache, &mut problems))
                }
            };
            kept.push(element);
        }
        self.elements = kept;
        problems
    }

    /// Appends the elements (and notes) of `other`, searched after these.
    pub fn extend(&mut self, other: SymbolPath) {
        self.elements.extend(other.elements);
        self.notes.extend(other.notes);
    }
}

fn parse_element(item: &str, notes: &mut Vec<String>) -> Result<PathElement, String> {
    let parts: Vec<&str> = item.split('*').map(str::trim).collect();
    if parts.len() == 1 {
        if is_url(item) {
            return Err(format!(
                "{item:?} is a URL, not a directory; write srv*{item} to use it as a symbol server"
            ));
        }
        return Ok(PathElement::Directory(PathBuf::from(item)));
    }
    match parts[0].to_ascii_lowercase().as_str() {
        "srv" => server(item, &parts[1..], notes),
        "symsrv" if parts.len() >= 3 => server(item, &parts[2..], notes),
        "symsrv" => Err(format!(
            "{item:?}: symsrv* needs a DLL name and a store (symsrv*symsrv.dll*[CACHE*]STORE)"
        )),
        "cache" if parts.len() == 2 => Ok(PathElement::Cache(non_empty(parts[1]))),
        "cache" => Err(format!(
            "{item:?}: cache* takes one directory (cache*DIR, or cache* for the default cache)"
        )),
        _ => Err(format!(
            "{item:?}: unknown symbol path element (expected srv*…, symsrv*…, cache*… or a directory)"
        )),
    }
}

/// `rest` is what follows `srv*` (or `symsrv*DLL*`): `[CACHE*…]STORE`.
fn server(item: &str, rest: &[&str], notes: &mut Vec<String>) -> Result<PathElement, String> {
    let Some((store, caches)) = rest.split_last().filter(|(store, _)| !store.is_empty()) else {
        return Err(format!(
            "{item:?}: no store after srv* (expected srv*[CACHE*]https://server/path or srv*[CACHE*]DIR)"
        ));
    };
    let cache = caches.first().and_then(|cache| non_empty(cache));
    if caches.len() > 1 {
        notes.push(format!(
            "symbol path element {item:?}: only the first cache ({}) is used; the others are ignored",
            caches[0]
        ));
    }
    if is_url(store) {
        let url = store.trim_end_matches('/').to_string();
        return Ok(PathElement::Server { cache, url });
    }
    if store.contains("://") {
        return Err(format!(
            "{item:?}: unsupported store {store:?} (only http:// and https:// servers, or directories)"
        ));
    }
    Ok(PathElement::Store {
        cache,
        path: PathBuf::from(store),
    })
}

/// Whether `path` is a Windows drive path (`C:\Symbols`, `C:/x`, `C:`) or a UNC path
/// (`\\server\share`), which on another system would be a relative folder name.
pub fn is_foreign_windows_path(path: &Path) -> bool {
    if cfg!(windows) {
        return false;
    }
    let text = path.to_string_lossy();
    let bytes = text.as_bytes();
    let drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || matches!(bytes[2], b'\\' | b'/'));
    drive || text.starts_with("\\\\")
}

/// What is wrong with `dir` as a folder to read symbols from (`what`), and what is done
/// about it (`outcome`).
fn folder_problem(dir: &Path, what: &str, outcome: &str) -> Option<String> {
    if is_foreign_windows_path(dir) {
        return Some(format!(
            "{what} {} is a Windows path, which this system cannot open: {outcome}",
            dir.display()
        ));
    }
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some(format!(
            "{what} {} is a file, not a folder: {outcome}",
            dir.display()
        )),
        Err(_) => Some(format!(
            "{what} {} does not exist: {outcome}",
            dir.display()
        )),
    }
}

/// A cache folder that can work (it need not exist yet: the cache is where the user asked
/// for one), else `None` (the default cache) with what was wrong.
fn checked_cache(cache: Option<PathBuf>, problems: &mut Vec<String>) -> Option<PathBuf> {
    let dir = cache?;
    let outcome = "the default cache is used instead";
    let problem = if is_foreign_windows_path(&dir) {
        Some(format!(
            "symbol cache {} is a Windows path, which this system cannot open: {outcome}",
            dir.display()
        ))
    } else if dir.exists() && !dir.is_dir() {
        Some(format!(
            "symbol cache {} is a file, not a folder: {outcome}",
            dir.display()
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            problems.push(problem);
            None
        }
        None => Some(dir),
    }
}

fn non_empty(dir: &str) -> Option<PathBuf> {
    (!dir.is_empty()).then(|| Path::new(dir).to_path_buf())
}

fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}
