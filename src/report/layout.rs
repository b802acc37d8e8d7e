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
pub(super) fn type_counts<N: std::fmt::Display, C: std::fmt::Display>(
    types: impl IntoIterator<Item = (N, C)>,
) -> String {
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

/// Axis labels for capture times (ISO 8601 UTC) across a series, given with the number each
/// dump is shown with: `HH:MM` when every time falls on one day, `MM-DD HH:MM` when the series
/// crosses midnight, with the year when it crosses a new year; `#N` for a dump without a
/// capture time.
pub(crate) fn numbered_time_labels<'a>(
    times: impl IntoIterator<Item = (usize, Option<&'a str>)>,
) -> Vec<String> {
    let (numbers, times): (Vec<usize>, Vec<Option<&str>>) = times.into_iter().unzip();
    let known: Vec<&str> = times.iter().flatten().copied().collect();
    let same = |range: std::ops::Range<usize>| {
        known
            .windows(2)
            .all(|pair| pair[0].get(range.clone()) == pair[1].get(range.clone()))
    };
    let (one_day, one_year) = (same(0..10), same(0..4));
    times
        .iter()
        .zip(numbers)
        .map(|(time, number)| match time {
            None => format!("#{number}"),
            Some(time) if time.len() < 16 => time.to_string(),
            Some(time) if one_day => time[11..16].to_string(),
            Some(time) if one_year => format!("{} {}", &time[5..10], &time[11..16]),
            Some(time) => format!("{} {}", &time[..10], &time[11..16]),
        })
        .collect()
}

/// `1 dump`, `2 dumps`.
pub(super) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time_labels(times: &[Option<&str>]) -> Vec<String> {
        numbered_time_labels(times.iter().copied().enumerate())
    }

    #[test]
    fn time_labels_show_the_date_only_when_the_series_crosses_midnight() {
        let day = [Some("2026-03-02T15:15:00Z"), Some("2026-03-02T17:00:00Z")];
        assert_eq!(time_labels(&day), ["15:15", "17:00"]);
        let night = [
            Some("2026-03-02T23:00:00Z"),
            None,
            Some("2026-03-03T01:00:00Z"),
        ];
        assert_eq!(time_labels(&night), ["03-02 23:00", "#1", "03-03 01:00"]);
        let new_year = [Some("2026-12-31T23:00:00Z"), Some("2027-01-01T01:00:00Z")];
        assert_eq!(
            time_labels(&new_year),
            ["2026-12-31 23:00", "2027-01-01 01:00"]
        );
    }
    use std::collections::BTreeMap;

    #[test]
    fn type_counts_put_the_count_first_and_keep_the_order() {
        let types = BTreeMap::from([("File".to_string(), 1), ("Event".to_string(), 3)]);
        assert_eq!(type_counts(&types), "3 Event, 1 File");
        assert_eq!(type_counts(&BTreeMap::<String, usize>::new()), "");
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
