//! `!htrace` and `!htrace -diff` output: records of a header (`Handle = 0x… - OPEN`), a
//! `Thread ID = …, Process ID = …` line and frames, closed by `Displayed 0x3 stack traces …`.

use super::super::fields::{clip, hex_or_decimal, strip_0x};
use super::super::frame::{infer_type, normalize_frame_text, parse_hex_address, TextFrame};
use super::parser::Findings;
use crate::snapshot::{HandleTrace, Operation, TraceOrder, TraceRecord};
use crate::warning::{Warning, WarningCode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One `!htrace` command's output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HtraceBlock {
    /// 1-based line of the log where the block starts.
    pub line: usize,
    /// The command as typed (`!htrace -diff`), when the log shows it.
    pub command: Option<String>,
    /// A `-diff` block: handles opened since the previous snapshot and still open.
    pub diff: bool,
    /// Records in the order printed (newest first for plain `!htrace`).
    pub records: Vec<HtraceRecord>,
    /// The count from `Displayed 0x3 stack traces …` / `Dumped 0x5 stack traces.`.
    pub displayed: Option<u64>,
    /// The block reached its closing count line.
    pub complete: bool,
    /// The count of the header line `0x17 new stack traces since the previous snapshot.`
    /// (`-diff` blocks: handles opened since the snapshot, closed ones included).
    pub claimed: Option<u64>,
    /// Elision lines (`...`, `****`, `…`) the paste has in place of records or frames: what
    /// they stood for is not known, so it is said, never guessed.
    pub elided: usize,
}

/// One record: `Handle = 0x… - OPEN`, `Thread ID = …, Process ID = …`, then frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HtraceRecord {
    /// Handle value.
    pub handle: u64,
    /// OPEN, CLOSE or BAD REFERENCE (`Unknown(0)` for anything else).
    pub operation: Operation,
    /// Thread id, 0 when the line is missing.
    pub thread_id: u32,
    /// Process id, 0 when the line is missing.
    pub process_id: u32,
    /// Frames, innermost first.
    pub frames: Vec<TextFrame>,
    /// The paste elides some of this record's frames (`...` after a frame): the stack shown
    /// is not the one recorded.
    pub frames_elided: bool,
}

impl HtraceRecord {
    /// Object type guessed from the innermost frame that names a known API.
    pub fn inferred_type(&self) -> Option<&'static str> {
        infer_type(&self.frames)
    }

    /// The record as a crate [`TraceRecord`] (addresses only).
    pub fn to_trace_record(&self) -> TraceRecord {
        TraceRecord {
            handle: self.handle,
            process_id: self.process_id,
            thread_id: self.thread_id,
            operation: self.operation,
            stack: self.frames.iter().map(|frame| frame.address).collect(),
        }
    }
}

impl HtraceBlock {
    /// [`HtraceBlock::to_trace`], taking the block apart instead of copying it (the records'
    /// memory is reused).
    pub fn into_trace(self) -> HandleTrace {
        self.into_trace_and_texts(&mut BTreeMap::new(), &mut BTreeMap::new())
    }

    /// [`HtraceBlock::into_trace`], moving each frame's text, normalised, into `texts` by
    /// address (where the address has none yet) as its record is taken apart. An address
    /// whose frames in this block print another text than the one in `texts` gets that
    /// other text in `conflicts` (the first one met).
    pub(super) fn into_trace_and_texts(
        self,
        texts: &mut BTreeMap<u64, String>,
        conflicts: &mut BTreeMap<u64, String>,
    ) -> HandleTrace {
        let empty: Arc<[u64]> = Arc::new([]);
        let record_count = self.records.len();
        let mut records: Vec<TraceRecord> = self
            .records
            .into_iter()
            .map(|mut record| TraceRecord {
                handle: record.handle,
                process_id: record.process_id,
                thread_id: record.thread_id,
                operation: record.operation,
                stack: if record.frames.is_empty() || record.frames_elided {
                    // A stack the paste elides is not the one recorded: none is kept.
                    take_texts(&mut record.frames, texts, Some(&mut *conflicts));
                    Arc::clone(&empty)
                } else {
                    take_texts(&mut record.frames, texts, Some(&mut *conflicts));
                    record.frames.iter().map(|frame| frame.address).collect()
                },
            })
            .collect();
        // Collected in place, in the block's larger records: the slack is given back.
        records.shrink_to_fit();
        HandleTrace {
            records,
            record_count,
            order: TraceOrder::NewestFirst,
            diff_block: self.diff,
            in_dump: false,
        }
    }

