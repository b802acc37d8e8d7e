//! The crashing thread walked by rust-minidump's stack walker, with dumpleak's own symbol
//! sources behind its `SymbolProvider` trait, so crash frames and handle stacks are named from
//! the same symbol path.

use super::{records_exception, CrashFrame, CrashStack};
use crate::snapshot::minidump::{HANDLE_DATA_STREAM, HANDLE_OPERATION_LIST_STREAM};
use crate::snapshot::Snapshot;
use crate::symbols::{ModuleSymbolStatus, Symbolizer};
use minidump::{Minidump, Module};
use minidump_unwind::{
    FileError, FileKind, FillSymbolError, FrameSymbolizer, FrameTrust, FrameWalker, SymbolProvider,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Provider<'a> {
    symbolizer: &'a Symbolizer,
    snapshot: &'a Snapshot,
}

#[async_trait::async_trait]
impl SymbolProvider for Provider<'_> {
    async fn fill_symbol(
        &self,
        _module: &(dyn Module + Sync),
        frame: &mut (dyn FrameSymbolizer + Send),
    ) -> Result<(), FillSymbolError> {
        // `get_instruction` is already inside the call instruction for caller frames.
        let instruction = frame.get_instruction();
        let hit = self
            .symbolizer
            .has_function_at(self.snapshot, instruction)
            .ok_or(FillSymbolError {})?;
        frame.set_function(&hit.name, instruction.saturating_sub(hit.offset), 0);
        if let Some(line) = &hit.source_line {
            frame.set_source_file(&line.file, line.line, instruction);
        }
        Ok(())
    }

    async fn walk_frame(
        &self,
        _module: &(dyn Module + Sync),
        _walker: &mut (dyn FrameWalker + Send),
    ) -> Option<()> {
        // No CFI from PDBs here: the walker falls back to frame pointers and scanning.
        None
    }

    async fn get_file_path(
        &self,
        _module: &(dyn Module + Sync),
        _file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        Err(FileError::NotFound)
    }
}

fn trust_name(trust: FrameTrust) -> &'static str {
    match trust {
        FrameTrust::None => "none",
        FrameTrust::Scan => "scan",
        FrameTrust::CfiScan => "cfi-scan",
        FrameTrust::FramePointer => "frame-pointer",
        FrameTrust::CallFrameInfo => "cfi",
        FrameTrust::PreWalked => "prewalked",
        FrameTrust::Context => "context",
    }
}

/// Walks the crashing thread of `snapshot`: `None` when the dump records no exception,
/// `Err` when the walker cannot process the dump. At most `max_frames` frames are kept.
pub fn crash_stack(
    snapshot: &Snapshot,
    symbolizer: &Symbolizer,
    max_frames: usize,
    modules: &mut BTreeMap<String, ModuleSymbolStatus>,
) -> Option<Result<CrashStack, String>> {
    if !records_exception(snapshot) {
        return None;
    }
    let file = snapshot.file.as_ref()?;
    // The walker reads every stream it knows, the handle streams included, and rust-minidump
    // 0.27 follows a HandleDataStream object-information chain that loops forever (found by
    // fuzzing). dumpleak reads those streams itself, so the walker gets a private copy of the
    // dump in which they are marked unused.
    let mut bytes = match file.private_copy() {
        Ok(bytes) => bytes,
        Err(error) => {
            return Some(Err(format!(
                "the stack walker could not get a private view of the dump: {error}"
            )))
        }
    };
    hide_streams(
        &mut bytes,
        &[HANDLE_DATA_STREAM, HANDLE_OPERATION_LIST_STREAM],
    );
    let dump = Minidump::read(&bytes[..]).ok()?;
    let provider = Provider {
        symbolizer,
        snapshot,
    };
    let state = match pollster::block_on(minidump_processor::process_minidump(&dump, &provider)) {
        Ok(state) => state,
        Err(error) => {
            return Some(Err(format!(
                "the stack walker could not process the dump: {error}"
            )))
        }
    };
    let exception = state.exception_info.as_ref()?;
    let thread = state
        .requesting_thread
        .and_then(|index| state.threads.get(index));
    let reason = exception.reason.to_string();
    let code = reason_code(&dump);
    let mut frames = Vec::new();
    let mut more_frames = 0;
    if let Some(thread) = thread {
        for (index, walked) in thread.frames.iter().enumerate() {
            if frames.len() >= max_frames {
                more_frames = thread.frames.len() - frames.len();
                break;
            }
            let frame = if index == 0 {
                symbolizer.resolve_one(snapshot, walked.instruction, false, modules)
            } else {
                symbolizer.resolve_one(snapshot, walked.resume_address, true, modules)
            };
            frames.push(CrashFrame {
                lines: frame.lines(),
                trust: trust_name(walked.trust).to_string(),
                frame,
            });
        }
    }
    let address = exception.address.0;
    Some(Ok(CrashStack {
        thread_id: thread.map(|thread| thread.thread_id),
        reason,
        code,
        address: format!("{address:#x}"),
        faulting_module: frames
            .first()
            .and_then(|frame| frame.frame.module.clone())
            .or_else(|| {
                snapshot
                    .module_at(address)
                    .map(|module| module.name.clone())
            }),
        frames,
        more_frames,
    }))
}

/// Marks the directory entries of `stream_types` as `UnusedStream` in a private copy of a dump.
fn hide_streams(dump: &mut [u8], stream_types: &[u32]) {
    let word = |dump: &[u8], at: usize| {
        dump.get(at..at + 4)
            .map(|bytes| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let (Some(count), Some(directory)) = (word(dump, 8), word(dump, 12)) else {
        return;
    };
    for index in 0..count as usize {
        let Some(at) = (directory as usize).checked_add(index * 12) else {
            return;
        };
        match word(dump, at) {
            Some(stream_type) if stream_types.contains(&stream_type) => {
                dump[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            }
            Some(_) => {}
            None => return,
        }
    }
}

fn reason_code(dump: &Minidump<'_, &[u8]>) -> Option<String> {
    let exception = dump.get_stream::<minidump::MinidumpException>().ok()?;
    Some(format!(
        "{:#010x}",
        exception.raw.exception_record.exception_code
    ))
}
