//! Symbolise stage: turns return addresses into frames in WinDbg notation.
//!
//! All lookups go through one [`Symbolizer`], which asks its [`SymbolSource`]s in order for
//! each module once, caches the answer, and resolves each distinct address once.

mod config;
mod crash;
mod debug_file;
mod exports;
mod frame;
pub mod locate;
mod pe_exports;
mod pe_memory;

pub use config::{SymbolConfig, SymbolError};
pub use crash::{crash_stack, CrashFrame, CrashStack};
pub use debug_file::{debug_file_identity, DebugFileKind, DebugFileSource, FileFinder};
pub use exports::ExportTable;
pub use frame::{Frame, InlineFrame, SourceLine, SymbolOrigin};
pub use pe_exports::PeExportSource;
pub use pe_memory::DumpMemoryExportSource;

use crate::snapshot::{DumpBytes, DumpMemory, Module, Snapshot};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use symbolic_common::DebugId;

/// A function found for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolHit {
    /// Function name.
    pub name: String,
    /// Offset of the address from the function's start.
    pub offset: u64,
    /// Source line, when known.
    pub source_line: Option<SourceLine>,
    /// Functions inlined at the address, innermost first.
    pub inlined: Vec<InlineFrame>,
}

/// Symbols for one module, loaded from one file.
pub trait ModuleSymbols: Send + Sync {
    /// What kind of symbols these are.
    fn origin(&self) -> SymbolOrigin;
    /// The file they came from.
    fn file(&self) -> &Path;
    /// The function holding `rva` (relative to the module base); `return_address` says the
    /// address follows a call (stack frames other than a crash's instruction pointer).
    fn lookup(&self, rva: u64, return_address: bool) -> Option<SymbolHit>;
    /// Whether the file's identity differs from the module's (used with `--allow-mismatched`).
    fn mismatched(&self) -> bool {
        false
    }
    /// Whether the symbols were served from the on-disk cache instead of being converted.
    fn served_from_cache(&self) -> bool {
        false
    }
}

/// What a source has for a module: symbols, and notes on what it tried.
#[derive(Default)]
pub struct Loaded {
    /// The symbols, when found.
    pub symbols: Option<Box<dyn ModuleSymbols>>,
    /// Warnings for the report: files rejected, servers unreachable, ….
    pub notes: Vec<String>,
}

impl Loaded {
    /// Symbols found.
    pub fn found(symbols: Box<dyn ModuleSymbols>) -> Loaded {
        Loaded {
            symbols: Some(symbols),
            notes: Vec::new(),
        }
    }

    /// Nothing found, with a reason.
    pub fn note(note: String) -> Loaded {
        Loaded {
            symbols: None,
            notes: vec![note],
        }
    }
}

/// A place symbols can come from (export tables, PDBs, symbol stores, dump memory, …).
pub trait SymbolSource: Send + Sync {
    /// Name of the source, for messages.
    fn name(&self) -> &'static str;
    /// Symbols for `module`; `memory` is the dump's captured memory, when it has any.
    fn load(&self, module: &Module, memory: Option<&DumpMemory>) -> Loaded;
    /// Whether what [`SymbolSource::load`] returns may depend on `memory`. Such answers are
    /// kept per dump and never reused for another dump; sources that ignore `memory` return
    /// false, and their answers are shared by every dump loading the same module.
    fn reads_dump_memory(&self) -> bool {
        true
    }
}

/// Where each module's symbols came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModuleSymbolStatus {
    /// Module file name.
    pub module: String,
    /// Kind of symbols used.
    pub origin: SymbolOrigin,
    /// File the symbols came from.
    pub file: Option<PathBuf>,
    /// The symbol file's identity does not match the module (`--allow-mismatched`).
    pub mismatched: bool,
    /// Served from the on-disk symbol cache.
    pub from_cache: bool,
    /// What was tried and not used, servers that failed, ….
    pub notes: Vec<String>,
}

/// Resolved frames for a set of addresses in one snapshot. Each frame is resolved once and
/// shared with every stack that holds it: a log can hold 900,000 distinct frames.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    frames: foldhash::HashMap<u64, Arc<Frame>>,
    modules: BTreeMap<String, ModuleSymbolStatus>,
}

impl SymbolTable {
    /// The frame for `address` (shared); addresses that were not resolved come back
    /// unattributed.
    pub fn frame(&self, address: u64) -> Arc<Frame> {
        self.frames
            .get(&address)
            .cloned()
            .unwrap_or_else(|| Arc::new(Frame::unattributed(address)))
    }