    /// Moves the frames' texts into `texts` (see [`HtraceBlock::into_trace_and_texts`]) and
    /// drops the block.
    pub(super) fn into_texts(self, texts: &mut BTreeMap<u64, String>) {
        for mut record in self.records {
            take_texts(&mut record.frames, texts, None);
        }
    }

    /// The block as a crate [`HandleTrace`]; `!htrace` prints newest first. A record whose
    /// frames the paste elides has an empty stack.
    pub fn to_trace(&self) -> HandleTrace {
        self.clone().into_trace()
    }

    /// Rule lines, the closing count, record headers and `Thread ID` lines. Returns whether
    /// the line was one of them.
    fn record_part(&mut self, number: usize, trimmed: &str, found: &mut Findings) -> bool {
        if trimmed.bytes().all(|b| b == b'-') && trimmed.len() >= 10 {
            return true;
        }
        if let Some(count) = closing_count(trimmed) {
            if trimmed.starts_with("Displayed") || trimmed.starts_with("Dumped") {
                self.displayed = Some(count);
                self.complete = true;
            }
            return true;
        }
        if let Some((handle, operation)) = record_header(trimmed) {
            if let Operation::Unknown(_) = operation {
                let note = format!("line {number}: unknown handle operation: {trimmed}");
                found.notes.push(Warning::new(WarningCode::LogNote, note));
            }
            // Grown by half, not doubled: a log of millions of records is not held at twice
            // its size, nor copied into three times its size.
            if self.records.len() == self.records.capacity() {
                self.records.reserve_exact(self.records.len() / 2 + 16);
            }
            self.records.push(HtraceRecord {
                handle,
                operation,
                thread_id: 0,
                process_id: 0,
                frames: Vec::new(),
                frames_elided: false,
            });
            return true;
        }
        let Some((thread, process)) = thread_process(trimmed) else {
            return false;
        };
        if let Some(record) = self.records.last_mut() {
            record.thread_id = thread;
            record.process_id = process;
        }
        if process != 0 {
            found.pids.push(process);
        }
        true
    }

    /// Appends a frame line the console wrapped to the last frame's text; a `module!symbol`
    /// line after a frame that has only its address (`0x77a5f1c4:`, the line broken after
    /// the colon, by a lone carriage return say) is that frame's text. Returns whether the
    /// line was taken.
    fn glue_wrapped(&mut self, trimmed: &str) -> bool {
        let Some(frame) = self
            .records
            .last_mut()
            .and_then(|record| record.frames.last_mut())
        else {
            return false;
        };
        match &mut frame.text {
            Some(text) => text.push_str(trimmed),
            None if trimmed.contains('!') => frame.text = Some(trimmed.to_owned()),
            None => return false,
        }
        true
    }
}

/// The banner of `!htrace -diff` output.
const DIFF_BANNER: &str = "Outstanding handles opened since the previous snapshot";

/// Frames kept of one record: the handle trace stores at most 32 (16 in kernel mode), so
/// more frame lines are not a stack; past this many they are counted, not kept.
pub const MAX_RECORD_FRAMES: usize = 64;

/// The `!htrace` output being read, and the blocks read so far.
#[derive(Debug, Default)]
pub(super) struct HtraceState {
    /// Finished blocks in log order.
    blocks: Vec<HtraceBlock>,
    /// The open block, if any.
    block: Option<HtraceBlock>,
    /// The previous line was a frame of the open record (for wrapped lines).
    after_frame: bool,
    /// Frame lines past [`MAX_RECORD_FRAMES`] in the open block, and the first such record.
    dropped_frames: (usize, Option<u64>),
    /// The line (number, clipped text) outside the grammar that ended the open block.
    ended_by: Option<(usize, String)>,
    /// A block ended by such a line, while the lines after it are watched for record lines.
    cut: Option<Cut>,
}

/// A block that a line outside the grammar ended: record lines after that line (a `Thread ID`
/// line, frames) mean a record was split, by a lone carriage return or a wrapped line, and
/// are not read; they are counted for a note.
#[derive(Debug)]
struct Cut {
    /// Index and first line of the block.
    block: (usize, usize),
    /// The line that ended it: number and clipped text.
    line: (usize, String),
    /// Record lines seen after it, and the first one's number.
    orphans: (usize, usize),
}

