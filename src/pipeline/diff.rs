//! `diff`: two inputs → snapshots (in parallel) → compare → symbolise the new handles'
//! stacks → the diff report.

use crate::analysis::{self, DiffOptions, DiffReport};
use crate::error::Result;
use crate::snapshot::{self, LoadError, Snapshot};
use crate::symbols::Symbolizer;
use std::path::Path;

/// Loads both inputs (in parallel), checks they hold handle data, and builds the diff report.
pub fn diff_files(
    before: &Path,
    after: &Path,
    symbolizer: &Symbolizer,
    options: &DiffOptions,
) -> Result<DiffReport> {
    diff_files_with(
        before,
        after,
        &snapshot::LoadOptions::default(),
        symbolizer,
        options,
    )
}

/// [`diff_files`] with choices for multi-snapshot inputs (`--pid`, `--block`).
pub fn diff_files_with(
    before: &Path,
    after: &Path,
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &DiffOptions,
) -> Result<DiffReport> {
    // The earlier dump's trace records are never used: only their count is reported.
    let before_load = snapshot::LoadOptions {
        skip_trace_records: true,
        ..*load
    };
    let (before, after) = rayon::join(
        || snapshot::load_with(before, &before_load),
        || snapshot::load_with(after, load),
    );
    let (before, after) = (require_handles(before?)?, require_handles(after?)?);
    let report = diff_snapshots(&before, &after, symbolizer, options);
    // Freeing two large snapshots is measurable; do it on both cores.
    rayon::join(|| drop(before), || drop(after));
    Ok(report)
}

/// Diffs two loaded snapshots: compare, resolve only the addresses shown, report.
pub fn diff_snapshots(
    before: &Snapshot,
    after: &Snapshot,
    symbolizer: &Symbolizer,
    options: &DiffOptions,
) -> DiffReport {
    let handles = analysis::compare_handles(before, after);
    let symbols = symbolizer.resolve(after, handles.addresses());
    analysis::build_report(before, after, &handles, &symbols, options)
}

/// Fails with a capture hint when the snapshot has no handle table.
pub fn require_handles(snapshot: Snapshot) -> Result<Snapshot, LoadError> {
    if snapshot.has_handle_data() {
        return Ok(snapshot);
    }
    Err(LoadError::MissingData {
        path: snapshot.source.clone(),
        message: format!(
            "the dump has no handle data (no HandleDataStream), so its handles cannot be counted; {}",
            snapshot::CAPTURE_HINT
        ),
    })
}
