//! Memory captured in the dump (MemoryListStream / Memory64ListStream), read lazily: only the
//! descriptor lists are parsed at load time; bytes are touched when a reader asks for them.

use super::bytes::{u32_at, u64_at, ParseError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes of data derived from one dump's memory (the export names of all its modules
/// together) that readers may keep: a crafted dump can give thousands of modules one image
/// exporting 131,072 names of 1 KiB each.
pub const MEMORY_DERIVED_BUDGET: usize = 32 << 20;

/// The bytes of a dump file, kept alive for lazy reads.
pub enum DumpBytes {
    /// The file, memory-mapped read-only; the open file is kept for private copies.
    Mapped {
        /// The mapping.
        map: memmap2::Mmap,
        /// The file it maps.
        file: std::fs::File,
    },
    /// A copy held in memory.
    Owned(Vec<u8>),
}

/// A private, writable copy of a dump's bytes: changes never reach the file.
pub enum PrivateBytes {
    /// A copy-on-write mapping: only the pages changed are copied.
    Mapped(memmap2::MmapMut),
    /// A copy in memory.
    Owned(Vec<u8>),
}

impl std::ops::Deref for PrivateBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            PrivateBytes::Mapped(map) => map,
            PrivateBytes::Owned(bytes) => bytes,
        }
    }
}

impl std::ops::DerefMut for PrivateBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            PrivateBytes::Mapped(map) => map,
            PrivateBytes::Owned(bytes) => bytes,
        }
    }
}

impl std::fmt::Debug for DumpBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DumpBytes({} bytes)", self.bytes().len())
    }
}

impl DumpBytes {
    /// The whole file.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes()
    }

    /// Asks the kernel to map `len` bytes at `offset` in one go before they are read from start
    /// to end (a mapped file otherwise faults page by page). Only a hint: ignored where
    /// unsupported, and a no-op for bytes held in memory.
    pub fn prefetch(&self, offset: usize, len: usize) {
        if let DumpBytes::Mapped { map, .. } = self {
            #[cfg(target_os = "linux")]
            if map
                .advise_range(memmap2::Advice::PopulateRead, offset, len)
                .is_err()
            {
                let _ = map.advise_range(memmap2::Advice::WillNeed, offset, len);
            }
            #[cfg(all(unix, not(target_os = "linux")))]
            let _ = map.advise_range(memmap2::Advice::WillNeed, offset, len);
            #[cfg(not(unix))]
            let _ = (map, offset, len);
        }
    }

    /// Whether the bytes are a mapping of the file.
    pub fn is_mapped(&self) -> bool {
        matches!(self, DumpBytes::Mapped { .. })
    }

    /// Reads the file's bytes at `offset` into the whole of `buffer` (a mapped file with a
    /// read, which maps nothing); `false` when they could not be read that way: bytes held in
    /// memory, a platform without positioned reads, a read error or a file that got shorter.
    pub fn copy_at(&self, offset: u64, buffer: &mut [u8]) -> bool {
        match self {
            #[cfg(unix)]
            DumpBytes::Mapped { file, .. } => {
                std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset).is_ok()
            }
            _ => {
                let _ = (offset, buffer);
                false
            }
        }
    }

    /// A copy that can be changed without touching the input: a copy-on-write mapping of the
    /// file (`MAP_PRIVATE`: only changed pages are copied, nothing is written back), or a copy
    /// of bytes held in memory.
    pub fn private_copy(&self) -> std::io::Result<PrivateBytes> {
        match self {
            // SAFETY: a private mapping; as for the read-only one, a file truncated by another
            // process while mapped is outside what any reader can defend against.
            DumpBytes::Mapped { file, .. } => {
                unsafe { memmap2::MmapOptions::new().map_copy(file) }.map(PrivateBytes::Mapped)
            }
            DumpBytes::Owned(bytes) => Ok(PrivateBytes::Owned(bytes.clone())),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            DumpBytes::Mapped { map, .. } => map,
            DumpBytes::Owned(bytes) => bytes,
        }
    }
}

/// One captured range of process memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    start: u64,
    size: u64,
    file_offset: u64,
}

/// Process memory captured in a dump.
#[derive(Clone)]
pub struct DumpMemory {
    file: Arc<DumpBytes>,
    ranges: Vec<Range>,
    /// What is left of [`MEMORY_DERIVED_BUDGET`], shared by every clone.
    budget: Arc<AtomicUsize>,
}

impl std::fmt::Debug for DumpMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpMemory")
            .field("ranges", &self.ranges.len())
            .finish()
    }
}

