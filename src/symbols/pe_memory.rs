//! PE export tables read from the images mapped in dump memory: how WinDbg names frames
//! `MSMAPI32!SzGPrev+0x293` with no PDB and no image file, from a full or heap dump.

use super::{ExportTable, Loaded, SymbolSource};
use crate::snapshot::{DumpMemory, Module, MEMORY_DERIVED_BUDGET};

/// Caps for a hostile image: more names than any real DLL exports, longer names than any
/// real export.
const MAX_EXPORT_NAMES: u32 = 1 << 17;
const MAX_NAME_BYTES: usize = 1024;

/// Reads export tables from the module images captured in the dump.
#[derive(Debug, Default)]
pub struct DumpMemoryExportSource;

impl SymbolSource for DumpMemoryExportSource {
    fn name(&self) -> &'static str {
        "export table in dump memory"
    }

    fn load(&self, module: &Module, memory: Option<&DumpMemory>) -> Loaded {
        let Some(memory) = memory else {
            return Loaded::default();
        };
        if memory.read(module.base, 2) != Some(b"MZ") {
            return Loaded::default();
        }
        match exports_in_memory(memory, module) {
            Ok(exports) if exports.is_empty() => Loaded::note(format!(
                "{}: the image in dump memory exports no named functions",
                self.name()
            )),
            Ok(exports) => Loaded::found(Box::new(ExportTable::new(
                format!("dump memory at {:#x}", module.base).into(),
                exports,
            ))),
            Err(reason) => Loaded::note(format!("{}: {reason}", self.name())),
        }
    }
}

fn u16_at(memory: &DumpMemory, address: u64) -> Option<u16> {
    memory
        .read(address, 2)
        .map(|bytes| u16::from_le_bytes([bytes[0], bytes[1]]))
}

fn u32_at(memory: &DumpMemory, address: u64) -> Option<u32> {
    memory
        .read(address, 4)
        .map(|bytes| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Named exports `(rva, name)` of the image mapped at `module.base`, checked against the
/// module's TimeDateStamp and SizeOfImage.
pub(crate) fn exports_in_memory(
    memory: &DumpMemory,
    module: &Module,
) -> Result<Vec<(u64, String)>, String> {
    let base = module.base;
    let missing = |what: &str| format!("{what} is not in the captured memory");
    let e_lfanew = u32_at(memory, base + 0x3c).ok_or_else(|| missing("the DOS header"))?;
    if e_lfanew > 0x1000 {
        return Err(format!("e_lfanew {e_lfanew:#x} is implausible"));
    }
    let nt = base + u64::from(e_lfanew);
    if memory.read(nt, 4) != Some(b"PE\0\0") {
        return Err("no PE signature at e_lfanew".to_string());
    }
    let timestamp = u32_at(memory, nt + 8).ok_or_else(|| missing("the COFF header"))?;
    let optional = nt + 24;
    let magic = u16_at(memory, optional).ok_or_else(|| missing("the optional header"))?;
    let size_of_image =
        u32_at(memory, optional + 56).ok_or_else(|| missing("the optional header"))?;
    if timestamp != module.timestamp || size_of_image != module.size {
        return Err(format!(
            "the image in memory has TimeDateStamp/SizeOfImage {timestamp:08x}/{size_of_image:x}, the module list {:08x}/{:x}",
            module.timestamp, module.size
        ));
    }
    let (count_offset, directories) = match magic {
        0x10b => (92, 96),
        0x20b => (108, 112),
        other => return Err(format!("unknown optional header magic {other:#x}")),
    };
    let directory_count =
        u32_at(memory, optional + count_offset).ok_or_else(|| missing("the optional header"))?;
    if directory_count == 0 {
        return Ok(Vec::new());
    }
    let export_rva =
        u32_at(memory, optional + directories).ok_or_else(|| missing("the data directories"))?;
    let export_size = u32_at(memory, optional + directories + 4).unwrap_or_default();
    if export_rva == 0 {
        return Ok(Vec::new());
    }
    let directory = base + u64::from(export_rva);
    let field = |offset: u64| {
        u32_at(memory, directory + offset).ok_or_else(|| missing("the export directory"))
    };
    let function_count = field(20)?;
    let name_count = field(24)?;
    let functions = base + u64::from(field(28)?);
    let names = base + u64::from(field(32)?);
    let ordinals = base + u64::from(field(36)?);
    if name_count > MAX_EXPORT_NAMES || function_count > MAX_EXPORT_NAMES {
        return Err(format!(
            "export directory claims {name_count} names and {function_count} functions"
        ));
    }
    let forwarders = u64::from(export_rva)..u64::from(export_rva) + u64::from(export_size);
    // What is kept counts against the dump's budget, shared by all its modules.
    const ENTRY: usize = std::mem::size_of::<(u64, String)>();
    let spent = || {
        format!(
            "the export names read from this dump's memory reached {} MiB (for all its modules together); this module's are not read",
            MEMORY_DERIVED_BUDGET >> 20
        )
    };
    if !memory.take_budget(name_count as usize * ENTRY) {
        return Err(spent());
    }
    let mut exports = Vec::with_capacity(name_count as usize);
    for index in 0..u64::from(name_count) {
        let name_rva =
            u32_at(memory, names + 4 * index).ok_or_else(|| missing("the export name table"))?;
        let ordinal = u16_at(memory, ordinals + 2 * index)
            .ok_or_else(|| missing("the export ordinal table"))?;
        if u32::from(ordinal) >= function_count {
            continue;
        }
        let function_rva = u32_at(memory, functions + 4 * u64::from(ordinal))
            .ok_or_else(|| missing("the export address table"))?;
        if function_rva == 0 || forwarders.contains(&u64::from(function_rva)) {
            continue;
        }
        let Some(raw) = memory.read_up_to(base + u64::from(name_rva), MAX_NAME_BYTES) else {
            continue;
        };
        let end = raw.iter().position(|&byte| byte == 0).unwrap_or(raw.len());
        if !memory.take_budget(end) {
            return Err(spent());
        }
        exports.push((
            u64::from(function_rva),
            String::from_utf8_lossy(&raw[..end]).into_owned(),
        ));
    }
    Ok(exports)
}
