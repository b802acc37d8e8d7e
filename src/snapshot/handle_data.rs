//! HandleDataStream (type 12): `MINIDUMP_HANDLE_DATA_STREAM` with v1 or v2 descriptors.
//!
//! Parsed here rather than with rust-minidump because the analysis needs every count, RVA
//! and object-information chain checked against the file (a looping chain in a hostile dump
//! must not hang the tool).

use super::bytes::{
    decode_utf16le, minidump_string_bytes, parse_entries, u32_at, u64_at, FirstProblem, ListHeader,
    ParseError,
};
use super::compact::{CompactHandle, CompactHandles, Interner};
use super::model::{Handle, ObjectInfo};
use crate::warning::{Warning, WarningCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const DESCRIPTOR_V1_SIZE: u32 = 32;
const DESCRIPTOR_V2_SIZE: u32 = 40;
const OBJECT_INFO_HEADER_SIZE: usize = 12;
/// Longest object-information chain followed; real dumps carry one or two records.
const MAX_OBJECT_INFO_CHAIN: usize = 64;
/// Bytes kept of one object-information record (the documented ones have 8 to 40).
const MAX_OBJECT_INFO_BYTES: usize = 64;

/// The handle table and what was noticed while reading it.
#[derive(Debug, Default)]
pub(crate) struct HandleData {
    pub handles: Vec<Handle>,
    pub warnings: Vec<Warning>,
}

/// Parses the stream. `stream` is the stream's bytes, `stream_offset` its file offset and
/// `file` the whole file (RVAs are file offsets).
#[cfg(test)]
pub(crate) fn parse(
    file: &[u8],
    stream_offset: u64,
    stream: &[u8],
) -> Result<HandleData, ParseError> {
    parse_with(file, stream_offset, stream, true)
}

/// [`parse`]; without `keep_object_info` the object-information chains are walked and
/// checked (the same warnings) but not kept, so no handle allocates anything.
pub(crate) fn parse_with<'file>(
    file: &'file [u8],
    stream_offset: u64,
    stream: &[u8],
    keep_object_info: bool,
) -> Result<HandleData, ParseError> {
    let (size_of_header, size_of_descriptor, count) = read_header(stream, stream_offset)?;
    let is_v2 = size_of_descriptor >= DESCRIPTOR_V2_SIZE;

    let bad_strings = FirstProblem::default();
    let cut_chains = AtomicUsize::new(0);
    // Names repeat (every Event handle names the type "Event"): one shared string per distinct
    // content, whether the writer shared the string or wrote it once per descriptor. A string
    // met again at the same RVA is found by its RVA, without hashing its content again.
    #[derive(Default)]
    struct Strings<'a> {
        by_rva: foldhash::HashMap<u32, Option<Arc<str>>>,
        by_content: foldhash::HashMap<&'a [u8], Option<Arc<str>>>,
    }
    let string_at = |strings: &mut Strings<'file>, index: usize, rva: u32| -> Option<Arc<str>> {
        if rva == 0 {
            return None;
        }
        if let Some(known) = strings.by_rva.get(&rva) {
            return known.clone();
        }
        match minidump_string_bytes(file, rva) {
            Ok(raw) => {
                let text = strings
                    .by_content
                    .entry(raw)
                    .or_insert_with(|| {
                        let text = decode_utf16le(raw);
                        // An empty name is no name: unnamed objects and types the writer
                        // could not query.
                        (!text.is_empty()).then(|| Arc::from(text))
                    })
                    .clone();
                strings.by_rva.insert(rva, text.clone());
                text
            }
            Err(error) => {
                bad_strings.record(index, error);
                None
            }
        }
    };
    let handles = parse_entries(count as usize, Strings::default, |strings, index| {
        let fields = Descriptor::at(stream, size_of_header, size_of_descriptor, index);
        let object_info = if is_v2 {
            let (chain, was_cut) =
                object_info_chain(file, fields.object_info_rva, keep_object_info);
            if was_cut {
                cut_chains.fetch_add(1, Ordering::Relaxed);
            }
            chain
        } else {
            Vec::new()
        };
        Handle {
            value: fields.value,
            type_name: string_at(strings, index, fields.type_name_rva),
            object_name: string_at(strings, index, fields.object_name_rva),
            attributes: fields.attributes,
            granted_access: fields.granted_access,
            handle_count: fields.handle_count,
            pointer_count: fields.pointer_count,
            object_info,
            type_inferred: false,
        }
    });
    Ok(HandleData {
        handles,
        warnings: damage_warnings(bad_strings, cut_chains.into_inner()),
    })
}

