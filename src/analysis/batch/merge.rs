//! `merge`: rebuilds a batch report from `--format jsonl` shards of one or more runs, each
//! dump counted once however many shards hold it.

use super::aggregate::{batch_report, AggregateOptions};
use super::model::{BatchLine, BatchReport};
use std::collections::{BTreeMap, BTreeSet};

/// A shard line that is not a dumpleak batch line.
#[derive(Debug, thiserror::Error)]
#[error("{place}: not a dumpleak batch line: {source}")]
pub struct MergeError {
    /// `FILE:LINE` of the bad line.
    pub place: String,
    /// Why it does not parse.
    #[source]
    pub source: serde_json::Error,
}

/// The report as `--format jsonl` lines: every dump, failure and skipped input, then the
/// aggregate.
pub fn to_jsonl(report: &BatchReport) -> String {
    let mut out = String::new();
    for line in lines_of(report) {
        out.push_str(&serde_json::to_string(&line).expect("batch lines serialise"));
        out.push('\n');
    }
    out
}

/// The lines of [`to_jsonl`], as values: each dump, failure and skipped input, then the
/// aggregate.
pub fn lines_of(report: &BatchReport) -> impl Iterator<Item = BatchLine> + '_ {
    report
        .dumps
        .iter()
        .map(|row| BatchLine::Dump(Box::new(row.clone())))
        .chain(report.failures.iter().cloned().map(BatchLine::Failure))
        .chain(report.skipped.iter().cloned().map(BatchLine::Skipped))
        .chain(std::iter::once(BatchLine::Aggregate(Box::new(
            report.aggregate.clone(),
        ))))
}

/// Rebuilds a batch report from JSONL shards (`(name, text)`; a bad line is named
/// `NAME:LINE`): dump, failure and skipped lines are collected, the aggregate recomputed
/// (keeping the caveats of the runs' aggregate lines). A dump is identified by its content
/// hash (else its file name): a dump in two shards, a shard given twice, or the same content
/// twice within one shard counts once, and the aggregate says how many were dropped, and
/// where.
pub fn merge_shards<'a>(
    shards: impl IntoIterator<Item = (&'a str, &'a str)>,
    options: &AggregateOptions,
) -> Result<BatchReport, MergeError> {
    let mut dumps = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    // Per dump identity, the index of the shard it was first met in.
    let mut seen_dumps: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_files = BTreeSet::new();
    let (mut within, mut across) = (0, 0);
    let mut caveats: Vec<String> = Vec::new();
    for (shard, (name, text)) in shards.into_iter().enumerate() {
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<BatchLine>(line).map_err(|source| MergeError {
                place: format!("{name}:{}", number + 1),
                source,
            })?;
            match parsed {
                BatchLine::Dump(row) => {
                    let identity = row.content_hash.clone().unwrap_or_else(|| row.file.clone());
                    match seen_dumps.get(&identity) {
                        None => {
                            seen_dumps.insert(identity, shard);
                            dumps.push(*row);
                        }
                        Some(&first) if first == shard => within += 1,
                        Some(_) => across += 1,
                    }
                }
                BatchLine::Failure(failure) => {
                    if seen_files.insert(failure.file.clone()) {
                        failures.push(failure);
                    }
                }
                BatchLine::Skipped(input) => {
                    if seen_files.insert(input.file.clone()) {
                        skipped.push(input);
                    }
                }
                // Recomputed from the rows; only what the runs passed over is carried over.
                BatchLine::Aggregate(aggregate) => {
                    for caveat in aggregate.caveats {
                        if !caveats.contains(&caveat) {
                            caveats.push(caveat);
                        }
                    }
                }
            }
        }
    }
    let mut report = batch_report(dumps, failures, skipped, options);
    report.aggregate.caveats = caveats;
    report.aggregate.duplicates_dropped = within + across;
    report
        .aggregate
        .notes
        .extend(duplicate_notes(within, across));
    Ok(report)
}

/// What `merge` says about the duplicates it dropped.
fn duplicate_notes(within: usize, across: usize) -> Vec<String> {
    let counted = |count: usize| {
        if count == 1 {
            "1 dump appeared".to_string()
        } else {
            format!("{count} dumps appeared")
        }
    };
    let mut notes = Vec::new();
    if within > 0 {
        notes.push(format!(
            "{} more than once within one shard (the same content, under one name or several) and {} counted once",
            counted(within),
            if within == 1 { "was" } else { "were" }
        ));
    }
    if across > 0 {
        notes.push(format!(
            "{} in more than one shard (the same content) and {} counted once",
            counted(across),
            if across == 1 { "was" } else { "were" }
        ));
    }
    notes
}
