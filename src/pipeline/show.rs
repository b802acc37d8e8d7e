//! `show`: one input → its summary (or, for a debugger log whose `!htrace -diff` block is a
//! diff by itself, the diff report).

use super::diff::diff_taken;
use crate::analysis::{self, DiffOptions, DiffReport};
use crate::snapshot::Snapshot;
use crate::symbols::{self, Symbolizer};

/// What `dumpleak show` reports: a summary, or for a debugger log whose `!htrace -diff`
/// block is a diff by itself, the diff report.
#[derive(Debug, Clone)]
pub enum ShowOutcome {
    /// One snapshot at a glance.
    Summary(Box<analysis::ShowReport>),
    /// The outstanding handles of a log's `!htrace -diff`.
    Diff(Box<DiffReport>),
}

/// Shows one input: a log with an `!htrace -diff` block gives its diff report, anything else
/// the summary. The snapshot is taken by value: a log's trace and frame texts become the
/// later side of its diff, not copied.
pub fn show_input(
    snapshot: Snapshot,
    symbolizer: &Symbolizer,
    options: &DiffOptions,
    crash_frames: usize,
) -> ShowOutcome {
    match analysis::log_diff_sides(snapshot) {
        Ok((before, mut after)) => ShowOutcome::Diff(Box::new(diff_taken(
            &before, &mut after, symbolizer, options,
        ))),
        Err(snapshot) => ShowOutcome::Summary(Box::new(show_snapshot(
            &snapshot,
            symbolizer,
            &options.attribution,
            crash_frames,
        ))),
    }
}

/// Summarises one snapshot, walking its crashing thread (when it has one) with `symbolizer`.
pub fn show_snapshot(
    snapshot: &Snapshot,
    symbolizer: &Symbolizer,
    attribution: &analysis::Attribution,
    crash_frames: usize,
) -> analysis::ShowReport {
    let mut statuses = std::collections::BTreeMap::new();
    let crash = symbols::crash_stack(snapshot, symbolizer, crash_frames, &mut statuses);
    let mut report = analysis::show(
        snapshot,
        attribution,
        crash,
        statuses.into_values().collect(),
    );
    symbolizer.prepend_warnings(&mut report.warnings);
    report
}
