//! Call-frame information for the crash walker: Breakpad `STACK CFI` / `STACK WIN` records,
//! from a module's Breakpad `.sym` file, or converted by symbolic-cfi from its PDB (x86 FPO
//! and FrameData) or its PE image (x64 `.pdata`/`.xdata`, from the image file or from the
//! image mapped in a full dump's memory). Conversions are kept on disk next to the SymCache
//! (`<cache>/symcache/<file>/<id>/cfi-v<N>.cficache`), so the next run reads the records
//! instead of the PDB or the image.
//!
//! The records are evaluated by rust-minidump's Breakpad walker (`breakpad-symbols`).

use super::pe_image::image_in_memory;
use crate::snapshot::{DumpMemory, Module};
use crate::symbols::locate::{store_id, IdSource};
use crate::symbols::{debug_file_identity, FileFinder};
use breakpad_symbols::SymbolFile;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use symbolic_cfi::{CfiCache, CFICACHE_LATEST_VERSION};
use symbolic_common::{ByteView, DebugId};
use symbolic_debuginfo::Object;

/// Largest symbol file or image converted; larger ones are skipped with a note.
const MAX_CONVERTED_BYTES: u64 = 1024 * 1024 * 1024;

/// The unwind records of one module and where they came from.
pub struct UnwindTable {
    /// The records, parsed.
    pub records: SymbolFile,
    /// Where they came from: a file, a cache entry or dump memory.
    #[cfg_attr(not(test), allow(dead_code))]
    pub origin: String,
}

impl UnwindTable {
    /// The parameter size a `STACK WIN` record gives for `rva` (what an x86 caller pushed for
    /// the function there), when one does.
    pub fn parameter_size(&self, rva: u64) -> Option<u32> {
        self.records
            .win_stack_framedata_info
            .get(rva)
            .or_else(|| self.records.win_stack_fpo_info.get(rva))
            .map(|info| info.parameter_size)
    }
}

/// What the search for one module's records found.
#[derive(Clone, Default)]
pub struct Found {
    /// The records, when any source had some.
    pub table: Option<Arc<UnwindTable>>,
    /// Why sources that had a file could not be used.
    pub notes: Vec<String>,
}

/// The records for `module`: from the files `sources` find, else from `memory`.
pub fn find(
    sources: Option<&UnwindSources>,
    module: &Module,
    memory: Option<&DumpMemory>,
) -> Found {
    match sources {
        Some(sources) => sources.find(module, memory),
        None => Found::default().or_memory(module, memory),
    }
}

impl Found {
    /// These records, else (when there are none) those of the x64 image in `memory`.
    fn or_memory(mut self, module: &Module, memory: Option<&DumpMemory>) -> Found {
        if self.table.is_some() {
            return self;
        }
        self.table = memory.and_then(|memory| match from_memory(module, memory) {
            Ok(table) => table.map(Arc::new),
            Err(note) => {
                self.notes.push(note);
                None
            }
        });
        self
    }
}

/// Where unwind records are looked for: the symbol path's files and the cache.
pub struct UnwindSources {
    finder: Arc<dyn FileFinder>,
    cache_dir: Option<PathBuf>,
    /// Answers from files, by module identity: the same for every dump.
    shared: Mutex<HashMap<ModuleId, Found>>,
}

/// A module as its files are keyed: name, TimeDateStamp, SizeOfImage and debug identity.
type ModuleId = (String, u32, u32, Option<(String, DebugId)>);

impl UnwindSources {
    /// Sources finding files with `finder`, caching conversions under `cache_dir/symcache`.
    pub fn new(finder: Arc<dyn FileFinder>, cache_dir: Option<PathBuf>) -> UnwindSources {
        UnwindSources {
            finder,
            cache_dir,
            shared: Mutex::new(HashMap::new()),
        }
    }

    /// The records for `module` from its files, else (x64 images) from `memory`.
    pub fn find(&self, module: &Module, memory: Option<&DumpMemory>) -> Found {
        let id = (
            module.name.to_lowercase(),
            module.timestamp,
            module.size,
            module
                .debug_file
                .as_ref()
                .map(|file| (file.name().to_lowercase(), file.id)),
        );
        let cached = lock(&self.shared).get(&id).cloned();
        let found = cached.unwrap_or_else(|| {
            let found = self.in_files(module);
            lock(&self.shared).insert(id, found.clone());
            found
        });
        found.or_memory(module, memory)
    }

