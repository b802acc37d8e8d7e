//! The handle-level comparison, before symbols: which handles are new, which closed, and what
//! the trace records say about each new one.

use crate::snapshot::{Handle, Operation, Snapshot};
use std::sync::Arc;

/// The handle-level comparison of two snapshots; it refers to their handles.
#[derive(Debug, Clone)]
pub struct HandleDiff<'a> {
    pub(super) new: Vec<NewHandle<'a>>,
    pub(super) closed: Vec<&'a Handle>,
}

#[derive(Debug, Clone)]
pub(super) struct NewHandle<'a> {
    pub(super) handle: &'a Handle,
    pub(super) evidence: StackEvidence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StackEvidence {
    /// The most recent record is an OPEN with this stack.
    Open(Arc<[u64]>),
    /// The after dump has trace records, but none for this handle.
    NoRecord,
    /// The most recent record for this open handle is not an OPEN.
    Inconsistent(Operation),
    /// The after dump has no trace records at all.
    NoTrace,
}

impl StackEvidence {
    /// The `trace` value of the JSON contract.
    pub(super) fn label(&self) -> &'static str {
        match self {
            StackEvidence::Open(_) => "open",
            StackEvidence::NoRecord => "no-record",
            StackEvidence::Inconsistent(Operation::Close) => "last-record-close",
            StackEvidence::Inconsistent(Operation::BadRef) => "last-record-bad-ref",
            StackEvidence::Inconsistent(_) => "last-record-unknown",
            StackEvidence::NoTrace => "not-traced",
        }
    }
}

/// Handles of `from` whose identity (value, type, name) is not in `other` (as many times as
/// it is in `from` but not in `other`), sorted by identity.
#[cfg(test)]
pub(super) fn missing_from<'a>(from: &'a [Handle], other: &[Handle]) -> Vec<&'a Handle> {
    let (from, other) = (sorted_by_identity(from), sorted_by_identity(other));
    missing_from_sorted(&from, &other)
}

/// [`missing_from`] of lists sorted by identity.
///
/// Both lists are walked together: handle tables come in value order, so the sorts are
/// nearly linear, and only handles with equal values compare their names.
fn missing_from_sorted<'a>(from: &[&'a Handle], other: &[&Handle]) -> Vec<&'a Handle> {
    let mut others = other.iter().map(|handle| handle.identity()).peekable();
    let mut missing = Vec::new();
    for handle in from {
        let key = handle.identity();
        while others.next_if(|other| *other < key).is_some() {}
        if others.next_if_eq(&key).is_none() {
            missing.push(*handle);
        }
    }
    missing
}

fn sorted_by_identity(handles: &[Handle]) -> Vec<&Handle> {
    let mut sorted: Vec<&Handle> = handles.iter().collect();
    sorted.sort_by(|a, b| a.identity().cmp(&b.identity()));
    sorted
}

/// The handles new in `after` and those closed since `before`, each table sorted once.
fn new_and_closed<'a>(
    before: &'a Snapshot,
    after: &'a Snapshot,
) -> (Vec<&'a Handle>, Vec<&'a Handle>) {
    match (&before.handles, &after.handles) {
        (Some(before), Some(after)) => {
            let (before, after) =
                rayon::join(|| sorted_by_identity(before), || sorted_by_identity(after));
            (
                missing_from_sorted(&after, &before),
                missing_from_sorted(&before, &after),
            )
        }
        // A summary on either side: no handle list to compare.
        _ => (Vec::new(), Vec::new()),
    }
}

/// Compares the handle tables; identity is value + type + object name, so a value reused
/// for another object counts as one closed and one new handle. The stacks of the new
/// handles' newest records are read here when the trace was loaded without them
/// ([`LoadOptions::lazy_trace_stacks`](crate::snapshot::LoadOptions::lazy_trace_stacks)).
pub fn compare_handles<'a>(before: &'a Snapshot, after: &'a Snapshot) -> HandleDiff<'a> {
    let (new_handles, closed) = new_and_closed(before, after);
    let newest = after.trace.as_ref().map(|trace| {
        let newest = trace.newest_index_of(new_handles.iter().map(|handle| handle.value));
        let opened: Vec<usize> = newest
            .values()
            .copied()
            .filter(|&index| trace.records[index].operation == Operation::Open)
            .collect();
        let stacks: foldhash::HashMap<usize, Arc<[u64]>> = after
            .trace_stacks(&opened)
            .into_iter()
            .flat_map(|stacks| opened.iter().copied().zip(stacks))
            .collect();
        (trace, newest, stacks)
    });
    let new = new_handles
        .into_iter()
        .map(|handle| {
            let evidence = match &newest {
                None => StackEvidence::NoTrace,
                Some((trace, newest, stacks)) => match newest.get(&handle.value) {
                    None => StackEvidence::NoRecord,
                    Some(&index) => {
                        let record = &trace.records[index];
                        match record.operation {
                            Operation::Open => StackEvidence::Open(
                                stacks.get(&index).unwrap_or(&record.stack).clone(),
                            ),
                            operation => StackEvidence::Inconsistent(operation),
                        }
                    }
                },
            };
            NewHandle { handle, evidence }
        })
        .collect();
    HandleDiff { new, closed }
}

impl HandleDiff<'_> {
    /// Every return address the report will show, for the symbolizer.
    pub fn addresses(&self) -> impl Iterator<Item = u64> + '_ {
        self.new
            .iter()
            .flat_map(|new| match &new.evidence {
                StackEvidence::Open(stack) => &stack[..],
                _ => &[],
            })
            .copied()
    }

    /// Number of new handles.
    pub fn new_count(&self) -> usize {
        self.new.len()
    }
}
