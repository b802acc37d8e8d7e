//! An x64 image mapped in dump memory, laid back out as a file symbolic's PE reader can read:
//! each section's bytes stay at their RVA and the section table is rewritten to say so
//! (`PointerToRawData = VirtualAddress`). Only images whose exception directory (`.pdata`)
//! was captured are worth it: that is what the walker wants from them.

use crate::snapshot::{DumpMemory, Module};

/// Largest image laid out (the copy is transient; real x64 DLLs are far smaller).
const MAX_IMAGE_BYTES: u32 = 256 * 1024 * 1024;
/// Section headers read at most (the PE format allows 96).
const MAX_SECTIONS: u16 = 96;
const MACHINE_AMD64: u16 = 0x8664;
const SECTION_HEADER: usize = 40;

/// The x64 image of `module` from `memory` in file layout, when the dump captured its headers
/// and its exception directory and they match the module list (TimeDateStamp, SizeOfImage).
pub(super) fn image_in_memory(module: &Module, memory: &DumpMemory) -> Option<Vec<u8>> {
    let base = module.base;
    let u16_at = |at: u64| memory.read(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: u64| {
        memory
            .read(at, 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if memory.read(base, 2)? != b"MZ" {
        return None;
    }
    let e_lfanew = u64::from(u32_at(base + 0x3c)?).min(0x1000);
    let nt = base + e_lfanew;
    let plausible = memory.read(nt, 4)? == b"PE\0\0"
        && u16_at(nt + 4)? == MACHINE_AMD64
        && u32_at(nt + 8)? == module.timestamp;
    let optional = nt + 24;
    let size_of_image = u32_at(optional + 56)?;
    if !plausible
        || u16_at(optional)? != 0x20b
        || size_of_image != module.size
        || size_of_image > MAX_IMAGE_BYTES
    {
        return None;
    }
    // Data directory 3: the exception table.
    let exception_rva = u32_at(optional + 112 + 3 * 8)?;
    if exception_rva == 0 || memory.read(base + u64::from(exception_rva), 12).is_none() {
        return None;
    }
    let sections = u16_at(nt + 6)?.min(MAX_SECTIONS);
    let table = optional + u64::from(u16_at(nt + 20)?);
    let table_end = table - base + u64::from(sections) * SECTION_HEADER as u64;
    let headers = memory.read(base, usize::try_from(table_end).ok()?)?;
    let mut image = vec![0u8; size_of_image as usize];
    image.get_mut(..headers.len())?.copy_from_slice(headers);
    let table_start = (table - base) as usize;
    for index in 0..usize::from(sections) {
        let at = table_start + index * SECTION_HEADER;
        let header = image.get(at..at + SECTION_HEADER)?;
        let field = |offset: usize| {
            u32::from_le_bytes([
                header[offset],
                header[offset + 1],
                header[offset + 2],
                header[offset + 3],
            ])
        };
        let (virtual_size, rva, raw_size) = (field(8), field(12), field(16));
        let size = virtual_size
            .max(raw_size)
            .min(size_of_image.saturating_sub(rva));
        copy_captured(memory, base + u64::from(rva), &mut image, rva, size);
        let header = image.get_mut(at..at + SECTION_HEADER)?;
        header[16..20].copy_from_slice(&size.to_le_bytes());
        header[20..24].copy_from_slice(&rva.to_le_bytes());
    }
    Some(image)
}

/// Copies what `memory` captured of `size` bytes at `address` into `image` at `rva`; the gaps
/// stay zero.
fn copy_captured(memory: &DumpMemory, address: u64, image: &mut [u8], rva: u32, size: u32) {
    const PAGE: u64 = 0x1000;
    let (start, end) = (u64::from(rva), u64::from(rva) + u64::from(size));
    let mut at = start;
    while at < end {
        let want = (end - at) as usize;
        match memory.read_up_to(address + (at - start), want) {
            Some(bytes) if !bytes.is_empty() => {
                let from = at as usize;
                if let Some(target) = image.get_mut(from..from + bytes.len()) {
                    target.copy_from_slice(bytes);
                }
                at += bytes.len() as u64;
            }
            _ => at = (at / PAGE + 1) * PAGE,
        }
    }
}
