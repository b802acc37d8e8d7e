//! Report-model pieces every command shares: the contract version, how a dump is named, and
//! how handle values and counts are written.

use crate::snapshot::Snapshot;
use crate::time::iso8601;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the JSON contract; bumped when a key changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

/// Hex as WinDbg prints handle values: lowercase, no padding (`0x1bc`).
pub fn hex(value: u64) -> String {
    hex_in(value, &mut [0; 18]).to_string()
}

/// [`hex`] written into `buffer`, for serialisers that take the text without keeping it.
pub fn hex_in(value: u64, buffer: &mut [u8; 18]) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(1) as usize;
    buffer[..2].copy_from_slice(b"0x");
    for (index, shift) in (0..digits).rev().enumerate() {
        buffer[2 + index] = DIGITS[(value >> (shift * 4)) as usize & 0xf];
    }
    std::str::from_utf8(&buffer[..2 + digits]).expect("hex digits are ASCII")
}

/// A dump as a report names it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DumpSummary {
    /// The file as given.
    pub path: String,
    /// Process id.
    pub pid: Option<u32>,
    /// Process image name.
    pub process: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Capture time, ISO 8601 UTC.
    pub captured_at: Option<String>,
    /// Process start time, ISO 8601 UTC.
    pub process_started_at: Option<String>,
    /// Handles in the table; `null` when the input has no handle data (a dump without a
    /// HandleDataStream, a log without `!handle` or `!htrace` output).
    pub handle_count: Option<usize>,
    /// Handle-trace records in the dump; `null` without a HandleOperationListStream.
    pub trace_records: Option<usize>,
}

impl DumpSummary {
    /// Summarises a snapshot.
    pub fn of(snapshot: &Snapshot) -> DumpSummary {
        DumpSummary {
            path: snapshot.source.display().to_string(),
            pid: snapshot.process.pid,
            process: snapshot.process.image_name.clone(),
            arch: snapshot.process.arch.clone(),
            os: snapshot.process.os_version.clone(),
            captured_at: snapshot.captured_at.map(iso8601),
            process_started_at: snapshot.process.started_at.map(iso8601),
            handle_count: snapshot.has_handle_data().then(|| snapshot.handle_count()),
            trace_records: snapshot.trace.as_ref().map(|trace| trace.record_count),
        }
    }
}

/// Handles of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeCount {
    /// Object type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Number of handles.
    pub count: usize,
}

/// Counts per type, most numerous first (then by name); at most `limit` of them.
pub fn top_types(counts: &BTreeMap<String, usize>, limit: usize) -> Vec<TypeCount> {
    let mut types: Vec<TypeCount> = counts
        .iter()
        .map(|(type_name, count)| TypeCount {
            type_name: type_name.clone(),
            count: *count,
        })
        .collect();
    types.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    types.truncate(limit);
    types
}

/// The symbol search's notes as warnings, each said once: a note several modules share (a
/// server that could not be reached, offline) is one warning naming how many and which
/// (`symbols for 4 modules (a.dll, b.dll, …): …`), in the order first met.
pub fn symbol_note_warnings<'a>(
    statuses: impl IntoIterator<Item = &'a crate::symbols::ModuleSymbolStatus>,
) -> Vec<crate::warning::Warning> {
    let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
    for status in statuses {
        for note in &status.notes {
            match notes.iter_mut().find(|(known, _)| known == note) {
                Some((_, modules)) if modules.contains(&status.module.as_str()) => {}
                Some((_, modules)) => modules.push(&status.module),
                None => notes.push((note, vec![&status.module])),
            }
        }
    }
    notes
        .into_iter()
        .map(|(note, modules)| {
            let which = match modules.as_slice() {
                [module] => module.to_string(),
                _ => format!("{} modules ({})", modules.len(), modules.join(", ")),
            };
            crate::warning::Warning::new(
                crate::warning::WarningCode::SymbolNote,
                format!("symbols for {which}: {note}"),
            )
        })
        .collect()
}

#[cfg(test)]
mod symbol_note_tests {
    use super::*;
    use crate::symbols::{ModuleSymbolStatus, SymbolOrigin};

    fn status(module: &str, notes: &[&str]) -> ModuleSymbolStatus {
        ModuleSymbolStatus {
            module: module.to_string(),
            origin: SymbolOrigin::None,
            file: None,
            mismatched: false,
            from_cache: false,
            notes: notes.iter().map(|note| note.to_string()).collect(),
        }
    }

    #[test]
    fn a_note_shared_by_modules_is_said_once_with_their_number() {
        let down = "symbol server http://s could not be reached (refused)";
        let statuses = [
            status("a.dll", &[down, "a.pdb is damaged"]),
            status("b.dll", &[down]),
            status("c.dll", &[down, down]),
        ];
        let messages: Vec<String> = symbol_note_warnings(&statuses)
            .into_iter()
            .map(|warning| warning.message)
            .collect();
        assert_eq!(
            messages,
            [
                format!("symbols for 3 modules (a.dll, b.dll, c.dll): {down}"),
                "symbols for a.dll: a.pdb is damaged".to_string(),
            ]
        );
    }

    #[test]
    fn hex_is_the_lowercase_alternate_hex_of_the_value() {
        for value in [
            0,
            1,
            0xf,
            0x10,
            0x1bc,
            0x5eba4,
            0xdead_beef,
            1 << 63,
            u64::MAX,
        ] {
            assert_eq!(hex(value), format!("{value:#x}"));
        }
    }
}
