//! WinDbg / cdb session logs: `ModLoad:` lines, `lm`/`lmv`/`lmvm` output, `!htrace` and
//! `!htrace -diff` blocks, `!handle 0 0` summaries and `!handle <h> f` blocks.
//!
//! Parsing goes line by line. Commands after a prompt (`0:008>`, `1:023:x86>`, `kd>`) open a
//! section; the structures are also recognised by their own lines, so output pasted without
//! its prompt still parses. A block cut short keeps what it has and leaves a note.

use super::frame::{infer_type, normalize_frame_text, parse_hex_address, TextFrame};
use super::{SummarySnapshot, TypeCounts};
use crate::snapshot::{
    CodeViewId, Handle, HandleTrace, InputFormat, Module, Operation, ProcessInfo, Snapshot,
    TraceOrder, TraceRecord,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

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
    pub notes: Vec<String>,
}

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
    /// The block as a crate [`HandleTrace`]; `!htrace` prints newest first.
    pub fn to_trace(&self) -> HandleTrace {
        HandleTrace {
            records: self
                .records
                .iter()
                .map(HtraceRecord::to_trace_record)
                .collect(),
            record_count: self.records.len(),
            order: TraceOrder::NewestFirst,
            diff_block: self.diff,
        }
    }
}

impl WindbgLog {
    /// The block to analyse: index `block` (0-based) when given, else the last `-diff` block,
    /// else the last block.
    pub fn select_block(&self, block: Option<usize>) -> Option<&HtraceBlock> {
        match block {
            Some(index) => self.htrace_blocks.get(index),
            None => self
                .htrace_blocks
                .iter()
                .rev()
                .find(|block| block.diff)
                .or_else(|| self.htrace_blocks.last()),
        }
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
        for block in &self.htrace_blocks {
            for record in &block.records {
                for frame in &record.frames {
                    if let Some(text) = &frame.text {
                        symbols
                            .entry(frame.address)
                            .or_insert_with(|| normalize_frame_text(text));
                    }
                }
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

    /// The log as a [`Snapshot`]: process, modules, the handles of `!handle … f` blocks (when
    /// any), and the trace of [`select_block`](Self::select_block)`(block)`. Notes become
    /// warnings.
    pub fn to_snapshot(&self, source: &Path, block: Option<usize>) -> Snapshot {
        Snapshot {
            source: source.to_path_buf(),
            input: InputFormat::WindbgLog,
            process: self.process_info(),
            captured_at: None,
            dump_flags: 0,
            modules: self.modules.clone(),
            handles: (!self.handles.is_empty()).then(|| self.handles.clone()),
            trace: self.select_block(block).map(HtraceBlock::to_trace),
            type_counts: self.last_summary().map(|summary| summary.counts.clone()),
            frame_text: self.frame_symbols(),
            memory: None,
            file: None,
            warnings: self.notes.clone(),
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

/// Parses a debugger log. Never fails; what cannot be read becomes a note.
pub fn parse_windbg_log(text: &str) -> WindbgLog {
    let mut parser = Parser::default();
    for (index, line) in text.lines().enumerate() {
        parser.line(index + 1, line);
    }
    let cut_last_line = !text.is_empty() && !text.ends_with('\n');
    parser.finish(cut_last_line)
}

/// Splits a prompt off: `0:008> lmvm AcmeNet` → `lmvm AcmeNet`, `1:023:x86> !htrace` →
/// `!htrace` (with `x86` as the effective machine), `0: kd> !handle` → `!handle`.
pub fn split_prompt(line: &str) -> Option<(&str, Option<&str>)> {
    let line = line.trim_start();
    let gt = line.find('>')?;
    let prompt = &line[..gt];
    let command = line[gt + 1..].trim();
    if prompt == "kd"
        || prompt.ends_with(": kd")
            && prompt[..prompt.len() - 4]
                .bytes()
                .all(|b| b.is_ascii_digit())
    {
        return Some((command, None));
    }
    let mut fields = prompt.split(':');
    let process = fields.next()?;
    let thread = fields.next()?;
    let machine = fields.next();
    if fields.next().is_some()
        || process.is_empty()
        || thread.is_empty()
        || !process.bytes().all(|b| b.is_ascii_digit())
        || !thread.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Some(machine) = machine {
        if machine.is_empty() || !machine.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
    }
    Some((command, machine))
}

#[derive(Debug, Default)]
enum Section {
    #[default]
    None,
    Htrace,
    Handle,
    Lm,
}

#[derive(Debug, Default)]
struct ModuleDraft {
    name: Option<String>,
    path: Option<String>,
    base: u64,
    end: Option<u64>,
    size: Option<u64>,
    file_version: Option<String>,
    product_version: Option<String>,
    timestamp: Option<u32>,
    checksum: Option<u32>,
    codeview: Option<CodeViewId>,
    /// Name as the `lm` module column prints it (`AcmeNet`).
    short_name: Option<String>,
}

#[derive(Debug, Default)]
struct Parser {
    log: WindbgLog,
    section: Section,
    /// The open htrace block, if any.
    block: Option<HtraceBlock>,
    /// The previous line was a frame of the open record (for wrapped lines).
    after_frame: bool,
    /// Index into `modules` of the row whose `lmv` details follow.
    lm_current: Option<usize>,
    lm_unloaded: bool,
    modules: Vec<ModuleDraft>,
    /// Index into `modules` by base address, and by lowercase name without extension.
    by_base: HashMap<u64, usize>,
    by_stem: HashMap<String, usize>,
    /// The open `!handle … f` block.
    handle: Option<Handle>,
    /// The open `!handle` summary.
    summary: Option<TypeCounts>,
    summary_rows: bool,
    handles: BTreeMap<u64, Handle>,
    pids: Vec<u32>,
    first_exe_modload: Option<(String, String)>,
}

impl Parser {
    fn note(&mut self, note: String) {
        self.log.notes.push(note);
    }

    fn line(&mut self, number: usize, raw: &str) {
        let line = raw.trim_end_matches(['\r', '\0']);
        let trimmed = line.trim();

        if let Some((command, machine)) = split_prompt(line) {
            self.close_section(number, true);
            if let Some(machine) = machine {
                if self.log.arch.is_none() {
                    self.log.arch = Some(machine.to_ascii_lowercase());
                }
            }
            self.command(number, command);
            return;
        }
        if self.global_line(trimmed) {
            return;
        }
        match self.section {
            Section::Htrace => {
                if self.htrace_line(number, trimmed) {
                    return;
                }
            }
            Section::Handle => {
                if self.handle_line(line, trimmed) {
                    return;
                }
            }
            Section::Lm => {
                if self.lm_line(trimmed) {
                    return;
                }
            }
            Section::None => {}
        }
        // Structures recognised without a command.
        if is_htrace_start(trimmed) {
            self.close_section(number, true);
            self.section = Section::Htrace;
            self.htrace_line(number, trimmed);
        } else if is_lm_header(trimmed) {
            self.close_section(number, true);
            self.section = Section::Lm;
        } else if handle_count_line(trimmed).is_some() || handle_block_start(trimmed).is_some() {
            self.close_section(number, true);
            self.section = Section::Handle;
            self.handle_line(line, trimmed);
        }
    }

    fn command(&mut self, number: usize, command: &str) {
        let mut words = command.split_whitespace();
        let Some(verb) = words.next() else {
            return;
        };
        let verb = verb.to_ascii_lowercase();
        let args: Vec<String> = words.map(str::to_ascii_lowercase).collect();
        if verb == "!htrace" {
            let control = args
                .iter()
                .any(|arg| matches!(arg.as_str(), "-enable" | "-snapshot" | "-disable" | "-?"));
            if !control {
                self.section = Section::Htrace;
                self.block = Some(HtraceBlock {
                    line: number,
                    command: Some(command.to_owned()),
                    diff: args.iter().any(|arg| arg == "-diff"),
                    ..HtraceBlock::default()
                });
            }
        } else if verb == "!handle" {
            self.section = Section::Handle;
        } else if verb.starts_with("lm") {
            self.section = Section::Lm;
            self.lm_unloaded = false;
        }
    }

    /// Lines that mean the same wherever they appear. Returns whether the line was taken.
    fn global_line(&mut self, trimmed: &str) -> bool {
        if let Some(rest) = trimmed.strip_prefix("ModLoad:") {
            self.modload(rest);
            return true;
        }
        if let Some(rest) = trimmed.strip_prefix("CommandLine:") {
            let command_line = rest.trim();
            if !command_line.is_empty() && self.log.command_line.is_none() {
                self.log.command_line = Some(command_line.to_owned());
            }
            return true;
        }
        if let Some(pid) = event_prefix_pid(trimmed) {
            self.pids.push(pid);
            return false;
        }
        if trimmed.starts_with("Windows ")
            && (trimmed.contains(" Free ") || trimmed.contains(" Checked "))
            && self.log.os_version.is_none()
        {
            self.log.os_version = Some(trimmed.to_owned());
            // `… Free x64`, `… Free x86 compatible`, `… Free ARM64`.
            let arch = trimmed
                .split_whitespace()
                .skip_while(|word| *word != "Free" && *word != "Checked")
                .find_map(|word| match word.to_ascii_lowercase().as_str() {
                    "x64" | "amd64" => Some("amd64"),
                    "x86" => Some("x86"),
                    "arm64" => Some("arm64"),
                    _ => None,
                });
            if let Some(arch) = arch {
                self.log.arch = Some(arch.to_owned());
            }
            return true;
        }
        // `|` output: `.  0	id: 1f3c	attach	name: C:\svc\OrderSync.exe`
        if (trimmed.starts_with(". ") || trimmed.starts_with("# ")) && trimmed.contains("id: ") {
            let id = trimmed
                .split("id: ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|id| u32::from_str_radix(id, 16).ok());
            if let Some(id) = id {
                self.pids.push(id);
            }
            if let Some(name) = trimmed.split("name: ").nth(1) {
                let name = name.trim();
                if !name.is_empty() && self.log.image_path.is_none() {
                    self.log.image_path = Some(name.to_owned());
                }
            }
            return id.is_some();
        }
        false
    }

    fn modload(&mut self, rest: &str) {
        let mut fields = rest.split_whitespace();
        let (Some(start), Some(end)) = (fields.next(), fields.next()) else {
            return;
        };
        let (Some(start), Some(end)) = (parse_hex_address(start), parse_hex_address(end)) else {
            return;
        };
        let path = skip_fields(rest, 2).to_owned();
        if path.is_empty() {
            return;
        }
        let name = file_name(&path).to_owned();
        if self.first_exe_modload.is_none() && name.to_ascii_lowercase().ends_with(".exe") {
            self.first_exe_modload = Some((name.clone(), path.clone()));
        }
        let index = self.module_index(start, None);
        self.place_module(index, start, &name);
        let draft = &mut self.modules[index];
        draft.end = Some(end);
        draft.name = Some(name);
        if draft.path.as_ref().is_none_or(|old| old.len() < path.len()) {
            draft.path = Some(path);
        }
    }

    /// The draft at `base`, else one named `name`, else a new one.
    fn module_index(&mut self, base: u64, name: Option<&str>) -> usize {
        if let Some(&at) = self.by_base.get(&base) {
            return at;
        }
        if let Some(&at) = name.and_then(|name| self.by_stem.get(&stem(name).to_ascii_lowercase()))
        {
            return at;
        }
        self.modules.push(ModuleDraft {
            base,
            ..ModuleDraft::default()
        });
        let at = self.modules.len() - 1;
        self.by_base.insert(base, at);
        at
    }

    /// Moves draft `at` to `base` and makes it findable by `name`.
    fn place_module(&mut self, at: usize, base: u64, name: &str) {
        let old = std::mem::replace(&mut self.modules[at].base, base);
        if old != base {
            if self.by_base.get(&old) == Some(&at) {
                self.by_base.remove(&old);
            }
            self.by_base.insert(base, at);
        }
        self.by_stem
            .entry(stem(name).to_ascii_lowercase())
            .or_insert(at);
    }

    fn close_section(&mut self, number: usize, by_new_output: bool) {
        if let Some(block) = self.block.take() {
            self.finish_block(block, number, by_new_output);
        }
        self.finish_handle();
        self.finish_summary();
        self.after_frame = false;
        self.lm_current = None;
        self.section = Section::None;
    }

    fn finish_block(&mut self, block: HtraceBlock, number: usize, by_new_output: bool) {
        let index = self.log.htrace_blocks.len();
        if !block.complete && !block.records.is_empty() {
            let how = if by_new_output {
                format!("ends at line {number} without its closing count line")
            } else {
                "is cut off at the end of the log".to_owned()
            };
            self.note(format!(
                "!htrace block {index} (line {}) {how}: kept {} record(s); the last one may be incomplete",
                block.line,
                block.records.len()
            ));
        }
        if let Some(displayed) = block.displayed {
            if displayed != block.records.len() as u64 {
                self.note(format!(
                    "!htrace block {index} (line {}) says {displayed} stack trace(s) but {} record(s) were read",
                    block.line,
                    block.records.len()
                ));
            }
        }
        if block.records.is_empty() && block.displayed.is_none() && block.command.is_none() {
            return;
        }
        self.log.htrace_blocks.push(block);
    }

    fn htrace_line(&mut self, number: usize, trimmed: &str) -> bool {
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
        if trimmed.starts_with("Outstanding handles opened since the previous snapshot") {
            block.diff = true;
            return true;
        }
        if trimmed.bytes().all(|b| b == b'-') && trimmed.len() >= 10 {
            self.after_frame = false;
            return true;
        }
        if let Some(count) = closing_count(trimmed) {
            if trimmed.starts_with("Displayed") || trimmed.starts_with("Dumped") {
                block.displayed = Some(count);
                block.complete = true;
            }
            self.after_frame = false;
            return true;
        }
        if let Some((handle, operation)) = record_header(trimmed) {
            if let Operation::Unknown(_) = operation {
                self.log.notes.push(format!(
                    "line {number}: unknown handle operation: {trimmed}"
                ));
            }
            block.records.push(HtraceRecord {
                handle,
                operation,
                thread_id: 0,
                process_id: 0,
                frames: Vec::new(),
            });
            self.after_frame = false;
            return true;
        }
        if let Some((thread, process)) = thread_process(trimmed) {
            if let Some(record) = block.records.last_mut() {
                record.thread_id = thread;
                record.process_id = process;
            }
            if process != 0 {
                self.pids.push(process);
            }
            self.after_frame = false;
            return true;
        }
        if let Some(frame) = frame_line(trimmed) {
            if let Some(record) = block.records.last_mut() {
                record.frames.push(frame);
                self.after_frame = true;
                return true;
            }
            return false;
        }
        if self.after_frame && !trimmed.contains(' ') {
            // A frame line wrapped by the console: glue the rest back on.
            if let Some(frame) = block.records.last_mut().and_then(|r| r.frames.last_mut()) {
                if let Some(text) = frame.text.as_mut() {
                    text.push_str(trimmed);
                    return true;
                }
            }
        }
        // Chatter: "Handle tracing information snapshot successfully taken.", "0x1c new stack
        // traces since …", "Ignoring handles that were already closed...", kernel headers.
        self.after_frame = false;
        block.records.is_empty()
            || trimmed.starts_with("Handle tracing")
            || trimmed.starts_with("Parsed")
    }

    fn handle_line(&mut self, line: &str, trimmed: &str) -> bool {
        if trimmed.is_empty() {
            return true;
        }
        if let Some(total) = handle_count_line(trimmed) {
            self.finish_handle();
            self.finish_summary();
            self.summary = Some(TypeCounts {
                total: Some(total),
                ..TypeCounts::default()
            });
            self.summary_rows = false;
            return true;
        }
        if let Some(summary) = self.summary.as_mut() {
            let mut words = trimmed.split_whitespace();
            if !self.summary_rows {
                if words.next() == Some("Type") && words.next() == Some("Count") {
                    self.summary_rows = true;
                    return true;
                }
            } else if let Some((kind, count)) = type_count_row(trimmed) {
                *summary.counts.entry(kind).or_insert(0) += count;
                return true;
            }
            self.finish_summary();
        }
        if let Some(value) = handle_block_start(trimmed) {
            self.finish_handle();
            self.handle = Some(Handle {
                value,
                type_name: None,
                object_name: None,
                attributes: 0,
                granted_access: 0,
                handle_count: 0,
                pointer_count: 0,
                object_info: Vec::new(),
                type_inferred: false,
            });
            return true;
        }
        if let Some(handle) = self.handle.as_mut() {
            let (key, value) = split_field(trimmed);
            let known = match key {
                "Type" => {
                    handle.type_name = non_empty_name(value).map(Arc::from);
                    true
                }
                "Name" => {
                    handle.object_name = non_empty_name(value).map(Arc::from);
                    true
                }
                "Attributes" => {
                    handle.attributes = parse_number(value).unwrap_or(0);
                    true
                }
                "GrantedAccess" => {
                    handle.granted_access = parse_number(value.trim_end_matches(':')).unwrap_or(0);
                    true
                }
                "HandleCount" => {
                    handle.handle_count = parse_number(value).unwrap_or(0);
                    true
                }
                "PointerCount" => {
                    handle.pointer_count = parse_number(value).unwrap_or(0);
                    true
                }
                _ => false,
            };
            // Indented lines belong to the block (access names, object-specific information).
            if known || line.starts_with([' ', '\t']) {
                return true;
            }
        }
        trimmed.starts_with("Could not") || trimmed.starts_with("unable to")
    }

    fn finish_handle(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.handles.insert(handle.value, handle);
        }
    }

    fn finish_summary(&mut self) {
        if let Some(summary) = self.summary.take() {
            self.log.handle_summaries.push(summary);
        }
        self.summary_rows = false;
    }

    fn lm_line(&mut self, trimmed: &str) -> bool {
        if trimmed.is_empty() {
            return true;
        }
        if is_lm_header(trimmed) || trimmed.starts_with("Browse ") {
            return true;
        }
        if trimmed.starts_with("Unloaded modules:") {
            self.lm_unloaded = true;
            self.lm_current = None;
            return true;
        }
        if let Some(row) = lm_row(trimmed) {
            if self.lm_unloaded {
                return true;
            }
            let image_name = row
                .path
                .as_deref()
                .filter(|path| is_image_path(path))
                .map(|path| file_name(path).to_owned());
            let index = self.module_index(row.start, Some(&row.module));
            self.place_module(index, row.start, &row.module);
            let draft = &mut self.modules[index];
            draft.end = Some(row.end);
            draft.short_name = Some(row.module.clone());
            if let Some(path) = row.path.as_deref() {
                if is_image_path(path) {
                    if draft.path.as_ref().is_none_or(|old| old.len() < path.len()) {
                        draft.path = Some(path.to_owned());
                    }
                } else if path.to_ascii_lowercase().ends_with(".pdb") {
                    draft.codeview = draft
                        .codeview
                        .take()
                        .or_else(|| codeview_from_store_path(path));
                }
            }
            if draft.name.is_none() {
                draft.name = image_name;
            }
            self.lm_current = Some(index);
            return true;
        }
        let Some(index) = self.lm_current else {
            return false;
        };
        let (key, value) = split_colon(trimmed);
        let draft = &mut self.modules[index];
        match key {
            "Image path" if !value.is_empty() => draft.path = Some(value.to_owned()),
            "Image name" if !value.is_empty() => draft.name = Some(value.to_owned()),
            "Loaded symbol image file" if !value.is_empty() && draft.path.is_none() => {
                draft.path = Some(value.to_owned())
            }
            "Symbol file" if draft.codeview.is_none() => {
                draft.codeview = codeview_from_store_path(value)
            }
            "Timestamp" => draft.timestamp = paren_hex(value).and_then(|v| u32::try_from(v).ok()),
            "CheckSum" => {
                draft.checksum = parse_hex_address(value).and_then(|v| u32::try_from(v).ok())
            }
            "ImageSize" => draft.size = parse_hex_address(value),
            "File version" if !value.is_empty() => draft.file_version = Some(value.to_owned()),
            "Product version" if !value.is_empty() => {
                draft.product_version = Some(value.to_owned())
            }
            _ => {}
        }
        true
    }

    fn finish(mut self, cut_last_line: bool) -> WindbgLog {
        let end = usize::MAX;
        if cut_last_line && !matches!(self.section, Section::None) {
            self.note("the log ends in the middle of a line".to_owned());
        }
        if let Some(block) = self.block.take() {
            self.finish_block(block, end, false);
        }
        self.close_section(end, false);

        let mut modules: Vec<Module> = std::mem::take(&mut self.modules)
            .into_iter()
            .filter_map(draft_to_module)
            .collect();
        modules.sort_by_key(|module| module.base);
        self.log.modules = modules;
        self.log.handles = std::mem::take(&mut self.handles).into_values().collect();

        let mut pids = std::mem::take(&mut self.pids);
        if let Some(&first) = pids.first() {
            self.log.process_id = Some(first);
            pids.sort_unstable();
            pids.dedup();
            if pids.len() > 1 {
                let list: Vec<String> = pids.iter().map(|pid| format!("{pid:#x}")).collect();
                self.note(format!(
                    "several process ids appear ({}); using {first:#x}",
                    list.join(", ")
                ));
            }
        }
        let exe_from_command = self.log.command_line.as_deref().and_then(command_image);
        if self.log.image_path.is_none() {
            self.log.image_path = exe_from_command.or_else(|| {
                self.first_exe_modload
                    .as_ref()
                    .map(|(_, path)| path.clone())
                    .filter(|path| path.contains(['\\', '/']))
            });
        }
        self.log.image_name = self
            .log
            .image_path
            .as_deref()
            .map(|path| file_name(path).to_owned())
            .or_else(|| {
                self.first_exe_modload
                    .as_ref()
                    .map(|(name, _)| name.clone())
            });
        self.log
    }
}

fn draft_to_module(draft: ModuleDraft) -> Option<Module> {
    let name = draft
        .name
        .or_else(|| draft.path.as_deref().map(|path| file_name(path).to_owned()))
        .or(draft.short_name)?;
    let size = match (draft.end, draft.size) {
        (Some(end), _) if end > draft.base => end - draft.base,
        (_, Some(size)) => size,
        _ => 0,
    };
    Some(Module {
        path: draft.path.unwrap_or_else(|| name.clone()),
        name,
        base: draft.base,
        size: u32::try_from(size).unwrap_or(u32::MAX),
        file_version: draft.file_version,
        product_version: draft.product_version,
        timestamp: draft.timestamp.unwrap_or(0),
        checksum: draft.checksum.unwrap_or(0),
        codeview: draft.codeview,
    })
}

fn file_name(path: &str) -> &str {
    let path = path.trim().trim_matches('"');
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn stem(name: &str) -> &str {
    let name = file_name(name);
    match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

fn is_image_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [
        ".dll", ".exe", ".sys", ".drv", ".ocx", ".cpl", ".efi", ".mui", ".winmd",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

/// The executable of a command line: quoted, or up to `.exe`, or the first word.
fn command_image(command_line: &str) -> Option<String> {
    let text = command_line.trim();
    if let Some(rest) = text.strip_prefix('"') {
        return rest.split('"').next().map(str::to_owned);
    }
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find(".exe") {
        return Some(text[..at + 4].to_owned());
    }
    text.split_whitespace().next().map(str::to_owned)
}

/// `(1f3c.2a10): Break instruction exception …` → 0x1f3c.
fn event_prefix_pid(line: &str) -> Option<u32> {
    let rest = line.strip_prefix('(')?;
    let close = rest.find("):")?;
    let (pid, tid) = rest[..close].split_once('.')?;
    if tid.is_empty() || !tid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(pid, 16).ok()
}

fn is_htrace_start(trimmed: &str) -> bool {
    record_header(trimmed).is_some()
        || trimmed.starts_with("Outstanding handles opened since the previous snapshot")
}

/// `Handle = 0x00000498 - OPEN`, `Handle 0x7CC - CLOSE:`, `… - *** BAD REFERENCE ***`.
fn record_header(trimmed: &str) -> Option<(u64, Operation)> {
    let rest = trimmed.strip_prefix("Handle")?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let (value, operation) = rest.split_once(" - ")?;
    let value = value.trim();
    if !(value.starts_with("0x") || value.starts_with("0X")) {
        return None;
    }
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
    let digits = count
        .strip_prefix("0x")
        .or_else(|| count.strip_prefix("0X"));
    match digits {
        Some(digits) => u64::from_str_radix(digits, 16).ok(),
        None => count.parse().ok(),
    }
}

/// `0x00007ffb0a98e1d4: ntdll!NtCreateEvent+0x14`, `0x77a5f1c4:` or a bare address.
fn frame_line(trimmed: &str) -> Option<TextFrame> {
    let (address, text) = match trimmed.split_once(':') {
        Some((address, text)) => (address, text.trim()),
        None => (trimmed, ""),
    };
    let address = address.trim();
    if !(address.starts_with("0x") || address.starts_with("0X")) && address.len() < 8 {
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

/// `1c2 Handles` → 0x1c2.
fn handle_count_line(trimmed: &str) -> Option<u64> {
    let mut words = trimmed.split_whitespace();
    let count = words.next()?;
    if words.next() != Some("Handles") || words.next().is_some() {
        return None;
    }
    parse_hex_address(count)
}

/// `Handle 1c` → 0x1c (not `Handle = 0x…`, not `Handle tracing …`).
fn handle_block_start(trimmed: &str) -> Option<u64> {
    let mut words = trimmed.split_whitespace();
    if words.next() != Some("Handle") {
        return None;
    }
    let value = words.next()?;
    if words.next().is_some() {
        return None;
    }
    parse_hex_address(value)
}

/// `ALPC Port      \t3` → (`ALPC Port`, 3).
fn type_count_row(trimmed: &str) -> Option<(String, u64)> {
    let at = trimmed.rfind([' ', '\t'])?;
    let count = trimmed[at + 1..].parse().ok()?;
    let kind = trimmed[..at].trim();
    (!kind.is_empty()).then(|| (kind.to_owned(), count))
}

/// `Type         \tEvent` → (`Type`, `Event`); keys are one word.
fn split_field(trimmed: &str) -> (&str, &str) {
    match trimmed.find([' ', '\t']) {
        Some(at) => (&trimmed[..at], trimmed[at..].trim()),
        None => (trimmed, ""),
    }
}

/// What follows the first `count` whitespace-separated fields, trimmed.
fn skip_fields(text: &str, count: usize) -> &str {
    let mut rest = text.trim_start();
    for _ in 0..count {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end()
}

/// `Image path: C:\x.dll` → (`Image path`, `C:\x.dll`).
fn split_colon(trimmed: &str) -> (&str, &str) {
    match trimmed.split_once(':') {
        Some((key, value)) => (key.trim(), value.trim()),
        None => (trimmed, ""),
    }
}

fn non_empty_name(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && value != "<none>" && value != "<NONE>").then(|| value.to_owned())
}

/// `0x1f0003` is hex, `65537` decimal.
fn parse_number(value: &str) -> Option<u32> {
    let value = value.split_whitespace().next()?;
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// The hex number in the last parentheses: `Tue Mar  4 10:12:44 2025 (67C6D1CC)`.
fn paren_hex(value: &str) -> Option<u64> {
    let open = value.rfind('(')?;
    let close = value[open..].find(')')? + open;
    parse_hex_address(&value[open + 1..close])
}

struct LmRow {
    start: u64,
    end: u64,
    module: String,
    path: Option<String>,
}

fn is_lm_header(trimmed: &str) -> bool {
    let mut words = trimmed.split_whitespace();
    words.next() == Some("start")
        && words.next() == Some("end")
        && words.next() == Some("module")
        && words.next() == Some("name")
}

/// `00007ffa`f4a10000 00007ffa`f4a61000   AcmeNet    (pdb symbols)   C:\…\AcmeNet.pdb`.
fn lm_row(trimmed: &str) -> Option<LmRow> {
    let mut fields = trimmed.split_whitespace();
    let start_text = fields.next()?;
    let end_text = fields.next()?;
    if start_text.trim_start_matches("0x").replace('`', "").len() < 8 {
        return None;
    }
    let start = parse_hex_address(start_text)?;
    let end = parse_hex_address(end_text)?;
    let module = fields.next()?;
    if end < start {
        return None;
    }
    let mut rest = skip_fields(trimmed, 3);
    if rest.starts_with('(') {
        if let Some(close) = rest.find(')') {
            rest = rest[close + 1..].trim();
        }
    }
    // A one-letter marker (`M` mismatch, `C` checksum) may precede the path.
    if let Some((marker, after)) = rest.split_once(' ') {
        if marker.len() == 1 && marker.bytes().all(|b| b.is_ascii_uppercase()) {
            rest = after.trim();
        }
    }
    Some(LmRow {
        start,
        end,
        module: module.to_owned(),
        path: (!rest.is_empty()).then(|| rest.to_owned()),
    })
}

/// `C:\Symbols\AcmeNet.pdb\3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1\AcmeNet.pdb` → RSDS GUID and age.
fn codeview_from_store_path(path: &str) -> Option<CodeViewId> {
    let mut parts = path.trim().rsplit(['\\', '/']);
    let pdb = parts.next()?;
    let key = parts.next()?;
    let folder = parts.next()?;
    if !folder.eq_ignore_ascii_case(pdb) || key.len() < 33 {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let guid = key[..32].to_ascii_uppercase();
    let age = u32::from_str_radix(&key[32..], 16).ok()?;
    Some(CodeViewId::Rsds {
        guid: format!(
            "{}-{}-{}-{}-{}",
            &guid[..8],
            &guid[8..12],
            &guid[12..16],
            &guid[16..20],
            &guid[20..]
        ),
        age,
        pdb_path: pdb.to_owned(),
    })
}