impl HtraceState {
    /// `!htrace …` was typed (`args` lowercase): opens a block unless the command only
    /// controls tracing. Returns whether it did.
    pub(super) fn command(&mut self, number: usize, command: &str, args: &[String]) -> bool {
        let control = args
            .iter()
            .any(|arg| matches!(arg.as_str(), "-enable" | "-snapshot" | "-disable" | "-?"));
        if control {
            return false;
        }
        self.block = Some(HtraceBlock {
            line: number,
            command: Some(command.to_owned()),
            diff: args.iter().any(|arg| arg == "-diff"),
            ..HtraceBlock::default()
        });
        true
    }

    /// Reads line `number` of the section; unknown operations are noted and process ids
    /// collected. Returns whether the line was taken.
    pub(super) fn line(&mut self, number: usize, trimmed: &str, found: &mut Findings) -> bool {
        if trimmed.is_empty() {
            self.after_frame = false;
            return true;
        }
        let block = self.block.get_or_insert_with(|| HtraceBlock {
            line: number,
            ..HtraceBlock::default()
        });
        if block.complete {
            // Output after the closing count line belongs to nothing we know.
            return false;
        }
        if trimmed.starts_with(DIFF_BANNER) {
            block.diff = true;
            return true;
        }
        if is_elision(trimmed) {
            match block.records.last_mut() {
                Some(record) if self.after_frame => record.frames_elided = true,
                _ => block.elided += 1,
            }
            self.after_frame = false;
            return true;
        }
        if let Some(count) = claimed_count(trimmed) {
            block.claimed = Some(count);
            return true;
        }
        if block.record_part(number, trimmed, found) {
            self.after_frame = false;
            return true;
        }
        if let Some(frame) = frame_line(trimmed) {
            let Some(record) = block.records.last_mut() else {
                return false;
            };
            if record.frames.len() < MAX_RECORD_FRAMES {
                record.frames.push(frame);
                self.after_frame = true;
            } else {
                self.dropped_frames.0 += 1;
                self.dropped_frames.1.get_or_insert(record.handle);
                self.after_frame = false;
            }
            return true;
        }
        if self.after_frame && !trimmed.contains(' ') && block.glue_wrapped(trimmed) {
            return true;
        }
        // Chatter: "Handle tracing information snapshot successfully taken.", "Ignoring
        // handles that were already closed...". Anything else ends the block: a block cut
        // short does not run on into the prose and the examples after it.
        self.after_frame = false;
        let chatter = trimmed.starts_with("Handle tracing")
            || trimmed.starts_with("Parsed")
            || trimmed.starts_with("Ignoring handles");
        if !chatter {
            self.ended_by = Some((number, clip(trimmed)));
        }
        chatter
    }

    /// A line after a block that a line outside the grammar ended (the parser passes the
    /// lines no section takes): record lines are counted as cut off from their block; a blank
    /// line ends the watch. Returns whether the line was such a record line.
    pub(super) fn orphan_line(
        &mut self,
        number: usize,
        trimmed: &str,
        found: &mut Findings,
    ) -> bool {
        let Some(cut) = self.cut.as_mut() else {
            return false;
        };
        if trimmed.is_empty() {
            self.flush_cut(found);
            return false;
        }
        let record_line = thread_process(trimmed).is_some() || frame_line(trimmed).is_some();
        if record_line {
            if cut.orphans.0 == 0 {
                cut.orphans.1 = number;
            }
            cut.orphans.0 += 1;
        }
        record_line
    }

    /// Ends the watch of [`HtraceState::orphan_line`], noting the record lines it saw.
    fn flush_cut(&mut self, found: &mut Findings) {
        let Some(Cut {
            block: (index, first),
            line: (number, text),
            orphans: (count, from),
        }) = self.cut.take()
        else {
            return;
        };
        if count > 0 {
            found.notes.push(Warning::new(
                WarningCode::LogIncomplete,
                format!(
                    "!htrace block {index} (line {first}): line {number} is not !htrace output (`{text}`) and ends the block, but {count} line(s) of !htrace records follow it (from line {from}): they belong to no block and were not read; a line break inside a record (a lone carriage return, a wrapped line) may have split it"
                ),
            ));
        }
    }