    /// The PDB, then the Breakpad file, then the image file: the first with records wins.
    fn in_files(&self, module: &Module) -> Found {
        let mut notes = Vec::new();
        let mut keys = Vec::new();
        if let Some((pdb_name, id, debug_id)) = debug_file_identity(module) {
            let sym_name = match pdb_name.rsplit_once('.') {
                Some((stem, _)) => format!("{stem}.sym"),
                None => format!("{pdb_name}.sym"),
            };
            let expected = Expected::Debug(debug_id);
            keys.push((
                pdb_name.clone(),
                id.clone(),
                pdb_name.clone(),
                expected.clone(),
            ));
            keys.push((pdb_name, id, sym_name, expected));
        }
        let image_id = store_id(IdSource::Image {
            timestamp: module.timestamp,
            size_of_image: module.size,
        });
        let expected = Expected::Image(image_id.clone());
        keys.push((module.name.clone(), image_id, module.name.clone(), expected));
        for (folder, id, file, expected) in keys {
            let cache = self.cache_path(&folder, &id);
            if let Some(table) = cache.as_deref().and_then(open_cached) {
                return Found {
                    table: Some(Arc::new(table)),
                    notes,
                };
            }
            let (path, _) = self.finder.find_file(&file, &id);
            let Some(path) = path else { continue };
            match convert_file(&path, &expected) {
                Ok(Some(cache_bytes)) => {
                    if let Some(cache) = &cache {
                        if let Err(error) =
                            crate::symbols::debug_file::write_atomically(cache, &cache_bytes)
                        {
                            notes.push(format!(
                                "cannot write the call-frame cache {}: {error}",
                                cache.display()
                            ));
                        }
                    }
                    match parse(&cache_bytes, path.display().to_string()) {
                        Ok(table) => {
                            return Found {
                                table: Some(Arc::new(table)),
                                notes,
                            }
                        }
                        Err(note) => notes.push(note),
                    }
                }
                Ok(None) => {}
                Err(note) => notes.push(format!("call-frame information: {note}")),
            }
        }
        Found { table: None, notes }
    }

    /// `<cache>/symcache/<file>/<id>/cfi-v<N>.cficache`, next to the SymCache.
    fn cache_path(&self, file: &str, id: &str) -> Option<PathBuf> {
        Some(
            self.cache_dir
                .as_ref()?
                .join("symcache")
                .join(file)
                .join(id)
                .join(format!("cfi-v{CFICACHE_LATEST_VERSION}.cficache")),
        )
    }
}

/// The identity a file must have to be used.
#[derive(Clone, PartialEq, Eq)]
enum Expected {
    /// A PDB or Breakpad file: the module's debug id.
    Debug(DebugId),
    /// An image: the module's TimeDateStamp and SizeOfImage (store id).
    Image(String),
}

impl Expected {
    fn matches(&self, object: &Object<'_>) -> bool {
        match self {
            Expected::Debug(id) => object.debug_id() == *id,
            Expected::Image(id) => object
                .code_id()
                .is_some_and(|code| code.as_str().eq_ignore_ascii_case(id)),
        }
    }
}

/// A cached conversion at `path`, when it is one of this version with records in it.
fn open_cached(path: &Path) -> Option<UnwindTable> {
    let view = ByteView::open(path).ok()?;
    let cache = CfiCache::from_bytes(view).ok()?;
    if !cache.is_latest() {
        return None;
    }
    parse(
        &cache_bytes(&cache).ok()?,
        format!("{} (cached)", path.display()),
    )
    .ok()
}

fn cache_bytes(cache: &CfiCache<'_>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    cache.write_to(&mut bytes)?;
    Ok(bytes)
}

/// The records of the file at `path` as CfiCache bytes: `None` when it has no records,
/// `Err` when it cannot be read or is not the module's.
fn convert_file(path: &Path, expected: &Expected) -> Result<Option<Vec<u8>>, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|error| format!("{shown}: {error}"))?
        .len();
    if size > MAX_CONVERTED_BYTES {
        return Err(format!(
            "{shown}: {size} bytes, larger than any file converted"
        ));
    }
    let view = ByteView::open(path).map_err(|error| format!("{shown}: {error}"))?;
    convert(&view, expected).map_err(|error| format!("{shown}: {error}"))
}

