//! A module's export table as a symbol map: the nearest preceding export names an address.

use super::{ModuleSymbols, SymbolHit, SymbolOrigin};
use std::path::{Path, PathBuf};

/// Named exports of one image, sorted by RVA.
pub struct ExportTable {
    file: PathBuf,
    exports: Vec<(u64, String)>,
}

impl ExportTable {
    /// A table of `(rva, name)` pairs read from `file`; RVA 0 and duplicate RVAs are dropped
    /// (aliases: the first name in byte order wins, so output is stable).
    pub fn new(file: PathBuf, mut exports: Vec<(u64, String)>) -> ExportTable {
        exports.retain(|(rva, _)| *rva != 0);
        exports.sort();
        exports.dedup_by_key(|(rva, _)| *rva);
        ExportTable { file, exports }
    }

    /// Number of named exports.
    pub fn len(&self) -> usize {
        self.exports.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.exports.is_empty()
    }
}

impl ModuleSymbols for ExportTable {
    fn origin(&self) -> SymbolOrigin {
        SymbolOrigin::Exports
    }

    fn file(&self) -> &Path {
        &self.file
    }

    fn lookup(&self, rva: u64, _return_address: bool) -> Option<SymbolHit> {
        let index = self.exports.partition_point(|(start, _)| *start <= rva);
        let (start, name) = self.exports.get(index.checked_sub(1)?)?;
        Some(SymbolHit {
            name: name.clone(),
            offset: rva - start,
            source_line: None,
            inlined: Vec::new(),
        })
    }
}
