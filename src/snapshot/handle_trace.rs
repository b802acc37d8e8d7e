//! HandleOperationListStream (type 18): `AVRF_HANDLE_OPERATION` records written when handle
//! tracing (`!htrace -enable`, Application Verifier) was on. rust-minidump does not parse it.

use super::bytes::{parse_entries, u32_at, u64_at, ListHeader, ParseError};
use super::model::{Handle, Operation, TraceOrder, TraceRecord};
use crate::warning::{Warning, WarningCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// `sizeof(AVRF_HANDLE_OPERATION)`: 24 bytes of handle data, 8 of backtrace header, 32 addresses.
const ENTRY_SIZE: u32 = 288;
const MAX_DEPTH: u32 = 32;
const STACK_OFFSET: usize = 32;

/// Records in stream order and what was noticed while reading them.
#[derive(Debug, Default)]
pub(crate) struct RawTrace {
    pub records: Vec<TraceRecord>,
    /// Records in the stream.
    pub count: usize,
    /// What order detection needs, gathered while reading records left in the stream.
    pub order_evidence: Option<OrderEvidence>,
    pub warnings: Vec<Warning>,
}

/// The handles open at capture time, from either form of the handle table: what order
/// detection compares the records with.
#[derive(Clone, Copy)]
pub(crate) enum OpenValues<'a> {
    /// A table of full handles.
    Handles(&'a [Handle]),
    /// A compact table.
    Compact(&'a [super::compact::CompactHandle]),
}

impl OpenValues<'_> {
    /// `visit(value)` for every open handle, in table order.
    fn each(&self, mut visit: impl FnMut(u64)) {
        match self {
            OpenValues::Handles(handles) => handles.iter().for_each(|handle| visit(handle.value)),
            OpenValues::Compact(handles) => handles.iter().for_each(|handle| visit(handle.value)),
        }
    }
}

/// Checks the stream's header and returns its record count, reading no record.
pub(crate) fn count(stream_offset: u64, stream: &[u8]) -> Result<usize, ParseError> {
    header(stream_offset, stream).map(|header| header.count as usize)
}

fn header(stream_offset: u64, stream: &[u8]) -> Result<ListHeader, ParseError> {
    ListHeader::read(
        stream,
        stream_offset,
        ("SizeOfEntry", "NumberOfEntries"),
        |size| {
            if size < ENTRY_SIZE {
                Err(format!(
                    "SizeOfEntry {size} is smaller than an AVRF_HANDLE_OPERATION ({ENTRY_SIZE} bytes)"
                ))
            } else {
                Ok(())
            }
        },
    )
}

/// Parses the stream; records stay in the order the stream holds them.
#[cfg(test)]
pub(crate) fn parse(stream_offset: u64, stream: &[u8]) -> Result<RawTrace, ParseError> {
    parse_with(stream_offset, stream, false, None)
}

/// Copies the stream's bytes from `start` into the whole of `buffer`; `false` when it could
/// not (the pass then reads the stream's bytes in place).
pub(crate) type CopyStream<'a> = &'a (dyn Fn(usize, &mut [u8]) -> bool + Sync);

/// [`parse`]; with `in_place` no record is decoded (`records` stays empty: the newest-record
/// lookups read them in the stream, [`newest_in`]): one pass checks the depths and gathers
/// the [`OrderEvidence`], so reading the trace allocates nothing per record.
/// With `copy`, the in-place pass reads the records through it in chunks (a mapped dump reads
/// its file into a small buffer: the 50 MB of a large trace are then never mapped, nor
/// unmapped at exit).
pub(crate) fn parse_with(
    stream_offset: u64,
    stream: &[u8],
    in_place: bool,
    copy: Option<CopyStream>,
) -> Result<RawTrace, ParseError> {
    let header = header(stream_offset, stream)?;
    let count = header.count as usize;
    let mut evidence = None;
    let (records, clamped) = if in_place {
        let (order, clamped) = scan_in_place(&Entries::new(stream, &header), copy);
        evidence = Some(order);
        (Vec::new(), clamped)
    } else {
        decode_records(stream, &header)
    };
    let mut trace = RawTrace {
        records,
        count,
        order_evidence: evidence,
        warnings: Vec::new(),
    };
    if clamped > 0 {
        trace.warnings.push(Warning::new(
            WarningCode::StreamDamaged,
            format!(
                "HandleOperationListStream: {clamped} record(s) claim a stack depth over {MAX_DEPTH}; their stacks were cut to {MAX_DEPTH} frames"
            ),
        ));
    }
    Ok(trace)
}

/// Streams from twice this many records on are scanned in place in parts, one per core (each
/// with its own evidence table, merged in order): the pass touches every record of a stream
/// that may be 50 MB.
const SCAN_PART: usize = 1 << 15;
/// Bytes copied at a time by a pass that copies the stream: a buffer that stays in cache and
/// is reused from the allocator's free lists (below glibc's fresh-mapping threshold).
const COPY_CHUNK: usize = 64 * 1024;

/// The in-place pass of [`parse_with`]: the [`OrderEvidence`] of every record, and how many
/// records claim an over-deep stack. Large streams are scanned in parts on all cores, whose
/// evidence is merged in stream order ([`OrderEvidence::then`]).
fn scan_in_place(entries: &Entries, copy: Option<CopyStream>) -> (OrderEvidence, usize) {
    let count = entries.count;
    let scan = |range: std::ops::Range<usize>| {
        let mut order = OrderEvidence::new(count);
        let mut clamped = 0;
        entries.each_in(range, copy, |entry| {
            let (handle, operation) = handle_and_operation(entry);
            order.add(handle, operation);
            clamped += usize::from(u32_at(entry, 24).unwrap_or_default() > MAX_DEPTH);
        });
        (order, clamped)
    };
    if count < 2 * SCAN_PART {
        return scan(0..count);
    }
    use rayon::prelude::*;
    let part = count
        .div_ceil(rayon::current_num_threads().max(1))
        .max(SCAN_PART);
    let parts: Vec<(OrderEvidence, usize)> = (0..count.div_ceil(part))
        .into_par_iter()
        .map(|index| scan(index * part..((index + 1) * part).min(count)))
        .collect();
    parts
        .into_iter()
        .reduce(|(earlier, a), (later, b)| (earlier.then(later), a + b))
        .unwrap_or_else(|| (OrderEvidence::new(count), 0))
}

/// Every record with its stack, and how many had their depth capped.
fn decode_records(stream: &[u8], header: &ListHeader) -> (Vec<TraceRecord>, usize) {
    let entries = Entries::new(stream, header);
    let clamped = AtomicUsize::new(0);
    // Traces repeat a few stacks many times: records with the same return addresses share one
    // allocation, keyed by the raw bytes of the addresses.
    let records = parse_entries(
        header.count as usize,
        foldhash::HashMap::<&[u8], Arc<[u64]>>::default,
        |stacks, index| {
            let entry = entries.entry(index);
            let field = |offset: usize| u32_at(entry, offset).unwrap_or_default();
            let (raw, was_clamped) = raw_stack(entry);
            if was_clamped {
                clamped.fetch_add(1, Ordering::Relaxed);
            }
            let (handle, operation) = handle_and_operation(entry);
            TraceRecord {
                handle,
                process_id: field(8),
                thread_id: field(12),
                operation,
                stack: stacks
                    .entry(raw)
                    .or_insert_with(|| decode_stack(raw))
                    .clone(),
            }
        },
    );
    (records, clamped.into_inner())
}

/// The entries of a stream whose header was checked: `count` entries of at least
/// [`ENTRY_SIZE`] bytes fit after the header.
struct Entries<'a> {
    stream: &'a [u8],
    size_of_header: usize,
    size_of_entry: usize,
    count: usize,
}

