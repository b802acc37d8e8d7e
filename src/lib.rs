//! dumpleak: post-mortem handle-leak analysis of Windows minidumps.
//!
//! Data flows one way, one module per stage:
//!
//! 1. [`snapshot`] — **load**: a minidump becomes a [`snapshot::Snapshot`] (process, modules,
//!    handle table, handle-trace records), every count and RVA checked against the file.
//! 2. [`symbols`] — **symbolise**: return addresses become frames in WinDbg notation
//!    through one [`symbols::Symbolizer`].
//! 3. [`analysis`] — **analyse**: two snapshots become a [`analysis::DiffReport`] with new
//!    handles grouped by allocation stack and blamed on modules with their versions.
//! 4. [`report`] — **report**: renders a report as a table, markdown, JSON or CSV.
//!
//! ```no_run
//! use dumpleak::{analysis::DiffOptions, symbols::SymbolConfig};
//! use std::path::Path;
//!
//! let symbolizer = SymbolConfig {
//!     dirs: vec!["testdata/incident/images".into()],
//!     ..SymbolConfig::default()
//! }
//! .symbolizer()?;
//! let report = dumpleak::diff_files(
//!     Path::new("testdata/incident/before.dmp"),
//!     Path::new("testdata/incident/after.dmp"),
//!     &symbolizer,
//!     &DiffOptions::default(),
//! )?;
//! for stack in &report.stacks {
//!     println!("+{} from {:?} {:?}", stack.count, stack.blamed_module, stack.blamed_version);
//! }
//! # Ok::<(), dumpleak::Error>(())
//! ```

pub mod analysis;
mod error;
pub mod report;
pub mod snapshot;
pub mod symbols;
pub mod time;

pub use error::{Error, Result};

use analysis::{DiffOptions, DiffReport};
use snapshot::Snapshot;
use std::path::Path;
use symbols::Symbolizer;

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

/// The files named by `inputs`: files as given, directories expanded to the files directly in
/// them (sorted by name; not recursive).
pub fn expand_inputs(inputs: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input).map_err(|source| Error::Io {
                path: input.clone(),
                source,
            })?;
            let mut found: Vec<std::path::PathBuf> = entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// Loads `inputs` (files or directories) in parallel, keeps the dumps of the series' process