    /// Ends the open block at line `number`: `by_new_output` when other output follows,
    /// else at the end of the log.
    pub(super) fn close(&mut self, number: usize, by_new_output: bool, found: &mut Findings) {
        self.flush_cut(found);
        let ended_by = self.ended_by.take().filter(|(line, _)| *line == number);
        if let Some(block) = self.block.take() {
            let (index, first) = (self.blocks.len(), block.line);
            if let (dropped, Some(handle)) = std::mem::take(&mut self.dropped_frames) {
                found.notes.push(Warning::new(
                    WarningCode::LogIncomplete,
                    format!(
                        "!htrace block {} (line {}): {dropped} frame line(s) past {MAX_RECORD_FRAMES} in a record (first in handle {handle:#x}'s) are not a stack the trace holds and were ignored",
                        self.blocks.len(),
                        block.line
                    ),
                ));
            }
            self.finish_block(block, number, by_new_output, &mut found.notes);
            if self.blocks.len() > index {
                self.cut = ended_by.map(|line| Cut {
                    block: (index, first),
                    line,
                    orphans: (0, 0),
                });
            }
        }
        self.after_frame = false;
    }

    /// Keeps a block that has anything, noting a missing or disagreeing closing count.
    fn finish_block(
        &mut self,
        block: HtraceBlock,
        number: usize,
        by_new_output: bool,
        notes: &mut Vec<Warning>,
    ) {
        let index = self.blocks.len();
        if !block.complete && !block.records.is_empty() {
            let how = if by_new_output {
                format!("ends at line {number} without its closing count line")
            } else {
                "is cut off at the end of the log".to_owned()
            };
            notes.push(Warning::new(
                WarningCode::LogIncomplete,
                format!(
                    "!htrace block {index} (line {}) {how}: kept {} record(s); the last one may be incomplete",
                    block.line,
                    block.records.len()
                ),
            ));
        }
        if let Some(displayed) = block.displayed {
            if displayed != block.records.len() as u64 {
                notes.push(Warning::new(
                    WarningCode::LogIncomplete,
                    format!(
                        "!htrace block {index} (line {}) says {displayed} stack trace(s) but {} record(s) were read",
                        block.line,
                        block.records.len()
                    ),
                ));
            }
        }
        block_count_notes(&block, index, notes);
        if block.records.is_empty() && block.displayed.is_none() && block.command.is_none() {
            return;
        }
        self.blocks.push(block);
    }

    /// The finished blocks in log order.
    pub(super) fn into_blocks(self) -> Vec<HtraceBlock> {
        self.blocks
    }
}

/// Moves each frame's text, normalised, into `texts` under its address unless the address
/// has one; with `conflicts`, a text that differs from the one kept is put there.
fn take_texts(
    frames: &mut [TextFrame],
    texts: &mut BTreeMap<u64, String>,
    mut conflicts: Option<&mut BTreeMap<u64, String>>,
) {
    for frame in frames {
        let Some(text) = frame.text.take() else {
            continue;
        };
        let text = normalize_frame_text(&text);
        match texts.entry(frame.address) {
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(text);
            }
            std::collections::btree_map::Entry::Occupied(entry) => {
                if let Some(conflicts) = conflicts.as_deref_mut() {
                    if *entry.get() != text {
                        conflicts.entry(frame.address).or_insert(text);
                    }
                }
            }
        }
    }
}

/// Notes on what the paste left out (elided records and frames) and on a header count that
/// the records read cannot match.
fn block_count_notes(block: &HtraceBlock, index: usize, notes: &mut Vec<Warning>) {
    let read = block.records.len() as u64;
    if block.elided > 0 {
        notes.push(Warning::new(
            WarningCode::LogElided,
            format!(
                "!htrace block {index} (line {}): the paste elides records ({} `...` line(s)); {read} record(s) were read and nothing is guessed for the rest",
                block.line, block.elided
            ),
        ));
    }
    let frames_elided = block
        .records
        .iter()
        .filter(|record| record.frames_elided)
        .count();
    if frames_elided > 0 {
        notes.push(Warning::new(
            WarningCode::LogElided,
            format!(
                "!htrace block {index} (line {}): the paste elides frames of {frames_elided} record(s); their stacks are shown as \"no frames recorded\"",
                block.line
            ),
        ));
    }
    if let Some(claimed) = block.claimed {
        let short = !block.complete || block.elided > 0;
        if read > claimed || (short && read < claimed) {
            notes.push(Warning::new(
                WarningCode::LogIncomplete,
                format!(
                    "!htrace block {index} (line {}): its header says {claimed:#x} new stack trace(s) (handles closed since included) but {read} record(s) were read",
                    block.line
                ),
            ));
        }
    }
}

/// `...`, `....`, `****`, `…`, `[...]`: a paste that leaves something out.
fn is_elision(trimmed: &str) -> bool {
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);
    inner == "…"
        || (inner.len() >= 3
            && (inner.bytes().all(|b| b == b'.') || inner.bytes().all(|b| b == b'*')))
}