    /// Symbol status of every module met while resolving, by module file name.
    pub fn module_status(&self) -> impl Iterator<Item = &ModuleSymbolStatus> {
        self.modules.values()
    }
}

/// A module as the module list describes it (name, TimeDateStamp, SizeOfImage, and the PDB
/// its CodeView record names): answers of sources that read files apply to every dump whose
/// module list says the same, and to no other. Names are compared lowercased in ASCII: a key is
/// made for every address resolved, and names differing in the case of other letters only
/// get an entry each, never another module's answer.
type ModuleKey = (String, u32, u32, Option<(String, DebugId)>);

fn module_key(module: &Module) -> ModuleKey {
    let debug_file = module
        .debug_file
        .as_ref()
        .map(|debug_file| (debug_file.name().to_ascii_lowercase(), debug_file.id));
    (
        module.name.to_ascii_lowercase(),
        module.timestamp,
        module.size,
        debug_file,
    )
}

/// One source's answer for one module.
struct LoadedModule {
    symbols: Option<Box<dyn ModuleSymbols>>,
    notes: Vec<String>,
}

/// The answers of the sources asked for one module of one dump, in order: the last one holds
/// the symbols when any source had them.
struct Answers(Vec<Arc<LoadedModule>>);

/// Answers of memory-reading sources for the modules of one dump.
struct DumpAnswers {
    /// Keeps the dump's allocation, and so its address (the key), from being reused while the
    /// entry exists; dead once the dump is dropped.
    dump: Weak<DumpBytes>,
    modules: foldhash::HashMap<(usize, ModuleKey), Arc<LoadedModule>>,
}

/// Resolves addresses through an ordered list of sources, caching per module.
pub struct Symbolizer {
    sources: Vec<Box<dyn SymbolSource>>,
    /// Answers by (source index, module) of sources that do not read dump memory (and of the
    /// others, asked without memory): the same for every dump.
    shared: Mutex<foldhash::HashMap<(usize, ModuleKey), Arc<LoadedModule>>>,
    /// Answers read from dump memory, by the address of the dump's bytes: one dump's memory
    /// never names another dump's frames.
    per_dump: Mutex<foldhash::HashMap<usize, DumpAnswers>>,
    /// What is wrong with the symbol configuration ([`Symbolizer::warnings`]).
    warnings: Vec<crate::warning::Warning>,
    /// Where the crash walker's call-frame information comes from, besides dump memory.
    #[cfg(feature = "crash")]
    unwind: Option<crash::UnwindSources>,
}

impl Default for Symbolizer {
    /// Export tables from dump memory only.
    fn default() -> Self {
        Symbolizer::new(vec![Box::new(DumpMemoryExportSource)])
    }
}

impl Symbolizer {
    /// A symbolizer asking `sources` in order (the first that has symbols for a module wins).
    pub fn new(sources: Vec<Box<dyn SymbolSource>>) -> Symbolizer {
        Symbolizer {
            sources,
            shared: Mutex::default(),
            per_dump: Mutex::default(),
            warnings: Vec::new(),
            #[cfg(feature = "crash")]
            unwind: None,
        }
    }

    /// The same symbolizer, finding call-frame information for crash stacks with `finder`
    /// (PDBs, Breakpad files, images) and keeping conversions under `cache_dir/symcache`.
    /// Without it the walker reads only images in dump memory. Does nothing without the
    /// `crash` feature.
    #[cfg(feature = "crash")]
    pub fn with_unwind_files(
        mut self,
        finder: Arc<dyn FileFinder>,
        cache_dir: Option<PathBuf>,
    ) -> Symbolizer {
        self.unwind = Some(crash::UnwindSources::new(finder, cache_dir));
        self
    }

    /// Without the `crash` feature there is no walker to feed: the symbolizer unchanged.
    #[cfg(not(feature = "crash"))]
    pub fn with_unwind_files(
        self,
        _finder: Arc<dyn FileFinder>,
        _cache_dir: Option<PathBuf>,
    ) -> Symbolizer {
        self
    }

    /// The same symbolizer, reporting `warnings` about its configuration.
    pub fn with_warnings(mut self, warnings: Vec<crate::warning::Warning>) -> Symbolizer {
        self.warnings = warnings;
        self
    }

    /// What is wrong with the symbol configuration (code `symbol-path`: a folder that does
    /// not exist, a file given as a folder, a Windows path on another system): every report
    /// made with this symbolizer says it first.
    pub fn warnings(&self) -> &[crate::warning::Warning] {
        &self.warnings
    }

