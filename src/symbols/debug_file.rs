//! PDB and Breakpad symbols, matched to a module by its CodeView identity and converted once
//! into symbolic's SymCache, which is kept on disk keyed by that identity: the next run maps
//! the SymCache instead of parsing the PDB again.

use super::locate::{store_id, IdSource};
use super::{
    InlineFrame, Loaded, ModuleSymbols, SourceLine, SymbolHit, SymbolOrigin, SymbolSource,
};
use crate::snapshot::{DumpMemory, Module};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use symbolic_common::{ByteView, DebugId, SelfCell};
use symbolic_debuginfo::Object;
use symbolic_symcache::{SymCache, SymCacheConverter, SYMCACHE_VERSION};

/// Finds a file by name and identity along a symbol path.
pub trait FileFinder: Send + Sync {
    /// The local path of `name` with identity `id` (SymSrv form), and notes on what failed.
    fn find_file(&self, name: &str, id: &str) -> (Option<PathBuf>, Vec<String>);

    /// Where [`FileFinder::find_file`] looks, for a note when nothing was found (bounded;
    /// empty when the finder cannot say).
    fn places(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Which kind of debug file a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugFileKind {
    /// A PDB (`leakylib.pdb`).
    Pdb,
    /// A Breakpad text symbol file (`leakylib.sym`, stored under the PDB's name and id).
    Breakpad,
}

/// PDB or Breakpad symbols found through a [`FileFinder`], cached as SymCaches.
pub struct DebugFileSource {
    kind: DebugFileKind,
    finder: Arc<dyn FileFinder>,
    cache_dir: Option<PathBuf>,
    allow_mismatched: bool,
}

impl DebugFileSource {
    /// A source of `kind` files; SymCaches are kept under `cache_dir/symcache` when given.
    pub fn new(
        kind: DebugFileKind,
        finder: Arc<dyn FileFinder>,
        cache_dir: Option<PathBuf>,
        allow_mismatched: bool,
    ) -> DebugFileSource {
        DebugFileSource {
            kind,
            finder,
            cache_dir,
            allow_mismatched,
        }
    }

    fn origin(&self) -> SymbolOrigin {
        match self.kind {
            DebugFileKind::Pdb => SymbolOrigin::Pdb,
            DebugFileKind::Breakpad => SymbolOrigin::Breakpad,
        }
    }

    fn cache_path(&self, pdb_name: &str, id: &str) -> Option<PathBuf> {
        let kind = match self.kind {
            DebugFileKind::Pdb => "pdb",
            DebugFileKind::Breakpad => "breakpad",
        };
        Some(
            self.cache_dir
                .as_ref()?
                .join("symcache")
                .join(pdb_name)
                .join(id)
                .join(format!("{kind}-v{SYMCACHE_VERSION}.symcache")),
        )
    }
}

/// The PDB file name and SymSrv identity (`GUID` + age, or NB10 signature + age) of a module.
pub fn debug_file_identity(module: &Module) -> Option<(String, String, DebugId)> {
    let debug_file = module.debug_file.as_ref()?;
    let id = store_id(IdSource::Debug(debug_file.id));
    let name = debug_file.name().to_string();
    (!name.is_empty()).then_some((name, id, debug_file.id))
}

impl SymbolSource for DebugFileSource {
    fn name(&self) -> &'static str {
        match self.kind {
            DebugFileKind::Pdb => "PDB",
            DebugFileKind::Breakpad => "Breakpad symbols",
        }
    }

    fn reads_dump_memory(&self) -> bool {
        false
    }

    fn load(&self, module: &Module, _memory: Option<&DumpMemory>) -> Loaded {
        let Some((pdb_name, id, debug_id)) = debug_file_identity(module) else {
            return Loaded::default();
        };
        let cache_path = self.cache_path(&pdb_name, &id);
        if let Some(cached) = cache_path.as_deref().and_then(CachedSymbols::open) {
            return Loaded::found(Box::new(cached.into_symbols(self.origin(), true)));
        }
        let file_name = match self.kind {
            DebugFileKind::Pdb => pdb_name.clone(),
            DebugFileKind::Breakpad => match pdb_name.rsplit_once('.') {
                Some((stem, _)) => format!("{stem}.sym"),
                None => format!("{pdb_name}.sym"),
            },
        };
        let (found, mut notes) = self.finder.find_file(&file_name, &id);
        let Some(path) = found else {
            // The Breakpad source is asked after the PDB source found nothing usable: one
            // note, the same words for every module, so a report says it once. When the
            // search failed somewhere (a server down, offline), its notes say so instead.
            let places = self.finder.places();
            if self.kind == DebugFileKind::Breakpad && notes.is_empty() && !places.is_empty() {
                notes.push(format!(
                    "no matching PDB or Breakpad symbol file found; looked in {}",
                    places.join(", ")
                ));
            }
            return Loaded {
                symbols: None,
                notes,
            };
        };
        match convert(&path, debug_id) {
            Ok(converted) => {
                if converted.mismatched && !self.allow_mismatched {
                    notes.push(format!(
                        "{}: its identity {} differs from the module's {debug_id}; not used (--allow-mismatched uses it anyway)",
                        path.display(),
                        converted.file_id
                    ));
                    return Loaded {
                        symbols: None,
                        notes,
                    };
                }
                if !converted.mismatched {
                    if let Some(cache_path) = &cache_path {
                        if let Err(error) = write_atomically(cache_path, &converted.bytes) {
                            notes.push(format!(
                                "cannot write the symbol cache {}: {error}",
                                cache_path.display()
                            ));
                        }
                    }
                }
                match symbol_cell(ByteView::from_vec(converted.bytes)) {
                    Ok(cell) => Loaded {
                        symbols: Some(Box::new(SymCacheSymbols {
                            cell,
                            file: path,
                            origin: self.origin(),
                            mismatched: converted.mismatched,
                            from_cache: false,
                        })),
                        notes,
                    },
                    Err(error) => {
                        notes.push(format!("{}: {error}", path.display()));
                        Loaded {
                            symbols: None,
                            notes,
                        }
                    }
                }
            }
            Err(error) => {
                notes.push(format!("{}: {error}", path.display()));
                Loaded {
                    symbols: None,
                    notes,
                }
            }
        }
    }
}

struct Converted {
    bytes: Vec<u8>,
    mismatched: bool,
    file_id: DebugId,
}

/// Parses a PDB or Breakpad file and converts it to SymCache bytes.
fn convert(path: &Path, expected: DebugId) -> Result<Converted, String> {
    let view = ByteView::open(path).map_err(|error| format!("cannot read: {error}"))?;
    let object =
        Object::parse(&view).map_err(|error| format!("not a usable symbol file: {error}"))?;
    let file_id = object.debug_id();
    let mut converter = SymCacheConverter::new();
    converter.set_debug_id(expected);
    converter
        .process_object(&object)
        .map_err(|error| format!("cannot read its functions: {error}"))?;
    let mut bytes = Vec::new();
    converter
        .serialize(&mut std::io::Cursor::new(&mut bytes))
        .map_err(|error| format!("cannot build a SymCache: {error}"))?;
    Ok(Converted {
        bytes,
        mismatched: file_id != expected,
        file_id,
    })
}

/// Writes through a temporary file in the same directory and a rename, so a reader never sees
/// half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(())
}