/// The records of the symbol file or image `data` (the module's, checked) as CfiCache bytes.
fn convert(data: &[u8], expected: &Expected) -> Result<Option<Vec<u8>>, String> {
    // The readers parse files from anywhere: a panic on a malformed one is an error.
    catch_unwind(AssertUnwindSafe(|| {
        let object = Object::parse(data).map_err(|error| error.to_string())?;
        if !expected.matches(&object) {
            return Ok(None);
        }
        let cache = CfiCache::from_object(&object).map_err(|error| error.to_string())?;
        let bytes = cache_bytes(&cache).map_err(|error| error.to_string())?;
        let has_records = cache.as_slice().windows(6).any(|w| w == b"STACK ");
        Ok(has_records.then_some(bytes))
    }))
    .unwrap_or_else(|_| Err("malformed call-frame information".to_string()))
}

/// Parses CfiCache bytes into records.
fn parse(cache_bytes: &[u8], origin: String) -> Result<UnwindTable, String> {
    let cache = CfiCache::from_bytes(ByteView::from_slice(cache_bytes))
        .map_err(|error| format!("{origin}: {error}"))?;
    let records = SymbolFile::from_bytes(cache.as_slice())
        .map_err(|error| format!("{origin}: unreadable call-frame records: {error}"))?;
    Ok(UnwindTable { records, origin })
}