    /// Puts [`Symbolizer::warnings`] before `warnings` (a report's), once.
    pub fn prepend_warnings(&self, warnings: &mut Vec<crate::warning::Warning>) {
        let fresh: Vec<_> = self
            .warnings
            .iter()
            .filter(|warning| !warnings.contains(warning))
            .cloned()
            .collect();
        warnings.splice(0..0, fresh);
    }

    /// Asks the sources in order until one has symbols for `module`.
    fn module_symbols(&self, module: &Module, memory: Option<&DumpMemory>) -> Answers {
        let key = module_key(module);
        let mut answers = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let memory = memory.filter(|_| source.reads_dump_memory());
            let answer = self.answer(index, &key, memory, || {
                let loaded = source.load(module, memory);
                LoadedModule {
                    symbols: loaded.symbols,
                    notes: loaded.notes,
                }
            });
            let found = answer.symbols.is_some();
            answers.push(answer);
            if found {
                break;
            }
        }
        Answers(answers)
    }

    /// The cached answer of source `index` for `key` (per dump when `memory` is given), else
    /// the one `load` gives, cached.
    fn answer(
        &self,
        index: usize,
        key: &ModuleKey,
        memory: Option<&DumpMemory>,
        load: impl FnOnce() -> LoadedModule,
    ) -> Arc<LoadedModule> {
        let cache_key = (index, key.clone());
        let Some(memory) = memory else {
            if let Some(found) = lock(&self.shared).get(&cache_key) {
                return Arc::clone(found);
            }
            let loaded = Arc::new(load());
            lock(&self.shared).insert(cache_key, Arc::clone(&loaded));
            return loaded;
        };
        let dump = memory.dump_bytes();
        let dump_key = Arc::as_ptr(dump) as usize;
        if let Some(found) = lock(&self.per_dump)
            .get(&dump_key)
            .and_then(|answers| answers.modules.get(&cache_key))
        {
            return Arc::clone(found);
        }
        let loaded = Arc::new(load());
        let mut per_dump = lock(&self.per_dump);
        if !per_dump.contains_key(&dump_key) {
            // A new dump: forget those no longer loaded.
            per_dump.retain(|_, answers| answers.dump.strong_count() > 0);
        }
        per_dump
            .entry(dump_key)
            .or_insert_with(|| DumpAnswers {
                dump: Arc::downgrade(dump),
                modules: foldhash::HashMap::default(),
            })
            .modules
            .insert(cache_key, Arc::clone(&loaded));
        loaded
    }

    /// Resolves each distinct address of `addresses` (return addresses) against the modules
    /// of `snapshot`.
    pub fn resolve(
        &self,
        snapshot: &Snapshot,
        addresses: impl IntoIterator<Item = u64>,
    ) -> SymbolTable {
        let unique: BTreeSet<u64> = addresses.into_iter().collect();
        let mut table = SymbolTable::default();
        table.frames.reserve(unique.len());
        // Sorted addresses come module by module: one cache lookup per module, not per address.
        let mut last = None;
        for address in unique {
            let frame = self.resolve_in(snapshot, address, true, &mut table.modules, &mut last);
            table.frames.insert(address, Arc::new(frame));
        }
        table
    }

    /// Resolves one address; `return_address` is false only for an exact instruction pointer
    /// (the crashing frame). Module statuses met on the way are added to `modules`.
    pub fn resolve_one(
        &self,
        snapshot: &Snapshot,
        address: u64,
        return_address: bool,
        modules: &mut BTreeMap<String, ModuleSymbolStatus>,
    ) -> Frame {
        self.resolve_in(snapshot, address, return_address, modules, &mut None)
    }

    /// [`Symbolizer::resolve_one`] remembering the last module's symbols in `last` (its base).
    fn resolve_in(
        &self,
        snapshot: &Snapshot,
        address: u64,
        return_address: bool,
        modules: &mut BTreeMap<String, ModuleSymbolStatus>,
        last: &mut Option<(u64, Answers)>,
    ) -> Frame {
        if let Some(frame) = logged_frame(snapshot, address) {
            if let Some(module) = &frame.module {
                modules
                    .entry(module.clone())
                    .or_insert_with(|| ModuleSymbolStatus {
                        module: module.clone(),
                        origin: SymbolOrigin::Log,
                        file: Some(snapshot.source.clone()),
                        mismatched: false,
                        from_cache: false,
                        notes: Vec::new(),
                    });
            }
            return frame;
        }
        let Some(module) = snapshot.module_at(address) else {
            return match snapshot.unloaded_module_at(address) {
                Some(unloaded) => Frame::in_unloaded_module(address, unloaded),
                None => Frame::unattributed(address),
            };
        };
        if !matches!(last, Some((base, _)) if *base == module.base) {
            *last = Some((
                module.base,
                self.module_symbols(module, snapshot.memory.as_ref()),
            ));
        }
        let Some((_, answers)) = last.as_ref() else {
            return Frame::unattributed(address);
        };
        let rva = address - module.base;
        if !modules.contains_key(&module.name) {
            modules.insert(module.name.clone(), answers.status(module));
        }
        let mut frame = Frame {
            address,
            module: Some(module.name.clone()),
            module_frame_name: Some(module.frame_name().to_string()),
            symbol: None,
            offset: rva,
            origin: SymbolOrigin::None,
            source_line: None,
            inlined: Vec::new(),
        };
        if let Some(symbols) = answers.symbols() {
            if let Some(hit) = symbols.lookup(rva, return_address) {
                frame.symbol = Some(hit.name);
                frame.offset = hit.offset;
                frame.origin = symbols.origin();
                frame.source_line = hit.source_line;
                frame.inlined = hit.inlined;
            }
        }
        frame
    }

    /// Whether the symbols of the module holding `address` name a function there; used by
    /// the stack walker's scanning heuristic.
    pub fn has_function_at(&self, snapshot: &Snapshot, address: u64) -> Option<SymbolHit> {
        let module = snapshot.module_at(address)?;
        self.module_symbols(module, snapshot.memory.as_ref())
            .symbols()?
            .lookup(address - module.base, false)
    }
}

