//! `batch`: many unrelated inputs processed in parallel, each in isolation (a bad file or a
//! bug on one input fails that input only) → one row per dump → the aggregate.

use super::identical::split_identical;
use super::inputs::{walk_inputs, Collected, InputWalk};
use crate::analysis::batch::{
    self, AggregateBuilder, AggregateOptions, BatchLine, BatchReport, DumpRow, FailedInput,
    SkippedInput,
};
use crate::analysis::known::KnownIssues;
use crate::error::{Error, Result};
use crate::snapshot;
use crate::snapshot::LoadError;
use crate::symbols::{self, Symbolizer};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// How a batch is run.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Which modules are never blamed (and left out of the fleet ranking unless asked).
    pub aggregate: AggregateOptions,
    /// Known-issue rules.
    pub known: KnownIssues,
    /// Worker threads; all cores when `None`.
    pub jobs: Option<usize>,
    /// Rows go to `on_line` only and the report lists none (the aggregate is the same): a
    /// batch writing JSON Lines then holds a few bytes per dump instead of its row.
    pub rows_streamed_only: bool,
}

/// Processes one input of a batch: load, symbolise the open handles' stacks and the crash,
/// and build its row. A panic inside is caught and reported as an internal error for that
/// file.
pub fn batch_one(
    path: &Path,
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
) -> BatchLine {
    isolated(path, || dump_row(path, load, symbolizer, options))
}

fn dump_row(
    path: &Path,
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
) -> Result<DumpRow> {
    // A row shows no object information.
    let load = snapshot::LoadOptions {
        skip_object_info: true,
        ..*load
    };
    let snapshot = snapshot::load_with(path, &load)?;
    let addresses: Vec<u64> = batch::open_handle_stacks(&snapshot)
        .iter()
        .flat_map(|(_, stack)| stack.iter().copied())
        .collect();
    let symbols = symbolizer.resolve(&snapshot, addresses);
    let mut statuses = std::collections::BTreeMap::new();
    let crash = symbols::crash_stack(&snapshot, symbolizer, 5, &mut statuses);
    Ok(batch::dump_row(
        &snapshot,
        &symbols,
        crash,
        &options.aggregate.attribution,
        &options.known,
    ))
}

