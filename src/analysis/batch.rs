//! Triage of many unrelated dumps: one row per dump (process, handles, tracing, crash, blamed
//! modules, known issues) and an aggregate by module + version that ranks module versions by
//! how strongly their presence goes with high handle counts.

use super::attribution::Attribution;
use super::known::{DumpFacts, KnownIssues};
use super::model::{top_types, TypeCount, SCHEMA_VERSION};
use super::stacks::{group_by_stack, StackGroup};
use crate::snapshot::Snapshot;
use crate::symbols::{CrashStack, SymbolTable};
use crate::time::iso8601;
use crate::warning::{Warning, WarningCode};
use foldhash::HashSet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most allocation stacks and crash frames kept per dump.
const KEPT_STACKS: usize = 3;
const KEPT_CRASH_FRAMES: usize = 5;
const TOP_TYPES: usize = 3;

/// A module and its file version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleVersion {
    /// File name.
    pub name: String,
    /// File version.
    pub version: Option<String>,
}

/// Open handles blamed on one module by their trace records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlamedCount {
    /// Module file name.
    pub module: String,
    /// Its version.
    pub version: Option<String>,
    /// Open handles whose allocation stack blames it.
    pub handles: usize,
}

/// One allocation stack of open handles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackSummary {
    /// Open handles with this stack.
    pub count: usize,
    /// Blamed module.
    pub blamed_module: Option<String>,
    /// Frames, innermost first.
    pub frames: Vec<String>,
}

/// The crash, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrashSummary {
    /// Exception code in hex.
    pub code: Option<String>,
    /// Its name (`EXCEPTION_ACCESS_VIOLATION_READ`, `STATUS_NO_MEMORY`, …).
    pub reason: String,
    /// Module of the faulting instruction.
    pub faulting_module: Option<String>,
    /// Top frames of the crashing thread.
    pub frames: Vec<String>,
}

/// A known issue a dump matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownMatch {
    /// The rule's label.
    pub label: String,
    /// Its link.
    pub link: Option<String>,
}

/// One processed dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpRow {
    /// The file.
    pub file: String,
    /// Process image name.
    pub process: Option<String>,
    /// File version of the process image.
    pub process_version: Option<String>,
    /// Process id.
    pub pid: Option<u32>,
    /// Capture time, ISO 8601 UTC.
    pub captured_at: Option<String>,
    /// Handles in the dump.
    pub handle_count: usize,
    /// Handles per type.
    pub types: BTreeMap<String, usize>,
    /// The most numerous types.
    pub top_types: Vec<TypeCount>,
    /// Handle-trace records in the dump; `null` without tracing.
    pub trace_records: Option<usize>,
    /// Open handles per blamed module (from trace records), most first.
    pub blamed: Vec<BlamedCount>,
    /// Largest groups of open handles by allocation stack.
    pub stacks: Vec<StackSummary>,
    /// The crash, when the dump records an exception.
    pub crash: Option<CrashSummary>,
    /// Every loaded module with its version.
    pub modules: Vec<ModuleVersion>,
    /// Known issues the dump matches.
    pub known_issues: Vec<KnownMatch>,
    /// What the dump cannot support.
    pub warnings: Vec<crate::warning::Warning>,
}

/// An input that could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedInput {
    /// The file.
    pub file: String,
    /// What went wrong.
    pub error: String,
    /// A bug in dumpleak (a panic caught while processing it), not a bad input.
    pub internal: bool,
}

/// One module version across the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleVersionRow {
    /// 1-based rank: the strongest association with high handle counts first.
    pub rank: usize,
    /// Module file name.
    pub module: String,
    /// File version.
    pub version: Option<String>,
    /// Dumps that load it.
    pub dumps: usize,
    /// Median handle count of those dumps.
    pub median_handles: f64,
    /// Highest handle count of those dumps.
    pub max_handles: usize,
    /// Dumps that do not load this module version.
    pub dumps_without: usize,
    /// Median handle count of those.
    pub median_without: Option<f64>,
    /// `median_handles / median_without`: how much higher the counts are where it is loaded.
    pub ratio: Option<f64>,
    /// Types that dominate the dumps that load it.
    pub dominant_types: Vec<TypeCount>,
}

/// The aggregate over all processed dumps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Dumps processed.
    pub processed: usize,
    /// Inputs that failed.
    pub failed: usize,
    /// Module versions, ranked.
    pub modules: Vec<ModuleVersionRow>,
    /// Dumps per known-issue label.
    pub known_issues: BTreeMap<String, usize>,
    /// Dumps with a crash, per exception name.
    pub crashes: BTreeMap<String, usize>,
}

/// One line of `--format jsonl`: a dump or a failure as each finishes, then the aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BatchLine {
    /// A processed dump.
    Dump(Box<DumpRow>),
    /// An input that failed.
    Failure(FailedInput),
    /// The aggregate over the dumps and failures before it.
    Aggregate(Box<Aggregate>),
}