impl<'a> Entries<'a> {
    fn new(stream: &'a [u8], header: &ListHeader) -> Entries<'a> {
        Entries {
            stream,
            size_of_header: header.size_of_header as usize,
            size_of_entry: header.size_of_entry as usize,
            count: header.count as usize,
        }
    }

    /// The first [`ENTRY_SIZE`] bytes of entry `index` (below `count`).
    fn entry(&self, index: usize) -> &'a [u8] {
        let at = self.size_of_header + index * self.size_of_entry;
        &self.stream[at..at + ENTRY_SIZE as usize]
    }

    /// `visit(entry)` for the entries in `range`, in order: read in place, or through `copy`
    /// in chunks of about [`COPY_CHUNK`] bytes (a chunk it cannot copy is read in place).
    fn each_in(
        &self,
        range: std::ops::Range<usize>,
        copy: Option<CopyStream>,
        mut visit: impl FnMut(&[u8]),
    ) {
        let size = self.size_of_entry;
        let Some(copy) = copy.filter(|_| size <= COPY_CHUNK) else {
            range.for_each(|index| visit(self.entry(index)));
            return;
        };
        let per_chunk = COPY_CHUNK / size;
        let mut buffer = vec![0u8; per_chunk.min(range.len()) * size];
        for first in range.clone().step_by(per_chunk) {
            let entries = per_chunk.min(range.end - first);
            let chunk = &mut buffer[..entries * size];
            if copy(self.size_of_header + first * size, chunk) {
                chunk
                    .chunks_exact(size)
                    .for_each(|entry| visit(&entry[..ENTRY_SIZE as usize]));
            } else {
                (first..first + entries).for_each(|index| visit(self.entry(index)));
            }
        }
    }

