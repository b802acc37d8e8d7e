//! Text inputs users attach to bug reports: WinDbg/cdb session logs and Sysinternals
//! `handle.exe` output.
//!
//! Pure parsing: [`decode`](decode::decode) turns bytes into text, [`sniff`] tells the kind by
//! content, [`parse_text`] reads it into a [`TextInput`]. The parsed structures convert into the
//! crate's [`Snapshot`](crate::snapshot::Snapshot) (or, for type counts alone, a
//! [`SummarySnapshot`]). Nothing here panics on any input.

pub mod decode;
mod fields;
pub mod frame;
pub mod handle_csv;
pub mod handle_exe;
pub mod markdown;
pub mod windbg;

pub use decode::{decode, decode_to_string, normalize_newlines, DecodedText, TextEncoding};
pub use frame::{
    api_object_type, infer_type, infer_type_from_texts, normalize_frame_text, parse_frame_text,
    parse_hex_address, FrameParts, TextFrame,
};
pub use handle_exe::{parse_handle_exe, HandleExeEntry, HandleExeOutput, HandleExeProcess};
pub use windbg::{parse_windbg_log, split_prompt, HtraceBlock, HtraceRecord, WindbgLog};

use crate::snapshot::{Handle, ProcessInfo};
use fields::hex_label;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The text formats understood, for error messages.
pub const SUPPORTED_FORMATS: &str = "Windows minidumps (MDMP); WinDbg/cdb session logs \
(`!htrace` / `!htrace -diff` output, `ModLoad:` lines, `lm`/`lmv`, `!handle 0 0`, \
`!handle 0 f`; UTF-8 or UTF-16; also quoted in Markdown); Sysinternals handle.exe output \
(`handle -a -p <pid>` listings, `handle -s` summaries, `handle -v` CSV)";

/// What kind of text an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// A WinDbg or cdb session log.
    WindbgLog,
    /// Sysinternals `handle.exe` output.
    HandleExe,
    /// Neither.
    Unknown,
}

/// Handle counts per object type: `!handle 0 0`, `handle -s`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeCounts {
    /// The total the tool printed (`1c2 Handles`, `Total handles: 450`); may differ from the
    /// sum of `counts`.
    pub total: Option<u64>,
    /// Count per type name as printed (`ALPC Port`, `None`).
    pub counts: BTreeMap<String, u64>,
}

impl TypeCounts {
    /// Sum of the per-type counts.
    pub fn sum(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The count for `type_name`, 0 when absent.
    pub fn get(&self, type_name: &str) -> u64 {
        self.counts.get(type_name).copied().unwrap_or(0)
    }
}

/// A handle with only its value known; each parser fills in what its input shows.
fn bare_handle(value: u64) -> Handle {
    Handle::new(value)
}

/// A snapshot that holds type counts only, no handle list (`handle -s`, `!handle 0 0`).
#[derive(Debug, Clone, Serialize)]
pub struct SummarySnapshot {
    /// The file it was read from.
    pub source: PathBuf,
    /// What the input says about the process.
    pub process: ProcessInfo,
    /// The counts.
    pub counts: TypeCounts,
    /// Parse notes.
    pub warnings: Vec<crate::warning::Warning>,
}

/// A parsed text input.
#[derive(Debug, Clone)]
pub enum TextInput {
    /// A debugger log.
    Windbg(WindbgLog),
    /// `handle.exe` output (listing and/or summary).
    HandleExe(HandleExeOutput),
}

/// The text matched no supported format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownText {
    /// The content looks binary (NUL bytes or many control characters), not like text.
    pub binary: bool,
    /// The text is a kernel-mode debugger session (`kd>` prompts, kernel handle tables).
    pub kernel: bool,
}

/// What a user reads when a kernel-mode session is given.
pub const KERNEL_MODE_MESSAGE: &str = "kernel-mode debugger output (a `kd>` session): \
dumpleak reads user-mode WinDbg/cdb logs of one process; run `!htrace` and `!handle 0 f` in \
a user-mode session attached to the process (`cdb -p <pid>`), or give a user-mode dump of it";

impl fmt::Display for UnknownText {
    // The content is never quoted: the file may be anything (a credentials file, say).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kernel {
            return f.write_str(KERNEL_MODE_MESSAGE);
        }
        write!(
            f,
            "not a minidump, debugger log or handle.exe output ({})",
            if self.binary {
                "binary content"
            } else {
                "text of another kind"
            }
        )
    }
}

