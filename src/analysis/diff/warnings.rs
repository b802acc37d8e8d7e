//! What the evidence of a diff cannot support, in words: inputs that do not belong together,
//! trace records that are missing or partial, symbols that are approximate.

use super::model::{ModuleRow, TraceSummary};
use crate::snapshot::{InputFormat, Snapshot, TraceOrder, TRACE_HINT};
use crate::symbols::{SymbolOrigin, SymbolTable};
use crate::time::{duration, iso8601};
use crate::warning::{Warning, WarningCode};

pub(super) fn consistency_warnings(before: &Snapshot, after: &Snapshot) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for snapshot in [before, after] {
        if snapshot.handles.is_none() && snapshot.type_counts.is_some() {
            warnings.push(Warning::new(WarningCode::SummaryOnly, format!(
                "{} is a type summary without a handle list: only per-type counts are compared, new and closed handles cannot be named",
                snapshot.file_name()
            )));
        }
    }
    let (a, b) = (&before.process, &after.process);
    let pid_differs = matches!((a.pid, b.pid), (Some(x), Some(y)) if x != y);
    let start_differs = matches!((a.started_at, b.started_at), (Some(x), Some(y)) if x != y);
    if pid_differs || start_differs {
        warnings.push(Warning::new(WarningCode::DifferentProcess, format!(
            "the dumps are of different processes ({} pid {} started {} vs {} pid {} started {}): handle values are not comparable, the diff below does not show a leak",
            a.image_name.as_deref().unwrap_or("?"),
            a.pid.map_or("?".to_string(), |pid| pid.to_string()),
            a.started_at.map_or("?".to_string(), iso8601),
            b.image_name.as_deref().unwrap_or("?"),
            b.pid.map_or("?".to_string(), |pid| pid.to_string()),
            b.started_at.map_or("?".to_string(), iso8601),
        )));
    } else if let (Some(x), Some(y)) = (&a.image_name, &b.image_name) {
        if !x.eq_ignore_ascii_case(y) {
            warnings.push(Warning::new(WarningCode::DifferentProgram, format!(
                "the dumps are of different programs ({x} vs {y}): the diff below does not show a leak"
            )));
        }
    }
    if a.pid.is_none() || b.pid.is_none() {
        warnings.push(Warning::new(WarningCode::NoProcessId, "a dump has no process id (no MiscInfoStream): that both dumps are of one process could not be checked".to_string(),));
    }
    if let (Some(first), Some(second)) = (before.captured_at, after.captured_at) {
        if first > second {
            warnings.push(Warning::new(WarningCode::ReverseOrder, format!(
                "the dumps are given in reverse time order: {} was captured {} after {}; deltas read backwards (swap the arguments)",
                before.file_name(),
                duration(first - second),
                after.file_name()
            )));
        }
    }
    warnings
}

pub(super) fn trace_warnings(
    before: &Snapshot,
    after: &Snapshot,
    trace: &TraceSummary,
    new_count: usize,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if new_count == 0 {
        return warnings;
    }
    match &after.trace {
        None if after.input != InputFormat::Minidump => warnings.push(Warning::new(WarningCode::NoTrace, format!(
            "no allocation stacks: {} holds no !htrace records; {}",
            after.file_name(),
            crate::snapshot::trace_hint(after.input)
        ))),
        None => warnings.push(Warning::new(WarningCode::NoTrace, format!(
            "no allocation stacks: {} has no handle-trace records (HandleOperationListStream); {TRACE_HINT}",
            after.file_name()
        ))),
        Some(records) if records.record_count == 0 => warnings.push(Warning::new(WarningCode::NoTrace, format!(
            "no allocation stacks: the handle trace in {} is empty; {TRACE_HINT}",
            after.file_name()
        ))),
        Some(records) => {
            if records.order == TraceOrder::AssumedNewestFirst && trace.new_with_stack > 0 {
                warnings.push(Warning::new(WarningCode::TraceOrderAssumed, format!(
                    "the handle-trace records in {} do not show which end is newest; newest first was assumed (as WinDbg's !htrace prints)",
                    after.file_name()
                )));
            }
            if trace.new_without_record > 0 {
                let why = if before.trace.is_some() {
                    "tracing was already on when the first dump was taken, so their OPEN records fell out of the trace ring buffer (it wrapped)"
                } else {
                    "they were opened before tracing was enabled, or their records fell out of the trace ring buffer"
                };
                warnings.push(Warning::new(WarningCode::TraceWrapped, format!(
                    "{} of {new_count} new handles have no trace record: {why}; their allocation stacks are unknown",
                    trace.new_without_record
                )));
            }
            if trace.new_inconsistent > 0 {
                warnings.push(Warning::new(WarningCode::TraceInconsistent, format!(
                    "{} new handles are open, yet their most recent trace record is not an OPEN (records lost or out of order); no stack is shown for them",
                    trace.new_inconsistent
                )));
            }
        }
    }
    warnings
}

pub(super) fn symbol_warnings(
    modules: &[ModuleRow],
    symbols: &SymbolTable,
    no_new: bool,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if no_new {
        return warnings;
    }
    let export_only: Vec<&str> = modules
        .iter()
        .filter(|row| row.symbols == SymbolOrigin::Exports)
        .map(|row| row.name.as_str())
        .collect();
    if !export_only.is_empty() {
        warnings.push(Warning::new(WarningCode::ExportSymbolsOnly, format!(
            "export symbols only for {}: function names are the nearest preceding export (WinDbg: \"Defaulted to export symbols\") and may belong to an unexported function",
            export_only.join(", ")
        )));
    }
    let unnamed: Vec<&str> = modules
        .iter()
        .filter(|row| row.symbols == SymbolOrigin::None)
        .map(|row| row.name.as_str())
        .collect();
    if !unnamed.is_empty() {
        warnings.push(Warning::new(WarningCode::NoSymbols, format!(
            "no symbols for {}: their frames read module+offset (give the image files with --symbols DIR)",
            unnamed.join(", ")
        )));
    }
    let statuses: Vec<_> = symbols.module_status().collect();
    for status in statuses.iter().copied() {
        if status.mismatched {
            warnings.push(Warning::new(WarningCode::SymbolsMismatched, format!(
                "symbols for {} do not match the module's identity and were used only because of --allow-mismatched ({}): names and lines may be wrong",
                status.module,
                status.file.as_deref().map_or(String::new(), |file| file.display().to_string())
            )));
        }
    }
    warnings.extend(crate::analysis::model::symbol_note_warnings(statuses));
    warnings
}
