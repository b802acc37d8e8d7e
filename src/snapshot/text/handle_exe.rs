//! Sysinternals `handle.exe` output: `handle -a -p <pid>` listings (one or several processes)
//! and `handle -s` type summaries.
//!
//! ```text
//! ------------------------------------------------------------------------------
//! PrintApp.exe pid: 5520 CONTOSO\kmeyer
//!    40: File          (RW-)   C:\Program Files\PrintApp
//!    4C: ALPC Port
//! ```

use super::fields::{clip, hex_label, split_word};
use super::{bare_handle, SummarySnapshot, TypeCounts};
use crate::snapshot::{Handle, InputFormat, ProcessInfo, Snapshot};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// Everything read from one `handle.exe` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HandleExeOutput {
    /// The tool's version from the banner (`5.0` from `Nthandle v5.0`).
    pub version: Option<String>,
    /// Processes listed by `handle -a -p …`, in order.
    pub processes: Vec<HandleExeProcess>,
    /// The `handle -s` summary, when present.
    pub summary: Option<TypeCounts>,
    /// Things the parser noticed (lines it could not read, error messages of the tool).
    pub notes: Vec<String>,
}

/// One process block of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HandleExeProcess {
    /// Image name (`PrintApp.exe`).
    pub image_name: String,
    /// Process id (decimal in the listing).
    pub pid: u32,
    /// Account the process runs as (`CONTOSO\kmeyer`); `None` when not shown or not readable.
    pub user: Option<String>,
    /// Handles in the order listed.
    pub handles: Vec<HandleExeEntry>,
}

/// One handle line: `   40: File          (RW-)   C:\Program Files\PrintApp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandleExeEntry {
    /// Handle value (hex in the listing).
    pub value: u64,
    /// Object type (`File`, `ALPC Port`), shared by the entries of one listing.
    pub type_name: Arc<str>,
    /// Share access of File handles, the text inside the parentheses (`RW-`, `R-D`).
    pub share: Option<Arc<str>>,
    /// Object name; `None` for unnamed objects.
    pub name: Option<String>,
    /// Granted access mask, when the output shows one (the `Access` column of `handle -v`).
    pub access: Option<u32>,
}

impl HandleExeEntry {
    /// The entry as a crate [`Handle`]: type, name and the access mask when shown (handle.exe
    /// shows no counts; the share access has no place there).
    pub fn to_handle(&self) -> Handle {
        Handle {
            type_name: Some(Arc::clone(&self.type_name)),
            object_name: self.name.as_deref().map(Arc::from),
            granted_access: self.access.unwrap_or(0),
            ..bare_handle(self.value)
        }
    }
}

impl HandleExeProcess {
    /// The process as a [`Snapshot`]: process info and handle table, no modules, no trace.
    pub fn to_snapshot(&self, source: &Path) -> Snapshot {
        Snapshot {
            source: source.to_path_buf(),
            input: InputFormat::HandleExe,
            type_counts: None,
            stated_total: None,
            frame_text: Default::default(),
            process: ProcessInfo {
                pid: Some(self.pid),
                image_name: Some(self.image_name.clone()),
                ..ProcessInfo::default()
            },
            captured_at: None,
            dump_flags: 0,
            modules: Vec::new(),
            unloaded_modules: Vec::new(),
            thread_names: Default::default(),
            handles: Some(self.handles.iter().map(HandleExeEntry::to_handle).collect()),
            compact_handles: None,
            trace: None,
            memory: None,
            file: None,
            warnings: Vec::new(),
            content_hash: None,
        }
    }
}

impl HandleExeOutput {
    /// One snapshot per listed process, parse notes attached as warnings.
    pub fn to_snapshots(&self, source: &Path) -> Vec<Snapshot> {
        self.processes
            .iter()
            .map(|process| {
                let mut snapshot = process.to_snapshot(source);
                snapshot.warnings.extend(self.warnings());
                snapshot
            })
            .collect()
    }

    /// The parse notes as warnings.
    pub fn warnings(&self) -> Vec<crate::warning::Warning> {
        crate::warning::notes(
            crate::warning::WarningCode::LogNote,
            self.notes.iter().cloned(),
        )
    }

