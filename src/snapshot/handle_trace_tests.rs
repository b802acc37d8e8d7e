//! Tests of the HandleOperationListStream parse, order detection and in-place reads.

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
    assert_detected_both_ways(&records, &open);
    // Only single OPEN records of open handles: nothing to tell the order by.
    let silent = vec![records[0].clone()];
    assert_eq!(
        detect_order(&silent, &OpenValues::Handles(&open)),
        TraceOrder::AssumedNewestFirst
    );
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
    let decoded = parse_with(0x40, &stream, false, None).unwrap();
    let in_place = parse_with(0x40, &stream, true, None).unwrap();
    assert!(in_place.records.is_empty());
    assert_eq!(in_place.count, 5);
    assert_eq!(
        in_place.warnings[0].message, decoded.warnings[0].message,
        "the depth check counts the same records"
    );
    let open = [open_handle(4)];
    let order = detect_order_in(0x40, &stream, &OpenValues::Handles(&open)).unwrap();
    assert_eq!(
        order,
        detect_order(&decoded.records, &OpenValues::Handles(&open))
    );
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
        assert_detected_both_ways(&records, &[open_handle(a)]);
    }
}

/// A slot table without its trailing unused slots (tables grow in different steps).
fn trimmed(evidence: &OrderEvidence) -> Option<Vec<u8>> {
    let slots = evidence.slots.as_ref()?;
    let used = slots
        .iter()
        .rposition(|slot| *slot != 0)
        .map_or(0, |at| at + 1);
    Some(slots[..used].to_vec())
}

#[test]
fn in_place_scans_in_parts_gather_what_one_pass_does() {
    // Handle 4k (k = 1..=1000) is opened, closed, opened… once every 1000 records, so its
    // first record lies in the first part and its last in the last; every 5000th record
    // claims 40 frames; `odd` adds one value a dense table cannot index (in the last part).
    let count = 2 * SCAN_PART + 1234;
    for odd in [false, true] {
        let mut stream = header(count as u32);
        let mut sequential = OrderEvidence::new(count);
        for index in 0..count {
            let mut handle = 4 * (index as u64 % 1000 + 1);
            if odd && index == count - 10 {
                handle = 5;
            }
            let operation = 1 + (index / 1000) as u32 % 2;
            let depth = if index % 5000 == 4999 { 40 } else { 2 };
            stream.extend(entry(handle, operation, depth, &[0x10, 0x20]));
            sequential.add(handle, Operation::from_raw(operation));
        }
        let entries = Entries::new(&stream, &header_of(&stream));
        // Read in place, and copied in chunks (one of which cannot be copied).
        let read = std::sync::Mutex::new(Vec::new());
        let copy = |start: usize, buffer: &mut [u8]| {
            read.lock().unwrap().push((start, buffer.len()));
            let copied = start != 16 + 3 * (COPY_CHUNK / ENTRY_SIZE as usize) * 288;
            if copied {
                buffer.copy_from_slice(&stream[start..start + buffer.len()]);
            }
            copied
        };
        for copy in [None, Some(&copy as CopyStream)] {
            let (merged, clamped) = scan_in_place(&entries, copy);
            assert_eq!(trimmed(&merged), trimmed(&sequential), "odd {odd}");
            assert_eq!(merged.slots.is_none(), odd);
            assert_eq!(clamped, count / 5000);
        }
        // The chunks copied cover every record once.
        let mut read = read.into_inner().unwrap();
        read.sort_unstable();
        assert_eq!(read[0].0, 16);
        assert!(read
            .windows(2)
            .all(|pair| pair[0].0 + pair[0].1 == pair[1].0));
        assert_eq!(
            read.iter().map(|(_, len)| len).sum::<usize>(),
            stream.len() - 16
        );
        // And the whole parse decides the order the decoded records give.
        let open: Vec<Handle> = (1..=1000u64)
            .filter(|k| (count as u64 - k) / 1000 % 2 == 0)
            .map(|k| open_handle(4 * k))
            .collect();
        let in_place = parse_with(0, &stream, true, None).unwrap();
        let decoded = parse(0, &stream).unwrap();
        let order = in_place
            .order_evidence
            .unwrap()
            .order(&OpenValues::Handles(&open));
        if !odd {
            assert_eq!(
                order,
                Some(detect_order(&decoded.records, &OpenValues::Handles(&open)))
            );
            assert_eq!(order, Some(TraceOrder::OldestFirst));
        }
    }
}

fn header_of(stream: &[u8]) -> ListHeader {
    super::header(0, stream).unwrap()
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

/// `records` (oldest first) are detected as such, and reversed as newest first.
fn assert_detected_both_ways(records: &[TraceRecord], open: &[Handle]) {
    assert_eq!(
        detect_order(records, &OpenValues::Handles(open)),
        TraceOrder::OldestFirst
    );
    let mut reversed = records.to_vec();
    reversed.reverse();
    assert_eq!(
        detect_order(&reversed, &OpenValues::Handles(open)),
        TraceOrder::NewestFirst
    );
}
