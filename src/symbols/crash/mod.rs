//! The crashing thread of a dump: the exception and the top frames, named from the same
//! symbol path as handle stacks.
//!
//! Walking the stack needs the `crash` feature (rust-minidump's stack walker). Without it
//! [`crash_stack`] still recognises a dump that records an exception and says why its stack
//! is missing, so reports carry a note instead of silently leaving the crash out.

#[cfg(feature = "crash")]
mod cfi;
#[cfg(feature = "crash")]
mod pe_image;
#[cfg(not(feature = "crash"))]
mod unwalked;
#[cfg(feature = "crash")]
mod walk;

#[cfg(feature = "crash")]
pub(crate) use cfi::UnwindSources;

#[cfg(not(feature = "crash"))]
pub use unwalked::crash_stack;
#[cfg(feature = "crash")]
pub use walk::crash_stack;

use super::Frame;
use crate::snapshot::Snapshot;
use serde::Serialize;

/// One frame of the crashing thread.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CrashFrame {
    /// The frame in WinDbg notation (inlined functions on their own lines first).
    pub lines: Vec<String>,
    /// How the walker found it: `context`, `cfi`, `frame-pointer`, `scan`, ….
    pub trust: String,
    /// The frame, structured.
    pub frame: Frame,
}

/// The exception and the crashing thread's top frames.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CrashStack {
    /// The thread that raised the exception.
    pub thread_id: Option<u32>,
    /// The exception, named (`EXCEPTION_ACCESS_VIOLATION_READ`, `STATUS_NO_MEMORY`, …).
    pub reason: String,
    /// The exception code in hex, when the dump gives one.
    pub code: Option<String>,
    /// The faulting address.
    pub address: String,
    /// Module holding the faulting instruction.
    pub faulting_module: Option<String>,
    /// Top frames, innermost first.
    pub frames: Vec<CrashFrame>,
    /// Frames the walker found beyond those shown.
    pub more_frames: usize,
    /// Why the walk stopped before the end of the stack (`at 1024 frames`, `after 30 s`):
    /// the stack holds more frames than it found. Absent when the walk reached the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_stopped: Option<String>,
}

/// Whether `snapshot` is a minidump with an ExceptionStream (a crash to walk).
fn records_exception(snapshot: &Snapshot) -> bool {
    snapshot.file.as_ref().is_some_and(|file| {
        minidump::Minidump::read(file.as_slice()).is_ok_and(|dump| {
            dump.get_raw_stream(minidump::format::MINIDUMP_STREAM_TYPE::ExceptionStream as u32)
                .is_ok()
        })
    })
}
