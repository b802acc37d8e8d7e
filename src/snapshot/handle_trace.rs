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
    parse_with(stream_offset, stream, false)
}

/// [`parse`]; with `in_place` no record is decoded (`records` stays empty: the newest-record
/// lookups read them in the stream, [`newest_in`]): one pass checks the depths and gathers
/// the [`OrderEvidence`], so reading the trace allocates nothing per record.
pub(crate) fn parse_with(
    stream_offset: u64,
    stream: &[u8],
    in_place: bool,
) -> Result<RawTrace, ParseError> {
    let header = header(stream_offset, stream)?;
    let count = header.count as usize;
    let mut evidence = None;
    let (records, clamped) = if in_place {
        let entries = Entries::new(stream, &header);
        let mut order = OrderEvidence::new(count);
        let mut clamped = 0;
        for index in 0..count {
            let entry = entries.entry(index);
            let (handle, operation) = handle_and_operation(entry);
            order.add(handle, operation);
            clamped += usize::from(u32_at(entry, 24).unwrap_or_default() > MAX_DEPTH);
        }
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
    open_handles: &[Handle],
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
pub(crate) fn detect_order(records: &[TraceRecord], open_handles: &[Handle]) -> TraceOrder {
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
    open_handles: &[Handle],
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

    /// The order the evidence shows, given the handles open at capture time; `None` when
    /// the table was dropped (a second pass decides: [`detect_order_in`]).
    pub(crate) fn order(self, open_handles: &[Handle]) -> Option<TraceOrder> {
        let seen = self.slots?;
        let mut open_now = vec![false; seen.len()];
        for handle in open_handles {
            if handle.value % 4 == 0 {
                if let Some(slot) = open_now.get_mut((handle.value / 4) as usize) {
                    *slot = true;
                }
            }
        }
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
    open_handles: &[Handle],
) -> (usize, usize) {
    let open: foldhash::HashSet<u64> = open_handles.iter().map(|handle| handle.value).collect();
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
mod tests {
    use super::*;

    fn header(count: u32) -> Vec<u8> {
        [16u32, ENTRY_SIZE, count, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    fn entry(handle: u64, operation: u32, depth: u32, stack: &[u64]) -> Vec<u8> {
        let mut out = handle.to_le_bytes().to_vec();
        for field in [1234u32, 0xa14, operation, 0, depth, 0] {
            out.extend(field.to_le_bytes());
        }
        for slot in 0..32 {
            out.extend(stack.get(slot).copied().unwrap_or(0).to_le_bytes());
        }
        out
    }

    fn open_handle(value: u64) -> Handle {
        Handle {
            handle_count: 1,
            pointer_count: 1,
            ..Handle::new(value)
        }
    }

    #[test]
    fn reads_records_with_their_stacks() {
        let mut stream = header(2);
        stream.extend(entry(0x1bc, 1, 3, &[0x7c90d0cc, 0x7c80e265, 0x35f02a93]));
        stream.extend(entry(0x1bc, 2, 40, &[0x1; 32]));
        let trace = parse(0x100, &stream).unwrap();
        assert_eq!(trace.records.len(), 2);
        assert_eq!(trace.records[0].handle, 0x1bc);
        assert_eq!(trace.records[0].thread_id, 0xa14);
        assert_eq!(trace.records[0].process_id, 1234);
        assert_eq!(trace.records[0].operation, Operation::Open);
        assert_eq!(
            &trace.records[0].stack[..],
            [0x7c90d0cc, 0x7c80e265, 0x35f02a93]
        );
        assert_eq!(trace.records[1].operation, Operation::Close);
        assert_eq!(trace.records[1].stack.len(), 32, "depth is capped at 32");
        assert!(trace.warnings[0].message.contains("stack depth over 32"));
    }

    #[test]
    fn rejects_counts_the_stream_cannot_hold() {
        let stream = header(1_000_000);
        let error = parse(0x40, &stream).unwrap_err();
        assert_eq!(error.offset, 0x40);
        assert!(error.reason.contains("NumberOfEntries 1000000"));
        let mut small_entries = header(0);
        small_entries[4..8].copy_from_slice(&100u32.to_le_bytes());
        assert!(parse(0, &small_entries)
            .unwrap_err()
            .reason
            .contains("SizeOfEntry 100"));
    }

    #[test]
    fn detects_which_end_is_newest() {
        // Handle 4 was opened, closed and reopened (open now); handle 8 opened then closed.
        let oldest_first = [
            entry(4, 1, 0, &[]),
            entry(8, 1, 0, &[]),
            entry(4, 2, 0, &[]),
            entry(8, 2, 0, &[]),
            entry(4, 1, 0, &[]),
        ];
        let mut stream = header(oldest_first.len() as u32);
        stream.extend(oldest_first.concat());
        let records = parse(0, &stream).unwrap().records;
        let open = [open_handle(4)];
        assert_eq!(detect_order(&records, &open), TraceOrder::OldestFirst);
        let mut reversed = records.clone();
        reversed.reverse();
        assert_eq!(detect_order(&reversed, &open), TraceOrder::NewestFirst);
        // Only single OPEN records of open handles: nothing to tell the order by.
        let silent = vec![records[0].clone()];
        assert_eq!(detect_order(&silent, &open), TraceOrder::AssumedNewestFirst);
    }

    #[test]
    fn records_read_in_place_agree_with_the_decoded_ones() {
        // Oldest first: 4 opened, 8 opened, 4 closed, 8 closed (depth 40: capped), 4 reopened.
        let oldest_first = [
            entry(4, 1, 1, &[0x10]),
            entry(8, 1, 1, &[0x20]),
            entry(4, 2, 1, &[0x30]),
            entry(8, 2, 40, &[0x40; 32]),
            entry(4, 1, 2, &[0x50, 0x51]),
        ];
        let mut stream = header(oldest_first.len() as u32);
        stream.extend(oldest_first.concat());
        let decoded = parse_with(0x40, &stream, false).unwrap();
        let in_place = parse_with(0x40, &stream, true).unwrap();
        assert!(in_place.records.is_empty());
        assert_eq!(in_place.count, 5);
        assert_eq!(
            in_place.warnings[0].message, decoded.warnings[0].message,
            "the depth check counts the same records"
        );
        let open = [open_handle(4)];
        let order = detect_order_in(0x40, &stream, &open).unwrap();
        assert_eq!(order, detect_order(&decoded.records, &open));
        assert_eq!(order, TraceOrder::OldestFirst);
        // The newest record of 4 is the last in the stream, of 8 the fourth; 12 has none.
        let newest = newest_in(0x40, &stream, order, [4, 8, 12]).unwrap();
        assert_eq!(newest.len(), 2);
        assert_eq!(newest[&4], (4, Operation::Open));
        assert_eq!(newest[&8], (3, Operation::Close));
        assert_eq!(&stacks_at(0x40, &stream, [4]).unwrap()[0][..], [0x50, 0x51]);
        // Read newest first, the same stream gives the first records instead.
        let newest = newest_in(0x40, &stream, TraceOrder::NewestFirst, [4, 8]).unwrap();
        assert_eq!(newest[&4], (0, Operation::Open));
        assert_eq!(newest[&8], (1, Operation::Open));
        assert!(newest_in(0x40, &stream[..20], order, [4]).is_err());
    }

    #[test]
    fn sparse_and_untagged_values_detect_the_same_order() {
        // The same history as above with values a dense table cannot index: far apart, and
        // not multiples of 4.
        for (a, b) in [(4u64, 1 << 40), (5, 9)] {
            let oldest_first = [
                entry(a, 1, 0, &[]),
                entry(b, 1, 0, &[]),
                entry(a, 2, 0, &[]),
                entry(b, 2, 0, &[]),
                entry(a, 1, 0, &[]),
            ];
            let mut stream = header(oldest_first.len() as u32);
            stream.extend(oldest_first.concat());
            let records = parse(0, &stream).unwrap().records;
            let mut evidence = OrderEvidence::new(records.len());
            for record in &records {
                evidence.add(record.handle, record.operation);
            }
            assert!(evidence.slots.is_none(), "no table for {a:#x} and {b:#x}");
            let open = [open_handle(a)];
            assert_eq!(detect_order(&records, &open), TraceOrder::OldestFirst);
            let mut reversed = records.clone();
            reversed.reverse();
            assert_eq!(detect_order(&reversed, &open), TraceOrder::NewestFirst);
        }
    }

    #[test]
    fn large_traces_parsed_on_all_cores_keep_order_and_counts() {
        let count = crate::snapshot::bytes::PARALLEL_FROM as u32 * 2 + 77;
        let mut stream = header(count);
        for index in 0..count {
            let depth = if index % 5000 == 4999 { 40 } else { 3 };
            let stack = [0x7c90_d0cc, 0x7c80_e265, 0x35f0_2a93 + u64::from(index % 7)];
            stream.extend(entry(
                4 * u64::from(index + 1),
                1 + index % 2,
                depth,
                &stack,
            ));
        }
        let trace = parse(0, &stream).unwrap();
        assert_eq!(trace.records.len(), count as usize);
        assert_eq!(trace.count, count as usize);
        for (index, record) in trace.records.iter().enumerate() {
            assert_eq!(record.handle, 4 * (index as u64 + 1));
            assert_eq!(record.stack[2], 0x35f0_2a93 + (index as u64 % 7));
        }
        assert_eq!(
            trace
                .warnings
                .iter()
                .map(|warning| warning.message.clone())
                .collect::<Vec<_>>(),
            [format!(
                "HandleOperationListStream: {} record(s) claim a stack depth over 32; their stacks were cut to 32 frames",
                count / 5000
            )]
        );
        // Records with equal stacks share them (within each worker's share of the list).
        let distinct: std::collections::HashSet<*const u64> = trace
            .records
            .iter()
            .map(|record| record.stack.as_ptr())
            .collect();
        assert!(distinct.len() < 100, "{} distinct stacks", distinct.len());
    }
}
