//! Frame text as WinDbg prints it: `module!symbol+0xoffset [path @ line]`.

use super::fields::{is_hex_u64, non_empty, strip_0x};
use serde::Serialize;

/// One stack frame as printed in a log: the return address and the symbol text beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextFrame {
    /// Return address.
    pub address: u64,
    /// Symbol text as printed (`AcmeNet!AcmeConnectionPool::Acquire+0x00000000000000b1`);
    /// `None` when the line shows only an address.
    pub text: Option<String>,
}

impl TextFrame {
    /// The text in WinDbg notation ([`normalize_frame_text`]), or the address as `0x…`.
    pub fn display(&self) -> String {
        match &self.text {
            Some(text) => normalize_frame_text(text),
            None => format!("{:#x}", self.address),
        }
    }

    /// The text split into parts, when there is text.
    pub fn parts(&self) -> Option<FrameParts> {
        self.text.as_deref().map(parse_frame_text)
    }
}

/// The parts of `module!symbol+0xoffset [source @ line]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FrameParts {
    /// Module name as printed (`KERNELBASE`); `None` for a raw address.
    pub module: Option<String>,
    /// Symbol (`CreateEventW`, `AcmeConnectionPool::Acquire`); `None` for `module+0xrva`.
    pub symbol: Option<String>,
    /// Offset from the symbol (or from the module base when there is no symbol).
    pub offset: Option<u64>,
    /// Source location, the text inside ` [ … ]` (`c:\src\pool.cpp @ 212`).
    pub source: Option<String>,
    /// The whole text was an address (`0x7ffb0a98e1d4`, `00007ffb`0a98e1d4`).
    pub address: Option<u64>,
}

