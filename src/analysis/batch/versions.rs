//! Versions of one module against each other: for every module loaded in two or more versions
//! across a batch, does one version go with higher handle counts than the others?
//!
//! Each version's dumps are compared with the dumps that load another version of the module
//! by a two-sided Mann–Whitney U test ([`super::stats::mann_whitney`]). A version *stands
//! out* when that test gives p < [`SIGNIFICANCE`] with its median higher; with fewer than
//! [`MIN_GROUP_DUMPS`] dumps on either side no verdict is given. Dumps without handle data take
//! no part.

use super::model::{DumpRow, VersionComparison, VersionStats};
use super::stats::{mann_whitney, median, quantile};
use std::collections::BTreeMap;

/// Smallest number of dumps on each side of a comparison for a verdict (with 4 and 4 the
/// smallest possible two-sided p is 0.029).
pub const MIN_GROUP_DUMPS: usize = 4;
/// The significance level of the rank test.
pub const SIGNIFICANCE: f64 = 0.05;

/// Handle counts of the dumps loading each version of each module: by the name in lower case,
/// the name as first met, and per version the counts.
pub(super) type VersionCounts = BTreeMap<String, (String, BTreeMap<Option<String>, Vec<f64>>)>;

/// The modules of `rows` loaded in two or more versions, versions compared; modules where a
/// version stands out first (smallest p first), then by p.
pub fn version_comparisons(
    rows: &[&DumpRow],
    include: impl Fn(&str) -> bool,
) -> Vec<VersionComparison> {
    let mut counts: VersionCounts = BTreeMap::new();
    for row in rows {
        let Some(handles) = row.handle_count else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
        for module in row.modules.iter().filter(|module| include(&module.name)) {
            let key = module.name.to_lowercase();
            if seen.insert((key.clone(), module.version.clone())) {
                counts
                    .entry(key)
                    .or_insert_with(|| (module.name.clone(), BTreeMap::new()))
                    .1
                    .entry(module.version.clone())
                    .or_default()
                    .push(handles as f64);
            }
        }
    }
    comparisons_of(counts)
}

/// [`version_comparisons`] from the counts gathered.
pub(super) fn comparisons_of(counts: VersionCounts) -> Vec<VersionComparison> {
    let mut comparisons: Vec<VersionComparison> = counts
        .into_values()
        .filter(|(_, versions)| versions.len() >= 2)
        .map(|(name, versions)| compare(name, &versions))
        .collect();
    comparisons.sort_by(|a, b| {
        b.high_version
            .is_some()
            .cmp(&a.high_version.is_some())
            .then_with(|| {
                a.p_value
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.p_value.unwrap_or(f64::INFINITY))
            })
            .then_with(|| a.module.to_lowercase().cmp(&b.module.to_lowercase()))
    });
    comparisons
}

/// One version tested against the dumps of the module's other versions.
struct Test {
    version: Option<String>,
    effect: Option<f64>,
    p_value: f64,
    higher: bool,
}

fn compare(module: String, versions: &BTreeMap<Option<String>, Vec<f64>>) -> VersionComparison {
    let mut stats: Vec<VersionStats> = versions
        .iter()
        .map(|(version, counts)| VersionStats {
            version: version.clone(),
            dumps: counts.len(),
            median_handles: median(counts).unwrap_or(0.0),
            q1: quantile(counts, 0.25).unwrap_or(0.0),
            q3: quantile(counts, 0.75).unwrap_or(0.0),
            max: counts.iter().copied().fold(0.0, f64::max) as usize,
            counts: {
                let mut sorted: Vec<usize> = counts.iter().map(|count| *count as usize).collect();
                sorted.sort_unstable();
                sorted
            },
        })
        .collect();
    stats.sort_by(|a, b| {
        b.dumps
            .cmp(&a.dumps)
            .then_with(|| b.median_handles.total_cmp(&a.median_handles))
            .then_with(|| a.version.cmp(&b.version))
    });
    let tests: Vec<Test> = versions
        .iter()
        .filter_map(|(version, counts)| {
            let others: Vec<f64> = versions
                .iter()
                .filter(|(other, _)| *other != version)
                .flat_map(|(_, counts)| counts.iter().copied())
                .collect();
            if counts.len() < MIN_GROUP_DUMPS || others.len() < MIN_GROUP_DUMPS {
                return None;
            }
            let test = mann_whitney(counts, &others)?;
            let (mine, theirs) = (median(counts)?, median(&others)?);
            Some(Test {
                version: version.clone(),
                effect: (theirs > 0.0).then(|| mine / theirs),
                p_value: test.p_value,
                higher: mine > theirs,
            })
        })
        .collect();
    let standing_out = tests
        .iter()
        .filter(|test| test.higher && test.p_value < SIGNIFICANCE)
        .min_by(|a, b| a.p_value.total_cmp(&b.p_value));
    let strongest = tests.iter().min_by(|a, b| a.p_value.total_cmp(&b.p_value));
    let reported = standing_out.or(strongest);
    let verdict = verdict(&module, &stats, standing_out, strongest);
    VersionComparison {
        high_version: standing_out.map(|test| version_label(&test.version)),
        effect: reported.and_then(|test| test.effect),
        p_value: reported.map(|test| test.p_value),
        module,
        versions: stats,
        verdict,
    }
}

fn version_label(version: &Option<String>) -> String {
    version
        .clone()
        .unwrap_or_else(|| "(no version)".to_string())
}

