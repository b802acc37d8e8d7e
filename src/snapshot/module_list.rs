//! ModuleListStream (type 4): `MINIDUMP_MODULE_LIST`.
//!
//! Read here rather than with rust-minidump, which decodes each module's name string anew
//! with no limit (10,000 modules pointing at one 64 KiB name took gigabytes) and drops the
//! whole list over one unreadable name. Here every name is checked against the file and the
//! list: a name string shared with another module, pointing into the module list itself or
//! into the middle of another name is damage, not a name; such modules, and those past the
//! list's name budget, are named after their base address (`Unknown_Module_7ff600000000`, as
//! WinDbg names a module it has no name for) and the list gets a warning.

use super::bytes::{decode_utf16le, minidump_string_bytes, u32_at, u64_at, ParseError};
use super::model::{DebugFile, Module};
use crate::warning::{Warning, WarningCode};
use std::collections::HashMap;
use std::ops::Range;
use symbolic_common::DebugId;

/// Size of a `MINIDUMP_MODULE`.
const ENTRY_SIZE: usize = 108;
/// Bytes of names and PDB paths kept for one list (a real one holds a few hundred paths).
/// Modules past it are named after their base.
pub(crate) const NAME_BUDGET: usize = 4 << 20;
/// Longest PDB path read from a CodeView record.
const MAX_PDB_PATH: usize = 4096;
/// `VS_FIXEDFILEINFO.dwSignature`.
const VS_FFI_SIGNATURE: u32 = 0xfeef_04bd;

/// The modules in list order (the first is the main module) and what was wrong with them.
#[derive(Debug, Default)]
pub(crate) struct ModuleList {
    pub modules: Vec<Module>,
    pub warnings: Vec<Warning>,
    /// Whether the first module's name was read (not a stand-in).
    pub first_named: bool,
}

/// Why a module's name was not used.
#[derive(Debug, Default)]
struct Damage {
    unreadable: (usize, Option<ParseError>),
    shared: usize,
    into_list: usize,
    overlapping: usize,
    over_budget: usize,
}

/// Parses the stream at file offset `stream_offset`; `file` is the whole file (RVAs are file
/// offsets).
pub(crate) fn parse(
    file: &[u8],
    stream_offset: u64,
    stream: &[u8],
) -> Result<ModuleList, ParseError> {
    let count = u32_at(stream, 0)
        .ok_or_else(|| ParseError::new(stream_offset, "the stream is shorter than its count"))?;
    let needed = u64::from(count) * ENTRY_SIZE as u64;
    // Some writers pad the count to 8 bytes.
    let first = match (stream.len() as u64).checked_sub(needed) {
        Some(8) => 8,
        Some(rest) if rest >= 4 => 4,
        _ => {
            return Err(ParseError::new(
                stream_offset,
                format!(
                    "NumberOfModules {count} × {ENTRY_SIZE} bytes = {needed} bytes, but the stream holds {} bytes after its count",
                    stream.len().saturating_sub(4)
                ),
            ))
        }
    };
    let entries: Vec<&[u8]> = stream[first..]
        .chunks_exact(ENTRY_SIZE)
        .take(count as usize)
        // rust-minidump's rule: an image of no size, or one that wraps around, is no module.
        .filter(|entry| {
            let (base, size) = (field64(entry, 0), u64::from(field(entry, 8)));
            size != 0 && base.checked_add(size).is_some()
        })
        .collect();
    let list = stream_offset..stream_offset + stream.len() as u64;
    let (names, mut damage) = usable_names(file, &entries, &list);
    let mut spent = 0;
    let mut modules = Vec::with_capacity(entries.len());
    for (entry, name) in entries.iter().zip(names) {
        let mut name = name.map(decode_utf16le);
        let mut debug_file = debug_file(file, entry);
        let cost = name.as_ref().map_or(0, |name| 2 * name.len())
            + debug_file.as_ref().map_or(0, |file| file.path.len());
        if spent + cost > NAME_BUDGET {
            damage.over_budget += usize::from(name.is_some());
            (name, debug_file) = (None, None);
        } else {
            spent += cost;
        }
        modules.push(module(entry, name, debug_file));
    }
    let first_named = modules
        .first()
        .is_some_and(|module| !module.name.starts_with(UNKNOWN_MODULE));
    Ok(ModuleList {
        warnings: damage.warnings(),
        modules,
        first_named,
    })
}

/// What a module without a usable name is called.
const UNKNOWN_MODULE: &str = "Unknown_Module_";

fn field(entry: &[u8], at: usize) -> u32 {
    u32_at(entry, at).unwrap_or_default()
}

fn field64(entry: &[u8], at: usize) -> u64 {
    u64_at(entry, at).unwrap_or_default()
}

/// The UTF-16 name string (full path) of each entry, `None` where it is unreadable or tangled
/// with the list or another name, with what was found.
fn usable_names<'file>(
    file: &'file [u8],
    entries: &[&[u8]],
    list: &Range<u64>,
) -> (Vec<Option<&'file [u8]>>, Damage) {
    let mut damage = Damage::default();
    // The file range of each distinct name string.
    let mut spans = HashMap::new();
    for entry in entries {
        let rva = field(entry, 20);
        if let Ok(bytes) = minidump_string_bytes(file, rva) {
            let start = u64::from(rva);
            spans.insert(rva, (start, start + 4 + bytes.len() as u64));
        }
    }
    let tangled = overlapping_spans(spans.values().copied().collect());
    let mut first_user = HashMap::new();
    let names = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let rva = field(entry, 20);
            let bytes = match minidump_string_bytes(file, rva) {
                Ok(bytes) => bytes,
                Err(error) => {
                    damage.unreadable.0 += 1;
                    damage.unreadable.1.get_or_insert(error);
                    return None;
                }
            };
            let (start, end) = spans[&rva];
            if start < list.end && end > list.start {
                damage.into_list += 1;
                None
            } else if tangled.contains(&start) {
                damage.overlapping += 1;
                None
            } else if *first_user.entry(rva).or_insert(index) != index {
                damage.shared += 1;
                None
            } else {
                Some(bytes)
            }
        })
        .collect();
    (names, damage)
}

