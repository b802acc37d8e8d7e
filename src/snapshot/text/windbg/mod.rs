//! WinDbg / cdb session logs: `ModLoad:` lines, `lm`/`lmv`/`lmvm` output, `!htrace` and
//! `!htrace -diff` blocks, `!handle 0 0` summaries and `!handle <h> f` blocks.
//!
//! Parsing goes line by line. Commands after a prompt (`0:008>`, `1:023:x86>`, `kd>`) open a
//! section; the structures are also recognised by their own lines, so output pasted without
//! its prompt still parses. A block cut short keeps what it has and leaves a note.
//!
//! `parser` runs the line loop and reads the lines that mean the same anywhere; each kind of
//! output has its own grammar: `htrace`, `handles` (`!handle`), `modules` (`ModLoad:`, `lm`).

mod handles;
mod htrace;
mod modules;
mod parser;

pub use htrace::{HtraceBlock, HtraceRecord};
pub use parser::split_prompt;
pub use sessions::choose_session;

mod sessions;

use super::fields::pid_label;
use super::frame::normalize_frame_text;
use super::{SummarySnapshot, TypeCounts};
use crate::snapshot::{Handle, InputFormat, Module, ProcessInfo, Snapshot};
use crate::warning::{Warning, WarningCode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Everything read from one debugger log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WindbgLog {
    /// The `CommandLine:` line's text.
    pub command_line: Option<String>,
    /// Process id from `(1f3c.2a10):` event prefixes, `|` output or htrace records.
    pub process_id: Option<u32>,
    /// Image name of the main module (`OrderSync.exe`).
    pub image_name: Option<String>,
    /// Image path of the main module, when the log shows one.
    pub image_path: Option<String>,
    /// Target architecture, when the log says (`x86` prompts, the `Windows … Free x64` line).
    pub arch: Option<String>,
    /// The target's `Windows 10 Version 19041 MP (8 procs) Free x64` line.
    pub os_version: Option<String>,
    /// Modules from `ModLoad:` lines and `lm` output, merged, sorted by base address.
    pub modules: Vec<Module>,
    /// Every `!htrace` block in log order.
    pub htrace_blocks: Vec<HtraceBlock>,
    /// Every `!handle` summary (`<N> Handles` / `Type Count`) in log order.
    pub handle_summaries: Vec<TypeCounts>,
    /// Handles from `!handle … f` blocks, by value (a later block replaces an earlier one).
    pub handles: Vec<Handle>,
    /// Things the parser noticed: truncated blocks, counts that disagree, unreadable lines.
    pub notes: Vec<Warning>,
    /// 1-based line where this debugger session starts (1 for a log of one session).
    pub session_line: usize,
    /// The sessions before this one when the log holds several (`Loading Dump File` twice,
    /// a second debugger banner), in log order; this log is the last session. Empty for a log
    /// of one session.
    pub earlier_sessions: Vec<WindbgLog>,
}

impl WindbgLog {
    /// The block to analyse: index `block` (0-based) when given, else the last `-diff` block,
    /// else the last block.
    pub fn select_block(&self, block: Option<usize>) -> Option<&HtraceBlock> {
        self.htrace_blocks.get(self.selected_index(block)?)
    }

    /// The index of [`WindbgLog::select_block`]'s block.
    fn selected_index(&self, block: Option<usize>) -> Option<usize> {
        let blocks = &self.htrace_blocks;
        match block {
            Some(index) => (index < blocks.len()).then_some(index),
            None => blocks
                .iter()
                .rposition(|block| block.diff)
                .or_else(|| blocks.len().checked_sub(1)),
        }
    }

    /// Takes the process id from the chosen block's records (`pid`), over the event lines:
    /// the note about several ids gives way to one that says which was taken.
    fn settle_block_pid(&mut self, pid: Option<u32>) {
        let Some(pid) = pid else {
            return;
        };
        if self.process_id != Some(pid) {
            self.notes
                .retain(|note| !note.message.starts_with(parser::SEVERAL_PIDS));
            if let Some(other) = self.process_id {
                let (pid, other) = (pid_label(pid), pid_label(other));
                self.notes.push(Warning::new(
                    WarningCode::LogNote,
                    format!("the !htrace records are of process {pid}; other lines of the log name {other}: reporting {pid}"),
                ));
            }
        }
        self.process_id = Some(pid);
    }

    /// Whether the session read anything to report: `!htrace` blocks, `!handle` output or
    /// modules.
    pub fn has_data(&self) -> bool {
        !(self.htrace_blocks.is_empty()
            && self.handles.is_empty()
            && self.handle_summaries.is_empty()
            && self.modules.is_empty())
    }

    /// The module named `name` (file name with or without extension, any case).
    pub fn module_named(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|module| module.is_named(name))
    }

    /// The last `!handle` summary.
    pub fn last_summary(&self) -> Option<&TypeCounts> {
        self.handle_summaries.last()
    }

    /// Every frame address seen in any block with its text in WinDbg notation, so frames
    /// can be shown as the log printed them without symbols.
    pub fn frame_symbols(&self) -> BTreeMap<u64, String> {
        let mut symbols = BTreeMap::new();
        let frames = self
            .htrace_blocks
            .iter()
            .flat_map(|block| &block.records)
            .flat_map(|record| &record.frames);
        for frame in frames {
            if let Some(text) = &frame.text {
                symbols
                    .entry(frame.address)
                    .or_insert_with(|| normalize_frame_text(text));
            }
        }
        symbols
    }

    /// Process facts as a [`ProcessInfo`].
    pub fn process_info(&self) -> ProcessInfo {
        ProcessInfo {
            pid: self.process_id,
            image_name: self.image_name.clone(),
            image_path: self.image_path.clone(),
            arch: self.arch.clone(),
            os_version: self.os_version.clone(),
            started_at: None,
        }
    }

    /// The log as a [`Snapshot`]: process (the chosen block's records name it), modules, the
    /// handles of `!handle … f` blocks (else the handles the block shows open, typed from
    /// their creating API), and the trace of [`select_block`](Self::select_block)`(block)`.
    /// Notes become warnings. The same reading as [`WindbgLog::into_snapshot`].
    pub fn to_snapshot(&self, source: &Path, block: Option<usize>) -> Snapshot {
        self.clone().into_snapshot(source, block)
    }

    /// [`WindbgLog::to_snapshot`], taking the log apart instead of copying it: a large log is
    /// not held twice, and the blocks not selected are freed first.
    pub fn into_snapshot(mut self, source: &Path, block: Option<usize>) -> Snapshot {
        let selected = self.selected_index(block);
        // The types the frames of elided records show, by record index: their stacks are
        // dropped (a partial stack would blame the wrong module), their types are not.
        let mut elided_types = BTreeMap::new();
        if let Some(index) = selected {
            let block = &self.htrace_blocks[index];
            self.settle_block_pid(block_pid(block));
            let block = &self.htrace_blocks[index];
            for (at, record) in block.records.iter().enumerate() {
                if let Some(type_name) = record.frames_elided.then(|| record.inferred_type()) {
                    elided_types.insert(at, type_name);
                }
            }
        }
        // The selected block's frames keep their own texts: its texts go in first, the other
        // blocks (in log order) only add addresses it has no text for. Each block is freed as
        // soon as it is read.
        let (mut frame_text, mut conflicts) = (BTreeMap::new(), BTreeMap::new());
        let mut blocks = std::mem::take(&mut self.htrace_blocks);
        let trace = selected.map(|index| {
            let block = std::mem::take(&mut blocks[index]);
            let trace = block.into_trace_and_texts(&mut frame_text, &mut conflicts);
            self.notes
                .extend(conflicting_texts(index, &frame_text, &conflicts));
            (index, trace)
        });
        for block in blocks {
            block.into_texts(&mut frame_text);
        }
        for address in conflicts.keys() {
            frame_text.remove(address);
        }
        let derived = trace.as_ref().map(|(index, trace)| {
            open_handles(trace, &frame_text, &elided_types, *index, &mut self.notes)
        });
        let trace = trace.map(|(_, trace)| trace);
        let handles = if self.handles.is_empty() {
            derived
        } else {
            Some(self.handles)
        };
        let mut warnings = self.notes;
        if let Some(summary) = self.handle_summaries.last() {
            warnings.extend(summary_total_note(summary));
        }
        Snapshot {
            source: source.to_path_buf(),
            input: InputFormat::WindbgLog,
            process: ProcessInfo {
                pid: self.process_id,
                image_name: self.image_name,
                image_path: self.image_path,
                arch: self.arch,
                os_version: self.os_version,
                started_at: None,
            },
            captured_at: None,
            dump_flags: 0,
            modules: self.modules,
            unloaded_modules: Vec::new(),
            thread_names: Default::default(),
            handles,
            compact_handles: None,
            trace,
            type_counts: self.handle_summaries.pop().map(|summary| summary.counts),
            stated_total: None,
            frame_text,
            memory: None,
            file: None,
            warnings,
            content_hash: None,
        }
    }

    /// The last `!handle` summary as a [`SummarySnapshot`].
    pub fn to_summary(&self, source: &Path) -> Option<SummarySnapshot> {
        Some(SummarySnapshot {
            source: source.to_path_buf(),
            process: self.process_info(),
            counts: self.last_summary()?.clone(),
            warnings: self.notes.clone(),
        })
    }
}

