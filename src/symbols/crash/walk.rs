//! The crashing thread walked by rust-minidump's stack walker, with dumpleak's own symbol
//! sources behind its `SymbolProvider` trait, so crash frames and handle stacks are named from
//! the same symbol path.
//!
//! Only the crashing thread is walked, and the walk is bounded while it runs: at most
//! [`MAX_WALKED_FRAMES`] frames and [`WALK_TIME_BUDGET`]. A crafted dump can make every
//! 8 bytes of a stack look like a frame and give thousands of threads one stack; walking every
//! thread to its end took gigabytes. The walker reads only the streams named here (system
//! info, exception, thread list, misc info): never the handle streams, which rust-minidump
//! 0.27 follows into loops, and never the module list, whose names it copies without bound
//! (the modules come from the snapshot).

use super::cfi::{self, UnwindTable};
use super::{records_exception, CrashFrame, CrashStack};
use crate::snapshot::Snapshot;
use crate::symbols::{ModuleSymbolStatus, Symbolizer};
use minidump::format::{self as md, MINIDUMP_STREAM_TYPE as StreamType};
use minidump::{
    Minidump, MinidumpContext, MinidumpException, MinidumpMemory, MinidumpMiscInfo, MinidumpModule,
    MinidumpModuleList, MinidumpSystemInfo, Module, UnifiedMemory,
};
use minidump_unwind::{
    walk_stack, CallStack, FileError, FileKind, FillSymbolError, FrameSymbolizer, FrameTrust,
    FrameWalker, StackFrame, SymbolProvider, SystemInfo,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Frames the walk finds at most; it stops there whatever the stack holds (a deep recursion,
/// or a stack crafted to look like one).
pub const MAX_WALKED_FRAMES: usize = 1024;
/// How long the walk may take (symbol lookups included).
pub const WALK_TIME_BUDGET: Duration = Duration::from_secs(30);

/// Without unwinding (`panic = "abort"`) a running walk cannot be stopped, so its stack is cut
/// to this many bytes above the stack pointer instead: every frame takes stack, so this bounds
/// the frames.
#[cfg(not(panic = "unwind"))]
const STACK_WINDOW: usize = 16 * 1024;
#[cfg(panic = "unwind")]
const STACK_WINDOW: usize = usize::MAX;

struct Provider<'a> {
    symbolizer: &'a Symbolizer,
    snapshot: &'a Snapshot,
    /// Call-frame records by module base, looked up once per walk.
    unwind: Mutex<HashMap<u64, Option<Arc<UnwindTable>>>>,
    /// (module name, note) on call-frame information that could not be used.
    notes: Mutex<Vec<(String, String)>>,
}

impl Provider<'_> {
    /// The call-frame records of the module loaded at `base`.
    fn unwind_table(&self, base: u64) -> Option<Arc<UnwindTable>> {
        if let Some(known) = lock(&self.unwind).get(&base) {
            return known.clone();
        }
        let module = self
            .snapshot
            .modules
            .iter()
            .find(|module| module.base == base)?;
        let memory = self.snapshot.memory.as_ref();
        let found = cfi::find(self.symbolizer.unwind.as_ref(), module, memory);
        let mut notes = lock(&self.notes);
        for note in found.notes {
            notes.push((module.name.clone(), note));
        }
        lock(&self.unwind).insert(base, found.table.clone());
        found.table
    }
}

#[async_trait::async_trait]
impl SymbolProvider for Provider<'_> {
    async fn fill_symbol(
        &self,
        module: &(dyn Module + Sync),
        frame: &mut (dyn FrameSymbolizer + Send),
    ) -> Result<(), FillSymbolError> {
        // `get_instruction` is already inside the call instruction for caller frames.
        let instruction = frame.get_instruction();
        let hit = self
            .symbolizer
            .has_function_at(self.snapshot, instruction)
            .ok_or(FillSymbolError {})?;
        // x86 STACK WIN records need what the function's caller pushed for it.
        let base = module.base_address();
        let parameter_size = self
            .unwind_table(base)
            .and_then(|table| table.parameter_size(instruction.checked_sub(base)?))
            .unwrap_or(0);
        frame.set_function(
            &hit.name,
            instruction.saturating_sub(hit.offset),
            parameter_size,
        );
        if let Some(line) = &hit.source_line {
            frame.set_source_file(&line.file, line.line, instruction);
        }
        Ok(())
    }

    async fn walk_frame(
        &self,
        module: &(dyn Module + Sync),
        walker: &mut (dyn FrameWalker + Send),
    ) -> Option<()> {
        // Without records for the module the walker falls back to frame pointers and scanning.
        self.unwind_table(module.base_address())?
            .records
            .walk_frame(module, walker)
    }

    async fn get_file_path(
        &self,
        _module: &(dyn Module + Sync),
        _file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        Err(FileError::NotFound)
    }
}