impl DumpMemory {
    /// Memory from a MemoryListStream (`list64 == false`) or Memory64ListStream. Ranges whose
    /// data lies outside the file are dropped; the count says how many.
    pub(crate) fn parse(
        file: Arc<DumpBytes>,
        stream_offset: u64,
        stream: &[u8],
        list64: bool,
    ) -> Result<(DumpMemory, usize), ParseError> {
        let file_len = file.bytes().len() as u64;
        let mut ranges = Vec::new();
        let mut dropped = 0;
        let mut push = |start: u64, size: u64, offset: u64| {
            if size > 0 && offset.checked_add(size).is_some_and(|end| end <= file_len) {
                ranges.push(Range {
                    start,
                    size,
                    file_offset: offset,
                });
            } else {
                dropped += 1;
            }
        };
        if list64 {
            let count = u64_at(stream, 0).ok_or_else(|| {
                ParseError::new(stream_offset, "Memory64ListStream header truncated")
            })?;
            let mut data_offset = u64_at(stream, 8).unwrap_or_default();
            ranges_fit(count, 16, stream, stream_offset)?;
            for index in 0..count as usize {
                let at = 16 + index * 16;
                let start = u64_at(stream, at).unwrap_or_default();
                let size = u64_at(stream, at + 8).unwrap_or_default();
                push(start, size, data_offset);
                data_offset = data_offset.saturating_add(size);
            }
        } else {
            let count = u32_at(stream, 0).ok_or_else(|| {
                ParseError::new(stream_offset, "MemoryListStream header truncated")
            })?;
            ranges_fit(u64::from(count), 4, stream, stream_offset)?;
            for index in 0..count as usize {
                let at = 4 + index * 16;
                let start = u64_at(stream, at).unwrap_or_default();
                let size = u32_at(stream, at + 8).unwrap_or_default();
                let offset = u32_at(stream, at + 12).unwrap_or_default();
                push(start, u64::from(size), u64::from(offset));
            }
        }
        ranges.sort_by_key(|range| range.start);
        // Adjacent ranges stored back to back (as Memory64ListStream stores a mapped image
        // region by region) read as one, so a table spanning two regions can be read.
        let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last)
                    // `checked_add`: a hostile list may place a range at the very top of
                    // the address space, where `start + size` overflows (a panic in debug
                    // builds; regression input in fuzz/regressions/load_minidump/).
                    if last.start.checked_add(last.size) == Some(range.start)
                        && last.file_offset + last.size == range.file_offset =>
                {
                    last.size += range.size;
                }
                _ => merged.push(range),
            }
        }
        Ok((
            DumpMemory {
                file,
                ranges: merged,
                budget: Arc::new(AtomicUsize::new(MEMORY_DERIVED_BUDGET)),
            },
            dropped,
        ))
    }

    /// The last captured range starting at or below `address`, and how far into it `address`
    /// lies (possibly past its end).
    fn range_at(&self, address: u64) -> Option<(Range, u64)> {
        let index = self
            .ranges
            .partition_point(|range| range.start <= address)
            .checked_sub(1)?;
        let range = self.ranges[index];
        Some((range, address - range.start))
    }

    /// `len` bytes at `address`, when one captured range holds them all.
    pub fn read(&self, address: u64, len: usize) -> Option<&[u8]> {
        let (range, skip) = self.range_at(address)?;
        if skip.checked_add(len as u64)? > range.size {
            return None;
        }
        let from = (range.file_offset + skip) as usize;
        self.file.bytes().get(from..from + len)
    }

    /// Bytes from `address` up to `max` long, stopping at the end of the captured range.
    pub fn read_up_to(&self, address: u64, max: usize) -> Option<&[u8]> {
        let (range, skip) = self.range_at(address)?;
        if skip >= range.size {
            return None;
        }
        let len = (range.size - skip).min(max as u64) as usize;
        let from = (range.file_offset + skip) as usize;
        self.file.bytes().get(from..from + len)
    }

    /// The captured parts of the `len` bytes at `address`, ascending, as (address, bytes): one
    /// search, then one step per captured range among them (gaps cost nothing).
    pub fn captured(&self, address: u64, len: u64) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        let end = address.saturating_add(len);
        let first = self
            .ranges
            .partition_point(|range| range.start <= address)
            .saturating_sub(1);
        self.ranges[first..]
            .iter()
            .take_while(move |range| range.start < end)
            .filter_map(move |range| {
                let from = range.start.max(address);
                let to = range.start.saturating_add(range.size).min(end);
                let skip = from.checked_sub(range.start)?;
                let offset = usize::try_from(range.file_offset + skip).ok()?;
                let bytes = self
                    .file
                    .bytes()
                    .get(offset..offset + usize::try_from(to.checked_sub(from)?).ok()?)?;
                (!bytes.is_empty()).then_some((from, bytes))
            })
    }

    /// Number of captured ranges.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// The bytes of the dump this memory was read from: its identity for caches that must not
    /// carry one dump's memory over to another.
    pub(crate) fn dump_bytes(&self) -> &Arc<DumpBytes> {
        &self.file
    }

    /// Takes `bytes` from the dump's budget for data derived from its memory
    /// ([`MEMORY_DERIVED_BUDGET`], one for all readers and all clones); `false`, taking
    /// nothing, when less is left.
    pub fn take_budget(&self, bytes: usize) -> bool {
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }
}

/// Checks that `count` 16-byte range descriptors after a `header` fit the memory-list
/// `stream` (at `stream_offset` in the file).
fn ranges_fit(
    count: u64,
    header: u64,
    stream: &[u8],
    stream_offset: u64,
) -> Result<(), ParseError> {
    if count > (stream.len() as u64).saturating_sub(header) / 16 {
        return Err(ParseError::new(
            stream_offset,
            format!(
                "NumberOfMemoryRanges {count} does not fit the stream ({} bytes)",
                stream.len()
            ),
        ));
    }
    Ok(())
}
