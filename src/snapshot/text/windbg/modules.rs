//! Modules: `ModLoad:` lines and `lm` / `lmv` / `lmvm` output, merged into one list. A
//! module seen twice is matched by base address, else by name without extension (`lm` prints
//! `AcmeNet` where `ModLoad:` printed `AcmeNet.dll`).

use super::super::frame::parse_hex_address;
use crate::snapshot::{DebugFile, Module};
use std::collections::HashMap;
use symbolic_common::DebugId;

/// What the log says about one module so far.
#[derive(Debug, Default)]
struct ModuleDraft {
    name: Option<String>,
    path: Option<String>,
    base: u64,
    end: Option<u64>,
    size: Option<u64>,
    file_version: Option<String>,
    product_version: Option<String>,
    timestamp: Option<u32>,
    checksum: Option<u32>,
    debug_file: Option<DebugFile>,
    /// Name as the `lm` module column prints it (`AcmeNet`).
    short_name: Option<String>,
}

impl ModuleDraft {
    /// Takes `path` unless the draft has a longer one.
    fn offer_path(&mut self, path: &str) {
        if self.path.as_ref().is_none_or(|old| old.len() < path.len()) {
            self.path = Some(path.to_owned());
        }
    }

    /// The path column of an `lm` row: an image path, or a PDB in a symbol store.
    fn lm_path(&mut self, path: &str) {
        if is_image_path(path) {
            self.offer_path(path);
        } else if path.to_ascii_lowercase().ends_with(".pdb") {
            self.debug_file = self
                .debug_file
                .take()
                .or_else(|| debug_file_from_store_path(path));
        }
    }

    /// An `lmv` detail line (`Image path: C:\x.dll`) split at its colon.
    fn lmv_field(&mut self, key: &str, value: &str) {
        match key {
            "Image path" if !value.is_empty() => self.path = Some(value.to_owned()),
            "Image name" if !value.is_empty() => self.name = Some(value.to_owned()),
            "Loaded symbol image file" if !value.is_empty() && self.path.is_none() => {
                self.path = Some(value.to_owned())
            }
            "Symbol file" if self.debug_file.is_none() => {
                self.debug_file = debug_file_from_store_path(value)
            }
            "Timestamp" => self.timestamp = paren_hex(value).and_then(|v| u32::try_from(v).ok()),
            "CheckSum" => {
                self.checksum = parse_hex_address(value).and_then(|v| u32::try_from(v).ok())
            }
            "ImageSize" => self.size = parse_hex_address(value),
            "File version" if !value.is_empty() => self.file_version = Some(value.to_owned()),
            "Product version" if !value.is_empty() => self.product_version = Some(value.to_owned()),
            _ => {}
        }
    }

    /// The module, when the draft has a name from any source.
    fn into_module(self) -> Option<Module> {
        let name = self
            .name
            .or_else(|| self.path.as_deref().map(|path| file_name(path).to_owned()))
            .or(self.short_name)?;
        let size = match (self.end, self.size) {
            (Some(end), _) if end > self.base => end - self.base,
            (_, Some(size)) => size,
            _ => 0,
        };
        Some(Module {
            path: self.path.unwrap_or_else(|| name.clone()),
            name,
            base: self.base,
            size: u32::try_from(size).unwrap_or(u32::MAX),
            file_version: self.file_version,
            product_version: self.product_version,
            timestamp: self.timestamp.unwrap_or(0),
            checksum: self.checksum.unwrap_or(0),
            debug_file: self.debug_file,
        })
    }
}

/// Modules kept from one log: a process loads a few hundred, and one log may show them again
/// at other bases; past this many, `ModLoad:` lines and `lm` rows of new modules are counted,
/// not kept (20 MB of `ModLoad:` lines took 907 MB).
pub const MAX_LOG_MODULES: usize = 16_384;