    /// Handle value and operation of every entry, in stream order.
    fn operations(&self) -> impl Iterator<Item = (u64, Operation)> + '_ {
        (0..self.count).map(|index| handle_and_operation(self.entry(index)))
    }
}

/// A record's handle value and operation.
fn handle_and_operation(entry: &[u8]) -> (u64, Operation) {
    (
        u64_at(entry, 0).unwrap_or_default(),
        Operation::from_raw(u32_at(entry, 16).unwrap_or_default()),
    )
}

/// [`detect_order`] of the records of a stream read with `in_place` ([`parse_with`]) whose
/// [`OrderEvidence`] dropped its table: with a hash map, in a second pass over the stream.
pub(crate) fn detect_order_in(
    stream_offset: u64,
    stream: &[u8],
    open_handles: &OpenValues,
) -> Result<TraceOrder, ParseError> {
    let header = header(stream_offset, stream)?;
    let entries = Entries::new(stream, &header);
    Ok(detect_order_hashed(entries.operations(), open_handles))
}

/// The newest record of each of `values` in a stream whose records are listed in `order`:
/// its index in the stream and its operation. Stops reading as soon as every value is found.
pub(crate) fn newest_in(
    stream_offset: u64,
    stream: &[u8],
    order: TraceOrder,
    values: impl IntoIterator<Item = u64>,
) -> Result<foldhash::HashMap<u64, (usize, Operation)>, ParseError> {
    let header = header(stream_offset, stream)?;
    let entries = Entries::new(stream, &header);
    let mut wanted: foldhash::HashSet<u64> = values.into_iter().collect();
    let mut newest = foldhash::HashMap::default();
    let count = entries.count;
    for step in 0..count {
        if wanted.is_empty() {
            break;
        }
        let index = match order {
            TraceOrder::OldestFirst => count - 1 - step,
            TraceOrder::NewestFirst | TraceOrder::AssumedNewestFirst => step,
        };
        let (handle, operation) = handle_and_operation(entries.entry(index));
        if wanted.remove(&handle) {
            newest.insert(handle, (index, operation));
        }
    }
    Ok(newest)
}

/// The raw return addresses of a record (its depth capped at 32, trailing zero slots cut) and
/// whether the depth had to be capped.
fn raw_stack(entry: &[u8]) -> (&[u8], bool) {
    let mut depth = u32_at(entry, 24).unwrap_or_default();
    let clamped = depth > MAX_DEPTH;
    depth = depth.min(MAX_DEPTH);
    let slot = |index: usize| &entry[STACK_OFFSET + index * 8..STACK_OFFSET + index * 8 + 8];
    let mut depth = depth as usize;
    while depth > 0 && slot(depth - 1) == [0; 8] {
        depth -= 1;
    }
    (&entry[STACK_OFFSET..STACK_OFFSET + depth * 8], clamped)
}

