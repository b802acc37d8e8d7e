//! A debugger log's `!htrace -diff` is a diff by itself: the handles opened since the previous
//! `!htrace -snapshot` and still open. A plain `!htrace` is read the same way: the handles
//! whose newest record is an OPEN are open, against nothing before the trace. This builds the
//! two sides so the ordinary diff report (stacks, blamed modules, versions) applies.

use crate::snapshot::text::infer_type_from_texts;
use crate::snapshot::{Handle, InputFormat, Operation, Snapshot};
use crate::warning::{Warning, WarningCode};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The sides of the log's `!htrace` block (`-diff` or plain), or `None` when the input is no
/// debugger log or has no block.
pub fn log_diff_sides(log: &Snapshot) -> Option<(Snapshot, Snapshot)> {
    if log.input != InputFormat::WindbgLog {
        return None;
    }
    let trace = log.trace.as_ref()?;
    let known_types: BTreeMap<u64, &Handle> = log
        .handles
        .iter()
        .flatten()
        .map(|handle| (handle.value, handle))
        .collect();
    let mut outstanding = Vec::new();
    for record in trace.newest_per_handle().into_values() {
        if record.operation != Operation::Open {
            continue;
        }
        let known = known_types.get(&record.handle);
        let (type_name, type_inferred) = match known.and_then(|handle| handle.type_name.clone()) {
            Some(type_name) => (Some(type_name), known.is_some_and(|h| h.type_inferred)),
            None => {
                let texts = record
                    .stack
                    .iter()
                    .filter_map(|address| log.frame_text.get(address).map(String::as_str));
                (infer_type_from_texts(texts).map(Arc::from), true)
            }
        };
        outstanding.push(Handle {
            value: record.handle,
            type_inferred: type_inferred && type_name.is_some(),
            type_name,
            object_name: known.and_then(|handle| handle.object_name.clone()),
            attributes: known.map_or(0, |handle| handle.attributes),
            granted_access: known.map_or(0, |handle| handle.granted_access),
            handle_count: known.map_or(0, |handle| handle.handle_count),
            pointer_count: known.map_or(0, |handle| handle.pointer_count),
            object_info: Vec::new(),
        });
    }
    outstanding.sort_by_key(|handle| handle.value);

    let label = |what: &str| PathBuf::from(format!("{} ({what})", log.source.display()));
    // The log itself, but for the handles (replaced by the outstanding ones): a log of
    // 900,000 records lists as many handles, not copied to be dropped.
    let mut after = Snapshot {
        source: log.source.clone(),
        input: log.input,
        process: log.process.clone(),
        captured_at: log.captured_at,
        dump_flags: log.dump_flags,
        modules: log.modules.clone(),
        unloaded_modules: log.unloaded_modules.clone(),
        thread_names: log.thread_names.clone(),
        handles: None,
        compact_handles: None,
        trace: log.trace.clone(),
        type_counts: log.type_counts.clone(),
        stated_total: log.stated_total,
        frame_text: log.frame_text.clone(),
        memory: log.memory.clone(),
        file: log.file.clone(),
        warnings: log.warnings.clone(),
        content_hash: log.content_hash.clone(),
    };
    let (after_label, before_label) = if trace.diff_block {
        ("!htrace -diff", "previous !htrace -snapshot")
    } else {
        ("!htrace", "before the traced records")
    };
    after.source = label(after_label);
    // The earlier side has no handles and no trace: nothing of the log's trace or frame
    // texts is copied into it.
    let mut before = Snapshot {
        process: log.process.clone(),
        captured_at: log.captured_at,
        dump_flags: log.dump_flags,
        modules: log.modules.clone(),
        unloaded_modules: log.unloaded_modules.clone(),
        handles: Some(Vec::new()),
        ..Snapshot::empty(label(before_label), log.input)
    };
    // The summary is the count at the end of the log; the handles opened since the snapshot
    // are not in the earlier count. A handle whose type the summary does not list cannot be
    // taken off any row: then the summary is not used, so growth stays new minus closed.
    let earlier = log.type_counts.as_ref().and_then(|summary| {
        let mut earlier = summary.clone();
        for handle in &outstanding {
            let count = earlier
                .get_mut(handle.type_label())
                .filter(|count| **count > 0)?;
            *count -= 1;
        }
        Some(earlier)
    });
    match earlier {
        Some(earlier) => before.type_counts = Some(earlier),
        None => {
            after.type_counts = None;
            before.type_counts = None;
            // The summary's total still is the process's handle count, as batch and series
            // read it: the earlier count is that less the handles opened since.
            if let Some(summary) = &log.type_counts {
                let total: u64 = summary.values().sum();
                after.stated_total = Some(total);
                before.stated_total = Some(total.saturating_sub(outstanding.len() as u64));
            }
            let counted = if trace.diff_block {
                "the handles opened since the !htrace snapshot"
            } else {
                "the handles the !htrace records show open"
            };
            let why = match &log.type_counts {
                Some(summary) => format!(
                    "the `!handle 0 0` summary ({} handles) does not list the types of all the handles the trace shows open",
                    summary.values().sum::<u64>()
                ),
                None => "the log has no `!handle 0 0` summary".to_string(),
            };
            after.warnings.push(Warning::new(
                WarningCode::SummaryOnly,
                match &log.type_counts {
                    Some(_) => format!(
                        "{why}: the per-type table counts only {counted}; the totals are the summary's, before them and with them"
                    ),
                    None => format!("{why}: the per-type table counts only {counted}"),
                },
            ));
        }
    }
    let inferred = outstanding
        .iter()
        .filter(|handle| handle.type_inferred)
        .count();
    if inferred > 0 {
        after.warnings.push(Warning::new(WarningCode::TypesInferred, format!(
            "the log does not print handle types: the types of {inferred} handles were inferred from the API that created them (see format notes: CreateEvent* → Event, CreateFile* → File, …)"
        )));
    }
    let untyped = outstanding
        .iter()
        .filter(|handle| handle.type_name.is_none())
        .count();
    if untyped > 0 {
        after.warnings.push(Warning::new(
            WarningCode::Untyped,
            format!(
                "{}: the log does not print it and no known creating API is in their stacks",
                if untyped == 1 {
                    "1 handle has no type".to_string()
                } else {
                    format!("{untyped} handles have no type")
                }
            ),
        ));
    }
    after.handles = Some(outstanding);
    Some((before, after))
}
