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
///
/// Both lists are sorted and walked together: handle tables come in value order, so the sorts
/// are nearly linear, and only handles with equal values compare their names.
pub(super) fn missing_from<'a>(from: &'a [Handle], other: &[Handle]) -> Vec<&'a Handle> {
    let mut others = sorted_by_identity(other)
        .into_iter()
        .map(Handle::identity)
        .peekable();
    let mut missing = Vec::new();
    for handle in sorted_by_identity(from) {
        let key = handle.identity();
        while others.next_if(|other| *other < key).is_some() {}
        if others.next_if_eq(&key).is_none() {
            missing.push(handle);
        }
    }
    missing
}

fn sorted_by_identity(handles: &[Handle]) -> Vec<&Handle> {
    let mut sorted: Vec<&Handle> = handles.iter().collect();
    sorted.sort_by(|a, b| a.identity().cmp(&b.identity()));
    sorted
}

/// Compares the handle tables; identity is value + type + object name, so a value reused
/// for another object counts as one closed and one new handle.
pub fn compare_handles<'a>(before: &'a Snapshot, after: &'a Snapshot) -> HandleDiff<'a> {
    let (before_handles, after_handles): (&[Handle], &[Handle]) =
        match (&before.handles, &after.handles) {
            (Some(before), Some(after)) => (before, after),
            // A summary on either side: no handle list to compare.
            _ => (&[], &[]),
        };
    let new_handles = missing_from(after_handles, before_handles);
    let newest = after
        .trace
        .as_ref()
        .map(|trace| trace.newest_of(new_handles.iter().map(|handle| handle.value)));
    let new = new_handles
        .into_iter()
        .map(|handle| {
            let evidence = match &newest {
                None => StackEvidence::NoTrace,
                Some(newest) => match newest.get(&handle.value) {
                    None => StackEvidence::NoRecord,
                    Some(record) if record.operation == Operation::Open => {
                        StackEvidence::Open(record.stack.clone())
                    }
                    Some(record) => StackEvidence::Inconsistent(record.operation),
                },
            };
            NewHandle { handle, evidence }
        })
        .collect();
    let closed = missing_from(before_handles, after_handles);
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
