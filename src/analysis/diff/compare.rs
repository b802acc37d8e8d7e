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
    missing_both(in_identity_order(from), in_identity_order(other)).0
}

/// The handles of `from` missing from `other` and those of `other` missing from `from` (each
/// as many times as it is on one side more than on the other), both in identity order, from
/// lists in identity order: one walk over both, and only handles with equal values compare
/// their names.
fn missing_both<'a, 'b>(
    from: impl Iterator<Item = &'a Handle>,
    other: impl Iterator<Item = &'b Handle>,
) -> (Vec<&'a Handle>, Vec<&'b Handle>) {
    let (mut from, mut other) = (from.peekable(), other.peekable());
    let (mut only_from, mut only_other) = (Vec::new(), Vec::new());
    loop {
        match (from.peek(), other.peek()) {
            (Some(a), Some(b)) => match a.identity().cmp(&b.identity()) {
                std::cmp::Ordering::Less => only_from.extend(from.next()),
                std::cmp::Ordering::Greater => only_other.extend(other.next()),
                std::cmp::Ordering::Equal => {
                    from.next();
                    other.next();
                }
            },
            (Some(_), None) => {
                only_from.extend(from);
                break;
            }
            (None, _) => {
                only_other.extend(other);
                break;
            }
        }
    }
    (only_from, only_other)
}

/// A handle table in identity order: the table itself when its values strictly increase (as
/// dumps list them: identity order is then value order), else sorted references.
enum InIdentityOrder<'a> {
    Table(std::slice::Iter<'a, Handle>),
    Sorted(std::vec::IntoIter<&'a Handle>),
}

impl<'a> Iterator for InIdentityOrder<'a> {
    type Item = &'a Handle;

    fn next(&mut self) -> Option<&'a Handle> {
        match self {
            InIdentityOrder::Table(handles) => handles.next(),
            InIdentityOrder::Sorted(handles) => handles.next(),
        }
    }
}

fn in_identity_order(handles: &[Handle]) -> InIdentityOrder<'_> {
    if handles.windows(2).all(|pair| pair[0].value < pair[1].value) {
        return InIdentityOrder::Table(handles.iter());
    }
    let mut sorted: Vec<&Handle> = handles.iter().collect();
    sorted.sort_by(|a, b| a.identity().cmp(&b.identity()));
    InIdentityOrder::Sorted(sorted.into_iter())
}

/// The handles new in `after` and those closed since `before` (handle tables; `None`: a
/// summary, no list to compare).
fn new_and_closed<'a>(
    before: &'a Option<Vec<Handle>>,
    after: &'a Option<Vec<Handle>>,
) -> (Vec<&'a Handle>, Vec<&'a Handle>) {
    match (before, after) {
        (Some(before), Some(after)) => {
            let (before, after) =
                rayon::join(|| in_identity_order(before), || in_identity_order(after));
            missing_both(after, before)
        }
        // A summary on either side: no handle list to compare.
        _ => (Vec::new(), Vec::new()),
    }
}

/// The newest trace record (operation and stack) of each handle value, as
/// [`Snapshot::newest_trace_records`] gives them; `None` without a trace.
pub type NewestRecords = Option<foldhash::HashMap<u64, (Operation, Arc<[u64]>)>>;

/// Compares the handle tables; identity is value + type + object name, so a value reused
/// for another object counts as one closed and one new handle. The new handles' newest trace
/// records are read in the dump when the load left them there
/// ([`LoadOptions::lazy_trace_stacks`](crate::snapshot::LoadOptions::lazy_trace_stacks)).
pub fn compare_handles<'a>(before: &'a Snapshot, after: &'a Snapshot) -> HandleDiff<'a> {
    compare_handle_tables(&before.handles, &after.handles, |new| {
        after
            .trace
            .as_ref()
            .map(|_| after.newest_trace_records(new.iter().map(|handle| handle.value)))
    })
}

/// [`compare_handles`] borrowing only the handle tables, `newest` giving the newest trace
/// records of the new handles: the later snapshot's trace records and frame texts can be
/// dropped while the comparison lives.
pub fn compare_handle_tables<'a>(
    before: &'a Option<Vec<Handle>>,
    after: &'a Option<Vec<Handle>>,
    newest: impl FnOnce(&[&Handle]) -> NewestRecords,
) -> HandleDiff<'a> {
    let (new_handles, closed) = new_and_closed(before, after);
    let newest = newest(&new_handles);
    let new = new_handles
        .into_iter()
        .map(|handle| {
            let evidence = match &newest {
                None => StackEvidence::NoTrace,
                Some(newest) => match newest.get(&handle.value) {
                    None => StackEvidence::NoRecord,
                    Some((Operation::Open, stack)) => StackEvidence::Open(Arc::clone(stack)),
                    Some((operation, _)) => StackEvidence::Inconsistent(*operation),
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