/// Addresses at which the chosen block's frames print different texts (`conflicts`: the
/// other text by address): the log does not say which one a frame at that address is, so
/// neither is shown (the frames read by address) and a note says so.
fn conflicting_texts(
    index: usize,
    frame_text: &BTreeMap<u64, String>,
    conflicts: &BTreeMap<u64, String>,
) -> Option<Warning> {
    let examples: Vec<String> = conflicts
        .iter()
        .take(3)
        .map(|(address, other)| {
            let first = frame_text.get(address).map_or("", String::as_str);
            format!("{address:#x}: `{first}` and `{other}`")
        })
        .collect();
    (!conflicts.is_empty()).then(|| {
        Warning::new(
            WarningCode::LogNote,
            format!(
                "!htrace block {index}: the log prints different texts for frames at the same address ({}{}): those frames are shown by address, without either text",
                examples.join("; "),
                if conflicts.len() > 3 { "; …" } else { "" }
            ),
        )
    })
}

/// The process of a block: the first non-zero process id of its records.
fn block_pid(block: &HtraceBlock) -> Option<u32> {
    block
        .records
        .iter()
        .map(|record| record.process_id)
        .find(|pid| *pid != 0)
}

/// The frames a kernel-captured trace keeps at most (user-mode `!htrace` included: the stack
/// is captured in the kernel).
pub const KERNEL_TRACE_FRAMES: usize = 16;