/// The fields of one `MINIDUMP_HANDLE_DESCRIPTOR(_2)`, as written (`object_info_rva` is 0 in
/// a version 1 descriptor).
struct Descriptor {
    value: u64,
    type_name_rva: u32,
    object_name_rva: u32,
    attributes: u32,
    granted_access: u32,
    handle_count: u32,
    pointer_count: u32,
    object_info_rva: u32,
}

impl Descriptor {
    /// Descriptor `index` of a stream whose header [`read_header`] checked.
    fn at(stream: &[u8], size_of_header: u32, size_of_descriptor: u32, index: usize) -> Self {
        let at = size_of_header as usize + index * size_of_descriptor as usize;
        let descriptor = &stream[at..at + size_of_descriptor as usize];
        let field = |offset: usize| u32_at(descriptor, offset).unwrap_or_default();
        Descriptor {
            value: u64_at(descriptor, 0).unwrap_or_default(),
            type_name_rva: field(8),
            object_name_rva: field(12),
            attributes: field(16),
            granted_access: field(20),
            handle_count: field(24),
            pointer_count: field(28),
            object_info_rva: field(32),
        }
    }
}

/// Checks the stream's header: `SizeOfHeader`, `SizeOfDescriptor` and the count, which must
/// fit the stream.
fn read_header(stream: &[u8], stream_offset: u64) -> Result<(u32, u32, u32), ParseError> {
    let header = ListHeader::read(
        stream,
        stream_offset,
        ("SizeOfDescriptor", "NumberOfDescriptors"),
        |size| {
            match size {
            DESCRIPTOR_V1_SIZE => Ok(()),
            size if size >= DESCRIPTOR_V2_SIZE => Ok(()),
            size => Err(format!(
                "SizeOfDescriptor {size} is neither 32 (MINIDUMP_HANDLE_DESCRIPTOR) nor 40 (MINIDUMP_HANDLE_DESCRIPTOR_2)"
            )),
        }
        },
    )?;
    Ok((header.size_of_header, header.size_of_entry, header.count))
}

/// The warnings for names that could not be read and object-information chains that had to
/// be cut.
fn damage_warnings(bad_strings: FirstProblem, cut_chains: usize) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let (bad_strings, first_bad_string) = bad_strings.into_parts();
    if let Some(first) = first_bad_string {
        warnings.push(
            Warning::new(
                WarningCode::StreamDamaged,
                format!(
                    "HandleDataStream: {bad_strings} type or object name string(s) could not be read (first at file offset {:#x}: {}); those handles are shown without that name",
                    first.offset, first.reason
                ),
            )
            .at(first.offset),
        );
    }
    if cut_chains > 0 {
        warnings.push(Warning::new(
            WarningCode::StreamDamaged,
            format!(
                "HandleDataStream: {cut_chains} object-information chain(s) looped, ran out of the file or exceeded {MAX_OBJECT_INFO_CHAIN} records and were cut"
            ),
        ));
    }
    warnings
}