fn decode_stack(raw: &[u8]) -> Arc<[u64]> {
    raw.chunks_exact(8)
        .map(|address| u64::from_le_bytes(address.try_into().unwrap_or_default()))
        .collect()
}

/// The stacks of the records at `indices` (in stream order) of the stream, as [`parse`]
/// reads them; records with equal stacks share one. An index past the stream's records gets
/// the empty stack.
pub(crate) fn stacks_at(
    stream_offset: u64,
    stream: &[u8],
    indices: impl IntoIterator<Item = usize>,
) -> Result<Vec<Arc<[u64]>>, ParseError> {
    let header = header(stream_offset, stream)?;
    let mut shared: foldhash::HashMap<&[u8], Arc<[u64]>> = foldhash::HashMap::default();
    Ok(indices
        .into_iter()
        .map(|index| {
            if index >= header.count as usize {
                return Arc::from([]);
            }
            let at = header.size_of_header as usize + index * header.size_of_entry as usize;
            let (raw, _) = raw_stack(&stream[at..at + ENTRY_SIZE as usize]);
            shared
                .entry(raw)
                .or_insert_with(|| decode_stack(raw))
                .clone()
        })
        .collect())
}

/// Decides which end of the record list is newest.
///
/// A handle open at capture time must have an OPEN as its most recent record, and a handle
/// that is not open must not; each handle whose first and last records differ in that
/// respect votes for one order. Ties and silence fall back to newest first, which is how
/// WinDbg's `!htrace` presents the same data.
pub(crate) fn detect_order(records: &[TraceRecord], open_handles: &OpenValues) -> TraceOrder {
    let operations = || {
        records
            .iter()
            .map(|record| (record.handle, record.operation))
    };
    let mut evidence = OrderEvidence::new(records.len());
    for (handle, operation) in operations() {
        evidence.add(handle, operation);
    }
    evidence
        .order(open_handles)
        .unwrap_or_else(|| detect_order_hashed(operations(), open_handles))
}

/// [`detect_order`] for records `operations` lists (handle value and operation, in list
/// order), read with the hash map: when [`OrderEvidence`] could not hold them.
fn detect_order_hashed<I: Iterator<Item = (u64, Operation)>>(
    operations: I,
    open_handles: &OpenValues,
) -> TraceOrder {
    order_of(votes_hashed(operations, open_handles))
}

fn order_of((newest_first, oldest_first): (usize, usize)) -> TraceOrder {
    if newest_first > oldest_first {
        TraceOrder::NewestFirst
    } else if oldest_first > newest_first {
        TraceOrder::OldestFirst
    } else {
        TraceOrder::AssumedNewestFirst
    }
}

/// What [`detect_order`] needs of the records, gathered in one pass over them in list
/// order: per handle, whether its first and its last OPEN or CLOSE record is an OPEN.
///
/// Windows handle values are multiples of 4 and dense: while every traced value is, and none
/// is far above the number of records, a table indexed by `value / 4` holds that (one byte
/// per value up to the largest); otherwise the table is dropped and the order is decided with
/// a hash map in a second pass.
#[derive(Debug)]
pub(crate) struct OrderEvidence {
    /// Per slot: bit 0 seen, bit 1 first is an open, bit 2 last is an open; `None` once a
    /// value did not fit.
    slots: Option<Vec<u8>>,
    /// Slots allowed: 4 per record and 4096.
    limit: u64,
}

impl OrderEvidence {
    /// Evidence for a list of `records` records, none seen yet.
    pub(crate) fn new(records: usize) -> OrderEvidence {
        OrderEvidence {
            slots: Some(Vec::new()),
            limit: 4 * records as u64 + 4096,
        }
    }

