//! PE export tables of image files, as a symbol source of last resort: the nearest preceding
//! export names the function, as WinDbg does when it "Defaulted to export symbols".

use super::{ExportTable, Loaded, SymbolSource};
use crate::snapshot::{DumpMemory, Module};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use symbolic_debuginfo::pe::PeObject;

/// Largest image file read; real DLLs are far smaller.
const MAX_IMAGE_BYTES: u64 = 512 * 1024 * 1024;

/// Export tables read from image files in plain directories (flat, or laid out as a symbol
/// store: `<dir>/<name>/<TimeDateStamp %08X><SizeOfImage %x>/<name>`).
pub struct PeExportSource {
    dirs: Vec<PathBuf>,
    listings: Mutex<HashMap<PathBuf, HashMap<String, PathBuf>>>,
}

impl PeExportSource {
    /// A source searching `dirs` in order.
    pub fn new(dirs: Vec<PathBuf>) -> PeExportSource {
        PeExportSource {
            dirs,
            listings: Mutex::new(HashMap::new()),
        }
    }

    /// Files directly in `dir`, by lowercase name (file names on Windows ignore case).
    fn find_in_dir(&self, dir: &Path, name: &str) -> Option<PathBuf> {
        let mut listings = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        let listing = listings.entry(dir.to_path_buf()).or_insert_with(|| {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| {
                    (
                        entry.file_name().to_string_lossy().to_lowercase(),
                        entry.path(),
                    )
                })
                .collect()
        });
        listing.get(&name.to_lowercase()).cloned()
    }

    fn candidates(&self, module: &Module) -> Vec<PathBuf> {
        let key = format!("{:08X}{:x}", module.timestamp, module.size);
        let mut found = Vec::new();
        for dir in &self.dirs {
            if let Some(flat) = self.find_in_dir(dir, &module.name) {
                if flat.is_file() {
                    found.push(flat);
                }
            }
            for store_dir in [dir.join(&module.name), dir.join(module.name.to_lowercase())] {
                let stored = store_dir.join(&key).join(&module.name);
                if stored.is_file() && !found.contains(&stored) {
                    found.push(stored);
                }
            }
        }
        found
    }
}

impl SymbolSource for PeExportSource {
    fn name(&self) -> &'static str {
        "PE export tables"
    }

    fn load(&self, module: &Module, _memory: Option<&DumpMemory>) -> Loaded {
        let mut loaded = Loaded::default();
        for candidate in self.candidates(module) {
            match read_exports(&candidate, module) {
                Ok(table) => {
                    loaded.symbols = Some(Box::new(table));
                    return loaded;
                }
                Err(reason) => loaded
                    .notes
                    .push(format!("{}: {reason}", candidate.display())),
            }
        }
        loaded
    }
}

fn read_exports(path: &Path, module: &Module) -> Result<ExportTable, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > MAX_IMAGE_BYTES {
        return Err(format!(
            "{size} bytes is larger than any image dumpleak reads"
        ));
    }
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    if !PeObject::test(&data) {
        return Err("not a PE image".to_string());
    }
    let pe = PeObject::parse(&data).map_err(|e| format!("unreadable PE image: {e}"))?;
    let code_id = pe
        .code_id()
        .ok_or_else(|| "PE image without an optional header".to_string())?;
    let wanted = format!("{:08x}{:x}", module.timestamp, module.size);
    if !code_id.as_str().eq_ignore_ascii_case(&wanted) {
        let (stamp, image_size) = code_id.as_str().split_at(8.min(code_id.as_str().len()));
        return Err(format!(
            "TimeDateStamp/SizeOfImage {stamp}/{image_size} differ from the dump's {:08x}/{:x}: another build, not used",
            module.timestamp, module.size
        ));
    }
    let exports: Vec<(u64, String)> = pe
        .symbols()
        .filter_map(|symbol| Some((symbol.address, symbol.name?.into_owned())))
        .collect();
    let table = ExportTable::new(path.to_path_buf(), exports);
    if table.is_empty() {
        return Err("the image exports no named functions".to_string());
    }
    Ok(table)
}