/// The batch report.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// Processed dumps, by file name.
    pub dumps: Vec<DumpRow>,
    /// Failed inputs, by file name.
    pub failures: Vec<FailedInput>,
    /// The aggregate.
    pub aggregate: Aggregate,
}

/// The allocation stacks of the open handles whose newest trace record is an OPEN, by
/// handle value.
pub fn open_handle_stacks(snapshot: &Snapshot) -> Vec<(u64, Arc<[u64]>)> {
    let Some(trace) = &snapshot.trace else {
        return Vec::new();
    };
    let stacks = trace.open_stacks();
    let open: BTreeSet<u64> = snapshot
        .handles
        .iter()
        .flatten()
        .map(|handle| handle.value)
        .collect();
    open.into_iter()
        .filter_map(|value| stacks.get(&value).map(|stack| (value, Arc::clone(stack))))
        .collect()
}

/// Builds the row of one dump from its snapshot, resolved stack frames and walked crash.
pub fn dump_row(
    snapshot: &Snapshot,
    symbols: &SymbolTable,
    crash: Option<Result<CrashStack, String>>,
    attribution: &Attribution,
    known: &KnownIssues,
) -> DumpRow {
    let mut warnings = snapshot.warnings.clone();
    let types = snapshot.counts_by_type();
    let groups = group_by_stack(
        open_handle_stacks(snapshot)
            .into_iter()
            .map(|(value, stack)| (stack, value)),
        symbols,
        attribution,
        snapshot,
    );
    let mut stacks: Vec<StackSummary> = groups
        .iter()
        .map(|group| StackSummary {
            count: group.members.len(),
            blamed_module: group.blame.module.clone(),
            frames: group.blame.lines.clone(),
        })
        .collect();
    stacks.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.frames.cmp(&b.frames)));
    let blamed = blamed_counts(&groups);

    let crash = match crash {
        Some(Ok(stack)) => Some(CrashSummary {
            code: stack.code,
            reason: stack.reason,
            faulting_module: stack.faulting_module,
            frames: stack
                .frames
                .iter()
                .take(KEPT_CRASH_FRAMES)
                .flat_map(|frame| frame.lines.clone())
                .collect(),
        }),
        Some(Err(error)) => {
            warnings.push(Warning::new(
                WarningCode::CrashNotWalked,
                format!("the crash stack could not be walked: {error}"),
            ));
            None
        }
        None => None,
    };
    let modules: Vec<ModuleVersion> = snapshot
        .modules
        .iter()
        .map(|module| ModuleVersion {
            name: module.name.clone(),
            version: module.file_version.clone(),
        })
        .collect();
    let module_pairs: Vec<(String, Option<String>)> = modules
        .iter()
        .map(|module| (module.name.clone(), module.version.clone()))
        .collect();
    let mut frames: Vec<String> = stacks
        .iter()
        .flat_map(|stack| stack.frames.clone())
        .collect();
    if let Some(crash) = &crash {
        frames.extend(crash.frames.iter().cloned());
    }
    let known_issues = known
        .matching(&DumpFacts {
            modules: &module_pairs,
            frames: &frames,
            types: &types,
        })
        .into_iter()
        .map(|rule| KnownMatch {
            label: rule.label.clone(),
            link: rule.link.clone(),
        })
        .collect();
    stacks.truncate(KEPT_STACKS);
    if snapshot.trace.is_none() {
        warnings.push(Warning::new(
            WarningCode::NoTrace,
            "no handle-trace records: no allocation stacks",
        ));
    }
    DumpRow {
        file: snapshot.source.display().to_string(),
        process: snapshot.process.image_name.clone(),
        process_version: snapshot
            .process
            .image_name
            .as_deref()
            .and_then(|name| snapshot.module_named(name))
            .and_then(|module| module.file_version.clone()),
        pid: snapshot.process.pid,
        captured_at: snapshot.captured_at.map(iso8601),
        handle_count: snapshot.handle_count(),
        top_types: top_types(&types, TOP_TYPES),
        types,
        trace_records: snapshot.trace.as_ref().map(|trace| trace.record_count),
        blamed,
        stacks,
        crash,
        modules,
        known_issues,
        warnings,
    }
}

/// Open handles per blamed module, most first.
fn blamed_counts(groups: &[StackGroup<u64>]) -> Vec<BlamedCount> {
    let mut blamed: BTreeMap<&str, (usize, Option<&String>)> = BTreeMap::new();
    for group in groups {
        if let Some(module) = &group.blame.module {
            let entry = blamed.entry(module).or_default();
            entry.0 += group.members.len();
            entry.1 = group.blame.version.as_ref();
        }
    }
    let mut blamed: Vec<BlamedCount> = blamed
        .into_iter()
        .map(|(module, (handles, version))| BlamedCount {
            module: module.to_string(),
            version: version.cloned(),
            handles,
        })
        .collect();
    blamed.sort_by(|a, b| {
        b.handles
            .cmp(&a.handles)
            .then_with(|| a.module.cmp(&b.module))
    });
    blamed
}

