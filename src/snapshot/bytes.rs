//! Bounds-checked little-endian reads: every read names what it wanted when it fails.

/// A structure that could not be read, with the file offset where it should have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// File offset of the structure.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(offset: u64, reason: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            reason: reason.into(),
        }
    }
}

/// Longest string accepted in a `MINIDUMP_STRING`: Windows object and type names are
/// `UNICODE_STRING`s, whose length field is 16 bits.
pub(crate) const MAX_STRING_BYTES: u32 = 0x1_0000;

pub(crate) fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    let bytes = data.get(offset..end)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

pub(crate) fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    let end = offset.checked_add(8)?;
    let bytes = data.get(offset..end)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The UTF-16LE bytes of the `MINIDUMP_STRING` (u32 byte length, then the bytes) at `rva` in
/// the whole file, checked against the file.
pub(crate) fn minidump_string_bytes(file: &[u8], rva: u32) -> Result<&[u8], ParseError> {
    let offset = rva as usize;
    let length = u32_at(file, offset).ok_or_else(|| {
        ParseError::new(
            u64::from(rva),
            format!(
                "string length lies past the end of the file ({} bytes)",
                file.len()
            ),
        )
    })?;
    if length > MAX_STRING_BYTES {
        return Err(ParseError::new(
            u64::from(rva),
            format!("string claims {length} bytes (at most {MAX_STRING_BYTES} are accepted)"),
        ));
    }
    if length % 2 != 0 {
        return Err(ParseError::new(
            u64::from(rva),
            format!("string length {length} is odd, not UTF-16"),
        ));
    }
    let start = offset + 4;
    let bytes = file.get(start..start + length as usize).ok_or_else(|| {
        ParseError::new(
            u64::from(rva),
            format!(
                "string of {length} bytes runs past the end of the file ({} bytes)",
                file.len()
            ),
        )
    })?;
    Ok(bytes)
}

/// Decodes UTF-16LE (lossily), without trailing NULs.
pub(crate) fn decode_utf16le(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let mut text: String = char::decode_utf16(units)
        .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    text.truncate(text.trim_end_matches('\0').len());
    text
}

/// The common header of the handle streams: `SizeOfHeader`, `SizeOf{Descriptor,Entry}`,
/// `NumberOf{Descriptors,Entries}`, `Reserved`.
pub(crate) struct ListHeader {
    pub size_of_header: u32,
    pub size_of_entry: u32,
    pub count: u32,
}

impl ListHeader {
    /// Reads the header and checks that it and `count` entries of `size_of_entry` bytes fit
    /// the stream. `names` are the fields' names in the SDK, for messages.
    pub(crate) fn read(
        stream: &[u8],
        stream_offset: u64,
        names: (&str, &str),
        entry_size_ok: impl Fn(u32) -> Result<(), String>,
    ) -> Result<ListHeader, ParseError> {
        const HEADER_SIZE: u32 = 16;
        let error = |reason: String| ParseError::new(stream_offset, reason);
        if stream.len() < HEADER_SIZE as usize {
            return Err(error(format!(
                "header needs {HEADER_SIZE} bytes, the stream has {}",
                stream.len()
            )));
        }
        let size_of_header = u32_at(stream, 0).unwrap_or_default();
        let size_of_entry = u32_at(stream, 4).unwrap_or_default();
        let count = u32_at(stream, 8).unwrap_or_default();
        if size_of_header < HEADER_SIZE || size_of_header as usize > stream.len() {
            return Err(error(format!(
                "SizeOfHeader {size_of_header} is outside 16..={}",
                stream.len()
            )));
        }
        entry_size_ok(size_of_entry).map_err(error)?;
        let available = (stream.len() - size_of_header as usize) as u64;
        let needed = u64::from(count) * u64::from(size_of_entry);
        if needed > available {
            return Err(error(format!(
                "{} {count} × {size_of_entry} bytes = {needed} bytes, but the stream holds {available} bytes after its header",
                names.1
            )));
        }
        Ok(ListHeader {
            size_of_header,
            size_of_entry,
            count,
        })
    }
}

/// Lists from this many entries on are parsed on all cores; below, handing work to other
/// threads costs more than it saves (and a batch already keeps every core busy with dumps).
pub(crate) const PARALLEL_FROM: usize = 1 << 14;

/// `parse(state, index)` for every index in `0..count`, results in index order. `init` makes a
/// worker's state (a string table, say) once per worker, so workers share nothing.
pub(crate) fn parse_entries<T, S>(
    count: usize,
    init: impl Fn() -> S + Sync + Send,
    parse: impl Fn(&mut S, usize) -> T + Sync + Send,
) -> Vec<T>
where
    T: Send,
{
    if count < PARALLEL_FROM {
        let mut state = init();
        return (0..count).map(|index| parse(&mut state, index)).collect();
    }
    use rayon::prelude::*;
    (0..count)
        .into_par_iter()
        .with_min_len(PARALLEL_FROM / 4)
        .map_init(init, |state, index| parse(state, index))
        .collect()
}

/// The first problem met by entries parsed in any order: the one at the lowest index wins, so
/// messages do not depend on thread timing.
#[derive(Debug, Default)]
pub(crate) struct FirstProblem {
    count: std::sync::atomic::AtomicUsize,
    first: std::sync::Mutex<Option<(usize, ParseError)>>,
}

impl FirstProblem {
    /// Records a problem at entry `index`.
    pub fn record(&self, index: usize, error: ParseError) {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.as_ref().is_none_or(|(at, _)| index < *at) {
            *first = Some((index, error));
        }
    }

    /// How many problems, and the first.
    pub fn into_parts(self) -> (usize, Option<ParseError>) {
        let first = self
            .first
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .map(|(_, error)| error);
        (self.count.into_inner(), first)
    }
}
