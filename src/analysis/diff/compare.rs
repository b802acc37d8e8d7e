//! The handle-level comparison, before symbols: which handles are new, which closed, and what
//! the trace records say about each new one.

use crate::snapshot::{CompactHandles, Handle, Operation, Snapshot};
use std::cmp::Ordering;
use std::sync::Arc;

/// The handle-level comparison of two snapshots; it refers to their handles.
#[derive(Debug, Clone)]
pub struct HandleDiff<'a> {
    pub(super) new: Vec<NewHandle<'a>>,
    pub(super) closed: Vec<HandleRef<'a>>,
}

/// A handle of a comparison: borrowed from a full table, or made from a compact one (boxed,
/// so that the many borrowed ones stay two words each).
#[derive(Debug, Clone)]
pub enum HandleRef<'a> {
    /// From a full table.
    Borrowed(&'a Handle),
    /// Made from a compact table.
    Owned(Box<Handle>),
}

impl std::ops::Deref for HandleRef<'_> {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        match self {
            HandleRef::Borrowed(handle) => handle,
            HandleRef::Owned(handle) => handle,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct NewHandle<'a> {
    /// The handle: borrowed from a full table, made from a compact one.
    pub(super) handle: HandleRef<'a>,
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
    missing_both(
        in_identity_order(from),
        in_identity_order(other),
        by_identity,
    )
    .0
}

/// Full handles compared by identity.
fn by_identity(a: &&Handle, b: &&Handle) -> Ordering {
    a.identity().cmp(&b.identity())
}

/// The handles of `from` missing from `other` and those of `other` missing from `from` (each
/// as many times as it is on one side more than on the other), both in identity order, from
/// lists in identity order (`cmp` compares identities): one walk over both, and only handles
/// with equal values compare their names.
fn missing_both<A, B>(
    from: impl Iterator<Item = A>,
    other: impl Iterator<Item = B>,
    cmp: impl Fn(&A, &B) -> Ordering,
) -> (Vec<A>, Vec<B>) {
    let (mut from, mut other) = (from.peekable(), other.peekable());
    let (mut only_from, mut only_other) = (Vec::new(), Vec::new());
    loop {
        match (from.peek(), other.peek()) {
            (Some(a), Some(b)) => match cmp(a, b) {
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

/// The indices of a compact table in identity order.
enum IndexOrder {
    /// The table's own order (its values strictly increase).
    Table(std::ops::Range<usize>),
    /// Sorted by identity.
    Sorted(std::vec::IntoIter<usize>),
}

impl Iterator for IndexOrder {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            IndexOrder::Table(indices) => indices.next(),
            IndexOrder::Sorted(indices) => indices.next(),
        }
    }
}

/// [`in_identity_order`] for a compact table.
fn compact_in_identity_order(table: &CompactHandles) -> IndexOrder {
    let handles = &table.handles;
    if handles.windows(2).all(|pair| pair[0].value < pair[1].value) {
        return IndexOrder::Table(0..handles.len());
    }
    let mut order: Vec<usize> = (0..handles.len()).collect();
    order.sort_by(|a, b| table.identity(*a).cmp(&table.identity(*b)));
    IndexOrder::Sorted(order.into_iter())
}

/// For each name index of `from`, the index of the same name in `to` (`u32::MAX` when `to`
/// has none): equal indices then mean equal names without comparing them.
fn same_names(from: &CompactHandles, to: &CompactHandles) -> Vec<u32> {
    let mut in_to: foldhash::HashMap<&str, u32> = foldhash::HashMap::default();
    for (index, name) in to.names.iter().enumerate().skip(1) {
        if let Some(name) = name.as_deref() {
            in_to.entry(name).or_insert(index as u32);
        }
    }
    from.names
        .iter()
        .enumerate()
        .map(|(index, name)| match name.as_deref() {
            None if index == 0 => 0,
            None => u32::MAX,
            Some(name) => in_to.get(name).copied().unwrap_or(u32::MAX),
        })
        .collect()
}

/// The handle tables of one snapshot, borrowed apart from the rest of it: its trace records
/// and frame texts can then be dropped while a comparison lives.
#[derive(Debug, Clone, Copy)]
pub struct HandleTables<'a> {
    handles: &'a Option<Vec<Handle>>,
    compact: Option<&'a CompactHandles>,
}

impl<'a> HandleTables<'a> {
    /// The tables of `snapshot`.
    pub fn of(snapshot: &'a Snapshot) -> HandleTables<'a> {
        HandleTables::new(&snapshot.handles, snapshot.compact_handles.as_ref())
    }

    /// A snapshot's `handles` and `compact_handles`, borrowed field by field.
    pub(crate) fn new(
        handles: &'a Option<Vec<Handle>>,
        compact: Option<&'a CompactHandles>,
    ) -> HandleTables<'a> {
        HandleTables { handles, compact }
    }
}

/// The handles new in `after` and those closed since `before`.
fn new_and_closed<'a>(
    before: HandleTables<'a>,
    after: HandleTables<'a>,
) -> (Vec<HandleRef<'a>>, Vec<HandleRef<'a>>) {
    if let (Some(before), Some(after)) = (before.compact, after.compact) {
        let (before_order, after_order) = rayon::join(
            || compact_in_identity_order(before),
            || compact_in_identity_order(after),
        );
        let same = same_names(after, before);
        let (new, closed) = missing_both(after_order, before_order, |a, b| {
            let (x, y) = (&after.handles[*a], &before.handles[*b]);
            x.value.cmp(&y.value).then_with(|| {
                let same_name = |from: u32, to: u32| same.get(from as usize) == Some(&to);
                if same_name(x.type_name, y.type_name) && same_name(x.object_name, y.object_name) {
                    Ordering::Equal
                } else {
                    after.identity(*a).cmp(&before.identity(*b))
                }
            })
        });
        let made = |table: &CompactHandles, indices: Vec<usize>| -> Vec<HandleRef<'a>> {
            indices
                .into_iter()
                .map(|index| HandleRef::Owned(Box::new(table.handle(index))))
                .collect()
        };
        return (made(after, new), made(before, closed));
    }
    match (before.handles, after.handles) {
        (Some(before), Some(after)) => {
            let (before, after) =
                rayon::join(|| in_identity_order(before), || in_identity_order(after));
            let (new, closed) = missing_both(after, before, by_identity);
            let borrowed =
                |handles: Vec<&'a Handle>| handles.into_iter().map(HandleRef::Borrowed).collect();
            (borrowed(new), borrowed(closed))
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
    compare_handle_tables(HandleTables::of(before), HandleTables::of(after), |new| {
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
    before: HandleTables<'a>,
    after: HandleTables<'a>,
    newest: impl FnOnce(&[HandleRef<'a>]) -> NewestRecords,
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
