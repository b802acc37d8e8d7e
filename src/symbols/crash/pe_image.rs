//! An x64 image mapped in dump memory, laid back out as a file symbolic's PE reader can read:
//! each section's bytes stay at their RVA and the section table is rewritten to say so
//! (`PointerToRawData = VirtualAddress`). Only images whose exception directory (`.pdata`)
//! was captured are worth it: that is what the walker wants from them.
//!
//! The headers are hostile like everything in a dump: the copy is as long as what the dump
//! holds of the image (up to its last captured byte), never as long as `SizeOfImage` claims,
//! and headers that cannot describe the module's image are refused with a reason.

use crate::snapshot::{DumpMemory, Module};

/// Largest image laid out (the copy is transient; real x64 DLLs are far smaller).
const MAX_IMAGE_BYTES: u32 = 256 * 1024 * 1024;
/// Section headers the PE format allows at most.
const MAX_SECTIONS: u16 = 96;
/// Largest `e_lfanew` read: the PE header of a mapped image is in its first page.
const MAX_LFANEW: usize = 0x1000;
/// Bytes of headers read at most: the PE header at [`MAX_LFANEW`], the largest optional header
/// and [`MAX_SECTIONS`] section headers.
const MAX_HEADER_BYTES: usize = MAX_LFANEW + 24 + 0xffff + MAX_SECTIONS as usize * SECTION_HEADER;
const MACHINE_AMD64: u16 = 0x8664;
const PE32_PLUS: u16 = 0x20b;
const SECTION_HEADER: usize = 40;
/// Offset of data directory 3 (the exception table) in a PE32+ optional header.
const EXCEPTION_DIRECTORY: usize = 112 + 3 * 8;

/// The PE headers of an x64 image in dump memory.
struct Headers<'a> {
    /// From the image base to the end of the section table, as captured.
    bytes: &'a [u8],
    timestamp: u32,
    size_of_image: u32,
    /// Offset of the optional header in `bytes`.
    optional: usize,
    /// RVA of the exception directory.
    exception_rva: u32,
    /// Offset of the section table in `bytes` and its number of entries.
    table: usize,
    sections: usize,
}

/// The x64 image of `module` from `memory` in file layout: `Ok(None)` when the dump holds no
/// x64 image with an exception directory there, `Err` (a reason) when it holds one whose
/// headers do not describe the module's image or whose exception directory is missing.
pub(super) fn image_in_memory(
    module: &Module,
    memory: &DumpMemory,
) -> Result<Option<Vec<u8>>, String> {
    let Some(headers) = memory
        .read_up_to(module.base, MAX_HEADER_BYTES)
        .and_then(headers)
    else {
        return Ok(None);
    };
    if headers.exception_rva == 0 {
        return Ok(None);
    }
    let sections = check(module, &headers)?;
    let captured = |rva: u32, len: u64| {
        let address = module.base.checked_add(u64::from(rva));
        address.map_or(0, |address| {
            memory
                .captured(address, len)
                .map(|(at, bytes)| at - address + bytes.len() as u64)
                .max()
                .unwrap_or(0)
        })
    };
    let exception = module.base.checked_add(u64::from(headers.exception_rva));
    if exception.and_then(|at| memory.read(at, 12)).is_none() {
        return Err(format!(
            "its exception directory (RVA {:#x}) is not in the captured memory",
            headers.exception_rva
        ));
    }
    // Up to the last byte the dump holds of a section: a claimed size costs nothing.
    let extent = sections
        .iter()
        .map(|&(rva, size)| u64::from(rva) + captured(rva, u64::from(size)))
        .fold(headers.bytes.len() as u64, u64::max);
    // At most SizeOfImage, which `check` kept within MAX_IMAGE_BYTES.
    let extent = u32::try_from(extent).unwrap_or(MAX_IMAGE_BYTES);
    let mut image = vec![0u8; extent as usize];
    image[..headers.bytes.len()].copy_from_slice(headers.bytes);
    for (index, &(rva, size)) in sections.iter().enumerate() {
        let size = size.min(extent.saturating_sub(rva));
        if let Some(address) = module.base.checked_add(u64::from(rva)) {
            for (at, bytes) in memory.captured(address, u64::from(size)) {
                let from = usize::try_from(u64::from(rva) + (at - address)).unwrap_or(usize::MAX);
                if let Some(target) = image.get_mut(from..from.saturating_add(bytes.len())) {
                    target.copy_from_slice(bytes);
                }
            }
        }
        let at = headers.table + index * SECTION_HEADER;
        if let Some(header) = image.get_mut(at..at + SECTION_HEADER) {
            let pointer = if size == 0 { 0 } else { rva };
            header[16..20].copy_from_slice(&size.to_le_bytes());
            header[20..24].copy_from_slice(&pointer.to_le_bytes());
        }
    }
    clear_unmapped_directories(&mut image, &headers);
    Ok(Some(image))
}