/// `0x17 new stack traces since the previous snapshot.`
fn claimed_count(trimmed: &str) -> Option<u64> {
    let (count, rest) = trimmed.split_once(' ')?;
    if !rest.starts_with("new stack traces") {
        return None;
    }
    hex_or_decimal(count)
}

/// A line that starts `!htrace` output pasted without its command.
pub(super) fn is_htrace_start(trimmed: &str) -> bool {
    record_header(trimmed).is_some() || trimmed.starts_with(DIFF_BANNER)
}

/// `Handle = 0x00000498 - OPEN`, `Handle 0x7CC - CLOSE:`, `… - *** BAD REFERENCE ***`.
fn record_header(trimmed: &str) -> Option<(u64, Operation)> {
    let rest = trimmed.strip_prefix("Handle")?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let (value, operation) = rest.split_once(" - ")?;
    let value = value.trim();
    // The value must carry its `0x`.
    strip_0x(value)?;
    let value = parse_hex_address(value)?;
    let operation = operation
        .trim()
        .trim_end_matches(':')
        .trim()
        .to_ascii_uppercase();
    let operation = if operation == "OPEN" {
        Operation::Open
    } else if operation == "CLOSE" {
        Operation::Close
    } else if operation.contains("BAD REF") {
        Operation::BadRef
    } else {
        Operation::Unknown(0)
    };
    Some((value, operation))
}

/// `Thread ID = 0x2e6c, Process ID = 0x1f3c`.
fn thread_process(trimmed: &str) -> Option<(u32, u32)> {
    let rest = trimmed.strip_prefix("Thread ID")?;
    let (thread, process) = rest.split_once(',')?;
    let thread = parse_hex_address(thread.trim().trim_start_matches('=').trim())?;
    let process = process.trim().strip_prefix("Process ID")?;
    let process = parse_hex_address(process.trim().trim_start_matches('=').trim())?;
    Some((thread as u32, process as u32))
}

/// `Displayed 0x3 stack traces …`, `Dumped 0x5 stack traces.`, `Parsed 0x5 stack traces.`.
fn closing_count(trimmed: &str) -> Option<u64> {
    let mut words = trimmed.split_whitespace();
    let verb = words.next()?;
    if !matches!(verb, "Displayed" | "Dumped" | "Parsed") {
        return None;
    }
    let count = words.next()?;
    if words.next() != Some("stack") {
        return None;
    }
    hex_or_decimal(count)
}