    /// The process with `pid`, or the only process when `pid` is `None`.
    pub fn process(&self, pid: Option<u32>) -> Option<&HandleExeProcess> {
        match pid {
            Some(pid) => self.processes.iter().find(|process| process.pid == pid),
            None if self.processes.len() == 1 => self.processes.first(),
            None => None,
        }
    }

    /// The `handle -s` summary as a [`SummarySnapshot`] (type counts, no handle list).
    pub fn to_summary(&self, source: &Path) -> Option<SummarySnapshot> {
        let counts = self.summary.clone()?;
        let process = match self.process(None) {
            Some(process) => ProcessInfo {
                pid: Some(process.pid),
                image_name: Some(process.image_name.clone()),
                ..ProcessInfo::default()
            },
            None => ProcessInfo::default(),
        };
        Some(SummarySnapshot {
            source: source.to_path_buf(),
            process,
            counts,
            warnings: self.warnings(),
        })
    }
}

/// Parses `handle.exe` output. Never fails; unreadable lines become notes.
pub fn parse_handle_exe(text: &str) -> HandleExeOutput {
    let mut out = HandleExeOutput::default();
    // A listing repeats a few type names and share modes on every line: share them.
    let mut shared: foldhash::HashSet<Arc<str>> = foldhash::HashSet::default();
    let mut intern = |text: &str| -> Arc<str> {
        match shared.get(text) {
            Some(existing) => Arc::clone(existing),
            None => {
                let new: Arc<str> = Arc::from(text);
                shared.insert(Arc::clone(&new));
                new
            }
        }
    };
    let mut in_summary = false;
    let mut csv_columns: Option<Vec<String>> = None;
    let mut unread = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(version) = banner_version(trimmed) {
            out.version = Some(version.to_owned());
            continue;
        }
        if let Some(columns) = super::handle_csv::header(trimmed) {
            csv_columns = Some(columns);
            continue;
        }
        if let Some(columns) = &csv_columns {
            if let Some(row) = super::handle_csv::row(columns, trimmed) {
                add_csv_row(&mut out, row, &mut intern);
                continue;
            }
        }
        if trimmed.starts_with("Copyright") || trimmed.starts_with("Sysinternals") {
            continue;
        }
        if trimmed.bytes().all(|b| b == b'-') {
            in_summary = false;
            continue;
        }
        if trimmed.eq_ignore_ascii_case("Handle type summary:") {
            in_summary = true;
            out.summary.get_or_insert_with(TypeCounts::default);
            continue;
        }
        if let Some(total) = trimmed.strip_prefix("Total handles:") {
            let summary = out.summary.get_or_insert_with(TypeCounts::default);
            summary.total = total.trim().parse().ok();
            in_summary = false;
            continue;
        }
        if in_summary {
            if let Some((kind, count)) = summary_line(trimmed) {
                let summary = out.summary.get_or_insert_with(TypeCounts::default);
                *summary.counts.entry(kind).or_insert(0) += count;
                continue;
            }
        }
        if let Some(entry) = handle_line(trimmed, &mut intern) {
            match out.processes.last_mut() {
                Some(process) => process.handles.push(entry),
                None => out.notes.push(format!(
                    "line {}: handle {:#x} listed before any process line; ignored",
                    index + 1,
                    entry.value
                )),
            }
            continue;
        }
        if let Some(process) = process_line(trimmed) {
            out.processes.push(process);
            continue;
        }
        if trimmed.starts_with("No matching handles found") {
            out.notes.push(trimmed.to_owned());
            continue;
        }
        unread += 1;
        if unread <= MAX_LINE_NOTES {
            out.notes.push(format!(
                "line {}: not understood: {}",
                index + 1,
                clip(trimmed)
            ));
        }
    }
    if unread > MAX_LINE_NOTES {
        out.notes.push(format!(
            "{} more lines not understood",
            unread - MAX_LINE_NOTES
        ));
    }
    out
}

/// `Nthandle v5.0 - Handle viewer` (4.x and later), `Handle v3.51` (3.x): the version.
pub(super) fn banner_version(trimmed: &str) -> Option<&str> {
    let rest = trimmed
        .strip_prefix("Nthandle v")
        .or_else(|| trimmed.strip_prefix("Handle v"))?;
    let version = rest.split_whitespace().next()?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(version)
}

