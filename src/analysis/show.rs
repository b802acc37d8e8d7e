//! One dump at a glance: process, handle totals by type, modules, handle tracing.

use super::attribution::Attribution;
use super::model::{DumpSummary, TypeCount, SCHEMA_VERSION};
use crate::snapshot::{DebugFile, Operation, Snapshot, TraceOrder, CAPTURE_HINT};
use crate::symbols::{CrashStack, ModuleSymbolStatus};
use crate::warning::{Warning, WarningCode};
use serde::Serialize;

/// A loaded module.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ModuleInfo {
    /// File name.
    pub name: String,
    /// File version.
    pub version: Option<String>,
    /// Product version.
    pub product_version: Option<String>,
    /// Path in the dump.
    pub path: String,
    /// Load address, hex.
    pub base: String,
    /// Image size, hex; `null` when a text input does not give it.
    pub size: Option<String>,
    /// PE TimeDateStamp, hex; `null` when a text input does not give it (a `ModLoad:` line,
    /// `lm` without `v`).
    pub timestamp: Option<String>,
    /// PDB named by the CodeView record, with its identity (`name GUIDage`).
    pub pdb: Option<String>,
    /// Whether it counts as a system module.
    pub system: bool,
}

/// What the handle trace holds.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TraceOverview {
    /// Records in the stream.
    pub records: usize,
    /// OPEN records.
    pub opens: usize,
    /// CLOSE records.
    pub closes: usize,
    /// BAD_REF records.
    pub bad_refs: usize,
    /// Which end was newest.
    pub order: TraceOrder,
    /// Open handles whose most recent record is an OPEN (allocation stack known).
    pub open_handles_with_stack: usize,
    /// Open handles with no record.
    pub open_handles_without_record: usize,
}

/// The `show` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ShowReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// The dump.
    pub dump: DumpSummary,
    /// Full path of the main module.
    pub process_path: Option<String>,
    /// `MINIDUMP_TYPE` flags, hex; `null` for text inputs (logs, handle.exe output).
    pub dump_flags: Option<String>,
    /// Whether the dump has a HandleDataStream.
    pub handle_data: bool,
    /// Handle counts per type, largest first.
    pub by_type: Vec<TypeCount>,
    /// Handle tracing, when the dump has it.
    pub trace: Option<TraceOverview>,
    /// All modules, by load address.
    pub modules: Vec<ModuleInfo>,
    /// The exception and the crashing thread's top frames, when the dump records a crash.
    pub crash: Option<ShowCrash>,
    /// Modules unloaded before the capture, by address.
    pub unloaded_modules: Vec<UnloadedModuleInfo>,
    /// Where the crash frames' symbols came from.
    pub symbols: Vec<ModuleSymbolStatus>,
    /// What the dump cannot support.
    pub warnings: Vec<crate::warning::Warning>,
}

/// The crash with the crashing thread's name.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ShowCrash {
    /// Exception, frames and thread.
    #[serde(flatten)]
    pub stack: CrashStack,
    /// The crashing thread's name, when the dump records thread names.
    pub thread_name: Option<String>,
}

impl std::ops::Deref for ShowCrash {
    type Target = CrashStack;
    fn deref(&self) -> &CrashStack {
        &self.stack
    }
}

/// A module unloaded before the capture.
#[derive(Debug, Clone, Serialize)]
pub struct UnloadedModuleInfo {
    /// File name.
    pub name: String,
    /// Path as recorded.
    pub path: String,
    /// Where it was loaded, hex.
    pub base: String,
    /// Size of its image, hex.
    pub size: String,
    /// PE TimeDateStamp, hex.
    pub timestamp: String,
}

