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

/// [`parse`]; with `lazy_stacks` every record gets the empty stack (its stack is read later,
/// for the records a report shows: [`stack_at`]), so reading a record hashes and allocates
/// nothing.
pub(crate) fn parse_with(
    stream_offset: u64,
    stream: &[u8],
    lazy_stacks: bool,
) -> Result<RawTrace, ParseError> {
    let header = header(stream_offset, stream)?;
    let (size_of_header, size_of_entry, count) =
        (header.size_of_header, header.size_of_entry, header.count);

    let clamped = AtomicUsize::new(0);
    // Traces repeat a few stacks many times: records with the same return addresses share one
    // allocation, keyed by the raw bytes of the addresses.
    type Stacks<'a> = (foldhash::HashMap<&'a [u8], Arc<[u64]>>, Arc<[u64]>);
    let init = || (foldhash::HashMap::default(), Arc::from([]));
    let records = parse_entries(
        count as usize,
        init,
        |(stacks, empty): &mut Stacks, index| {
            let at = size_of_header as usize + index * size_of_entry as usize;
            let entry = &stream[at..at + ENTRY_SIZE as usize];
            let field = |offset: usize| u32_at(entry, offset).unwrap_or_default();
            let (raw, was_clamped) = raw_stack(entry);
            if was_clamped {
                clamped.fetch_add(1, Ordering::Relaxed);
            }
            let stack = if lazy_stacks {
                Arc::clone(empty)
            } else {
                stacks
                    .entry(raw)
                    .or_insert_with(|| decode_stack(raw))
                    .clone()
            };
            TraceRecord {
                handle: u64_at(entry, 0).unwrap_or_default(),
                process_id: field(8),
                thread_id: field(12),
                operation: Operation::from_raw(field(16)),
                stack,
            }
        },
    );
    let mut trace = RawTrace {
        records,
        count: count as usize,
        warnings: Vec::new(),
    };
    let clamped = clamped.into_inner();
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
    let opens_and_closes = || {
        records
            .iter()
            .filter(|record| matches!(record.operation, Operation::Open | Operation::Close))
    };
    let (newest_first, oldest_first) = match dense_slots(opens_and_closes().map(|r| r.handle)) {
        Some(slots) => votes_dense(opens_and_closes(), open_handles, slots),
        None => votes_hashed(opens_and_closes(), open_handles),
    };
    if newest_first > oldest_first {
        TraceOrder::NewestFirst
    } else if oldest_first > newest_first {
        TraceOrder::OldestFirst
    } else {
        TraceOrder::AssumedNewestFirst
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

/// Windows handle values are multiples of 4 and dense: when every traced value is, and the
/// largest is not far above the number of records, a table indexed by `value / 4` replaces
/// the hash map. Returns the table size.
fn dense_slots(values: impl Iterator<Item = u64>) -> Option<usize> {
    let (mut count, mut max) = (0u64, 0u64);
    for value in values {
        if value % 4 != 0 {
            return None;
        }
        count += 1;
        max = max.max(value / 4);
    }
    (max < 4 * count + 4096).then(|| max as usize + 1)
}

fn votes_dense<'a>(
    records: impl Iterator<Item = &'a TraceRecord>,
    open_handles: &[Handle],
    slots: usize,
) -> (usize, usize) {
    // Per slot: bit 0 seen, bit 1 first is an open, bit 2 last is an open.
    let mut seen = vec![0u8; slots];
    for record in records {
        let slot = &mut seen[(record.handle / 4) as usize];
        let open_bit = u8::from(record.operation == Operation::Open);
        if *slot == 0 {
            *slot = 1 | open_bit << 1 | open_bit << 2;
        } else {
            *slot = (*slot & 0b011) | open_bit << 2;
        }
    }
    let mut open_now = vec![false; slots];
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
    count_votes(
        seen.iter()
            .zip(&open_now)
            .filter(|(slot, _)| **slot != 0)
            .map(|(slot, open)| vote(operation(slot & 2 != 0), operation(slot & 4 != 0), *open)),
    )
}

fn votes_hashed<'a>(
    records: impl Iterator<Item = &'a TraceRecord>,
    open_handles: &[Handle],
) -> (usize, usize) {
    let open: foldhash::HashSet<u64> = open_handles.iter().map(|handle| handle.value).collect();
    let mut first_and_last: foldhash::HashMap<u64, (Operation, Operation)> =
        foldhash::HashMap::default();
    for record in records {
        first_and_last
            .entry(record.handle)
            .and_modify(|(_, last)| *last = record.operation)
            .or_insert((record.operation, record.operation));
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
            assert_eq!(dense_slots(records.iter().map(|r| r.handle)), None);
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
