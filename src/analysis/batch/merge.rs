//! `merge`: rebuilds a batch report from `--format jsonl` shards of one or more runs, each
//! dump counted once however many shards hold it.

use super::aggregate::{batch_report, AggregateOptions};
use super::model::{BatchLine, BatchReport};
use std::collections::BTreeSet;

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

/// Rebuilds a batch report from JSONL lines (`(place, line)`, place naming `FILE:LINE`): dump,
/// failure and skipped lines are collected, the aggregate recomputed (keeping the caveats of
/// the runs' aggregate lines). A dump is
/// identified by its content hash (else its file name): a dump in two shards, or a shard given
/// twice, counts once, and the aggregate says how many were dropped.
pub fn merge_lines<'a>(
    lines: impl IntoIterator<Item = (String, &'a str)>,
    options: &AggregateOptions,
) -> Result<BatchReport, MergeError> {
    let mut dumps = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut seen_dumps = BTreeSet::new();
    let mut seen_files = BTreeSet::new();
    let mut dropped = 0;
    let mut caveats: Vec<String> = Vec::new();
    for (place, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<BatchLine>(line) {
            Ok(BatchLine::Dump(row)) => {
                let identity = row.content_hash.clone().unwrap_or_else(|| row.file.clone());
                if seen_dumps.insert(identity) {
                    dumps.push(*row);
                } else {
                    dropped += 1;
                }
            }
            Ok(BatchLine::Failure(failure)) => {
                if seen_files.insert(failure.file.clone()) {
                    failures.push(failure);
                }
            }
            Ok(BatchLine::Skipped(input)) => {
                if seen_files.insert(input.file.clone()) {
                    skipped.push(input);
                }
            }
            // Recomputed from the rows; only what the runs passed over is carried over.
            Ok(BatchLine::Aggregate(aggregate)) => {
                for caveat in aggregate.caveats {
                    if !caveats.contains(&caveat) {
                        caveats.push(caveat);
                    }
                }
            }
            Err(source) => return Err(MergeError { place, source }),
        }
    }
    let mut report = batch_report(dumps, failures, skipped, options);
    report.aggregate.caveats = caveats;
    report.aggregate.duplicates_dropped = dropped;
    if dropped > 0 {
        report.aggregate.notes.push(format!(
            "{dropped} dumps appeared in more than one shard (the same content) and were counted once"
        ));
    }
    Ok(report)
}