/// The records of an x64 image mapped in dump memory: `Ok(None)` when the dump holds no such
/// image (or it has none).
fn from_memory(module: &Module, memory: &DumpMemory) -> Result<Option<UnwindTable>, String> {
    let origin = format!("image in dump memory at {:#x}", module.base);
    let image = match image_in_memory(module, memory) {
        Ok(Some(image)) => image,
        Ok(None) => return Ok(None),
        Err(reason) => return Err(format!("call-frame information: {origin}: {reason}")),
    };
    let id = store_id(IdSource::Image {
        timestamp: module.timestamp,
        size_of_image: module.size,
    });
    match convert(&image, &Expected::Image(id)) {
        Ok(Some(bytes)) => parse(&bytes, origin).map(Some),
        Ok(None) => Ok(None),
        Err(error) => Err(format!("call-frame information: {origin}: {error}")),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::DebugFile;

    /// Finds files by name in one folder.
    struct Flat(PathBuf);

    impl FileFinder for Flat {
        fn find_file(&self, name: &str, _id: &str) -> (Option<PathBuf>, Vec<String>) {
            let path = self.0.join(name);
            (path.is_file().then_some(path), Vec::new())
        }
    }

    fn testdata(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(path)
    }

    fn module(name: &str, timestamp: u32, size: u32, pdb: &str, id: &str) -> Module {
        Module {
            name: name.to_string(),
            path: format!("C:\\app\\{name}"),
            base: 0x1000_0000,
            size,
            file_version: None,
            product_version: None,
            timestamp,
            checksum: 0,
            debug_file: Some(DebugFile {
                id: DebugId::from_breakpad(id).unwrap(),
                path: pdb.to_string(),
            }),
        }
    }

    /// testdata/pdb/leakylib.dll (x64, lld-link) as the module list gives it.
    fn leakylib() -> Module {
        let id = "4F5704A7F90205594C4C44205044422E1";
        module("leakylib.dll", 0xa3e7_5052, 0x6000, "leakylib.pdb", id)
    }

    /// testdata/pdb/x86/unwindlib.dll (x86, lld-link, frame pointers omitted).
    fn unwindlib() -> Module {
        let id = "8C1649043E9DD54B4C4C44205044422E1";
        module("unwindlib.dll", 0xc648_4a6c, 0x3000, "unwindlib.pdb", id)
    }

    fn sources(dir: &str, cache: &Path) -> UnwindSources {
        UnwindSources::new(Arc::new(Flat(testdata(dir))), Some(cache.to_path_buf()))
    }

    #[test]
    fn x64_pdata_of_the_image_becomes_stack_cfi_cached_next_to_the_symcache() {
        let cache = tempfile::tempdir().unwrap();
        // leakylib.pdb (x64) has no frame data: the records come from the image's .pdata.
        let found = sources("pdb", cache.path()).find(&leakylib(), None);
        let table = found.table.expect("records from leakylib.dll");
        assert!(found.notes.is_empty(), "{:?}", found.notes);
        assert!(table.origin.ends_with("leakylib.dll"), "{}", table.origin);
        // session_init's call of open_pool returns to 0x1064 (testdata/pdb/symbolizer-expected.txt).
        assert!(table.records.cfi_stack_info.get(0x1063).is_some());
        assert!(table.records.win_stack_framedata_info.is_empty());
        let cached = cache
            .path()
            .join("symcache")
            .join("leakylib.dll")
            .join("A3E750526000")
            .join(format!("cfi-v{CFICACHE_LATEST_VERSION}.cficache"));
        assert!(cached.is_file(), "no cache entry at {cached:?}");
        // The next run reads the cache, without the image.
        let found = sources("no-such-dir", cache.path()).find(&leakylib(), None);
        let table = found.table.expect("records from the cache");
        assert_eq!(table.origin, format!("{} (cached)", cached.display()));
        assert!(table.records.cfi_stack_info.get(0x1063).is_some());
    }

    #[test]
    fn x86_frame_data_of_the_pdb_becomes_stack_win() {
        let cache = tempfile::tempdir().unwrap();
        let found = sources("pdb/x86", cache.path()).find(&unwindlib(), None);
        let table = found.table.expect("records from unwindlib.pdb");
        assert!(table.origin.ends_with("unwindlib.pdb"), "{}", table.origin);
        // leaf at 0x1000 takes 8 bytes of parameters, middle at 0x1090 4, its body keeps
        // 64 bytes of locals (testdata/pdb/x86/frame-data.txt).
        assert_eq!(table.parameter_size(0x1010), Some(8));
        assert_eq!(table.parameter_size(0x10a0), Some(4));
        let middle = table.records.win_stack_framedata_info.get(0x10a0).unwrap();
        assert_eq!(middle.local_size, 64);
        let entry = cache
            .path()
            .join("symcache/unwindlib.pdb/8C1649043E9DD54B4C4C44205044422E1")
            .join(format!("cfi-v{CFICACHE_LATEST_VERSION}.cficache"));
        assert!(entry.is_file(), "no cache entry at {entry:?}");
    }

    #[test]
    fn breakpad_stack_win_records_are_read_from_the_sym_file() {
        let cache = tempfile::tempdir().unwrap();
        let dir = "real/breakpad-minidump2/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1";
        let id = "5A9832E5287241C1838ED98914E9B7FF1";
        let test_app = module("test_app.exe", 0x45d3_5f6c, 0x2d000, "c:\\test_app.pdb", id);
        let table = sources(dir, cache.path())
            .find(&test_app, None)
            .table
            .unwrap();
        assert!(table.origin.ends_with("test_app.sym"), "{}", table.origin);
        assert!(!table.records.win_stack_framedata_info.is_empty());
    }

    #[test]
    fn files_of_another_build_are_not_used() {
        let cache = tempfile::tempdir().unwrap();
        let mut other = leakylib();
        other.timestamp += 1;
        other.debug_file = None;
        let found = sources("pdb", cache.path()).find(&other, None);
        assert!(found.table.is_none());
        let mut other = unwindlib();
        other.debug_file.as_mut().unwrap().id =
            DebugId::from_breakpad("8C1649043E9DD54B4C4C44205044422E2").unwrap();
        other.timestamp += 1;
        assert!(sources("pdb/x86", cache.path())
            .find(&other, None)
            .table
            .is_none());
        assert_eq!(
            std::fs::read_dir(cache.path())
                .map(|d| d.count())
                .unwrap_or(0),
            0
        );
    }

    #[test]
    fn a_damaged_file_is_a_note_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let pdb = std::fs::read(testdata("pdb/x86/unwindlib.pdb")).unwrap();
        std::fs::write(dir.path().join("unwindlib.pdb"), &pdb[..pdb.len() / 2]).unwrap();
        let sources = UnwindSources::new(Arc::new(Flat(dir.path().to_path_buf())), None);
        let found = sources.find(&unwindlib(), None);
        assert!(found.table.is_none());
        assert_eq!(found.notes.len(), 1, "{:?}", found.notes);
        assert!(
            found.notes[0].starts_with("call-frame information: "),
            "{:?}",
            found.notes
        );
    }
}