/// The modules read so far and the `lm` output being read.
#[derive(Debug, Default)]
pub(super) struct ModuleTable {
    /// Lines of modules past [`MAX_LOG_MODULES`].
    pub(super) dropped: usize,
    drafts: Vec<ModuleDraft>,
    /// Index into `drafts` by base address, and by lowercase name without extension.
    by_base: HashMap<u64, usize>,
    by_stem: HashMap<String, usize>,
    /// Index into `drafts` of the row whose `lmv` details follow.
    lm_current: Option<usize>,
    /// The `lm` output is past `Unloaded modules:`.
    lm_unloaded: bool,
    /// Name and path of the first `.exe` in a `ModLoad:` line.
    first_exe: Option<(String, String)>,
}

impl ModuleTable {
    /// `ModLoad: 00007ff6`1a2b0000 00007ff6`1a2f4000   C:\svc\OrderSync.exe` (after the colon).
    pub(super) fn modload(&mut self, rest: &str) {
        let mut fields = rest.split_whitespace();
        let (Some(start), Some(end)) = (fields.next(), fields.next()) else {
            return;
        };
        let (Some(start), Some(end)) = (parse_hex_address(start), parse_hex_address(end)) else {
            return;
        };
        let path = skip_fields(rest, 2);
        if path.is_empty() {
            return;
        }
        let name = file_name(path).to_owned();
        if self.first_exe.is_none() && name.to_ascii_lowercase().ends_with(".exe") {
            self.first_exe = Some((name.clone(), path.to_owned()));
        }
        let Some(index) = self.index_for(start, None) else {
            return;
        };
        self.place(index, start, &name);
        let draft = &mut self.drafts[index];
        draft.end = Some(end);
        draft.name = Some(name);
        draft.offer_path(path);
    }

    /// An `lm` command was typed: its rows are loaded modules until `Unloaded modules:`.
    pub(super) fn start_lm(&mut self) {
        self.lm_unloaded = false;
    }

    /// The `lm` output ended: no `lmv` details follow.
    pub(super) fn close_lm(&mut self) {
        self.lm_current = None;
    }

    /// Reads a line of `lm` output. Returns whether the line was taken.
    pub(super) fn lm_line(&mut self, trimmed: &str) -> bool {
        if trimmed.is_empty() || is_lm_header(trimmed) || trimmed.starts_with("Browse ") {
            return true;
        }
        if trimmed.starts_with("Unloaded modules:") {
            self.lm_unloaded = true;
            self.lm_current = None;
            return true;
        }
        if let Some(row) = lm_row(trimmed) {
            if !self.lm_unloaded {
                self.add_lm_row(row);
            }
            return true;
        }
        let Some(index) = self.lm_current else {
            return false;
        };
        let (key, value) = split_colon(trimmed);
        self.drafts[index].lmv_field(key, value);
        true
    }

    fn add_lm_row(&mut self, row: LmRow) {
        let image_name = row
            .path
            .as_deref()
            .filter(|path| is_image_path(path))
            .map(|path| file_name(path).to_owned());
        let Some(index) = self.index_for(row.start, Some(&row.module)) else {
            self.lm_current = None;
            return;
        };
        self.place(index, row.start, &row.module);
        let draft = &mut self.drafts[index];
        draft.end = Some(row.end);
        draft.short_name = Some(row.module);
        if let Some(path) = row.path.as_deref() {
            draft.lm_path(path);
        }
        if draft.name.is_none() {
            draft.name = image_name;
        }
        self.lm_current = Some(index);
    }

    /// The draft at `base`, else one named `name`, else a new one; `None` (counted in
    /// `dropped`) when that would be one more than [`MAX_LOG_MODULES`].
    fn index_for(&mut self, base: u64, name: Option<&str>) -> Option<usize> {
        if let Some(&at) = self.by_base.get(&base) {
            return Some(at);
        }
        if let Some(&at) = name.and_then(|name| self.by_stem.get(&stem(name))) {
            return Some(at);
        }
        if self.drafts.len() >= MAX_LOG_MODULES {
            self.dropped += 1;
            return None;
        }
        self.drafts.push(ModuleDraft {
            base,
            ..ModuleDraft::default()
        });
        let at = self.drafts.len() - 1;
        self.by_base.insert(base, at);
        Some(at)
    }