/// Whether `text` (decoded) looks like binary content: a NUL, or more than 1 % control or
/// undecodable characters among its first 4,096.
pub fn looks_binary(text: &str) -> bool {
    let (mut odd, mut total) = (0usize, 0usize);
    for c in text.chars().take(4096) {
        total += 1;
        if c == '\0' {
            return true;
        }
        if c == char::REPLACEMENT_CHARACTER || (c.is_control() && !c.is_whitespace()) {
            odd += 1;
        }
    }
    odd * 100 > total
}

impl std::error::Error for UnknownText {}

/// Tells the kind of text by content, never by file name.
pub fn sniff(text: &str) -> InputKind {
    let (mut windbg, mut handle) = (0u32, 0u32);
    for line in text.lines().take(20_000) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with("Microsoft (R) Windows Debugger") {
            return InputKind::WindbgLog;
        }
        if handle_exe::banner_version(trimmed).is_some()
            || trimmed.starts_with("Handle type summary:")
            || handle_csv::header(trimmed).is_some()
        {
            return InputKind::HandleExe;
        }
        if trimmed.starts_with("Sysinternals") {
            handle += 3;
        } else if trimmed.starts_with("ModLoad:")
            || trimmed.starts_with("Outstanding handles opened since")
            || trimmed.starts_with("Displayed 0x")
        {
            windbg += 3;
        } else if let Some((command, _)) = split_prompt(trimmed) {
            let verb = command.split_whitespace().next().unwrap_or("");
            let verb = verb.to_ascii_lowercase();
            windbg += if verb == "!htrace" || verb == "!handle" || verb.starts_with("lm") {
                3
            } else {
                1
            };
        } else if trimmed.starts_with("Handle = 0x") || trimmed.starts_with("Thread ID = 0x") {
            windbg += 2;
        } else if trimmed.contains(" pid: ") {
            handle += 2;
        } else if is_handle_exe_line(line) {
            handle += 1;
        }
        if windbg >= 6 && windbg > handle * 2 {
            return InputKind::WindbgLog;
        }
        if handle >= 6 && handle > windbg * 2 {
            return InputKind::HandleExe;
        }
    }
    match (windbg, handle) {
        (0, 0) => InputKind::Unknown,
        (w, h) if w >= 2 && w > h => InputKind::WindbgLog,
        (w, h) if h >= 2 && h > w => InputKind::HandleExe,
        _ => InputKind::Unknown,
    }
}

/// `   4C: ALPC Port`: indented hex, colon, space, a type name.
fn is_handle_exe_line(line: &str) -> bool {
    if !line.starts_with(' ') {
        return false;
    }
    let Some((_, rest)) = hex_label(line.trim_start()) else {
        return false;
    };
    rest.starts_with(' ')
        && rest
            .trim_start()
            .starts_with(|c: char| c.is_ascii_uppercase())
}

/// Whether `text` is kernel-mode debugger output: a `kd>` prompt, a kernel handle table
/// (`PROCESS ffff…` / `Handle table at …`) or a kernel `!htrace` header (`ObjectTable 0x…`).
pub fn is_kernel_mode(text: &str) -> bool {
    text.lines().take(20_000).any(|line| {
        let trimmed = line.trim();
        let kd_prompt = trimmed.starts_with("kd>")
            || trimmed.split_once(": kd>").is_some_and(|(number, _)| {
                !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
            });
        kd_prompt
            || trimmed.starts_with("ObjectTable 0x")
            || (trimmed.starts_with("Handle table at ") && trimmed.contains(" entries in use"))
    })
}

/// Sniffs and parses `text`: Markdown quoting is taken off first, and kernel-mode sessions
/// are refused ([`UnknownText::kernel`]).
pub fn parse_text(text: &str) -> Result<TextInput, UnknownText> {
    if markdown::is_quoted(text) {
        return parse_plain(&markdown::unquote(text));
    }
    parse_plain(text)
}

fn parse_plain(text: &str) -> Result<TextInput, UnknownText> {
    if is_kernel_mode(text) {
        return Err(UnknownText {
            binary: false,
            kernel: true,
        });
    }
    match sniff(text) {
        InputKind::WindbgLog => Ok(TextInput::Windbg(parse_windbg_log(text))),
        InputKind::HandleExe => Ok(TextInput::HandleExe(parse_handle_exe(text))),
        InputKind::Unknown => Err(UnknownText {
            binary: looks_binary(text),
            kernel: false,
        }),
    }
}

/// Decodes and parses `bytes` ([`decode()`] then [`parse_text`]; text that decoding would
/// not change is parsed without a copy).
pub fn parse_bytes(bytes: &[u8]) -> Result<TextInput, UnknownText> {
    match decode::as_plain_utf8(bytes) {
        Some(text) => parse_text(text),
        None => parse_text(&decode(bytes).text),
    }
}