/// [`parse_with`] into a [`CompactHandles`] table (object information checked, not kept):
/// the same handles, names and warnings in 32 bytes a handle.
pub(crate) fn parse_compact(
    file: &[u8],
    stream_offset: u64,
    stream: &[u8],
) -> Result<(CompactHandles, Vec<Warning>), ParseError> {
    let (size_of_header, size_of_descriptor, count) = read_header(stream, stream_offset)?;
    let is_v2 = size_of_descriptor >= DESCRIPTOR_V2_SIZE;
    let bad_strings = FirstProblem::default();
    let cut_chains = AtomicUsize::new(0);
    let interner = Interner::new();
    // Per worker: the index of each string RVA met (unreadable ones are read again, and
    // counted, every time, as `parse_with` does).
    let index_at = |known: &mut foldhash::HashMap<u32, u32>, index: usize, rva: u32| -> u32 {
        if rva == 0 {
            return 0;
        }
        if let Some(known) = known.get(&rva) {
            return *known;
        }
        match minidump_string_bytes(file, rva) {
            Ok(raw) => {
                let name = interner.index_of(raw);
                known.insert(rva, name);
                name
            }
            Err(error) => {
                bad_strings.record(index, error);
                0
            }
        }
    };
    let handles = parse_entries(
        count as usize,
        foldhash::HashMap::default,
        |known, index| {
            let fields = Descriptor::at(stream, size_of_header, size_of_descriptor, index);
            if is_v2 && chain_is_cut(file, fields.object_info_rva) {
                cut_chains.fetch_add(1, Ordering::Relaxed);
            }
            CompactHandle {
                value: fields.value,
                type_name: index_at(known, index, fields.type_name_rva),
                object_name: index_at(known, index, fields.object_name_rva),
                attributes: fields.attributes,
                granted_access: fields.granted_access,
                handle_count: fields.handle_count,
                pointer_count: fields.pointer_count,
            }
        },
    );
    let table = CompactHandles {
        handles,
        names: interner.into_names(),
    };
    Ok((table, damage_warnings(bad_strings, cut_chains.into_inner())))
}

/// Follows a `MINIDUMP_HANDLE_OBJECT_INFORMATION` chain; the flag says it had to be cut.
/// Without `keep`, the records are checked the same way but none is kept.
fn object_info_chain(file: &[u8], first_rva: u32, keep: bool) -> (Vec<ObjectInfo>, bool) {
    if !keep {
        return (Vec::new(), chain_is_cut(file, first_rva));
    }
    let mut chain = Vec::new();
    let mut rva = first_rva;
    let mut seen = [0u32; MAX_OBJECT_INFO_CHAIN];
    let mut length = 0;
    while rva != 0 {
        if length >= MAX_OBJECT_INFO_CHAIN || seen[..length].contains(&rva) {
            return (chain, true);
        }
        seen[length] = rva;
        length += 1;
        let Some((info_type, size, start, next)) = object_info_at(file, rva) else {
            return (chain, true);
        };
        let kept = (size as usize).min(MAX_OBJECT_INFO_BYTES);
        chain.push(ObjectInfo {
            info_type,
            size,
            data: file[start..start + kept].to_vec(),
        });
        rva = next;
    }
    (chain, false)
}

/// Whether [`object_info_chain`] would cut the chain at `first_rva`, without keeping it: a
/// loop also runs past [`MAX_OBJECT_INFO_CHAIN`] records, so the RVAs seen need no table
/// (clearing one per handle costs more than following a chain of one or two records).
fn chain_is_cut(file: &[u8], first_rva: u32) -> bool {
    let mut rva = first_rva;
    let mut length = 0;
    while rva != 0 {
        if length >= MAX_OBJECT_INFO_CHAIN {
            return true;
        }
        length += 1;
        let Some((_, _, _, next)) = object_info_at(file, rva) else {
            return true;
        };
        rva = next;
    }
    false
}