/// Clears the data directories the PE reader would fail on in this copy: the certificate
/// table (a file offset, never mapped) and the import and debug tables when they reach past
/// what the dump holds. The walker wants none of them.
fn clear_unmapped_directories(image: &mut [u8], headers: &Headers<'_>) {
    const IMPORT: usize = 1;
    const CERTIFICATE: usize = 4;
    const DEBUG: usize = 6;
    let directories = headers.optional + 112;
    let count = image
        .get(headers.optional + 108..headers.optional + 112)
        .map_or(0, le32) as usize;
    let len = image.len() as u64;
    for index in [IMPORT, CERTIFICATE, DEBUG] {
        let at = directories + index * 8;
        // Within the optional header as declared and listed by NumberOfRvaAndSizes.
        if index >= count || at + 8 > headers.table {
            continue;
        }
        let (rva, size) = (le32(&image[at..at + 4]), le32(&image[at + 4..at + 8]));
        if index == CERTIFICATE || u64::from(rva) + u64::from(size) > len {
            image[at..at + 8].fill(0);
        }
    }
}

fn le32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The headers in `bytes` (captured from the image base on) when they are those of an x64
/// image (PE32+, AMD64) and captured up to the end of the section table.
fn headers(bytes: &[u8]) -> Option<Headers<'_>> {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.get(..2)? != b"MZ" {
        return None;
    }
    let nt = usize::try_from(u32_at(0x3c)?).ok()?;
    if nt > MAX_LFANEW || bytes.get(nt..nt + 4)? != b"PE\0\0" || u16_at(nt + 4)? != MACHINE_AMD64 {
        return None;
    }
    let optional = nt + 24;
    let optional_size = usize::from(u16_at(nt + 20)?);
    if u16_at(optional)? != PE32_PLUS || optional_size < EXCEPTION_DIRECTORY + 8 {
        return None;
    }
    let table = optional + optional_size;
    let sections = usize::from(u16_at(nt + 6)?);
    let end = table + sections.min(usize::from(MAX_SECTIONS)) * SECTION_HEADER;
    Some(Headers {
        bytes: bytes.get(..end)?,
        timestamp: u32_at(nt + 8)?,
        size_of_image: u32_at(optional + 56)?,
        optional,
        exception_rva: u32_at(optional + EXCEPTION_DIRECTORY)?,
        table,
        sections,
    })
}

