//! `handles`: one input → its handles, filtered → symbolise the stacks shown → the report.

use crate::analysis::handles::{addresses, build_handles, select, HandleFilter, HandlesReport};
use crate::analysis::Attribution;
use crate::snapshot::Snapshot;
use crate::symbols::Symbolizer;

/// Lists the handles of `snapshot` that `filter` selects, with their allocation stacks (and
/// histories) resolved by `symbolizer`.
pub fn handles_of(
    snapshot: &Snapshot,
    filter: &HandleFilter,
    symbolizer: &Symbolizer,
    attribution: &Attribution,
) -> HandlesReport {
    let selected = select(snapshot, filter);
    let symbols = symbolizer.resolve(snapshot, addresses(snapshot, &selected, filter.history));
    let mut report = build_handles(snapshot, &selected, filter, &symbols, attribution);
    symbolizer.prepend_warnings(&mut report.warnings);
    report
}
