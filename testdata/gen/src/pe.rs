//! A tiny PE reader: just enough to take TimeDateStamp, SizeOfImage, CheckSum, the named
//! exports, the section table and the CodeView debug record out of the DLLs built by
//! `testdata/pe/build.sh` and `testdata/pdb/build.sh`, and to lay an image out as the loader maps
//! it ([`PeImage::map`]).

use std::io;
use std::path::Path;

use crate::writer::{CvRecord, Guid};

/// One entry of the section table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub size_of_raw_data: u32,
    pub pointer_to_raw_data: u32,
}

/// What the generator needs from a PE image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeImage {
    pub machine: u16,
    pub time_date_stamp: u32,
    pub image_base: u64,
    pub size_of_image: u32,
    pub checksum: u32,
    /// Named exports `(name, rva)`, sorted by RVA then name; forwarders and RVA 0 are skipped.
    pub exports: Vec<(String, u32)>,
    /// `SizeOfHeaders` from the optional header.
    pub size_of_headers: u32,
    /// Export data directory `(rva, size)` (`(0, 0)` when absent).
    pub export_directory: (u32, u32),
    pub sections: Vec<Section>,
    /// The first `IMAGE_DEBUG_TYPE_CODEVIEW` entry of the debug directory (RSDS or NB10).
    pub codeview: Option<CvRecord>,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

fn u16_at(b: &[u8], off: usize) -> io::Result<u16> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("truncated PE"))
}

fn u32_at(b: &[u8], off: usize) -> io::Result<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("truncated PE"))
}

fn u64_at(b: &[u8], off: usize) -> io::Result<u64> {
    Ok(u64::from(u32_at(b, off)?) | (u64::from(u32_at(b, off + 4)?) << 32))
}

