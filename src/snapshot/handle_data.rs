//! HandleDataStream (type 12): `MINIDUMP_HANDLE_DATA_STREAM` with v1 or v2 descriptors.
//!
//! Parsed here rather than with rust-minidump because the analysis needs every count, RVA
//! and object-information chain checked against the file (a looping chain in a hostile dump
//! must not hang the tool).

use super::bytes::{minidump_string, u32_at, u64_at, ParseError};
use super::model::{Handle, ObjectInfo};
use std::collections::HashMap;

const HEADER_SIZE: u32 = 16;
const DESCRIPTOR_V1_SIZE: u32 = 32;
const DESCRIPTOR_V2_SIZE: u32 = 40;
const OBJECT_INFO_HEADER_SIZE: usize = 12;
/// Longest object-information chain followed; real dumps carry one or two records.
const MAX_OBJECT_INFO_CHAIN: usize = 64;

/// The handle table and what was noticed while reading it.
#[derive(Debug, Default)]
pub(crate) struct HandleData {
    pub handles: Vec<Handle>,
    pub warnings: Vec<String>,
}

/// Parses the stream. `stream` is the stream's bytes, `stream_offset` its file offset and
/// `file` the whole file (RVAs are file offsets).
pub(crate) fn parse(
    file: &[u8],
    stream_offset: u64,
    stream: &[u8],
) -> Result<HandleData, ParseError> {
    let header_error = |reason: String| ParseError::new(stream_offset, reason);
    if stream.len() < HEADER_SIZE as usize {
        return Err(header_error(format!(
            "header needs {HEADER_SIZE} bytes, the stream has {}",
            stream.len()
        )));
    }
    let size_of_header = u32_at(stream, 0).unwrap_or_default();
    let size_of_descriptor = u32_at(stream, 4).unwrap_or_default();
    let count = u32_at(stream, 8).unwrap_or_default();
    if size_of_header < HEADER_SIZE || size_of_header as usize > stream.len() {
        return Err(header_error(format!(
            "SizeOfHeader {size_of_header} is outside 16..={}",
            stream.len()
        )));
    }
    let is_v2 = match size_of_descriptor {
        DESCRIPTOR_V1_SIZE => false,
        size if size >= DESCRIPTOR_V2_SIZE => true,
        size => {
            return Err(header_error(format!(
                "SizeOfDescriptor {size} is neither 32 (MINIDUMP_HANDLE_DESCRIPTOR) nor 40 (MINIDUMP_HANDLE_DESCRIPTOR_2)"
            )))
        }
    };
    let available = (stream.len() - size_of_header as usize) as u64;
    let needed = u64::from(count) * u64::from(size_of_descriptor);
    if needed > available {
        return Err(header_error(format!(
            "NumberOfDescriptors {count} × {size_of_descriptor} bytes = {needed} bytes, but the stream holds {available} bytes after its header"
        )));
    }

    let mut result = HandleData {
        handles: Vec::with_capacity(count as usize),
        warnings: Vec::new(),
    };
    let mut strings: HashMap<u32, Option<String>> = HashMap::new();
    let mut bad_strings = 0usize;
    let mut first_bad_string: Option<ParseError> = None;
    let mut cut_chains = 0usize;
    let mut string_at = |rva: u32| -> Option<String> {
        if rva == 0 {
            return None;
        }
        strings
            .entry(rva)
            .or_insert_with(|| match minidump_string(file, rva) {
                Ok(text) => Some(text),
                Err(error) => {
                    bad_strings += 1;
                    first_bad_string.get_or_insert(error);
                    None
                }
            })
            .clone()
    };

    for index in 0..count as usize {
        let at = size_of_header as usize + index * size_of_descriptor as usize;
        let descriptor = &stream[at..at + size_of_descriptor as usize];
        let field = |offset: usize| u32_at(descriptor, offset).unwrap_or_default();
        let value = u64_at(descriptor, 0).unwrap_or_default();
        let type_name = string_at(field(8));
        let object_name = string_at(field(12));
        let object_info = if is_v2 {
            let (chain, was_cut) = object_info_chain(file, field(32));
            cut_chains += usize::from(was_cut);
            chain
        } else {
            Vec::new()
        };
        result.handles.push(Handle {
            value,
            type_name,
            object_name,
            attributes: field(16),
            granted_access: field(20),
            handle_count: field(24),
            pointer_count: field(28),
            object_info,
        });
    }

    if let Some(first) = first_bad_string {
        result.warnings.push(format!(
            "HandleDataStream: {bad_strings} type or object name string(s) could not be read (first at file offset {:#x}: {}); those handles are shown without that name",
            first.offset, first.reason
        ));
    }
    if cut_chains > 0 {
        result.warnings.push(format!(
            "HandleDataStream: {cut_chains} object-information chain(s) looped, ran out of the file or exceeded {MAX_OBJECT_INFO_CHAIN} records and were cut"
        ));
    }
    Ok(result)
}

/// Follows a `MINIDUMP_HANDLE_OBJECT_INFORMATION` chain; the flag says it had to be cut.
fn object_info_chain(file: &[u8], first_rva: u32) -> (Vec<ObjectInfo>, bool) {
    let mut chain = Vec::new();
    let mut rva = first_rva;
    let mut seen = Vec::new();
    while rva != 0 {
        if seen.contains(&rva) || chain.len() >= MAX_OBJECT_INFO_CHAIN {
            return (chain, true);
        }
        seen.push(rva);
        let offset = rva as usize;
        let (Some(next), Some(info_type), Some(size)) = (
            u32_at(file, offset),
            u32_at(file, offset + 4),
            u32_at(file, offset + 8),
        ) else {
            return (chain, true);
        };
        let end = (offset + OBJECT_INFO_HEADER_SIZE) as u64 + u64::from(size);
        if end > file.len() as u64 {
            return (chain, true);
        }
        chain.push(ObjectInfo { info_type, size });
        rva = next;
    }
    (chain, false)
}