/// The handles a trace shows open (their newest record is an OPEN), typed from the API that
/// created them (`elided_types` for records whose frames the paste elides, by index). Stacks
/// at the 16-frame limit are noted as truncated. Memory besides the handles: one
/// index per record.
fn open_handles(
    trace: &crate::snapshot::HandleTrace,
    frame_text: &BTreeMap<u64, String>,
    elided_types: &BTreeMap<usize, Option<&'static str>>,
    index: usize,
    notes: &mut Vec<Warning>,
) -> Vec<Handle> {
    let records = &trace.records;
    // Record indices (4 bytes each: a trace of millions of records is not copied), by value;
    // newest first in the trace, so the smallest index of each value is its newest record.
    let mut newest: Vec<u32> = (0..records.len().min(u32::MAX as usize) as u32).collect();
    newest.sort_unstable_by_key(|at| (records[*at as usize].handle, *at));
    newest.dedup_by_key(|at| records[*at as usize].handle);
    newest.retain(|at| records[*at as usize].operation == crate::snapshot::Operation::Open);
    let mut handles = Vec::with_capacity(newest.len());
    let mut truncated = Vec::new();
    for at in newest {
        let record = &records[at as usize];
        let value = record.handle;
        let type_name = match elided_types.get(&(at as usize)) {
            Some(type_name) => *type_name,
            None => super::frame::infer_type_from_texts(
                record
                    .stack
                    .iter()
                    .filter_map(|address| frame_text.get(address).map(String::as_str)),
            ),
        };
        handles.push(Handle {
            type_name: type_name.map(std::sync::Arc::from),
            type_inferred: type_name.is_some(),
            ..Handle::new(value)
        });
        if record.stack.len() == KERNEL_TRACE_FRAMES {
            truncated.push(value);
        }
    }
    if !truncated.is_empty() {
        notes.push(Warning::new(
            WarningCode::StacksTruncated,
            format!(
                "!htrace block {index}: {} stack(s) have {KERNEL_TRACE_FRAMES} frames, the most a kernel-captured trace keeps: their outer frames, possibly the caller to blame, are missing (handles {})",
                truncated.len(),
                listed(&truncated)
            ),
        ));
    }
    handles
}

/// Up to ten handle values, then how many more.
fn listed(values: &[u64]) -> String {
    let mut text: Vec<String> = values
        .iter()
        .take(10)
        .map(|value| format!("{value:#x}"))
        .collect();
    if values.len() > 10 {
        text.push(format!("and {} more", values.len() - 10));
    }
    text.join(", ")
}

/// A note when a `!handle` summary's stated total is not the sum of its per-type counts.
fn summary_total_note(summary: &TypeCounts) -> Option<Warning> {
    let total = summary.total?;
    let sum = summary.sum();
    (total != sum).then(|| {
        Warning::new(
            WarningCode::SummaryTotal,
            format!(
                "the !handle summary says {total} handles but its types add up to {sum}: the counts per type are reported as listed"
            ),
        )
    })
}

/// Parses a debugger log. Never fails; what cannot be read becomes a note. A log of several
/// debugger sessions is read session by session: the last is returned, the others are in
/// its [`WindbgLog::earlier_sessions`].
pub fn parse_windbg_log(text: &str) -> WindbgLog {
    let mut sessions = Vec::new();
    let mut parser = parser::Parser::default();
    let (mut start, mut content) = (1, false);
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if content && starts_session(trimmed) {
            let mut log = std::mem::take(&mut parser).finish(false);
            log.session_line = start;
            sessions.push(log);
            (start, content) = (index + 1, false);
        }
        content |= trimmed.starts_with("ModLoad:") || split_prompt(line).is_some();
        parser.line(index + 1, line);
    }
    let cut_last_line = !text.is_empty() && !text.ends_with('\n');
    let mut last = parser.finish(cut_last_line);
    last.session_line = start;
    sessions.retain(WindbgLog::has_data);
    last.earlier_sessions = sessions;
    last
}

/// A line that begins a debugger session.
fn starts_session(trimmed: &str) -> bool {
    trimmed.starts_with("Loading Dump File [")
        || trimmed.starts_with("Microsoft (R) Windows Debugger Version")
}