/// Summarises one snapshot; `crash` is the walked crashing thread (symbolise stage), when the
/// dump records an exception, and `symbols` where its frames' symbols came from.
pub fn show(
    snapshot: &Snapshot,
    attribution: &Attribution,
    crash: Option<Result<CrashStack, String>>,
    symbols: Vec<ModuleSymbolStatus>,
) -> ShowReport {
    let mut warnings = Vec::new();
    let crash = match crash {
        Some(Ok(stack)) => {
            if let Some(reason) = &stack.walk_stopped {
                warnings.push(Warning::new(
                    WarningCode::CrashNotWalked,
                    format!(
                        "the crash stack walk stopped {reason} (a deep recursion, or a damaged stack): the stack holds more frames than shown"
                    ),
                ));
            }
            Some(ShowCrash {
                thread_name: stack
                    .thread_id
                    .and_then(|id| snapshot.thread_name(id))
                    .map(str::to_owned),
                stack,
            })
        }
        Some(Err(reason)) => {
            warnings.push(Warning::new(
                WarningCode::CrashNotWalked,
                format!("the crash stack could not be walked: {reason}"),
            ));
            None
        }
        None => None,
    };
    warnings.extend(crate::analysis::model::symbol_note_warnings(&symbols));
    let mut by_type: Vec<TypeCount> = snapshot
        .counts_by_type()
        .into_iter()
        .map(|(type_name, count)| TypeCount { type_name, count })
        .collect();
    by_type.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.type_name.cmp(&b.type_name))
    });

    if !snapshot.has_handle_data() {
        warnings.push(Warning::new(
            WarningCode::NoHandleData,
            match snapshot.input {
                crate::snapshot::InputFormat::Minidump => format!(
                    "no handle data (HandleDataStream): handles cannot be counted; {CAPTURE_HINT}"
                ),
                input => format!(
                    "no handle data: the input shows no handles, so they cannot be counted; {}",
                    crate::snapshot::capture_hint(input)
                ),
            },
        ));
    }
    let trace = snapshot.trace.as_ref().map(|trace| {
        let (mut opens, mut closes, mut bad_refs) = (0, 0, 0);
        for record in &trace.records {
            match record.operation {
                Operation::Open => opens += 1,
                Operation::Close => closes += 1,
                Operation::BadRef => bad_refs += 1,
                Operation::Unknown(_) => {}
            }
        }
        let newest = trace.newest_per_handle();
        let (mut with_stack, mut without) = (0, 0);
        for handle in snapshot.handles.iter().flatten() {
            match newest.get(&handle.value).map(|record| record.operation) {
                Some(Operation::Open) => with_stack += 1,
                None => without += 1,
                _ => {}
            }
        }
        TraceOverview {
            records: trace.records.len(),
            opens,
            closes,
            bad_refs,
            order: trace.order,
            open_handles_with_stack: with_stack,
            open_handles_without_record: without,
        }
    });
    match &trace {
        None if snapshot.handles.is_some() => warnings.push(Warning::new(WarningCode::NoTrace, format!(
            "no handle-trace records: allocation stacks are unknown; {}", crate::snapshot::trace_hint(snapshot.input)
        ))),
        Some(overview) if overview.open_handles_without_record > 0 => warnings.push(Warning::new(WarningCode::UntracedHandles, format!(
            "{} open handles have no trace record (opened before tracing was enabled, or their records fell out of the trace ring buffer)",
            overview.open_handles_without_record
        ))),
        _ => {}
    }
    if trace.as_ref().is_some_and(|overview| {
        overview.order == TraceOrder::AssumedNewestFirst && overview.records > 0
    }) {
        warnings.push(Warning::new(WarningCode::TraceOrderAssumed, "the handle-trace records do not show which end is newest; newest first was assumed (as WinDbg's !htrace prints)".to_string(),));
    }
    warnings.extend(snapshot.warnings.iter().cloned());

    // Text inputs give a module's size and timestamp only when they print them (0 then).
    let from_dump = snapshot.input == crate::snapshot::InputFormat::Minidump;
    let known = |value: u32| (from_dump || value != 0).then_some(value);
    let modules = snapshot
        .modules
        .iter()
        .map(|module| ModuleInfo {
            name: module.name.clone(),
            version: module.file_version.clone(),
            product_version: module.product_version.clone(),
            path: module.path.clone(),
            base: format!("{:#x}", module.base),
            size: known(module.size).map(|size| format!("{size:#x}")),
            timestamp: known(module.timestamp).map(|stamp| format!("{stamp:08x}")),
            pdb: module.debug_file.as_ref().map(pdb_identity),
            system: attribution.is_system_module(&module.name, Some(&module.path)),
        })
        .collect();

    let unloaded_modules = snapshot
        .unloaded_modules
        .iter()
        .map(|module| UnloadedModuleInfo {
            name: module.name.clone(),
            path: module.path.clone(),
            base: format!("{:#x}", module.base),
            size: format!("{:#x}", module.size),
            timestamp: format!("{:08x}", module.timestamp),
        })
        .collect();
    warnings.sort_by_key(|warning| !warning.shown_first());
    ShowReport {
        unloaded_modules,
        schema_version: SCHEMA_VERSION,
        dump: DumpSummary::of(snapshot),
        process_path: snapshot.process.image_path.clone(),
        dump_flags: (snapshot.input == crate::snapshot::InputFormat::Minidump)
            .then(|| format!("{:#x}", snapshot.dump_flags)),
        handle_data: snapshot.has_handle_data(),
        by_type,
        trace,
        modules,
        crash,
        symbols,
        warnings,
    }
}

/// `name.pdb ID`, the id in symbol-store form ([`crate::symbols::locate::store_id`]): the id
/// the symbol path is searched for.
pub(crate) fn pdb_identity(debug_file: &DebugFile) -> String {
    use crate::symbols::locate::{store_id, IdSource};
    format!(
        "{} {}",
        debug_file.name(),
        store_id(IdSource::Debug(debug_file.id))
    )
}