/// The frame as the debugger log printed it, when it printed a symbol there: frames already
/// symbolised in a log keep their text.
fn logged_frame(snapshot: &Snapshot, address: u64) -> Option<Frame> {
    let text = snapshot.frame_text.get(&address)?;
    let parts = crate::snapshot::text::parse_frame_text(text);
    let symbol = parts.symbol?;
    let printed_module = parts.module?;
    let module = snapshot
        .modules
        .iter()
        .find(|module| module.frame_name().eq_ignore_ascii_case(&printed_module))
        .or_else(|| snapshot.module_at(address));
    Some(Frame {
        address,
        module: Some(module.map_or_else(|| printed_module.clone(), |module| module.name.clone())),
        module_frame_name: Some(printed_module),
        symbol: Some(symbol),
        offset: parts.offset.unwrap_or(0),
        origin: SymbolOrigin::Log,
        source_line: parts.source.as_deref().and_then(|source| {
            let (file, line) = source.rsplit_once(" @ ")?;
            Some(SourceLine {
                file: file.trim().to_string(),
                line: line.trim().parse().ok()?,
            })
        }),
        inlined: Vec::new(),
    })
}

impl Answers {
    /// The symbols found, when a source had them.
    fn symbols(&self) -> Option<&dyn ModuleSymbols> {
        self.0.last()?.symbols.as_deref()
    }

    fn status(&self, module: &Module) -> ModuleSymbolStatus {
        let symbols = self.symbols();
        ModuleSymbolStatus {
            module: module.name.clone(),
            origin: symbols.map_or(SymbolOrigin::None, |symbols| symbols.origin()),
            file: symbols.map(|symbols| symbols.file().to_path_buf()),
            mismatched: symbols.is_some_and(|symbols| symbols.mismatched()),
            from_cache: symbols.is_some_and(|symbols| symbols.served_from_cache()),
            notes: {
                // Each note once: sources often say the same (a server down, offline).
                let mut notes: Vec<String> = Vec::new();
                for note in self.0.iter().flat_map(|answer| &answer.notes) {
                    if !notes.contains(note) {
                        notes.push(note.clone());
                    }
                }
                notes
            },
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_from_a_dump_are_forgotten_once_it_is_dropped() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/incident-fullmem/after.dmp");
        let symbolizer = Symbolizer::default();
        for _ in 0..3 {
            let snapshot = crate::snapshot::load(&path).unwrap();
            let addresses: Vec<u64> = snapshot.modules.iter().map(|m| m.base + 0x1100).collect();
            let table = symbolizer.resolve(&snapshot, addresses);
            let named = table
                .module_status()
                .filter(|status| status.origin == SymbolOrigin::Exports);
            assert_eq!(named.count(), 3);
        }
        assert_eq!(lock(&symbolizer.per_dump).len(), 1);
        assert_eq!(lock(&symbolizer.shared).len(), 0);
    }
}