/// The record at `rva`: its `InfoType`, `SizeOfInfo`, the file offset of its data and the
/// next record's RVA; `None` when it does not lie inside the file.
fn object_info_at(file: &[u8], rva: u32) -> Option<(u32, u32, usize, u32)> {
    let offset = rva as usize;
    let (next, info_type, size) = (
        u32_at(file, offset)?,
        u32_at(file, offset + 4)?,
        u32_at(file, offset + 8)?,
    );
    let end = (offset + OBJECT_INFO_HEADER_SIZE) as u64 + u64::from(size);
    (end <= file.len() as u64).then_some((info_type, size, offset + OBJECT_INFO_HEADER_SIZE, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact parse of the stream holds the handles and gives the warnings of the full
    /// parse without object information.
    fn assert_compact_agrees(file: &[u8], at: u64) {
        let stream = &file[at as usize..];
        let full = parse_with(file, at, stream, false).unwrap();
        let (compact, warnings) = parse_compact(file, at, stream).unwrap();
        assert_eq!(compact.to_handles(), full.handles);
        assert_eq!(warnings, full.warnings);
        assert_eq!(compact.handles.len(), full.handles.len());
    }

    /// A file holding a MINIDUMP_STRING "Mutant" at 0, then the stream at `stream_at`.
    fn file_with(stream: &[u8]) -> (Vec<u8>, u64) {
        let mut file = Vec::new();
        let name: Vec<u8> = "Mutant".encode_utf16().flat_map(u16::to_le_bytes).collect();
        file.extend((name.len() as u32).to_le_bytes());
        file.extend(&name);
        file.extend([0, 0]);
        let at = file.len() as u64;
        file.extend(stream);
        (file, at)
    }

    fn header(descriptor_size: u32, count: u32) -> Vec<u8> {
        [16u32, descriptor_size, count, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    fn descriptor(value: u64, type_rva: u32, info_rva: Option<u32>) -> Vec<u8> {
        let mut out = value.to_le_bytes().to_vec();
        for field in [type_rva, 0, 0, 0x1f0001, 1, 2] {
            out.extend(field.to_le_bytes());
        }
        if let Some(rva) = info_rva {
            out.extend(rva.to_le_bytes());
            out.extend(0u32.to_le_bytes());
        }
        out
    }

    #[test]
    fn reads_v1_descriptors() {
        let mut stream = header(32, 2);
        stream.extend(descriptor(0x4, 0, None));
        stream.extend(descriptor(0x8, 0, None));
        let (file, at) = file_with(&stream);
        let parsed = parse(&file, at, &file[at as usize..]).unwrap();
        assert_eq!(parsed.handles.len(), 2);
        assert_eq!(parsed.handles[1].value, 8);
        assert_eq!(parsed.handles[0].granted_access, 0x1f0001);
        assert_eq!(parsed.handles[0].handle_count, 1);
        assert_eq!(parsed.handles[0].pointer_count, 2);
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn reads_type_names_through_rvas() {
        // The string at RVA 0 is indistinguishable from "no name", so put it elsewhere.
        let mut file = vec![0u8; 8];
        let name: Vec<u8> = "Section"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let rva = file.len() as u32;
        file.extend((name.len() as u32).to_le_bytes());
        file.extend(&name);
        let at = file.len() as u64;
        file.extend(header(40, 1));
        file.extend(descriptor(0x10, rva, Some(0)));
        let parsed = parse(&file, at, &file[at as usize..]).unwrap();
        assert_eq!(parsed.handles[0].type_name.as_deref(), Some("Section"));
        assert_eq!(parsed.handles[0].object_name, None);
    }

    #[test]
    fn rejects_counts_the_stream_cannot_hold() {
        let stream = header(40, u32::MAX);
        let (file, at) = file_with(&stream);
        let error = parse(&file, at, &file[at as usize..]).unwrap_err();
        assert_eq!(error.offset, at);
        assert!(
            error.reason.contains("NumberOfDescriptors 4294967295"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn rejects_unknown_descriptor_sizes_and_short_headers() {
        let (file, at) = file_with(&header(36, 0));
        let error = parse(&file, at, &file[at as usize..]).unwrap_err();
        assert!(error.reason.contains("SizeOfDescriptor 36"));
        let error = parse(&file, at, &file[at as usize..at as usize + 10]).unwrap_err();
        assert!(error.reason.contains("header needs 16 bytes"));
        let mut bad_header = header(32, 0);
        bad_header[0..4].copy_from_slice(&1000u32.to_le_bytes());
        let (file, at) = file_with(&bad_header);
        assert!(parse(&file, at, &file[at as usize..]).is_err());
    }

    #[test]
    fn cuts_looping_object_info_chains() {
        let mut file = vec![0u8; 4];
        let info_rva = file.len() as u32;
        // NextInfoRva points back at itself.
        for field in [info_rva, 2, 4, 0] {
            file.extend(field.to_le_bytes());
        }
        let at = file.len() as u64;
        file.extend(header(40, 1));
        file.extend(descriptor(0x20, 0, Some(info_rva)));
        let parsed = parse(&file, at, &file[at as usize..]).unwrap();
        assert_eq!(parsed.handles[0].object_info.len(), 1);
        assert_eq!(parsed.handles[0].object_info[0].info_type, 2);
        assert!(parsed.warnings[0].message.contains("looped"));
        // Not kept, the chain is cut all the same.
        let unkept = parse_with(&file, at, &file[at as usize..], false).unwrap();
        assert!(unkept.handles[0].object_info.is_empty());
        assert_eq!(unkept.warnings, parsed.warnings);
    }

    #[test]
    fn chains_are_cut_the_same_whether_kept_or_not() {
        // Handle 1: two records then the end; 2: a record pointing past the file; 3: a
        // record whose data runs past the file; 4: a loop of two records.
        let mut file = vec![0u8; 4];
        let record = |file: &mut Vec<u8>, next: u32, size: u32| {
            let rva = file.len() as u32;
            for field in [next, 6, size] {
                file.extend(field.to_le_bytes());
            }
            file.extend(vec![0xab; size.min(8) as usize]);
            rva
        };
        let second = record(&mut file, 0, 8);
        let first = record(&mut file, second, 8);
        let dangling = record(&mut file, 0xffff_0000, 8);
        let overlong = record(&mut file, 0, 0xffff);
        let loop_b = file.len() as u32 + 20;
        let loop_a = record(&mut file, loop_b, 8);
        assert_eq!(record(&mut file, loop_a, 8), loop_b);
        let at = file.len() as u64;
        file.extend(header(40, 4));
        for (value, rva) in [(4, first), (8, dangling), (12, overlong), (16, loop_a)] {
            file.extend(descriptor(value, 0, Some(rva)));
        }
        let stream = &file[at as usize..];
        let kept = parse_with(&file, at, stream, true).unwrap();
        let lengths: Vec<usize> = kept.handles.iter().map(|h| h.object_info.len()).collect();
        assert_eq!(lengths, [2, 1, 0, 2]);
        assert!(kept.warnings[0]
            .message
            .starts_with("HandleDataStream: 3 object-information"));
        let unkept = parse_with(&file, at, stream, false).unwrap();
        assert_eq!(unkept.warnings, kept.warnings);
        assert_compact_agrees(&file, at);
    }

    #[test]
    fn unreadable_strings_become_warnings() {
        let mut stream = header(32, 1);
        stream.extend(descriptor(0x4, 0xffff_fff0, None));
        let (file, at) = file_with(&stream);
        let parsed = parse(&file, at, &file[at as usize..]).unwrap();
        assert_eq!(parsed.handles[0].type_name, None);
        assert!(parsed.warnings[0].message.contains("could not be read"));
        assert_compact_agrees(&file, at);
    }

    #[test]
    fn large_tables_parsed_on_all_cores_match_the_sequential_parse() {
        // Above PARALLEL_FROM entries the descriptors are parsed by several threads; bad strings
        // and looping chains anywhere must be counted the same and the first reported by index.
        let count = crate::snapshot::bytes::PARALLEL_FROM as u32 * 2 + 123;
        let mut file = vec![0u8; 8];
        let loop_rva = file.len() as u32;
        for field in [loop_rva, 2, 4, 0] {
            file.extend(field.to_le_bytes());
        }
        let name: Vec<u8> = "Event".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let name_rva = file.len() as u32;
        file.extend((name.len() as u32).to_le_bytes());
        file.extend(&name);
        let at = file.len() as u64;
        file.extend(header(40, count));
        let bad = |index: u32| 0xffff_0000 + index;
        for index in 0..count {
            let type_rva = match index {
                700 | 20_000 | 32_000 => bad(index),
                _ => name_rva,
            };
            let info = (index % 1000 == 999).then_some(loop_rva);
            file.extend(descriptor(
                4 * u64::from(index + 1),
                type_rva,
                info.or(Some(0)),
            ));
        }
        let parsed = parse(&file, at, &file[at as usize..]).unwrap();
        assert_eq!(parsed.handles.len(), count as usize);
        assert!(parsed
            .handles
            .iter()
            .enumerate()
            .all(|(index, handle)| handle.value == 4 * (index as u64 + 1)));
        assert_eq!(parsed.handles[699].type_name.as_deref(), Some("Event"));
        assert_eq!(parsed.handles[700].type_name, None);
        assert_eq!(
            parsed
                .warnings
                .iter()
                .map(|warning| warning.message.clone())
                .collect::<Vec<_>>(),
            [
                format!(
                    "HandleDataStream: 3 type or object name string(s) could not be read (first at file offset {:#x}: string length lies past the end of the file ({} bytes)); those handles are shown without that name",
                    bad(700),
                    file.len()
                ),
                format!(
                    "HandleDataStream: {} object-information chain(s) looped, ran out of the file or exceeded 64 records and were cut",
                    count / 1000
                ),
            ]
        );
        assert_compact_agrees(&file, at);
        // Names are shared by index: the table holds "Event" once, whichever worker met it.
        let (compact, _) = parse_compact(&file, at, &file[at as usize..]).unwrap();
        assert_eq!(compact.names, [None, Some(Arc::from("Event"))]);
        assert_eq!(compact.counts_by_type()["Event"], count as usize - 3);
        assert_eq!(compact.counts_by_type()["(none)"], 3);
    }

    #[test]
    fn compact_tables_name_empty_strings_none_and_read_v1_descriptors() {
        // An empty string, then "Mutant" named by two handles, in v1 descriptors.
        let mut file = vec![0u8; 8];
        let empty_rva = file.len() as u32;
        file.extend(0u32.to_le_bytes());
        let mutant_rva = file.len() as u32;
        let name: Vec<u8> = "Mutant".encode_utf16().flat_map(u16::to_le_bytes).collect();
        file.extend((name.len() as u32).to_le_bytes());
        file.extend(&name);
        let at = file.len() as u64;
        file.extend(header(32, 3));
        for (value, rva) in [(4, empty_rva), (8, mutant_rva), (12, mutant_rva)] {
            file.extend(descriptor(value, rva, None));
        }
        assert_compact_agrees(&file, at);
        let (compact, warnings) = parse_compact(&file, at, &file[at as usize..]).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(compact.names, [None, Some(Arc::from("Mutant"))]);
        let types: Vec<u32> = compact.handles.iter().map(|h| h.type_name).collect();
        assert_eq!(types, [0, 1, 1]);
        assert_eq!(compact.identity(2), (12, Some("Mutant"), None));
        assert_eq!(compact.handle(0).granted_access, 0x1f0001);
        assert_eq!(compact.handle(0).pointer_count, 2);
    }
}