fn median(values: &mut [usize]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle] as f64
    } else {
        (values[middle - 1] + values[middle]) as f64 / 2.0
    })
}

/// The aggregate over processed rows and failures. Depends only on the rows, so shards
/// processed apart merge to the same result (rows are taken in file-name order).
pub fn aggregate(rows: &[DumpRow], failed: usize) -> Aggregate {
    let mut rows: Vec<&DumpRow> = rows.iter().collect();
    rows.sort_by(|a, b| a.file.cmp(&b.file));
    type Key = (String, Option<String>);
    let mut loaded_by: BTreeMap<Key, (String, Vec<usize>)> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let mut seen = HashSet::default();
        for module in &row.modules {
            let key = (module.name.to_lowercase(), module.version.clone());
            if seen.insert(key.clone()) {
                loaded_by
                    .entry(key)
                    .or_insert_with(|| (module.name.clone(), Vec::new()))
                    .1
                    .push(index);
            }
        }
    }
    let mut modules: Vec<ModuleVersionRow> = loaded_by
        .into_iter()
        .map(|((_, version), (name, indexes))| {
            let with: HashSet<usize> = indexes.iter().copied().collect();
            let mut counts: Vec<usize> = indexes.iter().map(|&i| rows[i].handle_count).collect();
            let mut others: Vec<usize> = (0..rows.len())
                .filter(|i| !with.contains(i))
                .map(|i| rows[i].handle_count)
                .collect();
            let median_handles = median(&mut counts).unwrap_or(0.0);
            let median_without = median(&mut others);
            let mut type_totals: BTreeMap<String, usize> = BTreeMap::new();
            for &i in &indexes {
                for (type_name, count) in &rows[i].types {
                    *type_totals.entry(type_name.clone()).or_default() += count;
                }
            }
            let dominant_types = top_types(&type_totals, TOP_TYPES);
            ModuleVersionRow {
                rank: 0,
                module: name,
                version,
                dumps: indexes.len(),
                max_handles: counts.iter().copied().max().unwrap_or(0),
                median_handles,
                dumps_without: others.len(),
                ratio: median_without
                    .filter(|median| *median > 0.0)
                    .map(|median| median_handles / median),
                median_without,
                dominant_types,
            }
        })
        .collect();
    modules.sort_by(|a, b| {
        let ratio = |row: &ModuleVersionRow| row.ratio.unwrap_or(f64::NEG_INFINITY);
        ratio(b)
            .total_cmp(&ratio(a))
            .then(b.dumps.cmp(&a.dumps))
            .then_with(|| a.module.to_lowercase().cmp(&b.module.to_lowercase()))
            .then_with(|| a.version.cmp(&b.version))
    });
    for (index, row) in modules.iter_mut().enumerate() {
        row.rank = index + 1;
    }
    let mut known_issues = BTreeMap::new();
    let mut crashes = BTreeMap::new();
    for row in &rows {
        for issue in &row.known_issues {
            *known_issues.entry(issue.label.clone()).or_default() += 1;
        }
        if let Some(crash) = &row.crash {
            *crashes.entry(crash.reason.clone()).or_default() += 1;
        }
    }
    Aggregate {
        processed: rows.len(),
        failed,
        modules,
        known_issues,
        crashes,
    }
}

/// The report from rows and failures in any order (sorted by file name here).
pub fn batch_report(mut dumps: Vec<DumpRow>, mut failures: Vec<FailedInput>) -> BatchReport {
    dumps.sort_by(|a, b| a.file.cmp(&b.file));
    failures.sort_by(|a, b| a.file.cmp(&b.file));
    let aggregate = aggregate(&dumps, failures.len());
    BatchReport {
        schema_version: SCHEMA_VERSION,
        dumps,
        failures,
        aggregate,
    }
}

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

/// Rebuilds a batch report from JSONL shards (`--format jsonl` output of several runs):
/// dump and failure lines are collected, aggregate lines ignored and recomputed.
pub fn merge_lines<'a>(
    lines: impl IntoIterator<Item = (String, &'a str)>,
) -> Result<BatchReport, MergeError> {
    let mut dumps = Vec::new();
    let mut failures = Vec::new();
    for (place, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<BatchLine>(line) {
            Ok(BatchLine::Dump(row)) => dumps.push(*row),
            Ok(BatchLine::Failure(failure)) => failures.push(failure),
            Ok(BatchLine::Aggregate(_)) => {}
            Err(source) => return Err(MergeError { place, source }),
        }
    }
    Ok(batch_report(dumps, failures))
}