/// Rewrites every `+0x0000…00ab` as `+0xab` (lowercase hex, no padding), trims the text and
/// leaves everything else as printed: `KERNELBASE!CreateEventW+0x000000000000006e` →
/// `KERNELBASE!CreateEventW+0x6e`.
pub fn normalize_frame_text(text: &str) -> String {
    let text = text.trim();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("+0x").or_else(|| rest.find("+0X")) {
        out.push_str(&rest[..at + 3]);
        let after = &rest[at + 3..];
        let digits = after
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(after.len());
        if digits == 0 {
            rest = after;
            continue;
        }
        let trimmed = after[..digits].trim_start_matches('0');
        if trimmed.is_empty() {
            out.push('0');
        } else {
            out.push_str(&trimmed.to_ascii_lowercase());
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Splits frame text into module, symbol, offset and source location. Never fails: what does
/// not fit lands in `symbol`.
pub fn parse_frame_text(text: &str) -> FrameParts {
    let mut parts = FrameParts::default();
    let mut text = text.trim();
    if let Some(open) = text.rfind(" [") {
        if text.ends_with(']') {
            parts.source = Some(text[open + 2..text.len() - 1].trim().to_owned());
            text = text[..open].trim_end();
        }
    }
    if text.is_empty() {
        return parts;
    }
    let looks_like_address = strip_0x(text).is_some() || text.contains('`') || text.len() >= 8;
    if looks_like_address {
        if let Some(address) = parse_hex_address(text) {
            parts.address = Some(address);
            return parts;
        }
    }
    let (body, offset) = split_offset(text);
    parts.offset = offset;
    match body.find('!') {
        Some(bang) => {
            parts.module = non_empty(&body[..bang]);
            parts.symbol = non_empty(&body[bang + 1..]);
        }
        None if offset.is_some() => parts.module = non_empty(body),
        None => parts.symbol = non_empty(body),
    }
    parts
}

/// Splits a trailing `+0xhex` (or `+hex`) off; the offset must run to the end of `text`.
fn split_offset(text: &str) -> (&str, Option<u64>) {
    if let Some(plus) = text.rfind('+') {
        let tail = &text[plus + 1..];
        let digits = strip_0x(tail).unwrap_or(tail);
        if is_hex_u64(digits) {
            if let Ok(offset) = u64::from_str_radix(digits, 16) {
                return (&text[..plus], Some(offset));
            }
        }
    }
    (text, None)
}

/// Parses `0x7ffb0a98e1d4`, `00007ffb`0a98e1d4` or `77a5f1c4` (hex, up to 64 bits).
pub fn parse_hex_address(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = strip_0x(text).unwrap_or(text);
    let mut value: u64 = 0;
    let mut count = 0usize;
    for byte in digits.bytes() {
        if byte == b'`' {
            continue;
        }
        let digit = (byte as char).to_digit(16)?;
        value = value.checked_mul(16)?.checked_add(u64::from(digit))?;
        count += 1;
    }
    (count > 0).then_some(value)
}

/// Object type created by a Windows API, by the function's name (`CreateEventW` → `Event`).
/// Follows the API → object type table of the format notes; `None` for anything else.
pub fn api_object_type(function: &str) -> Option<&'static str> {
    let mut name = function.trim();
    // x86 stdcall decoration `_NtCreateMutant@8` and kernel32 thunk suffixes.
    if let Some(at) = name.rfind('@') {
        if name[at + 1..].bytes().all(|b| b.is_ascii_digit()) {
            name = &name[..at];
        }
    }
    for candidate in [name, name.trim_start_matches('_')] {
        let candidate = candidate
            .strip_suffix("Stub")
            .or_else(|| candidate.strip_suffix("Implementation"))
            .unwrap_or(candidate);
        if let Some(kind) = lookup_api(candidate) {
            return Some(kind);
        }
    }
    None
}

/// `(name, object type, prefix?)`: a prefix entry matches any name starting with it (the `*`
/// of the table), an exact entry matches the name alone. Order matters: longer prefixes first.
const API_TABLE: &[(&str, &str, bool)] = &[
    ("CreateFileMapping", "Section", true),
    ("OpenFileMapping", "Section", true),
    ("CreateMutex", "Mutant", true),
    ("OpenMutex", "Mutant", true),
    ("CreateEvent", "Event", true),
    ("OpenEvent", "Event", true),
    ("CreateSemaphore", "Semaphore", true),
    ("OpenSemaphore", "Semaphore", true),
    ("CreateFile", "File", true),
    ("ReOpenFile", "File", false),
    ("FindFirstFile", "File", true),
    ("CreateNamedPipe", "File", true),
    ("CreateMailslot", "File", true),
    ("RegCreateKey", "Key", true),
    ("RegOpenKey", "Key", true),
    ("RegOpenCurrentUser", "Key", false),
    ("RegOpenUserClassesRoot", "Key", false),
    ("CreateThread", "Thread", false),
    ("CreateRemoteThread", "Thread", true),
    ("OpenThread", "Thread", false),
    ("_beginthreadex", "Thread", false),
    ("_beginthread", "Thread", false),
    ("OpenProcessToken", "Token", false),
    ("OpenThreadToken", "Token", false),
    ("DuplicateToken", "Token", true),
    ("OpenProcess", "Process", false),
    ("CreateProcess", "Process", true),
    ("CreateWaitableTimer", "Timer", true),
    ("OpenWaitableTimer", "Timer", true),
    ("CreateIoCompletionPort", "IoCompletion", false),
];

/// Native API names after the `Nt`/`Zw` prefix; exact matches.
const NATIVE_TABLE: &[(&str, &str)] = &[
    ("CreateMutant", "Mutant"),
    ("OpenMutant", "Mutant"),
    ("CreateSection", "Section"),
    ("CreateSectionEx", "Section"),
    ("OpenSection", "Section"),
    ("CreateEvent", "Event"),
    ("OpenEvent", "Event"),
    ("CreateSemaphore", "Semaphore"),
    ("OpenSemaphore", "Semaphore"),
    ("CreateFile", "File"),
    ("OpenFile", "File"),
    ("CreateNamedPipeFile", "File"),
    ("CreateMailslotFile", "File"),
    ("CreateKey", "Key"),
    ("CreateKeyTransacted", "Key"),
    ("OpenKey", "Key"),
    ("OpenKeyEx", "Key"),
    ("OpenKeyTransacted", "Key"),
    ("OpenKeyTransactedEx", "Key"),
    ("CreateThread", "Thread"),
    ("CreateThreadEx", "Thread"),
    ("OpenThread", "Thread"),
    ("OpenProcess", "Process"),
    ("CreateProcess", "Process"),
    ("CreateProcessEx", "Process"),
    ("CreateUserProcess", "Process"),
    ("OpenProcessToken", "Token"),
    ("OpenProcessTokenEx", "Token"),
    ("OpenThreadToken", "Token"),
    ("OpenThreadTokenEx", "Token"),
    ("DuplicateToken", "Token"),
    ("CreateToken", "Token"),
    ("CreateTimer", "Timer"),
    ("OpenTimer", "Timer"),
    ("CreateIoCompletion", "IoCompletion"),
    ("OpenIoCompletion", "IoCompletion"),
];

/// Names that start like a table entry but create something else.
const NOT_APIS: &[&str] = &["CreateEventLog", "OpenEventLog", "CreateFileTransaction"];

fn lookup_api(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.contains("::") {
        return None;
    }
    for native in ["Nt", "Zw"] {
        if let Some(rest) = name.strip_prefix(native) {
            if let Some((_, kind)) = NATIVE_TABLE.iter().find(|(api, _)| *api == rest) {
                return Some(kind);
            }
        }
    }
    if NOT_APIS.iter().any(|bad| name.starts_with(bad)) {
        return None;
    }
    API_TABLE
        .iter()
        .find(|(api, _, prefix)| {
            if *prefix {
                name.starts_with(api)
            } else {
                name == *api
            }
        })
        .map(|(_, kind, _)| *kind)
}

/// The object type the innermost frame naming a known API creates (`KERNELBASE!CreateEventW`
/// → `Event`); frames are innermost first, as `!htrace` prints them.
pub fn infer_type(frames: &[TextFrame]) -> Option<&'static str> {
    frames.iter().find_map(|frame| {
        let parts = frame.parts()?;
        api_object_type(parts.symbol.as_deref()?)
    })
}

/// [`infer_type`] over frame texts alone.
pub fn infer_type_from_texts<'a, I>(texts: I) -> Option<&'static str>
where
    I: IntoIterator<Item = &'a str>,
{
    texts.into_iter().find_map(|text| {
        let parts = parse_frame_text(text);
        api_object_type(parts.symbol.as_deref()?)
    })
}
