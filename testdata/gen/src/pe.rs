//! A tiny PE reader: just enough to take TimeDateStamp, SizeOfImage, CheckSum and the named
//! exports out of the DLLs built by `testdata/pe/build.sh`.

use std::io;
use std::path::Path;

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
        let mut secs = Vec::with_capacity(nsections);
        for i in 0..nsections {
            let s = sections + 40 * i;
            let vsize = u32_at(b, s + 8)?;
            let va = u32_at(b, s + 12)?;
            let raw_size = u32_at(b, s + 16)?;
            let raw_ptr = u32_at(b, s + 20)?;
            secs.push((va, vsize.max(raw_size), raw_ptr));
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
        Ok(PeImage {
            machine,
            time_date_stamp,
            image_base,
            size_of_image,
            checksum,
            exports,
        })
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
