//! Wording shared by the `*_layout.rs` files, so that each report says the same thing the
//! same way.

use crate::analysis::DumpSummary;

/// `OrderMailer.exe, pid 3856, x86, Windows 5.1.2600 Service Pack 2, started …`
pub(super) fn process_line(dump: &DumpSummary) -> String {
    let mut parts = vec![dump
        .process
        .clone()
        .unwrap_or_else(|| "(unknown image)".to_string())];
    if let Some(pid) = dump.pid {
        parts.push(format!("pid {pid}"));
    }
    parts.extend(dump.arch.clone());
    parts.extend(dump.os.clone());
    if let Some(started) = &dump.process_started_at {
        parts.push(format!("started {started}"));
    }
    parts.join(", ")
}

/// `3 Event, 1 File`: handle counts by type, in the order given.
pub(super) fn type_counts<'a>(types: impl IntoIterator<Item = (&'a String, &'a usize)>) -> String {
    types
        .into_iter()
        .map(|(name, count)| format!("{count} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `EXCEPTION_ACCESS_VIOLATION_READ (0xc0000005)`: an exception with its code, if known.
pub(super) fn exception(reason: &str, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{reason} ({code})"),
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn type_counts_put_the_count_first_and_keep_the_order() {
        let types = BTreeMap::from([("File".to_string(), 1), ("Event".to_string(), 3)]);
        assert_eq!(type_counts(&types), "3 Event, 1 File");
        assert_eq!(type_counts(&BTreeMap::new()), "");
    }

    #[test]
    fn exception_adds_the_code_only_when_known() {
        assert_eq!(
            exception("STATUS_NO_MEMORY", Some("0xc0000017")),
            "STATUS_NO_MEMORY (0xc0000017)"
        );
        assert_eq!(exception("STATUS_NO_MEMORY", None), "STATUS_NO_MEMORY");
    }
}