/// `0x00007ffb0a98e1d4: ntdll!NtCreateEvent+0x14`, `0x77a5f1c4:` or a bare address.
fn frame_line(trimmed: &str) -> Option<TextFrame> {
    let (address, text) = match trimmed.split_once(':') {
        Some((address, text)) => (address, text.trim()),
        None => (trimmed, ""),
    };
    let address = address.trim();
    if strip_0x(address).is_none() && address.len() < 8 {
        return None;
    }
    if address.contains(' ') {
        return None;
    }
    let address = parse_hex_address(address)?;
    Some(TextFrame {
        address,
        text: (!text.is_empty()).then(|| text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::fields::assert_cases;
    use super::*;

    #[test]
    fn record_headers_in_user_and_kernel_style() {
        let cases = [
            ("Handle = 0x00000498 - OPEN", Some((0x498, Operation::Open))),
            ("Handle 0x7CC - CLOSE:", Some((0x7cc, Operation::Close))),
            (
                "Handle = 0x10 - *** BAD REFERENCE ***",
                Some((0x10, Operation::BadRef)),
            ),
            ("Handle = 0x10 - SWAP", Some((0x10, Operation::Unknown(0)))),
            ("Handle = 498 - OPEN", None),
            ("Handle tracing enabled.", None),
        ];
        assert_cases(record_header, &cases);
    }

    #[test]
    fn elisions_and_header_counts() {
        for line in ["...", "....", "****", "…", "[...]"] {
            assert!(is_elision(line), "{line}");
        }
        for line in ["..", "**", "0x1: ...", "-----"] {
            assert!(!is_elision(line), "{line}");
        }
        let cases = [
            (
                "0x17 new stack traces since the previous snapshot.",
                Some(0x17),
            ),
            ("5 new stack traces since the previous snapshot.", Some(5)),
            ("0x17 stack traces", None),
        ];
        assert_cases(claimed_count, &cases);
    }

    #[test]
    fn a_line_outside_the_grammar_ends_the_block() {
        let mut found = Findings::default();
        let mut state = HtraceState::default();
        assert!(state.line(1, "Handle = 0x10 - OPEN", &mut found));
        assert!(state.line(
            2,
            "0x00007ffb0a98e1d4: ntdll!NtCreateEvent+0x14",
            &mut found
        ));
        assert!(state.line(3, "", &mut found));
        assert!(!state.line(4, "So the bridge leaks one event per job.", &mut found));
    }

    #[test]
    fn closing_counts_are_hex_or_decimal() {
        let cases = [
            (
                "Displayed 0x3 stack traces for outstanding handles",
                Some(3),
            ),
            ("Dumped 12 stack traces.", Some(12)),
            ("Parsed 0x5 stack traces.", Some(5)),
            ("Displayed 0x3 handles", None),
            ("Shown 0x3 stack traces", None),
        ];
        assert_cases(closing_count, &cases);
    }

    #[test]
    fn frames_need_a_0x_prefix_or_eight_digits() {
        let frame = frame_line("0x00007ffb0a98e1d4: ntdll!NtCreateEvent+0x14").unwrap();
        assert_eq!(frame.address, 0x7ffb0a98e1d4);
        assert_eq!(frame.text.as_deref(), Some("ntdll!NtCreateEvent+0x14"));
        assert_eq!(frame_line("77a5f1c4").unwrap().text, None);
        assert_eq!(frame_line("0x1c:").unwrap().address, 0x1c);
        assert!(frame_line("1c2: x").is_none() && frame_line("0x1 2: x").is_none());
        let ids = thread_process("Thread ID = 0x2e6c, Process ID = 0x1f3c");
        assert_eq!(ids, Some((0x2e6c, 0x1f3c)));
    }

    #[test]
    fn wrapped_frame_lines_are_glued_and_chatter_is_taken_before_records() {
        let mut found = Findings::default();
        let mut state = HtraceState::default();
        let lines = [
            "Handle tracing information snapshot successfully taken.",
            "Handle = 0x00000498 - OPEN",
            "Thread ID = 0x2e6c, Process ID = 0x1f3c",
            "0x00007ffb0a98e1d4: AcmeNet!Pool::Acq",
            "uire+0xb1",
            "Displayed 0x1 stack traces for outstanding handles opened since the previous snapshot.",
        ];
        for (index, line) in lines.iter().enumerate() {
            assert!(state.line(index + 1, line, &mut found), "{line}");
        }
        assert!(!state.line(7, "anything after the count", &mut found));
        state.close(8, true, &mut found);
        let blocks = state.into_blocks();
        assert_eq!(blocks.len(), 1);
        assert!(blocks[0].complete);
        let frame = &blocks[0].records[0].frames[0];
        assert_eq!(frame.text.as_deref(), Some("AcmeNet!Pool::Acquire+0xb1"));
        assert_eq!((found.notes.len(), found.pids), (0, vec![0x1f3c]));
    }

    #[test]
    fn frame_lines_past_the_cap_are_counted_not_kept() {
        let mut found = Findings::default();
        let mut state = HtraceState::default();
        assert!(state.line(1, "Handle = 0x10 - OPEN", &mut found));
        for line in 0..MAX_RECORD_FRAMES + 5 {
            assert!(state.line(2 + line, "0x1", &mut found));
        }
        state.close(100, false, &mut found);
        let blocks = state.into_blocks();
        assert_eq!(blocks[0].records[0].frames.len(), MAX_RECORD_FRAMES);
        assert_eq!(
            found.notes[0].message,
            "!htrace block 0 (line 1): 5 frame line(s) past 64 in a record (first in handle \
             0x10's) are not a stack the trace holds and were ignored"
        );
    }

    #[test]
    fn a_block_cut_short_is_kept_with_a_note() {
        let mut found = Findings::default();
        let mut state = HtraceState::default();
        assert!(state.command(3, "!htrace -diff", &["-diff".to_owned()]));
        assert!(!state.command(4, "!htrace -enable", &["-enable".to_owned()]));
        assert!(state.line(5, "Handle = 0x10 - OPEN", &mut found));
        state.close(9, true, &mut found);
        let blocks = state.into_blocks();
        assert!(blocks[0].diff && !blocks[0].complete);
        assert_eq!(
            found
                .notes
                .iter()
                .map(|note| note.message.as_str())
                .collect::<Vec<_>>(),
            [
                "!htrace block 0 (line 3) ends at line 9 without its closing count line: \
              kept 1 record(s); the last one may be incomplete"
            ]
        );
    }
}
