//! PE export tables of image files, as a symbol source of last resort: the nearest preceding
//! export names the function, as WinDbg does when it "Defaulted to export symbols".

use super::locate::{store_id, IdSource};
use super::{ExportTable, FileFinder, Loaded, SymbolSource};
use crate::snapshot::{DumpMemory, Module};
use std::path::Path;
use std::sync::Arc;
use symbolic_debuginfo::pe::PeObject;

/// Largest image file read; real DLLs are far smaller.
const MAX_IMAGE_BYTES: u64 = 512 * 1024 * 1024;

/// Export tables of image files found along the symbol path: flat, or in a symbol store as
/// `<name>/<TimeDateStamp %08X><SizeOfImage %x>/<name>`. An image is used only when its
/// TimeDateStamp and SizeOfImage match the module's.
pub struct PeExportSource {
    finder: Arc<dyn FileFinder>,
}

impl PeExportSource {
    /// A source finding images with `finder`.
    pub fn new(finder: Arc<dyn FileFinder>) -> PeExportSource {
        PeExportSource { finder }
    }
}

impl SymbolSource for PeExportSource {
    fn name(&self) -> &'static str {
        "PE export tables"
    }

    fn reads_dump_memory(&self) -> bool {
        false
    }

    fn load(&self, module: &Module, _memory: Option<&DumpMemory>) -> Loaded {
        let (found, mut notes) = self.finder.find_file(&module.name, &image_id(module));
        let Some(path) = found else {
            return Loaded {
                symbols: None,
                notes,
            };
        };
        match read_exports(&path, module) {
            Ok(table) => Loaded {
                symbols: Some(Box::new(table)),
                notes,
            },
            Err(reason) => {
                notes.push(format!("{}: {reason}", path.display()));
                Loaded {
                    symbols: None,
                    notes,
                }
            }
        }
    }
}

/// The module's image id in SymSrv form; symbolic's code id is the same in lower case.
fn image_id(module: &Module) -> String {
    store_id(IdSource::Image {
        timestamp: module.timestamp,
        size_of_image: module.size,
    })
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
    if !code_id.as_str().eq_ignore_ascii_case(&image_id(module)) {
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