/// Runs `work` for `path`, turning its error or panic into that file's failure line; a file
/// recognised as something else (a PDB, an archive, a report, text that is no log) is skipped.
fn isolated(path: &Path, work: impl FnOnce() -> Result<DumpRow>) -> BatchLine {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(Ok(row)) => BatchLine::Dump(Box::new(row)),
        Ok(Err(Error::Load(LoadError::OtherKind { kind, .. }))) => {
            BatchLine::Skipped(SkippedInput {
                file: path.display().to_string(),
                reason: kind.to_string(),
            })
        }
        Ok(Err(Error::Load(LoadError::Unrecognised { binary: false, .. }))) => {
            BatchLine::Skipped(SkippedInput {
                file: path.display().to_string(),
                reason: "text that is not a debugger log or handle.exe output".to_string(),
            })
        }
        Ok(Err(error)) => BatchLine::Failure(FailedInput {
            file: path.display().to_string(),
            error: without_path(error.to_string(), path),
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

/// `message` without the `PATH: ` that load errors start with (the failure names the file
/// already).
fn without_path(message: String, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    match message.strip_prefix(&prefix) {
        Some(rest) => rest.to_string(),
        None => message,
    }
}

/// Walks `inputs` ([`super::inputs::walk_inputs`]) and processes the files found
/// ([`batch_files`]): a folder that cannot be listed is one failure, and what the walk passed
/// over (subfolders, links, filtered files) is said in the aggregate's notes.
pub fn batch_inputs(
    inputs: &[PathBuf],
    walk: &InputWalk,
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
    on_line: &(dyn Fn(&BatchLine) + Sync),
) -> Result<BatchReport> {
    let collected = walk_inputs(inputs, walk)?;
    batch_collected(collected, load, symbolizer, options, on_line)
}

/// [`batch_inputs`] on what a walk already found (the caller walked once, e.g. to check the
/// output path against the inputs).
pub fn batch_collected(
    collected: Collected,
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
    on_line: &(dyn Fn(&BatchLine) + Sync),
) -> Result<BatchReport> {
    let unreadable: Vec<FailedInput> = collected
        .unreadable
        .iter()
        .map(|(path, reason)| FailedInput {
            file: path.display().to_string(),
            error: reason.clone(),
            internal: false,
        })
        .collect();
    for failure in &unreadable {
        on_line(&BatchLine::Failure(failure.clone()));
    }
    let mut report = batch_files(&collected.files, load, symbolizer, options, on_line)?;
    if !unreadable.is_empty() {
        report.failures.extend(unreadable);
        report.failures.sort_by(|a, b| a.file.cmp(&b.file));
        report.aggregate.failed = report.failures.len();
    }
    report.aggregate.caveats.extend(collected.notes);
    Ok(report)
}

/// The files a batch of `inputs` would process, for progress bars and output checks.
pub fn batch_files_of(inputs: &[PathBuf], walk: &InputWalk) -> Result<Vec<PathBuf>> {
    Ok(walk_inputs(inputs, walk)?.files)
}

/// Processes `files` in parallel (`options.jobs` threads), calling `on_line` with each dump,
/// failure or skipped input as it finishes, and returns the report. A byte-identical copy of
/// another file is skipped ("identical to FIRST", [`split_identical`]), not counted twice.
pub fn batch_files(
    files: &[PathBuf],
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &BatchOptions,
    on_line: &(dyn Fn(&BatchLine) + Sync),
) -> Result<BatchReport> {
    let pool = thread_pool(options.jobs)?;
    // The copies are found with the batch's threads (hashing files of equal size).
    let (files, copies) = pool.install(|| split_identical(files));
    for copy in &copies {
        on_line(&BatchLine::Skipped(copy.clone()));
    }
    let keep_rows = !options.rows_streamed_only;
    let mut report = run(
        &files,
        &pool,
        &options.aggregate,
        keep_rows,
        on_line,
        &|path| batch_one(path, load, symbolizer, options),
    )?;
    if !copies.is_empty() {
        report.skipped.extend(copies);
        report.skipped.sort_by(|a, b| a.file.cmp(&b.file));
        report.aggregate.skipped = report.skipped.len();
    }
    Ok(report)
}

/// What a worker gathered: the aggregate of its rows, and its rows, failures and skipped
/// inputs.
struct Gathered {
    aggregate: AggregateBuilder,
    dumps: Vec<DumpRow>,
    failures: Vec<FailedInput>,
    skipped: Vec<SkippedInput>,
}

impl Gathered {
    fn new(options: &AggregateOptions) -> Gathered {
        Gathered {
            aggregate: AggregateBuilder::new(options),
            dumps: Vec::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
        }
    }

    fn take(mut self, line: BatchLine, keep_rows: bool) -> Gathered {
        match line {
            BatchLine::Dump(row) => {
                self.aggregate.add(&row);
                if keep_rows {
                    self.dumps.push(*row);
                }
            }
            BatchLine::Failure(failure) => self.failures.push(failure),
            BatchLine::Skipped(input) => self.skipped.push(input),
            BatchLine::Aggregate(_) => {}
        }
        self
    }

    fn merge(mut self, other: Gathered) -> Gathered {
        self.aggregate.merge(other.aggregate);
        self.dumps.extend(other.dumps);
        self.failures.extend(other.failures);
        self.skipped.extend(other.skipped);
        self
    }
}

/// A pool of `jobs` threads (all cores when `None`).
fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = jobs {
        builder = builder.num_threads(jobs.max(1));
    }
    Ok(builder.build()?)
}

fn run(
    files: &[PathBuf],
    pool: &rayon::ThreadPool,
    aggregate: &AggregateOptions,
    keep_rows: bool,
    on_line: &(dyn Fn(&BatchLine) + Sync),
    process: &(dyn Fn(&Path) -> BatchLine + Sync),
) -> Result<BatchReport> {
    // Each worker folds its lines into its own aggregate as they finish; the workers'
    // aggregates merge in input order.
    let gathered = pool.install(|| {
        files
            .par_iter()
            .fold(
                || Gathered::new(aggregate),
                |gathered, path| {
                    let line = process(path);
                    on_line(&line);
                    gathered.take(line, keep_rows)
                },
            )
            .reduce(|| Gathered::new(aggregate), Gathered::merge)
    });
    let mut dumps = gathered.dumps;
    dumps.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(batch::report_of(
        dumps,
        gathered.failures,
        gathered.skipped,
        gathered.aggregate,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_on_one_input_is_an_internal_error_for_that_file_only() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/batch");
        let files: Vec<PathBuf> = ["cust-0c91.dmp", "cust-18c7.dmp", "cust-2d08.dmp"]
            .iter()
            .map(|name| root.join(name))
            .collect();
        let symbolizer = crate::symbols::SymbolConfig {
            offline: true,
            ..Default::default()
        }
        .symbolizer()
        .unwrap();
        let options = BatchOptions::default();
        let load = snapshot::LoadOptions::default();
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let report = run(
            &files,
            &thread_pool(Some(2)).unwrap(),
            &AggregateOptions::default(),
            true,
            &|_| {
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
            &|path| {
                if path.ends_with("cust-18c7.dmp") {
                    isolated(path, || panic!("test panic for {}", path.display()))
                } else {
                    batch_one(path, &load, &symbolizer, &options)
                }
            },
        )
        .unwrap();
        assert_eq!(seen.into_inner(), 3);
        assert_eq!(report.aggregate.processed, 2);
        assert_eq!(report.failures.len(), 1);
        let failure = &report.failures[0];
        assert!(failure.file.ends_with("cust-18c7.dmp"));
        assert!(failure.internal);
        assert!(failure.error.contains("internal error") && failure.error.contains("test panic"));
    }
}