impl PeImage {
    pub fn read(path: &Path) -> io::Result<PeImage> {
        let bytes = std::fs::read(path)?;
        Self::parse(&bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    pub fn parse(b: &[u8]) -> io::Result<PeImage> {
        if b.get(0..2) != Some(b"MZ") {
            return Err(bad("no MZ signature"));
        }
        let pe = u32_at(b, 0x3c)? as usize;
        if b.get(pe..pe + 4) != Some(b"PE\0\0") {
            return Err(bad("no PE signature"));
        }
        let coff = pe + 4;
        let machine = u16_at(b, coff)?;
        let nsections = u16_at(b, coff + 2)? as usize;
        let time_date_stamp = u32_at(b, coff + 4)?;
        let opt_size = u16_at(b, coff + 16)? as usize;
        let opt = coff + 20;
        let magic = u16_at(b, opt)?;
        let (image_base, dirs) = match magic {
            0x10b => (u64::from(u32_at(b, opt + 28)?), opt + 96),
            0x20b => (u64_at(b, opt + 24)?, opt + 112),
            _ => return Err(bad("unknown optional header magic")),
        };
        let size_of_image = u32_at(b, opt + 56)?;
        let checksum = u32_at(b, opt + 64)?;
        let export_rva = u32_at(b, dirs)?;
        let sections = opt + opt_size;
        let size_of_headers = u32_at(b, opt + 60)?;
        let mut secs = Vec::with_capacity(nsections);
        let mut section_table = Vec::with_capacity(nsections);
        for i in 0..nsections {
            let s = sections + 40 * i;
            let raw_name = b.get(s..s + 8).ok_or_else(|| bad("truncated PE"))?;
            let name_len = raw_name.iter().position(|&c| c == 0).unwrap_or(8);
            let vsize = u32_at(b, s + 8)?;
            let va = u32_at(b, s + 12)?;
            let raw_size = u32_at(b, s + 16)?;
            let raw_ptr = u32_at(b, s + 20)?;
            secs.push((va, vsize.max(raw_size), raw_ptr));
            section_table.push(Section {
                name: String::from_utf8_lossy(&raw_name[..name_len]).into_owned(),
                virtual_address: va,
                virtual_size: vsize,
                size_of_raw_data: raw_size,
                pointer_to_raw_data: raw_ptr,
            });
        }
        let to_off = |rva: u32| -> io::Result<usize> {
            secs.iter()
                .find(|(va, size, _)| rva >= *va && rva < va + size)
                .map(|(va, _, raw)| (rva - va + raw) as usize)
                .ok_or_else(|| bad("RVA outside every section"))
        };
        let mut exports = Vec::new();
        if export_rva != 0 {
            let e = to_off(export_rva)?;
            let export_size = u32_at(b, dirs + 4)?;
            let nnames = u32_at(b, e + 24)? as usize;
            let funcs = to_off(u32_at(b, e + 28)?)?;
            let names = to_off(u32_at(b, e + 32)?)?;
            let ords = to_off(u32_at(b, e + 36)?)?;
            for i in 0..nnames {
                let name_off = to_off(u32_at(b, names + 4 * i)?)?;
                let end = b[name_off..]
                    .iter()
                    .position(|&c| c == 0)
                    .ok_or_else(|| bad("unterminated export name"))?;
                let name = String::from_utf8_lossy(&b[name_off..name_off + end]).into_owned();
                let ord = u16_at(b, ords + 2 * i)? as usize;
                let rva = u32_at(b, funcs + 4 * ord)?;
                let forwarder = rva >= export_rva && rva < export_rva + export_size;
                if rva != 0 && !forwarder {
                    exports.push((name, rva));
                }
            }
        }
        exports.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        // Debug directory (data directory 6): 28-byte IMAGE_DEBUG_DIRECTORY entries.
        let mut codeview = None;
        let (debug_rva, debug_size) = (u32_at(b, dirs + 48)?, u32_at(b, dirs + 52)?);
        if debug_rva != 0 {
            let d = to_off(debug_rva)?;
            for i in 0..(debug_size / 28) as usize {
                let e = d + 28 * i;
                if u32_at(b, e + 12)? != 2 {
                    continue; // not IMAGE_DEBUG_TYPE_CODEVIEW
                }
                let size = u32_at(b, e + 16)? as usize;
                let ptr = u32_at(b, e + 24)? as usize;
                let rec = b
                    .get(ptr..ptr + size)
                    .ok_or_else(|| bad("CodeView record outside the file"))?;
                codeview = Some(parse_codeview(rec)?);
                break;
            }
        }
        Ok(PeImage {
            machine,
            time_date_stamp,
            image_base,
            size_of_image,
            checksum,
            exports,
            size_of_headers,
            export_directory: (export_rva, u32_at(b, dirs + 4)?),
            sections: section_table,
            codeview,
        })
    }

    /// The image as the loader maps it: `SizeOfImage` bytes, headers at 0, each section's raw
    /// data at its `VirtualAddress`, zero elsewhere. (Relocations are not applied: the fixture
    /// images are always "loaded" at their preferred base.)
    pub fn map(&self, file: &[u8]) -> io::Result<Vec<u8>> {
        let mut m = vec![0u8; self.size_of_image as usize];
        let hdr = (self.size_of_headers as usize).min(file.len()).min(m.len());
        m[..hdr].copy_from_slice(&file[..hdr]);
        for s in &self.sections {
            let n = match s.virtual_size {
                0 => s.size_of_raw_data,
                v => s.size_of_raw_data.min(v),
            } as usize;
            let src = file
                .get(s.pointer_to_raw_data as usize..s.pointer_to_raw_data as usize + n)
                .ok_or_else(|| bad("section data outside the file"))?;
            let dst = m
                .get_mut(s.virtual_address as usize..s.virtual_address as usize + n)
                .ok_or_else(|| bad("section beyond SizeOfImage"))?;
            dst.copy_from_slice(src);
        }
        Ok(m)
    }

    /// RVA of a named export.
    pub fn export_rva(&self, name: &str) -> Option<u32> {
        self.exports.iter().find(|(n, _)| n == name).map(|e| e.1)
    }

    /// Nearest preceding export for an RVA: `(name, offset)`.
    pub fn nearest_export(&self, rva: u32) -> Option<(&str, u32)> {
        self.exports
            .iter()
            .rev()
            .find(|(_, r)| *r <= rva)
            .map(|(n, r)| (n.as_str(), rva - r))
    }
}

/// Parse a CodeView debug record (`RSDS` or `NB10`).
pub fn parse_codeview(rec: &[u8]) -> io::Result<CvRecord> {
    let name = |from: usize| -> io::Result<String> {
        let tail = rec
            .get(from..)
            .ok_or_else(|| bad("truncated CodeView record"))?;
        let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
        Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
    };
    match rec.get(0..4) {
        Some(b"RSDS") => {
            let mut data4 = [0u8; 8];
            data4.copy_from_slice(rec.get(12..20).ok_or_else(|| bad("truncated RSDS"))?);
            Ok(CvRecord::Rsds {
                guid: Guid {
                    data1: u32_at(rec, 4)?,
                    data2: u16_at(rec, 8)?,
                    data3: u16_at(rec, 10)?,
                    data4,
                },
                age: u32_at(rec, 20)?,
                pdb_name: name(24)?,
            })
        }
        Some(b"NB10") => Ok(CvRecord::Nb10 {
            signature: u32_at(rec, 8)?,
            age: u32_at(rec, 12)?,
            pdb_name: name(16)?,
        }),
        _ => Err(bad("unknown CodeView signature")),
    }
}