/// The starts of the spans that overlap another span.
fn overlapping_spans(mut spans: Vec<(u64, u64)>) -> std::collections::HashSet<u64> {
    spans.sort_unstable();
    let mut tangled = std::collections::HashSet::new();
    let mut reach: Option<(u64, u64)> = None;
    for &(start, end) in &spans {
        if let Some((first, furthest)) = reach {
            if start < furthest {
                tangled.insert(first);
                tangled.insert(start);
            }
        }
        if reach.is_none_or(|(_, furthest)| end > furthest) {
            reach = Some((start, end));
        }
    }
    tangled
}

impl Damage {
    fn warnings(self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if let (count, Some(first)) = self.unreadable {
            warnings.push(
                Warning::new(
                    WarningCode::StreamDamaged,
                    format!(
                        "ModuleListStream: {count} module name(s) could not be read (first at file offset {:#x}: {}); those modules are named after their base address",
                        first.offset, first.reason
                    ),
                )
                .at(first.offset),
            );
        }
        let tangled = [
            (self.shared, "share their name string with another module"),
            (self.into_list, "point into the module list itself"),
            (self.overlapping, "overlap another module's name"),
        ];
        let parts: Vec<String> = tangled
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}"))
            .collect();
        if !parts.is_empty() {
            warnings.push(Warning::new(
                WarningCode::StreamDamaged,
                format!(
                    "ModuleListStream: the name strings of some modules are tangled ({}): those modules are named after their base address",
                    parts.join(", ")
                ),
            ));
        }
        if self.over_budget > 0 {
            warnings.push(Warning::new(
                WarningCode::StreamDamaged,
                format!(
                    "ModuleListStream: the module names exceed {} MiB; {} module(s) past that are named after their base address",
                    NAME_BUDGET >> 20,
                    self.over_budget
                ),
            ));
        }
        warnings
    }
}

/// The module of `entry`, named `name` (its full path) or after its base.
fn module(entry: &[u8], name: Option<String>, debug_file: Option<DebugFile>) -> Module {
    let base = field64(entry, 0);
    let path = name.unwrap_or_else(|| format!("{UNKNOWN_MODULE}{base:x}"));
    let has_version = field(entry, 24) == VS_FFI_SIGNATURE;
    let version = |high: usize| {
        has_version.then(|| four_part_version(field(entry, high), field(entry, high + 4)))
    };
    Module {
        name: super::dump::file_name_of(&path).to_string(),
        path,
        base,
        size: field(entry, 8),
        file_version: version(32),
        product_version: version(40),
        timestamp: field(entry, 16),
        checksum: field(entry, 12),
        debug_file,
    }
}

fn four_part_version(high: u32, low: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        high >> 16,
        high & 0xffff,
        low >> 16,
        low & 0xffff
    )
}

/// The PDB named by the entry's CodeView record (`RSDS` or `NB10`), when it has one.
fn debug_file(file: &[u8], entry: &[u8]) -> Option<DebugFile> {
    let (size, rva) = (field(entry, 76) as usize, field(entry, 80) as usize);
    let record = file.get(rva..rva.checked_add(size)?)?;
    let path = |at: usize| {
        let raw = record.get(at..).unwrap_or_default();
        let raw = &raw[..raw.len().min(MAX_PDB_PATH)];
        let end = raw.iter().position(|&byte| byte == 0).unwrap_or(raw.len());
        String::from_utf8_lossy(&raw[..end]).into_owned()
    };
    let id = match record.get(..4)? {
        b"RSDS" if record.len() >= 24 => {
            let data4: [u8; 8] = record[12..20].try_into().ok()?;
            let uuid = symbolic_common::Uuid::from_fields(
                u32_at(record, 4)?,
                u16::from_le_bytes([record[8], record[9]]),
                u16::from_le_bytes([record[10], record[11]]),
                &data4,
            );
            return Some(DebugFile {
                id: DebugId::from_parts(uuid, u32_at(record, 20)?),
                path: path(24),
            });
        }
        b"NB10" if record.len() >= 16 => {
            DebugId::from_pdb20(u32_at(record, 8)?, u32_at(record, 12)?)
        }
        _ => return None,
    };
    Some(DebugFile { id, path: path(16) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_spans_are_found_in_any_order() {
        let tangled = overlapping_spans(vec![(100, 120), (0, 10), (110, 130), (10, 20)]);
        let mut starts: Vec<u64> = tangled.into_iter().collect();
        starts.sort_unstable();
        assert_eq!(starts, [100, 110]);
        let nested = overlapping_spans(vec![(0, 100), (50, 60), (70, 80)]);
        assert_eq!(nested.len(), 3);
        assert!(overlapping_spans(vec![(0, 4), (4, 8)]).is_empty());
    }
}