/// The `trust` of a crash frame in every report (part of the JSON contract).
///
/// Deliberately not `FrameTrust::as_str`: upstream (minidump-unwind 0.27) spells
/// `frame_pointer` and `cfi_scan` with underscores and `FrameTrust::None` as `"non"` (what
/// minidump-processor's JSON output, and so `minidump-stackwalk --json`, writes). dumpleak's
/// names are hyphenated like its other report values and say `none`; they stay as they are
/// because readers of the JSON depend on them.
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

/// What a walk may spend.
#[derive(Debug, Clone, Copy)]
struct Budget {
    frames: usize,
    time: Duration,
}

/// Walks the crashing thread of `snapshot`: `None` when the dump records no exception,
/// `Err` when the walker cannot process the dump. At most `max_frames` frames are kept.
pub fn crash_stack(
    snapshot: &Snapshot,
    symbolizer: &Symbolizer,
    max_frames: usize,
    modules: &mut BTreeMap<String, ModuleSymbolStatus>,
) -> Option<Result<CrashStack, String>> {
    let budget = Budget {
        frames: MAX_WALKED_FRAMES,
        time: WALK_TIME_BUDGET,
    };
    crash_stack_within(snapshot, symbolizer, max_frames, modules, budget)
}

fn crash_stack_within(
    snapshot: &Snapshot,
    symbolizer: &Symbolizer,
    max_frames: usize,
    modules: &mut BTreeMap<String, ModuleSymbolStatus>,
    budget: Budget,
) -> Option<Result<CrashStack, String>> {
    if !records_exception(snapshot) {
        return None;
    }
    let file = snapshot.file.as_ref()?;
    let dump = Minidump::read(file.as_slice()).ok()?;
    let exception = dump.get_stream::<MinidumpException>().ok()?;
    let cannot = |what: &str| {
        Some(Err(format!(
            "the stack walker could not process the dump: {what}"
        )))
    };
    let Ok(system_info) = dump.get_stream::<MinidumpSystemInfo>() else {
        return cannot("it has no usable SystemInfoStream");
    };
    let Some(threads) = dump
        .get_raw_stream(StreamType::ThreadListStream as u32)
        .ok()
    else {
        return cannot("it has no ThreadListStream");
    };
    let misc = dump.get_stream::<MinidumpMiscInfo>().ok();
    let thread = crashing_thread(threads, file.as_slice(), exception.get_crashing_thread_id());
    let walked = thread.as_ref().map(|thread| {
        let context = exception
            .context(&system_info, misc.as_ref())
            .map(std::borrow::Cow::into_owned)
            .or_else(|| {
                let bytes = thread.context?;
                MinidumpContext::read(bytes, dump.endian, &system_info, misc.as_ref()).ok()
            });
        let walk = Walk {
            snapshot,
            symbolizer,
            system_info: unwind_system_info(&system_info),
            endian: dump.endian,
        };
        context.map_or_else(Walked::default, |context| walk.run(thread, context, budget))
    });
    let walked = walked.unwrap_or_default();

    let mut frames = Vec::new();
    for (index, walked) in walked.frames.iter().enumerate().take(max_frames) {
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
    for (module, note) in walked.notes {
        if let Some(status) = modules.get_mut(&module) {
            if !status.notes.contains(&note) {
                status.notes.push(note);
            }
        }
    }
    let address = exception.get_crash_address(system_info.os, system_info.cpu);
    Some(Ok(CrashStack {
        thread_id: thread.map(|thread| thread.id),
        reason: exception
            .get_crash_reason(system_info.os, system_info.cpu)
            .to_string(),
        code: Some(format!(
            "{:#010x}",
            exception.raw.exception_record.exception_code
        )),
        address: format!("{address:#x}"),
        faulting_module: frames
            .first()
            .and_then(|frame| frame.frame.module.clone())
            .or_else(|| {
                snapshot
                    .module_at(address)
                    .map(|module| module.name.clone())
            }),
        more_frames: walked.frames.len() - frames.len(),
        frames,
        walk_stopped: walked.stopped,
    }))
}

/// The crashing thread's entry of the ThreadListStream: its stack and context, as bytes of
/// the file.
#[derive(Debug, Clone, Copy)]
struct RawThread<'a> {
    id: u32,
    /// Start address and bytes of the captured stack.
    stack: Option<(u64, &'a [u8])>,
    context: Option<&'a [u8]>,
}

/// Finds thread `id` in the ThreadListStream `stream` (the last entry with that id, as
/// rust-minidump does) without reading the others: a list of a million threads costs nothing.
fn crashing_thread<'a>(stream: &[u8], file: &'a [u8], id: u32) -> Option<RawThread<'a>> {
    const ENTRY: usize = 48;
    let word = |bytes: &[u8], at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = word(stream, 0)? as usize;
    // Some writers pad the count to 8 bytes.
    let first = match stream.len().checked_sub(count.checked_mul(ENTRY)?)? {
        4 => 4,
        8 => 8,
        _ => return None,
    };
    let location = |entry: &[u8], at: usize| {
        let (size, rva) = (word(entry, at)? as usize, word(entry, at + 4)? as usize);
        file.get(rva..rva.checked_add(size)?)
            .filter(|bytes| !bytes.is_empty())
    };
    stream[first..]
        .chunks_exact(ENTRY)
        .rev()
        .find(|entry| word(entry, 0) == Some(id))
        .map(|entry| RawThread {
            id,
            stack: location(entry, 32).map(|bytes| {
                let start = u64::from_le_bytes(entry[24..32].try_into().unwrap_or_default());
                (start, bytes)
            }),
            context: location(entry, 40),
        })
}

