//! `!handle` output: `!handle 0 0` summaries (`1c2 Handles`, then `Type Count` rows) and
//! `!handle <h> f` blocks (`Handle 1c`, then `Type`, `Name`, `GrantedAccess`, … fields).

use super::super::fields::{hex_or_decimal, non_empty, split_word};
use super::super::frame::parse_hex_address;
use super::super::{bare_handle, TypeCounts};
use crate::snapshot::Handle;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The `!handle` output being read, and what was read so far.
#[derive(Debug, Default)]
pub(super) struct HandleState {
    /// Finished summaries in log order.
    summaries: Vec<TypeCounts>,
    /// The open summary.
    summary: Option<TypeCounts>,
    /// The open summary's `Type Count` header was read: rows follow.
    summary_rows: bool,
    /// The open `!handle … f` block.
    open: Option<Handle>,
    /// Finished blocks by value; a later block replaces an earlier one.
    handles: BTreeMap<u64, Handle>,
}

impl HandleState {
    /// Reads a line of the section (`line` untrimmed, for its indentation). Returns whether
    /// the line was taken.
    pub(super) fn line(&mut self, line: &str, trimmed: &str) -> bool {
        if trimmed.is_empty() || self.summary_line(trimmed) {
            return true;
        }
        if let Some(value) = handle_block_start(trimmed) {
            self.finish_handle();
            self.open = Some(bare_handle(value));
            return true;
        }
        if let Some(handle) = self.open.as_mut() {
            let (key, value) = split_word(trimmed);
            // Indented lines belong to the block (access names, object-specific information).
            if set_field(handle, key, value) || line.starts_with([' ', '\t']) {
                return true;
            }
        }
        trimmed.starts_with("Could not") || trimmed.starts_with("unable to")
    }

    /// The `<N> Handles` line that opens a summary, and the summary's rows. A line that is
    /// neither ends the open summary. Returns whether the line was taken.
    fn summary_line(&mut self, trimmed: &str) -> bool {
        if let Some(total) = handle_count_line(trimmed) {
            self.close();
            self.summary = Some(TypeCounts {
                total: Some(total),
                ..TypeCounts::default()
            });
            return true;
        }
        let Some(summary) = self.summary.as_mut() else {
            return false;
        };
        if !self.summary_rows {
            let mut words = trimmed.split_whitespace();
            if words.next() == Some("Type") && words.next() == Some("Count") {
                self.summary_rows = true;
                return true;
            }
        } else if let Some((kind, count)) = type_count_row(trimmed) {
            *summary.counts.entry(kind).or_insert(0) += count;
            return true;
        }
        self.finish_summary();
        false
    }

    /// Ends the open block and the open summary.
    pub(super) fn close(&mut self) {
        self.finish_handle();
        self.finish_summary();
    }

    fn finish_handle(&mut self) {
        if let Some(handle) = self.open.take() {
            self.handles.insert(handle.value, handle);
        }
    }

    fn finish_summary(&mut self) {
        if let Some(summary) = self.summary.take() {
            self.summaries.push(summary);
        }
        self.summary_rows = false;
    }

    /// The summaries in log order and the handles by value.
    pub(super) fn into_parts(self) -> (Vec<TypeCounts>, Vec<Handle>) {
        (self.summaries, self.handles.into_values().collect())
    }
}

/// A line that starts `!handle` output pasted without its command.
pub(super) fn starts_handle_output(trimmed: &str) -> bool {
    handle_count_line(trimmed).is_some() || handle_block_start(trimmed).is_some()
}

/// Sets the field `key` of a `!handle … f` block. Returns whether `key` is one it reads.
fn set_field(handle: &mut Handle, key: &str, value: &str) -> bool {
    match key {
        "Type" => handle.type_name = non_empty_name(value).map(Arc::from),
        "Name" => handle.object_name = non_empty_name(value).map(Arc::from),
        "Attributes" => handle.attributes = parse_number(value).unwrap_or(0),
        "GrantedAccess" => {
            handle.granted_access = parse_number(value.trim_end_matches(':')).unwrap_or(0)
        }
        "HandleCount" => handle.handle_count = parse_number(value).unwrap_or(0),
        "PointerCount" => handle.pointer_count = parse_number(value).unwrap_or(0),
        _ => return false,
    }
    true
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

/// The trimmed value; `None` when empty or `<none>`.
fn non_empty_name(value: &str) -> Option<String> {
    non_empty(value).filter(|value| value != "<none>" && value != "<NONE>")
}

/// The first word as a 32-bit number: `0x1f0003` is hex, `65537` decimal.
fn parse_number(value: &str) -> Option<u32> {
    let word = value.split_whitespace().next()?;
    u32::try_from(hex_or_decimal(word)?).ok()
}

#[cfg(test)]
mod tests {
    use super::super::super::fields::assert_cases;
    use super::*;

    /// A state that has read `lines`, each of which it must take.
    fn read(lines: &[&str]) -> HandleState {
        let mut state = HandleState::default();
        for line in lines {
            assert!(state.line(line, line.trim()), "{line:?}");
        }
        state
    }

    #[test]
    fn handle_blocks_read_their_fields() {
        let mut state = read(&[
            "Handle 1c",
            "  Type         \tEvent",
            "  Attributes   \t0",
            "  GrantedAccess\t0x1f0003:",
            "         Delete,ReadControl,WriteDac,WriteOwner,Synch",
            "  HandleCount  \t2",
            "  PointerCount \t65537",
            "  Name         \t<none>",
        ]);
        assert!(!state.line("Unrelated", "Unrelated"));
        state.close();
        let (summaries, handles) = state.into_parts();
        assert!(summaries.is_empty());
        let handle = &handles[0];
        assert_eq!(handle.value, 0x1c);
        assert_eq!(handle.type_name.as_deref(), Some("Event"));
        assert_eq!(handle.object_name, None);
        assert_eq!(handle.granted_access, 0x1f0003);
        assert_eq!((handle.handle_count, handle.pointer_count), (2, 65537));
    }

    #[test]
    fn summaries_count_rows_after_their_header() {
        let mut state = read(&["1c2 Handles", "Type  \tCount", "ALPC Port \t3", "Event \t7"]);
        assert!(!state.line("not a row", "not a row"));
        assert!(state.line("", ""));
        let (summaries, _) = state.into_parts();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].total, Some(0x1c2));
        assert_eq!(summaries[0].get("ALPC Port"), 3);
        assert_eq!(summaries[0].get("Event"), 7);
    }

    #[test]
    fn numbers_and_block_starts() {
        assert_eq!(parse_number("0x1f0003 (Delete)"), Some(0x1f0003));
        assert_eq!(parse_number("4294967296"), None);
        assert_eq!(handle_count_line("1c2 Handles"), Some(0x1c2));
        assert_eq!(type_count_row("\t3"), None);
        let starts = [
            ("Handle 1c", Some(0x1c)),
            ("Handle = 0x1c - OPEN", None),
            ("Handle tracing", None),
        ];
        assert_cases(handle_block_start, &starts);
    }
}