    /// The next record in list order.
    #[inline]
    pub(crate) fn add(&mut self, handle: u64, operation: Operation) {
        if !matches!(operation, Operation::Open | Operation::Close) {
            return;
        }
        let Some(slots) = &mut self.slots else {
            return;
        };
        if handle % 4 != 0 || handle / 4 >= self.limit {
            self.slots = None;
            return;
        }
        let index = (handle / 4) as usize;
        if index >= slots.len() {
            let grown = (index + 1).max(slots.len() * 2).min(self.limit as usize);
            slots.resize(grown, 0);
        }
        let slot = &mut slots[index];
        let open_bit = u8::from(operation == Operation::Open);
        if *slot == 0 {
            *slot = 1 | open_bit << 1 | open_bit << 2;
        } else {
            *slot = (*slot & 0b011) | open_bit << 2;
        }
    }

    /// The evidence of a list followed by `later`, the evidence of the records after it
    /// (gathered for a list of the same length): per slot, the first record is this list's
    /// when it saw one, the last one `later`'s when it saw one.
    pub(crate) fn then(self, later: OrderEvidence) -> OrderEvidence {
        let (Some(mut slots), Some(later_slots)) = (self.slots, later.slots) else {
            return OrderEvidence {
                slots: None,
                limit: self.limit,
            };
        };
        if slots.len() < later_slots.len() {
            slots.resize(later_slots.len(), 0);
        }
        for (slot, later) in slots.iter_mut().zip(&later_slots) {
            if *later == 0 {
                continue;
            }
            *slot = if *slot == 0 {
                *later
            } else {
                (*slot & 0b011) | (*later & 0b100)
            };
        }
        OrderEvidence {
            slots: Some(slots),
            limit: self.limit,
        }
    }

    /// The order the evidence shows, given the handles open at capture time; `None` when
    /// the table was dropped (a second pass decides: [`detect_order_in`]).
    pub(crate) fn order(self, open_handles: &OpenValues) -> Option<TraceOrder> {
        let seen = self.slots?;
        let mut open_now = vec![false; seen.len()];
        open_handles.each(|value| {
            if value % 4 == 0 {
                if let Some(slot) = open_now.get_mut((value / 4) as usize) {
                    *slot = true;
                }
            }
        });
        let operation = |is_open: bool| {
            if is_open {
                Operation::Open
            } else {
                Operation::Close
            }
        };
        Some(order_of(count_votes(
            seen.iter()
                .zip(&open_now)
                .filter(|(slot, _)| **slot != 0)
                .map(|(slot, open)| {
                    vote(operation(slot & 2 != 0), operation(slot & 4 != 0), *open)
                }),
        )))
    }
}

/// One handle's vote: `Some(true)` for newest first, `Some(false)` for oldest first.
fn vote(first: Operation, last: Operation, open_now: bool) -> Option<bool> {
    let fits = |op: Operation| match op {
        Operation::Open => open_now,
        Operation::Close => !open_now,
        _ => false,
    };
    match (fits(first), fits(last)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

fn count_votes(votes: impl Iterator<Item = Option<bool>>) -> (usize, usize) {
    votes.fold((0, 0), |(newest, oldest), vote| match vote {
        Some(true) => (newest + 1, oldest),
        Some(false) => (newest, oldest + 1),
        None => (newest, oldest),
    })
}

fn votes_hashed(
    records: impl Iterator<Item = (u64, Operation)>,
    open_handles: &OpenValues,
) -> (usize, usize) {
    let mut open: foldhash::HashSet<u64> = foldhash::HashSet::default();
    open_handles.each(|value| {
        open.insert(value);
    });
    let mut first_and_last: foldhash::HashMap<u64, (Operation, Operation)> =
        foldhash::HashMap::default();
    let opens_and_closes =
        records.filter(|(_, operation)| matches!(operation, Operation::Open | Operation::Close));
    for (handle, operation) in opens_and_closes {
        first_and_last
            .entry(handle)
            .and_modify(|(_, last)| *last = operation)
            .or_insert((operation, operation));
    }
    count_votes(
        first_and_last
            .into_iter()
            .map(|(handle, (first, last))| vote(first, last, open.contains(&handle))),
    )
}

#[cfg(test)]
#[path = "handle_trace_tests.rs"]
mod tests;