    /// Moves draft `at` to `base` and makes it findable by `name`.
    fn place(&mut self, at: usize, base: u64, name: &str) {
        let old = std::mem::replace(&mut self.drafts[at].base, base);
        if old != base {
            if self.by_base.get(&old) == Some(&at) {
                self.by_base.remove(&old);
            }
            self.by_base.insert(base, at);
        }
        self.by_stem.entry(stem(name)).or_insert(at);
    }

    /// The modules sorted by base address, and the name and path of the first `.exe` of the
    /// `ModLoad:` lines.
    pub(super) fn into_parts(self) -> (Vec<Module>, Option<(String, String)>) {
        let mut modules: Vec<Module> = self
            .drafts
            .into_iter()
            .filter_map(ModuleDraft::into_module)
            .collect();
        modules.sort_by_key(|module| module.base);
        (modules, self.first_exe)
    }
}

/// The last component of a path, quotes and spaces trimmed.
pub(super) fn file_name(path: &str) -> &str {
    let path = path.trim().trim_matches('"');
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// The file name without its extension, in lower case: the key that matches `lm` rows to
/// `ModLoad:` lines.
fn stem(name: &str) -> String {
    crate::snapshot::module_key(file_name(name))
}

fn is_image_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [
        ".dll", ".exe", ".sys", ".drv", ".ocx", ".cpl", ".efi", ".mui", ".winmd",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

/// What follows the first `count` whitespace-separated fields, trimmed.
fn skip_fields(text: &str, count: usize) -> &str {
    let mut rest = text.trim_start();
    for _ in 0..count {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end()
}

/// `Image path: C:\x.dll` → (`Image path`, `C:\x.dll`).
fn split_colon(trimmed: &str) -> (&str, &str) {
    match trimmed.split_once(':') {
        Some((key, value)) => (key.trim(), value.trim()),
        None => (trimmed, ""),
    }
}

/// The hex number in the last parentheses: `Tue Mar  4 10:12:44 2025 (67C6D1CC)`.
fn paren_hex(value: &str) -> Option<u64> {
    let open = value.rfind('(')?;
    let close = value[open..].find(')')? + open;
    parse_hex_address(&value[open + 1..close])
}

/// One row of `lm` output.
struct LmRow {
    start: u64,
    end: u64,
    module: String,
    path: Option<String>,
}

/// The `start end module name` header of `lm` output.
pub(super) fn is_lm_header(trimmed: &str) -> bool {
    let mut words = trimmed.split_whitespace();
    words.next() == Some("start")
        && words.next() == Some("end")
        && words.next() == Some("module")
        && words.next() == Some("name")
}

/// `00007ffa`f4a10000 00007ffa`f4a61000   AcmeNet    (pdb symbols)   C:\…\AcmeNet.pdb`.
fn lm_row(trimmed: &str) -> Option<LmRow> {
    let mut fields = trimmed.split_whitespace();
    let start_text = fields.next()?;
    let end_text = fields.next()?;
    if start_text.trim_start_matches("0x").replace('`', "").len() < 8 {
        return None;
    }
    let start = parse_hex_address(start_text)?;
    let end = parse_hex_address(end_text)?;
    let module = fields.next()?;
    if end < start {
        return None;
    }
    let mut rest = skip_fields(trimmed, 3);
    if rest.starts_with('(') {
        if let Some(close) = rest.find(')') {
            rest = rest[close + 1..].trim();
        }
    }
    // A one-letter marker (`M` mismatch, `C` checksum) may precede the path.
    if let Some((marker, after)) = rest.split_once(' ') {
        if marker.len() == 1 && marker.bytes().all(|b| b.is_ascii_uppercase()) {
            rest = after.trim();
        }
    }
    Some(LmRow {
        start,
        end,
        module: module.to_owned(),
        path: (!rest.is_empty()).then(|| rest.to_owned()),
    })
}

/// `C:\Symbols\AcmeNet.pdb\3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1\AcmeNet.pdb` → RSDS GUID and age.
fn debug_file_from_store_path(path: &str) -> Option<DebugFile> {
    let mut parts = path.trim().rsplit(['\\', '/']);
    let pdb = parts.next()?;
    let key = parts.next()?;
    let folder = parts.next()?;
    if !folder.eq_ignore_ascii_case(pdb) || key.len() < 33 {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(DebugFile {
        id: DebugId::from_breakpad(key).ok()?,
        path: pdb.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lm_rows_skip_the_symbol_kind_and_a_marker() {
        let row = lm_row(
            r"00007ffa`f4a10000 00007ffa`f4a61000   AcmeNet  (pdb symbols)  M C:\x\AcmeNet.dll",
        )
        .unwrap();
        assert_eq!((row.start, row.end), (0x7ffaf4a10000, 0x7ffaf4a61000));
        assert_eq!(row.module, "AcmeNet");
        assert_eq!(row.path.as_deref(), Some(r"C:\x\AcmeNet.dll"));
        let row = lm_row("77a40000 77bde000   ntdll      (deferred)").unwrap();
        assert_eq!(row.path, None);
        assert!(lm_row("1000 2000 short").is_none());
        assert!(lm_row("77a40000 77a30000 backwards").is_none());
    }

    #[test]
    fn symbol_store_paths_give_the_debug_id() {
        let file = debug_file_from_store_path(
            r"C:\Symbols\AcmeNet.pdb\3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1\AcmeNet.pdb",
        )
        .unwrap();
        assert_eq!(file.path, "AcmeNet.pdb");
        assert_eq!(
            file.id.breakpad().to_string(),
            "3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1"
        );
        assert_eq!(debug_file_from_store_path(r"C:\x\AcmeNet.pdb"), None);
        assert_eq!(
            debug_file_from_store_path(
                r"C:\Other.pdb\3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1\AcmeNet.pdb"
            ),
            None
        );
    }

    #[test]
    fn modules_past_the_cap_are_counted_not_kept() {
        let mut table = ModuleTable::default();
        for index in 0..MAX_LOG_MODULES as u64 + 3 {
            let base = 0x1000_0000 + index * 0x10000;
            table.modload(&format!(
                " {base:x} {:x}   C:\\m\\m{index}.dll",
                base + 0x8000
            ));
        }
        // A module already kept is still updated.
        table.modload(" 10000000 10009000   C:\\m\\again.dll");
        assert_eq!(table.dropped, 3);
        let (modules, _) = table.into_parts();
        assert_eq!(modules.len(), MAX_LOG_MODULES);
        assert_eq!(modules[0].name, "again.dll");
    }

    #[test]
    fn lm_rows_merge_with_modload_lines_by_name_without_extension() {
        let mut table = ModuleTable::default();
        table.modload(r" 00007ffa`f4a10000 00007ffa`f4a61000   C:\Acme\AcmeNet.dll");
        table.start_lm();
        assert!(table.lm_line("00007ffa`f5000000 00007ffa`f5051000   AcmeNet    (deferred)"));
        assert!(table.lm_line("Timestamp:        Tue Mar  4 10:12:44 2025 (67C6D1CC)"));
        assert!(table.lm_line("Unloaded modules:"));
        assert!(table.lm_line("00007ffa`f6000000 00007ffa`f6010000   Gone.dll"));
        assert!(!table.lm_line("Timestamp: (1)"));
        let (modules, first_exe) = table.into_parts();
        assert_eq!(modules.len(), 1);
        assert_eq!(modules[0].name, "AcmeNet.dll");
        assert_eq!(modules[0].path, r"C:\Acme\AcmeNet.dll");
        assert_eq!(
            (modules[0].base, modules[0].size),
            (0x7ffaf5000000, 0x51000)
        );
        assert_eq!(modules[0].timestamp, 0x67C6D1CC);
        assert_eq!(first_exe, None);
        assert_eq!(stem(r"C:\x\a.b.dll"), "a.b");
        assert_eq!(stem(".hidden"), ".hidden");
    }
}
