//! `diff`: two inputs → snapshots (in parallel) → compare → symbolise the new handles'
//! stacks → the diff report.

use crate::analysis::{self, DiffOptions, DiffReport};
use crate::error::{Error, Result};
use crate::snapshot::{self, LoadError, ProcessInfo, Snapshot};
use crate::symbols::Symbolizer;
use crate::warning::{Warning, WarningCode};
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
    // The diff shows no object information; the earlier dump's trace records are never
    // used: only their count is reported.
    let load = &snapshot::LoadOptions {
        skip_object_info: true,
        // Only the stacks of the new handles are shown: the comparison reads just those.
        lazy_trace_stacks: true,
        ..*load
    };
    let before_load = snapshot::LoadOptions {
        skip_trace_records: true,
        ..*load
    };
    // Handle tables of dumps are kept compact: the report shows only the new and closed
    // handles, made whole from the tables when found. The later input is loaded on this
    // thread: the memory its trace records and frame texts give back (see `diff_taken`) is
    // then this thread's allocator arena's, where the report is built, not another thread's.
    let (before, after) = std::thread::scope(|scope| {
        let earlier = scope.spawn(|| snapshot::load_compact(before, &before_load));
        let after = snapshot::load_compact(after, load);
        let before = earlier
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (before, after)
    });
    let (mut before, mut after) = (require_handles(before?)?, require_handles(after?)?);
    if before.compact_handles.is_some() != after.compact_handles.is_some() {
        // A dump against a log or a listing: compared as full tables.
        before.expand_handles();
        after.expand_handles();
    }
    refuse_same_capture(&before, &after)?;
    if !options.allow_different_process {
        refuse_different_processes(&before, &after)?;
    }
    let order = capture_order(&before, &after);
    if order == Order::NewestFirst {
        std::mem::swap(&mut before, &mut after);
        // The earlier dump's trace records were skipped; the later one needs them.
        after = require_handles(snapshot::load_compact(&after.source, load)?)?;
        if before.compact_handles.is_none() {
            after.expand_handles();
        }
    }
    let mut report = diff_taken(&before, &mut after, symbolizer, options);
    match order {
        Order::NewestFirst => {
            report.reordered = true;
            report.warnings.insert(
                0,
                Warning::new(
                    WarningCode::Reordered,
                    format!(
                        "given newest first; compared older → newer ({} was captured before {})",
                        before.file_name(),
                        after.file_name()
                    ),
                ),
            );
        }
        Order::Unchecked => report.warnings.push(Warning::new(
            WarningCode::OrderUnchecked,
            "the inputs have equal or no capture times: the order given (earlier first) could not be checked",
        )),
        Order::Given => {}
    }
    // Freeing two large snapshots (unmapping the files, releasing the handle tables) is
    // measurable: the thread pool does it while the caller writes the report.
    rayon::spawn(move || drop((before, after)));
    Ok(report)
}

#[derive(Debug, PartialEq, Eq)]
enum Order {
    /// Captured in the order given.
    Given,
    /// The second was captured first.
    NewestFirst,
    /// Equal or missing capture times.
    Unchecked,
}

fn capture_order(before: &Snapshot, after: &Snapshot) -> Order {
    match (before.captured_at, after.captured_at) {
        (Some(first), Some(second)) if first < second => Order::Given,
        (Some(first), Some(second)) if first > second => Order::NewestFirst,
        _ => Order::Unchecked,
    }
}

/// Refuses the same file under two names, or two files with the same content.
fn refuse_same_capture(before: &Snapshot, after: &Snapshot) -> Result<()> {
    let same_file = same_file::is_same_file(&before.source, &after.source).unwrap_or(false);
    let same_content = || {
        let size = |snapshot: &Snapshot| std::fs::metadata(&snapshot.source).map(|m| m.len()).ok();
        size(before) == size(after) && before.content_hash() == after.content_hash()
    };
    if same_file || same_content() {
        return Err(Error::SameInput {
            first: before.source.clone(),
            second: after.source.clone(),
        });
    }
    Ok(())
}

/// Refuses inputs of different processes: pid, process start time or image name differ
/// (each compared only when both inputs give it).
fn refuse_different_processes(before: &Snapshot, after: &Snapshot) -> Result<()> {
    if same_process(&before.process, &after.process) {
        return Ok(());
    }
    Err(Error::DifferentProcesses {
        before: describe(before),
        after: describe(after),
    })
}

/// Whether two snapshots' process facts allow them to be one process.
pub fn same_process(a: &ProcessInfo, b: &ProcessInfo) -> bool {
    let differs = |x: Option<u64>, y: Option<u64>| matches!((x, y), (Some(x), Some(y)) if x != y);
    let image_differs = match (&a.image_name, &b.image_name) {
        (Some(x), Some(y)) => !x.eq_ignore_ascii_case(y),
        _ => false,
    };
    !(differs(a.pid.map(u64::from), b.pid.map(u64::from))
        || differs(a.started_at, b.started_at)
        || image_differs)
}

/// `OrderMailer.exe pid 3856 started 2026-03-02T08:00:00Z (before.dmp)`.
fn describe(snapshot: &Snapshot) -> String {
    let process = &snapshot.process;
    format!(
        "{} pid {} started {} ({})",
        process.image_name.as_deref().unwrap_or("?"),
        process.pid.map_or("?".to_string(), |pid| pid.to_string()),
        process
            .started_at
            .map_or("?".to_string(), crate::time::iso8601),
        snapshot.file_name()
    )
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
    let mut report = analysis::build_report(before, after, &handles, &symbols, options);
    symbolizer.prepend_warnings(&mut report.warnings);
    report
}

/// [`diff_snapshots`] of snapshots the caller is done with: what the report does not read of
/// the later one (its trace records and frame texts: a log of 900,000 records holds as many
/// of each) is freed once the new handles' stacks are found and resolved, before the report
/// is built.
pub(crate) fn diff_taken(
    before: &Snapshot,
    after: &mut Snapshot,
    symbolizer: &Symbolizer,
    options: &DiffOptions,
) -> DiffReport {
    let reader = &*after;
    let tables = analysis::HandleTables::new(&after.handles, after.compact_handles.as_ref());
    let handles =
        analysis::compare_handle_tables(analysis::HandleTables::of(before), tables, |new| {
            reader
                .trace
                .as_ref()
                .map(|_| reader.newest_trace_records(new.iter().map(|handle| handle.value)))
        });
    let symbols = symbolizer.resolve(after, handles.addresses());
    if let Some(trace) = &mut after.trace {
        trace.records = Vec::new();
    }
    after.frame_text = Default::default();
    let mut report = analysis::build_report(before, after, &handles, &symbols, options);
    symbolizer.prepend_warnings(&mut report.warnings);
    report
}

/// Fails with a capture hint when the snapshot has no handle table.
pub fn require_handles(snapshot: Snapshot) -> Result<Snapshot, LoadError> {
    if snapshot.has_handle_data() {
        return Ok(snapshot);
    }
    Err(LoadError::MissingData {
        path: snapshot.source.clone(),
        message: match snapshot.input {
            snapshot::InputFormat::Minidump => format!(
                "the dump has no handle data (no HandleDataStream), so its handles cannot be counted; {}",
                snapshot::CAPTURE_HINT
            ),
            input => format!(
                "the input shows no handles, so they cannot be counted; {}",
                snapshot::capture_hint(input)
            ),
        },
    })
}