/// in capture-time order, and builds the series report. `progress` is called once per loaded
/// input. Unreadable inputs and dumps of other processes are listed as excluded, not fatal.
pub fn series_files(
    inputs: &[std::path::PathBuf],
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &analysis::SeriesOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<analysis::SeriesReport> {
    use rayon::prelude::*;
    let files = expand_inputs(inputs)?;
    let loaded: Vec<(std::path::PathBuf, Result<Snapshot>)> = files
        .par_iter()
        .map(|path| {
            let result = snapshot::load_with(path, load).and_then(require_handles);
            progress();
            (path.clone(), result)
        })
        .collect();
    let mut excluded = Vec::new();
    let mut snapshots = Vec::new();
    for (path, result) in loaded {
        match result {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(error) => excluded.push(analysis::series::ExcludedInput {
                path: path.display().to_string(),
                reason: error.to_string(),
            }),
        }
    }
    let series = analysis::series::one_process(snapshots, &mut excluded);
    if series.len() < 2 {
        return Err(Error::Usage(format!(
            "a series needs at least two dumps of one process with handle data; {} usable of {} inputs{}",
            series.len(),
            files.len(),
            if excluded.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    excluded
                        .iter()
                        .map(|input| input.reason.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        )));
    }
    let last = &series[series.len() - 1];
    let symbols = symbolizer.resolve(last, analysis::series::retained_addresses(&series));
    Ok(analysis::build_series(&series, excluded, &symbols, options))
}

/// How a batch is run.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Which modules are never blamed.
    pub attribution: analysis::Attribution,
    /// Known-issue rules.
    pub known: analysis::known::KnownIssues,
    /// Descend into subdirectories.
    pub recursive: bool,
    /// Worker threads; all cores when `None`.
    pub jobs: Option<usize>,
}

/// The files under `inputs`: files as given, directories expanded (recursively when asked),
/// sorted by path.
pub fn collect_files(
    inputs: &[std::path::PathBuf],
    recursive: bool,
) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut pending: Vec<std::path::PathBuf> = inputs.to_vec();
    while let Some(input) = pending.pop() {
        if input.is_dir() {
            let entries = std::fs::read_dir(&input).map_err(|source| Error::Io {
                path: input.clone(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                // Symbolic links are not followed into directories: no loops. The entry's
                // type comes with the listing; only links (and file systems that do not say)
                // cost a stat.
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() && recursive => pending.push(path),
                    Ok(kind) if kind.is_dir() => {}
                    Ok(kind) if kind.is_file() => files.push(path),
                    _ if path.is_file() => files.push(path),
                    _ => {}
                }
            }
        } else {
            files.push(input);
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Processes one input of a batch; a panic inside is caught and reported as an internal error
/// for that file.
pub fn batch_one(
    path: &std::path::Path,
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
) -> analysis::batch::BatchLine {
    use analysis::batch::{BatchLine, FailedInput};
    let work = || -> Result<analysis::batch::DumpRow> {
        // A fail point for the tests of panic isolation; debug builds only.
        #[cfg(debug_assertions)]
        if std::env::var_os("DUMPLEAK_TEST_PANIC_ON").is_some_and(|name| {
            path.file_name()
                .is_some_and(|file| file == name.as_os_str())
        }) {
            panic!("test panic for {}", path.display());
        }
        let snapshot = snapshot::load_with(path, load)?;
        let addresses: Vec<u64> = analysis::batch::open_handle_stacks(&snapshot)
            .iter()
            .flat_map(|(_, stack)| stack.iter().copied())
            .collect();
        let symbols = symbolizer.resolve(&snapshot, addresses);
        let mut statuses = std::collections::BTreeMap::new();
        let crash = symbols::crash_stack(&snapshot, symbolizer, 5, &mut statuses);
        Ok(analysis::batch::dump_row(
            &snapshot,
            &symbols,
            crash,
            &options.attribution,
            &options.known,
        ))
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(Ok(row)) => BatchLine::Dump(Box::new(row)),
        Ok(Err(error)) => BatchLine::Failure(FailedInput {
            file: path.display().to_string(),
            error: error.to_string(),
            internal: false,
        }),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            BatchLine::Failure(FailedInput {
                file: path.display().to_string(),
                error: format!("internal error (a bug in dumpleak, please report it): {message}"),
                internal: true,
            })
        }
    }
}

/// Processes `files` in parallel (`options.jobs` threads), calling `on_line` with each dump
/// or failure as it finishes, and returns the report.
pub fn batch_files(
    files: &[std::path::PathBuf],
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
    on_line: &(dyn Fn(&analysis::batch::BatchLine) + Sync),
) -> Result<analysis::batch::BatchReport> {
    use analysis::batch::BatchLine;
    use rayon::prelude::*;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = options.jobs {
        builder = builder.num_threads(jobs.max(1));
    }
    let pool = builder
        .build()
        .map_err(|error| Error::Usage(format!("cannot start worker threads: {error}")))?;
    let lines: Vec<BatchLine> = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let line = batch_one(path, load, symbolizer, options);
                on_line(&line);
                line
            })
            .collect()
    });
    let mut dumps = Vec::new();
    let mut failures = Vec::new();
    for line in lines {
        match line {
            BatchLine::Dump(row) => dumps.push(*row),
            BatchLine::Failure(failure) => failures.push(failure),
            BatchLine::Aggregate(_) => {}
        }
    }
    Ok(analysis::batch::batch_report(dumps, failures))
}

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
/// the summary.
pub fn show_input(
    snapshot: &Snapshot,
    symbolizer: &Symbolizer,
    options: &DiffOptions,
    crash_frames: usize,
) -> ShowOutcome {
    match analysis::log_diff_sides(snapshot) {
        Some((before, after)) => ShowOutcome::Diff(Box::new(diff_snapshots(
            &before, &after, symbolizer, options,
        ))),
        None => ShowOutcome::Summary(Box::new(show_snapshot(
            snapshot,
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
    analysis::show(
        snapshot,
        attribution,
        crash,
        statuses.into_values().collect(),
    )
}

/// Fails with a capture hint when the snapshot has no handle table.
pub fn require_handles(snapshot: Snapshot) -> Result<Snapshot> {
    if snapshot.has_handle_data() {
        return Ok(snapshot);
    }
    Err(Error::MissingData {
        path: snapshot.source.clone(),
        message: format!(
            "the dump has no handle data (no HandleDataStream), so its handles cannot be counted; {}",
            snapshot::CAPTURE_HINT
        ),
    })
}
