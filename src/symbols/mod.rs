//! Symbolise stage: turns return addresses into frames in WinDbg notation.
//!
//! All lookups go through one [`Symbolizer`], which asks its [`SymbolSource`]s in order for
//! each module once, caches the answer, and resolves each distinct address once.

mod frame;
mod pe_exports;

pub use frame::{Frame, SourceLine, SymbolOrigin};
pub use pe_exports::PeExportSource;

use crate::snapshot::{Module, Snapshot};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A function found for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolHit {
    /// Function name.
    pub name: String,
    /// Offset of the address from the function's start.
    pub offset: u64,
    /// Source line, when known.
    pub source_line: Option<SourceLine>,
}

/// Symbols for one module, loaded from one file.
pub trait ModuleSymbols: Send + Sync {
    /// What kind of symbols these are.
    fn origin(&self) -> SymbolOrigin;
    /// The file they came from.
    fn file(&self) -> &Path;
    /// The function holding `rva` (relative to the module base).
    fn lookup(&self, rva: u64) -> Option<SymbolHit>;
}

/// A place symbols can come from (export tables, PDBs, symbol stores, …).
pub trait SymbolSource: Send + Sync {
    /// Name of the source, for messages.
    fn name(&self) -> &'static str;
    /// Symbols for `module`: `Ok(None)` when the source has nothing for it, `Err` when it
    /// found files but none could be used (the reason is reported).
    fn load(&self, module: &Module) -> Result<Option<Box<dyn ModuleSymbols>>, String>;
}

/// Where each module's symbols came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleSymbolStatus {
    /// Module file name.
    pub module: String,
    /// Kind of symbols used.
    pub origin: SymbolOrigin,
    /// File the symbols came from.
    pub file: Option<PathBuf>,
    /// Why files that were found were not used.
    pub rejected: Option<String>,
}

/// Resolved frames for a set of addresses in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    frames: HashMap<u64, Frame>,
    modules: BTreeMap<String, ModuleSymbolStatus>,
}

impl SymbolTable {
    /// The frame for `address`; addresses that were not resolved come back unattributed.
    pub fn frame(&self, address: u64) -> Frame {
        self.frames
            .get(&address)
            .cloned()
            .unwrap_or_else(|| Frame::unattributed(address))
    }

    /// Symbol status of every module met while resolving, by module file name.
    pub fn module_status(&self) -> impl Iterator<Item = &ModuleSymbolStatus> {
        self.modules.values()
    }
}

type CacheKey = (String, u32, u32);

/// Resolves addresses through an ordered list of sources, caching per module.
pub struct Symbolizer {
    sources: Vec<Box<dyn SymbolSource>>,
    cache: Mutex<HashMap<CacheKey, Arc<LoadedModule>>>,
}

struct LoadedModule {
    symbols: Option<Box<dyn ModuleSymbols>>,
    rejected: Option<String>,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Symbolizer::new(Vec::new())
    }
}

impl Symbolizer {
    /// A symbolizer asking `sources` in order (the first that has symbols for a module wins).
    pub fn new(sources: Vec<Box<dyn SymbolSource>>) -> Symbolizer {
        Symbolizer {
            sources,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A symbolizer reading PE export tables from image files in `image_dirs`.
    pub fn with_image_dirs(image_dirs: Vec<PathBuf>) -> Symbolizer {
        if image_dirs.is_empty() {
            return Symbolizer::default();
        }
        Symbolizer::new(vec![Box::new(PeExportSource::new(image_dirs))])
    }

    fn module_symbols(&self, module: &Module) -> Arc<LoadedModule> {
        let key = (module.name.to_lowercase(), module.timestamp, module.size);
        if let Some(loaded) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Arc::clone(loaded);
        }
        let mut rejected = Vec::new();
        let mut symbols = None;
        for source in &self.sources {
            match source.load(module) {
                Ok(Some(found)) => {
                    symbols = Some(found);
                    break;
                }
                Ok(None) => {}
                Err(reason) => rejected.push(format!("{}: {reason}", source.name())),
            }
        }
        let loaded = Arc::new(LoadedModule {
            symbols,
            rejected: (!rejected.is_empty()).then(|| rejected.join("; ")),
        });
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, Arc::clone(&loaded));
        loaded
    }

    /// Resolves each distinct address of `addresses` against the modules of `snapshot`.
    pub fn resolve(
        &self,
        snapshot: &Snapshot,
        addresses: impl IntoIterator<Item = u64>,
    ) -> SymbolTable {
        let unique: BTreeSet<u64> = addresses.into_iter().collect();
        let mut table = SymbolTable::default();
        for address in unique {
            let Some(module) = snapshot.module_at(address) else {
                table.frames.insert(address, Frame::unattributed(address));
                continue;
            };
            let loaded = self.module_symbols(module);
            let rva = address - module.base;
            let hit = loaded
                .symbols
                .as_ref()
                .and_then(|symbols| symbols.lookup(rva));
            let origin = match (&hit, &loaded.symbols) {
                (Some(_), Some(symbols)) => symbols.origin(),
                _ => SymbolOrigin::None,
            };
            table
                .modules
                .entry(module.name.clone())
                .or_insert_with(|| ModuleSymbolStatus {
                    module: module.name.clone(),
                    origin: loaded
                        .symbols
                        .as_ref()
                        .map_or(SymbolOrigin::None, |symbols| symbols.origin()),
                    file: loaded
                        .symbols
                        .as_ref()
                        .map(|symbols| symbols.file().to_path_buf()),
                    rejected: loaded.rejected.clone(),
                });
            let frame = match hit {
                Some(hit) => Frame {
                    address,
                    module: Some(module.name.clone()),
                    module_frame_name: Some(module.frame_name().to_string()),
                    symbol: Some(hit.name),
                    offset: hit.offset,
                    origin,
                    source_line: hit.source_line,
                },
                None => Frame {
                    address,
                    module: Some(module.name.clone()),
                    module_frame_name: Some(module.frame_name().to_string()),
                    symbol: None,
                    offset: rva,
                    origin: SymbolOrigin::None,
                    source_line: None,
                },
            };
            table.frames.insert(address, frame);
        }
        table
    }
}