/// Adds a `handle -v` row to its process: the one listed with the same pid and image name,
/// wherever its earlier rows are (rows of one process may be split around another's), else a
/// new one.
fn add_csv_row(
    out: &mut HandleExeOutput,
    row: super::handle_csv::CsvRow,
    intern: &mut impl FnMut(&str) -> Arc<str>,
) {
    let same =
        |process: &HandleExeProcess| process.pid == row.pid && process.image_name == row.process;
    // The last process first: rows of one process are usually together.
    let index = match out.processes.last().filter(|process| same(process)) {
        Some(_) => out.processes.len() - 1,
        None => match out.processes.iter().position(same) {
            Some(index) => index,
            None => {
                out.processes.push(HandleExeProcess {
                    image_name: row.process.clone(),
                    pid: row.pid,
                    user: row.user.clone(),
                    handles: Vec::new(),
                });
                out.processes.len() - 1
            }
        },
    };
    out.processes[index].handles.push(HandleExeEntry {
        value: row.handle,
        type_name: intern(&row.type_name),
        share: row.share.as_deref().map(&mut *intern),
        name: row.name,
        access: row.access,
    });
}

/// Lines reported one by one before the rest are only counted.
const MAX_LINE_NOTES: usize = 20;

/// `  ALPC Port       : 1142`.
fn summary_line(line: &str) -> Option<(String, u64)> {
    let colon = line.rfind(':')?;
    let kind = line[..colon].trim();
    let count = line[colon + 1..].trim().parse().ok()?;
    (!kind.is_empty()).then(|| (kind.to_owned(), count))
}

/// `PrintApp.exe pid: 5520 CONTOSO\kmeyer` (the user may be missing or `<unable to open process>`).
fn process_line(line: &str) -> Option<HandleExeProcess> {
    let at = line.find(" pid: ")?;
    let image_name = line[..at].trim();
    let rest = line[at + " pid: ".len()..].trim_start();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let pid = rest[..digits].parse().ok()?;
    let user = rest[digits..].trim();
    let user = (!user.is_empty() && !user.trim_start_matches('\\').starts_with('<'))
        .then(|| user.to_owned());
    if image_name.is_empty() {
        return None;
    }
    Some(HandleExeProcess {
        image_name: image_name.to_owned(),
        pid,
        user,
        handles: Vec::new(),
    })
}

/// Type names that contain a space: the column is not wide enough to tell them from a name.
const SPACED_TYPES: &[&str] = &["ALPC Port"];

/// `4C: ALPC Port`, `40: File          (RW-)   C:\Program Files\PrintApp`.
fn handle_line(line: &str, intern: &mut impl FnMut(&str) -> Arc<str>) -> Option<HandleExeEntry> {
    let (value_text, rest) = hex_label(line)?;
    let value = u64::from_str_radix(value_text, 16).ok()?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    let (type_name, name) = split_type(rest);
    let (share, name) = split_share(name);
    Some(HandleExeEntry {
        value,
        type_name: intern(type_name),
        share: share.map(|share| intern(&share)),
        name: (!name.is_empty()).then(|| name.to_owned()),
        access: None,
    })
}

fn split_type(rest: &str) -> (&str, &str) {
    for spaced in SPACED_TYPES {
        if let Some(after) = rest.strip_prefix(spaced) {
            if after.is_empty() || after.starts_with([' ', '\t']) {
                return (spaced, after.trim());
            }
        }
    }
    split_word(rest)
}

/// `(RW-)   C:\path` → (`RW-`, `C:\path`).
fn split_share(name: &str) -> (Option<String>, &str) {
    if let Some(inner) = name.strip_prefix('(') {
        if let Some(close) = inner.find(')') {
            let share = &inner[..close];
            if !share.is_empty()
                && share.len() <= 4
                && share
                    .bytes()
                    .all(|b| matches!(b, b'R' | b'W' | b'D' | b'-'))
            {
                return (Some(share.to_owned()), inner[close + 1..].trim());
            }
        }
    }
    (None, name)
}