/// `MSMAPI32.DLL: 11.0.5601.0 median 410 (25 dumps) vs 11.0.8161.0 median 186 (12 dumps);
/// 11.0.5601.0 goes with higher handle counts (2.2×, p = 0.0012)`.
fn verdict(
    module: &str,
    stats: &[VersionStats],
    standing_out: Option<&Test>,
    strongest: Option<&Test>,
) -> String {
    let versions = stats
        .iter()
        .map(|version| {
            format!(
                "{} median {} ({})",
                version_label(&version.version),
                number(version.median_handles),
                dumps_text(version.dumps)
            )
        })
        .collect::<Vec<_>>()
        .join(" vs ");
    let conclusion = match (standing_out, strongest) {
        (Some(test), _) => format!(
            "{} goes with higher handle counts ({}, {})",
            version_label(&test.version),
            test.effect
                .map_or("higher".to_string(), |effect| format!("{effect:.1}×")),
            p_text(test.p_value)
        ),
        (None, Some(test)) => format!(
            "no version stands out (strongest: {}, {})",
            version_label(&test.version),
            p_text(test.p_value)
        ),
        (None, None) => format!(
            "too few dumps per version for a test (at least {MIN_GROUP_DUMPS} on each side)"
        ),
    };
    format!("{module}: {versions}; {conclusion}")
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A p-value as a report states it: `p = 0.0012`, `p < 0.0001`.
pub fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".to_string()
    } else {
        format!("p = {p:.4}")
    }
}

/// `1 dump`, `2 dumps`.
pub(crate) fn dumps_text(count: usize) -> String {
    if count == 1 {
        "1 dump".to_string()
    } else {
        format!("{count} dumps")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::batch::model::test_row;

    fn row(file: &str, handles: Option<usize>, version: &str) -> DumpRow {
        test_row(file, "MailSvc.exe", handles, &[("MSMAPI32.DLL", version)])
    }

    #[test]
    fn a_version_with_higher_counts_stands_out() {
        let mut rows = Vec::new();
        for (index, handles) in [900, 1200, 760, 1400, 980].iter().enumerate() {
            rows.push(row(&format!("a{index}"), Some(*handles), "11.0.5601.0"));
        }
        for (index, handles) in [60, 75, 80, 52, 66].iter().enumerate() {
            rows.push(row(&format!("b{index}"), Some(*handles), "11.0.8161.0"));
        }
        rows.push(row("no-handles", None, "11.0.8161.0"));
        let refs: Vec<&DumpRow> = rows.iter().collect();
        let comparisons = version_comparisons(&refs, |_| true);
        assert_eq!(comparisons.len(), 1);
        let comparison = &comparisons[0];
        assert_eq!(comparison.high_version.as_deref(), Some("11.0.5601.0"));
        assert!((comparison.p_value.unwrap() - 2.0 / 252.0).abs() < 1e-12);
        assert!((comparison.effect.unwrap() - 980.0 / 66.0).abs() < 1e-9);
        assert_eq!(
            comparison.versions[1].dumps, 5,
            "the dump without handles is left out"
        );
        assert!(comparison.verdict.starts_with(
            "MSMAPI32.DLL: 11.0.5601.0 median 980 (5 dumps) vs 11.0.8161.0 median 66 (5 dumps); 11.0.5601.0 goes with higher handle counts (14.8×, p = 0.0079)"
        ), "{}", comparison.verdict);
    }

    #[test]
    fn a_tiny_p_value_reads_p_below_not_p_equals_below() {
        let rows: Vec<DumpRow> = (0..20)
            .map(|index| {
                let (handles, version) = if index < 10 {
                    (1000 + index, "1")
                } else {
                    (10 + index, "2")
                };
                row(&format!("{index:02}"), Some(handles), version)
            })
            .collect();
        let refs: Vec<&DumpRow> = rows.iter().collect();
        let comparison = &version_comparisons(&refs, |_| true)[0];
        assert!(comparison.p_value.unwrap() < 0.0001);
        assert!(
            comparison.verdict.ends_with("×, p < 0.0001)"),
            "{}",
            comparison.verdict
        );
        assert_eq!(p_text(0.01234), "p = 0.0123");
    }

    #[test]
    fn no_verdict_below_the_minimum_and_none_without_a_difference() {
        let rows: Vec<DumpRow> = [(100, "1"), (200, "1"), (150, "2"), (120, "2")]
            .iter()
            .enumerate()
            .map(|(index, (handles, version))| row(&format!("{index}"), Some(*handles), version))
            .collect();
        let refs: Vec<&DumpRow> = rows.iter().collect();
        let comparison = &version_comparisons(&refs, |_| true)[0];
        assert_eq!(comparison.high_version, None);
        assert!(comparison
            .verdict
            .ends_with("too few dumps per version for a test (at least 4 on each side)"));

        let rows: Vec<DumpRow> = (0..10)
            .map(|index| {
                row(
                    &format!("{index}"),
                    Some(100 + index),
                    if index % 2 == 0 { "1" } else { "2" },
                )
            })
            .collect();
        let refs: Vec<&DumpRow> = rows.iter().collect();
        let comparison = &version_comparisons(&refs, |_| true)[0];
        assert_eq!(comparison.high_version, None);
        assert!(
            comparison.verdict.contains("no version stands out"),
            "{}",
            comparison.verdict
        );
    }
}