fn unwind_system_info(info: &MinidumpSystemInfo) -> SystemInfo {
    SystemInfo {
        os: info.os,
        os_version: None,
        os_build: None,
        cpu: info.cpu,
        cpu_info: None,
        cpu_microcode_version: None,
        cpu_count: usize::from(info.raw.number_of_processors),
    }
}

/// The frames a walk found (the context frame first) and why it stopped early, if it did.
#[derive(Default)]
struct Walked {
    frames: Vec<StackFrame>,
    stopped: Option<String>,
    /// (module name, note) on call-frame information that could not be used.
    notes: Vec<(String, String)>,
}

/// Raised (with `resume_unwind`, which runs no panic hook) to leave a walk that spent its
/// budget: the walker has no other way to be stopped.
#[cfg_attr(not(panic = "unwind"), allow(dead_code))]
struct StopWalk;

/// What one walk needs besides the thread.
struct Walk<'a> {
    snapshot: &'a Snapshot,
    symbolizer: &'a Symbolizer,
    system_info: SystemInfo,
    endian: minidump::Endian,
}

impl Walk<'_> {
    /// Walks `thread` from `context` within `budget`.
    fn run(&self, thread: &RawThread<'_>, context: MinidumpContext, budget: Budget) -> Walked {
        let mut stack = CallStack::with_context(context);
        stack.thread_id = thread.id;
        let stack_pointer = stack.frames[0].context.get_stack_pointer();
        let memory = self.stack_memory(thread, stack_pointer);
        // Only where each module lies matters to the walker; names stay out of its frames.
        let modules = MinidumpModuleList::from_modules(
            self.snapshot
                .modules
                .iter()
                .map(|module| MinidumpModule::new(module.base, module.size, ""))
                .collect(),
        );
        let provider = Provider {
            symbolizer: self.symbolizer,
            snapshot: self.snapshot,
            unwind: Mutex::new(HashMap::new()),
            notes: Mutex::new(Vec::new()),
        };
        let deadline = Instant::now().checked_add(budget.time);
        let mut stopped = None;
        let on_frame = |index: usize, _: &StackFrame| {
            let reason = if index >= budget.frames {
                format!("at {} frames", budget.frames)
            } else if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                format!("after {} s", budget.time.as_secs())
            } else {
                return;
            };
            stopped = Some(reason);
            stop_walk();
        };
        let walk = walk_stack(
            0,
            on_frame,
            &mut stack,
            memory.as_ref().map(UnifiedMemory::Memory),
            &modules,
            &self.system_info,
            &provider,
        );
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pollster::block_on(walk))) {
            Ok(()) => {}
            Err(payload) if payload.is::<StopWalk>() => {}
            Err(payload) => std::panic::resume_unwind(payload),
        }
        if stopped.is_none() && stack.frames.len() > budget.frames {
            stopped = Some(format!("at {} frames", budget.frames));
        }
        stack.frames.truncate(budget.frames);
        Walked {
            frames: stack.frames,
            stopped,
            notes: provider
                .notes
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// The captured stack: the thread's own when it holds the stack pointer, else the captured
    /// range that does (an exception context may be on another stack), else the thread's.
    fn stack_memory<'a>(
        &self,
        thread: &RawThread<'a>,
        stack_pointer: u64,
    ) -> Option<MinidumpMemory<'a>>
    where
        Self: 'a,
    {
        let holds = |(start, bytes): &(u64, &[u8])| {
            stack_pointer
                .checked_sub(*start)
                .is_some_and(|skip| skip < bytes.len() as u64)
        };
        let captured = || {
            let bytes = self
                .snapshot
                .memory
                .as_ref()?
                .read_up_to(stack_pointer, usize::MAX)?;
            Some((stack_pointer, bytes))
        };
        let (start, bytes) = thread
            .stack
            .filter(holds)
            .or_else(captured)
            .or(thread.stack)?;
        let end = stack_pointer
            .saturating_sub(start)
            .saturating_add(STACK_WINDOW as u64)
            .min(bytes.len() as u64) as usize;
        let bytes = &bytes[..end];
        Some(MinidumpMemory {
            desc: md::MINIDUMP_MEMORY_DESCRIPTOR {
                start_of_memory_range: start,
                memory: md::MINIDUMP_LOCATION_DESCRIPTOR {
                    data_size: bytes.len() as u32,
                    rva: 0,
                },
            },
            base_address: start,
            size: bytes.len() as u64,
            bytes,
            endian: self.endian,
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Leaves the running walk (see [`StopWalk`]).
#[cfg(panic = "unwind")]
fn stop_walk() {
    std::panic::resume_unwind(Box::new(StopWalk));
}

/// Without unwinding the walk runs on; [`STACK_WINDOW`] bounds it and the frames beyond the
/// budget are dropped afterwards.
#[cfg(not(panic = "unwind"))]
fn stop_walk() {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crash of `testdata/batch/cust-b6c2.dmp` (7 frames) walked within `budget`.
    fn walk(budget: Budget) -> CrashStack {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/batch/cust-b6c2.dmp");
        let snapshot = crate::snapshot::load(&path).unwrap();
        let symbolizer = Symbolizer::default();
        crash_stack_within(&snapshot, &symbolizer, 12, &mut BTreeMap::new(), budget)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_walk_within_its_budget_reaches_the_end_of_the_stack() {
        let crash = walk(Budget {
            frames: MAX_WALKED_FRAMES,
            time: WALK_TIME_BUDGET,
        });
        assert_eq!((crash.frames.len(), crash.more_frames), (7, 0));
        assert_eq!(crash.walk_stopped, None);
        assert_eq!(crash.thread_id, Some(0xd94));
    }

    #[test]
    fn the_walk_stops_at_its_frame_budget() {
        let crash = walk(Budget {
            frames: 3,
            time: WALK_TIME_BUDGET,
        });
        assert_eq!((crash.frames.len(), crash.more_frames), (3, 0));
        assert_eq!(crash.walk_stopped.as_deref(), Some("at 3 frames"));
        assert_eq!(crash.frames[2].lines, ["MSMAPI32+0x1a9c4"]);
    }

    #[test]
    fn the_walk_stops_when_its_time_is_spent() {
        let crash = walk(Budget {
            frames: MAX_WALKED_FRAMES,
            time: Duration::ZERO,
        });
        assert_eq!(crash.frames.len(), 1);
        assert_eq!(crash.walk_stopped.as_deref(), Some("after 0 s"));
        assert_eq!(crash.frames[0].lines, ["KERNELBASE+0x34fd9"]);
    }
}
