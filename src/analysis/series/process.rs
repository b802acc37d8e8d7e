//! Which inputs form the series: the dumps of one process, in capture-time order.

use super::model::ExcludedInput;
use crate::snapshot::Snapshot;
use crate::time::iso8601;
use std::collections::BTreeMap;

/// Keeps the snapshots of the series' process — the process (pid, start time, image) most
/// inputs belong to; on a tie, the one captured first — in capture-time order; the others are
/// added to `excluded` with the reason.
pub fn one_process(snapshots: Vec<Snapshot>, excluded: &mut Vec<ExcludedInput>) -> Vec<Snapshot> {
    type Key = (Option<u32>, Option<u64>, Option<String>);
    let key = |snapshot: &Snapshot| -> Key {
        (
            snapshot.process.pid,
            snapshot.process.started_at,
            snapshot
                .process
                .image_name
                .as_ref()
                .map(|name| name.to_lowercase()),
        )
    };
    let mut groups: BTreeMap<Key, (usize, Option<u64>)> = BTreeMap::new();
    for snapshot in &snapshots {
        let entry = groups.entry(key(snapshot)).or_insert((0, None));
        entry.0 += 1;
        entry.1 = match (entry.1, snapshot.captured_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let chosen = groups
        .iter()
        .max_by(|(_, (count_a, first_a)), (_, (count_b, first_b))| {
            count_a.cmp(count_b).then_with(|| {
                first_b
                    .unwrap_or(u64::MAX)
                    .cmp(&first_a.unwrap_or(u64::MAX))
            })
        })
        .map(|(key, _)| key.clone());
    let describe = |snapshot: &Snapshot| {
        format!(
            "{} pid {} started {}",
            snapshot.process.image_name.as_deref().unwrap_or("?"),
            snapshot
                .process
                .pid
                .map_or("?".to_string(), |pid| pid.to_string()),
            snapshot.process.started_at.map_or("?".to_string(), iso8601)
        )
    };
    let chosen_description = chosen.as_ref().and_then(|chosen| {
        snapshots
            .iter()
            .find(|snapshot| key(snapshot) == *chosen)
            .map(describe)
    });
    let mut series = Vec::new();
    for snapshot in snapshots {
        let own = key(&snapshot);
        match &chosen {
            Some(chosen) if own != *chosen => excluded.push(ExcludedInput {
                path: snapshot.source.display().to_string(),
                reason: format!(
                    "another process ({}), not the series' {}",
                    describe(&snapshot),
                    chosen_description.as_deref().unwrap_or("?")
                ),
            }),
            _ => series.push(snapshot),
        }
    }
    series.sort_by(|a, b| {
        a.captured_at
            .unwrap_or(u64::MAX)
            .cmp(&b.captured_at.unwrap_or(u64::MAX))
            .then_with(|| a.source.cmp(&b.source))
    });
    series
}
