//! One dump of a batch: its row.

use super::model::{BlamedCount, CrashSummary, DumpRow, KnownMatch, ModuleVersion, StackSummary};
use crate::analysis::attribution::{in_system_folder, Attribution};
use crate::analysis::known::{DumpFacts, KnownIssues};
use crate::analysis::model::top_types;
use crate::analysis::stacks::{group_by_stack, StackGroup};
use crate::snapshot::Snapshot;
use crate::symbols::{CrashStack, SymbolTable};
use crate::time::iso8601;
use crate::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most allocation stacks and crash frames kept per dump.
const KEPT_STACKS: usize = 3;
const KEPT_CRASH_FRAMES: usize = 5;
/// Types listed per dump.
pub(super) const TOP_TYPES: usize = 3;

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
    let blamed = blamed_counts(&groups);
    // The groups' lines move to the summaries (a log can hold 900,000 stacks), each group
    // freed as it goes.
    let mut stacks: Vec<StackSummary> = groups
        .into_iter()
        .map(|group| StackSummary {
            count: group.members.len(),
            blamed_module: group.blame.module,
            frames: group.blame.lines,
        })
        .collect();
    stacks.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.frames.cmp(&b.frames)));

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
            system_folder: in_system_folder(&module.path),
        })
        .collect();
    let module_pairs: Vec<(String, Option<String>)> = modules
        .iter()
        .map(|module| (module.name.clone(), module.version.clone()))
        .collect();
    let mut frames: Vec<&str> = stacks
        .iter()
        .flat_map(|stack| stack.frames.iter().map(String::as_str))
        .collect();
    if let Some(crash) = &crash {
        frames.extend(crash.frames.iter().map(String::as_str));
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
        handle_count: snapshot.has_handle_data().then(|| snapshot.handle_count()),
        top_types: top_types(&types, TOP_TYPES),
        types,
        trace_records: snapshot.trace.as_ref().map(|trace| trace.record_count),
        blamed,
        stacks,
        crash,
        modules,
        known_issues,
        warnings,
        content_hash: snapshot.content_hash(),
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