/// The (RVA, size to lay out) of each section, when `headers` can describe the image of
/// `module`; else why not.
fn check(module: &Module, headers: &Headers<'_>) -> Result<Vec<(u32, u32)>, String> {
    let u32_at = |at: usize| le32(&headers.bytes[at..at + 4]);
    let (timestamp, size_of_image) = (headers.timestamp, headers.size_of_image);
    if (timestamp, size_of_image) != (module.timestamp, module.size) {
        return Err(format!(
            "its headers (TimeDateStamp {timestamp:#x}, SizeOfImage {size_of_image:#x}) are not \
             those of the module list ({:#x}, {:#x})",
            module.timestamp, module.size
        ));
    }
    if size_of_image > MAX_IMAGE_BYTES {
        return Err(format!(
            "SizeOfImage {size_of_image:#x} is larger than any image laid out ({} MiB)",
            MAX_IMAGE_BYTES >> 20
        ));
    }
    if headers.sections > usize::from(MAX_SECTIONS) {
        return Err(format!(
            "NumberOfSections {} is more than the PE format allows ({MAX_SECTIONS})",
            headers.sections
        ));
    }
    if headers.exception_rva >= size_of_image
        || headers.bytes.len() as u64 > u64::from(size_of_image)
    {
        return Err(format!(
            "its headers or exception directory (RVA {:#x}) lie outside SizeOfImage \
             {size_of_image:#x}",
            headers.exception_rva
        ));
    }
    (0..headers.sections)
        .map(|index| {
            let at = headers.table + index * SECTION_HEADER;
            let (virtual_size, rva, raw_size) = (u32_at(at + 8), u32_at(at + 12), u32_at(at + 16));
            let mapped = if virtual_size == 0 {
                raw_size
            } else {
                virtual_size
            };
            if u64::from(rva) + u64::from(mapped) > u64::from(size_of_image) {
                return Err(format!(
                    "section {} (RVA {rva:#x}, {mapped:#x} bytes) lies outside SizeOfImage \
                     {size_of_image:#x}",
                    index + 1
                ));
            }
            Ok((rva, virtual_size.max(raw_size).min(size_of_image - rva)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::load_minidump_bytes;
    use std::path::Path;

    /// `testdata/pdb/crash-fullmem.dmp`: leakylib.dll's mapped image (0x6000 bytes) at
    /// 0x180000000 in a Memory64ListStream.
    struct Fullmem {
        bytes: Vec<u8>,
        /// leakylib.dll's ModuleList entry (BaseOfImage).
        module: usize,
        /// The captured image (`MZ`).
        image: usize,
        /// The captured image's PE header (`PE\0\0`).
        nt: usize,
    }

    const BASE: u64 = 0x1_8000_0000;

    impl Fullmem {
        fn read() -> Fullmem {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pdb/crash-fullmem.dmp");
            let bytes = std::fs::read(path).unwrap();
            let find = |pattern: &[u8]| {
                bytes
                    .windows(pattern.len())
                    .position(|window| window == pattern)
                    .unwrap()
            };
            // BaseOfImage, SizeOfImage, CheckSum, TimeDateStamp.
            let mut entry = BASE.to_le_bytes().to_vec();
            entry.extend(
                [0x6000u32, 0, 0xa3e7_5052]
                    .iter()
                    .flat_map(|v| v.to_le_bytes()),
            );
            let module = find(&entry);
            let dll = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pdb/leakylib.dll"),
            )
            .unwrap();
            let image = find(&dll[..0x200]);
            let nt = image + le32(&bytes[image + 0x3c..]) as usize;
            Fullmem {
                bytes,
                module,
                image,
                nt,
            }
        }

        fn put(&mut self, at: usize, value: u32) -> &mut Fullmem {
            self.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            self
        }

        /// SizeOfImage in the module list and in the image's header.
        fn size_of_image(&mut self, size: u32) -> &mut Fullmem {
            let (module, nt) = (self.module, self.nt);
            self.put(module + 8, size).put(nt + 24 + 56, size)
        }

        /// What `image_in_memory` makes of leakylib.dll in this dump.
        fn image(&self) -> Result<Option<Vec<u8>>, String> {
            let snapshot =
                load_minidump_bytes(Path::new("crash-fullmem.dmp"), &self.bytes).unwrap();
            let module = snapshot.modules.iter().find(|m| m.base == BASE).unwrap();
            image_in_memory(module, snapshot.memory.as_ref().unwrap())
        }
    }

    fn refused(dump: &Fullmem) -> String {
        dump.image().expect_err("headers refused")
    }

    #[test]
    fn the_mapped_image_is_laid_out_as_captured() {
        let image = Fullmem::read().image().unwrap().unwrap();
        // .reloc (RVA 0x5000, 0x200 bytes of raw data) is the last section: the copy ends there.
        assert_eq!(image.len(), 0x5200);
        assert_eq!(&image[..2], b"MZ");
        // .pdata at 0x4000: LeakyOpenSession 0x1020..0x1041, unwind info at 0x20d0.
        assert_eq!(le32(&image[0x4000..]), 0x1020);
        assert_eq!(le32(&image[0x4008..]), 0x20d0);
    }

    #[test]
    fn a_claimed_size_of_image_costs_only_what_the_dump_holds() {
        // 256 MiB claimed by the module list and the header alike; 24 KiB captured.
        let mut dump = Fullmem::read();
        let image = dump
            .size_of_image(MAX_IMAGE_BYTES)
            .image()
            .unwrap()
            .unwrap();
        assert_eq!((image.len(), image.capacity()), (0x5200, 0x5200));
    }

    #[test]
    fn a_size_of_image_beyond_the_cap_is_refused() {
        let mut dump = Fullmem::read();
        dump.size_of_image(MAX_IMAGE_BYTES + 0x1000);
        assert_eq!(
            refused(&dump),
            "SizeOfImage 0x10001000 is larger than any image laid out (256 MiB)"
        );
    }

    #[test]
    fn headers_of_another_image_are_refused() {
        let mut dump = Fullmem::read();
        let nt = dump.nt;
        dump.put(nt + 24 + 56, 0xffff_f000);
        assert_eq!(
            refused(&dump),
            "its headers (TimeDateStamp 0xa3e75052, SizeOfImage 0xfffff000) are not those of \
             the module list (0xa3e75052, 0x6000)"
        );
    }

    #[test]
    fn more_sections_than_the_format_allows_are_refused() {
        let mut dump = Fullmem::read();
        let nt = dump.nt;
        dump.bytes[nt + 6..nt + 8].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(
            refused(&dump),
            "NumberOfSections 65535 is more than the PE format allows (96)"
        );
    }

    #[test]
    fn a_section_outside_the_image_is_refused() {
        let mut dump = Fullmem::read();
        // The first section header (.text) after the 0xf0-byte optional header: its RVA.
        let text = dump.nt + 24 + 0xf0;
        assert_eq!(&dump.bytes[text..text + 5], b".text");
        dump.put(text + 12, 0x7fff_0000);
        assert_eq!(
            refused(&dump),
            "section 1 (RVA 0x7fff0000, 0xf3 bytes) lies outside SizeOfImage 0x6000"
        );
    }

    #[test]
    fn an_exception_directory_outside_the_captured_memory_is_a_reason() {
        // SizeOfImage 1 MiB, the exception directory moved to RVA 0x80000 (not captured).
        let mut dump = Fullmem::read();
        let nt = dump.nt;
        dump.size_of_image(0x10_0000)
            .put(nt + 24 + EXCEPTION_DIRECTORY, 0x8_0000);
        assert_eq!(
            refused(&dump),
            "its exception directory (RVA 0x80000) is not in the captured memory"
        );
        dump.put(nt + 24 + EXCEPTION_DIRECTORY, 0x20_0000);
        assert_eq!(
            refused(&dump),
            "its headers or exception directory (RVA 0x200000) lie outside SizeOfImage 0x100000"
        );
    }

    #[test]
    fn a_certificate_table_is_cleared_for_the_pe_reader() {
        // A signed image: its certificate table is a file offset, past the end of the copy.
        let mut dump = Fullmem::read();
        let certificate = dump.nt + 24 + 112 + 4 * 8;
        dump.put(certificate, 0x7000).put(certificate + 4, 0x800);
        let image = dump.image().unwrap().unwrap();
        assert_eq!(image[certificate - dump.image..][..8], [0; 8]);
        let parsed = |image: &[u8]| symbolic_debuginfo::Object::parse(image).is_ok();
        assert!(parsed(&image));
        // Left in place, the PE reader would refuse the whole image.
        let mut kept = image.clone();
        let at = certificate - dump.image;
        kept[at..at + 4].copy_from_slice(&0x7000u32.to_le_bytes());
        kept[at + 4..at + 8].copy_from_slice(&0x800u32.to_le_bytes());
        assert!(!parsed(&kept));
    }

    #[test]
    fn memory_without_an_x64_image_is_nothing_to_say() {
        let mut dump = Fullmem::read();
        let nt = dump.nt;
        // An x86 image (machine 0x14c) is not laid out, silently.
        dump.bytes[nt + 4..nt + 6].copy_from_slice(&0x14cu16.to_le_bytes());
        assert_eq!(dump.image(), Ok(None));
        let mut dump = Fullmem::read();
        let image = dump.image;
        dump.put(image, 0);
        assert_eq!(dump.image(), Ok(None));
    }
}