type SymbolCell = SelfCell<ByteView<'static>, SymCache<'static>>;

/// Parses SymCache bytes held by the cell itself.
fn symbol_cell(view: ByteView<'static>) -> Result<SymbolCell, String> {
    // SAFETY: the pointer is to the ByteView owned by the cell, which outlives the SymCache
    // borrowed from it (SelfCell's contract); the borrow does not leave the closure otherwise.
    SelfCell::try_new(view, |data| SymCache::parse(unsafe { &*data }))
        .map_err(|error| format!("unreadable SymCache: {error}"))
}

struct CachedSymbols {
    cell: SymbolCell,
    path: PathBuf,
}

impl CachedSymbols {
    fn open(path: &Path) -> Option<CachedSymbols> {
        let cell = symbol_cell(ByteView::open(path).ok()?).ok()?;
        cell.get().is_latest().then(|| CachedSymbols {
            cell,
            path: path.to_path_buf(),
        })
    }

    fn into_symbols(self, origin: SymbolOrigin, from_cache: bool) -> SymCacheSymbols {
        SymCacheSymbols {
            cell: self.cell,
            file: self.path,
            origin,
            mismatched: false,
            from_cache,
        }
    }
}

/// A SymCache as module symbols.
struct SymCacheSymbols {
    cell: SymbolCell,
    file: PathBuf,
    origin: SymbolOrigin,
    mismatched: bool,
    from_cache: bool,
}

impl ModuleSymbols for SymCacheSymbols {
    fn origin(&self) -> SymbolOrigin {
        self.origin
    }

    fn file(&self) -> &Path {
        &self.file
    }

    fn mismatched(&self) -> bool {
        self.mismatched
    }

    fn served_from_cache(&self) -> bool {
        self.from_cache
    }

    fn lookup(&self, rva: u64, return_address: bool) -> Option<SymbolHit> {
        // A return address follows its call; the call (one byte back) is what the source
        // line and the inlining refer to, and a call that ends a function must not be
        // attributed to the next one.
        let probe = if return_address {
            rva.checked_sub(1)?
        } else {
            rva
        };
        let locations: Vec<_> = self.cell.get().lookup(probe).collect();
        let (outer, inner) = locations.split_last()?;
        let source_line = |location: &symbolic_symcache::SourceLocation| {
            let line = location.line();
            location.file().filter(|_| line > 0).map(|file| SourceLine {
                file: file.full_path(),
                line,
            })
        };
        let function = outer.function();
        Some(SymbolHit {
            name: without_parameters(function.name()).to_string(),
            offset: rva.saturating_sub(u64::from(function.entry_pc())),
            source_line: source_line(outer),
            inlined: inner
                .iter()
                .map(|location| InlineFrame {
                    symbol: without_parameters(location.function().name()).to_string(),
                    source_line: source_line(location),
                })
                .collect(),
        })
    }
}

/// `open_pool(pool*, unsigned int)` → `open_pool`: PDB readers format names with their
/// parameter lists, WinDbg frames name the function alone. `operator()` keeps its own
/// parentheses.
fn without_parameters(name: &str) -> &str {
    if !name.ends_with(')') {
        return name;
    }
    let mut depth = 0usize;
    for (index, ch) in name.char_indices().rev() {
        match ch {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    let head = &name[..index];
                    return if head.is_empty() || head.ends_with("operator") {
                        name
                    } else {
                        head
                    };
                }
            }
            _ => {}
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::without_parameters;

    #[test]
    fn parameter_lists_are_dropped() {
        assert_eq!(
            without_parameters("open_pool(pool*, unsigned int)"),
            "open_pool"
        );
        assert_eq!(
            without_parameters("ns::Pool::Acquire(std::function<void (int)>)"),
            "ns::Pool::Acquire"
        );
        assert_eq!(without_parameters("LeakyOpenSession"), "LeakyOpenSession");
        assert_eq!(
            without_parameters("Functor::operator()"),
            "Functor::operator()"
        );
        assert_eq!(without_parameters("(anonymous)"), "(anonymous)");
    }
}
