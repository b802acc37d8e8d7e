//! Builds the series report from the snapshots of one process in time order.

use super::classify::{classify, fit_xy, sparkline};
use super::model::{ExcludedInput, Exhaustion, SeriesDump, SeriesReport, TypeTrend};
use super::retained::{module_growth, retained_stacks};
use super::{SeriesOptions, TrendClass, TrendRules};
use crate::analysis::model::{DumpSummary, SCHEMA_VERSION};
use crate::snapshot::Snapshot;
use crate::symbols::SymbolTable;
use crate::time::iso8601;
use crate::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};

/// Builds the series report from snapshots in time order (already filtered to one process)
/// and the resolved frames of the last one.
pub fn build_series(
    series: &[Snapshot],
    excluded: Vec<ExcludedInput>,
    symbols: &SymbolTable,
    options: &SeriesOptions,
) -> SeriesReport {
    let rules = &options.rules;
    let n = series.len();
    let last = &series[n - 1];
    let mut warnings = Vec::new();
    if n == 2 {
        warnings.push(Warning::new(WarningCode::TwoDumps, "two dumps show a difference, not a trend: a leak cannot be told from a cache warming up; add dumps from later cycles".to_string(),));
    }
    let retained = retained_stacks(series, symbols, &options.attribution);
    warnings.extend(retained_warning(last, &retained));
    let modules = module_growth(&retained, last, n);
    let exhaustion = exhaustion(series, options.limit, &mut warnings);
    for snapshot in series {
        for warning in &snapshot.warnings {
            warnings.push(warning.clone().in_file(snapshot.file_name()));
        }
    }
    SeriesReport {
        schema_version: SCHEMA_VERSION,
        dumps: series
            .iter()
            .enumerate()
            .map(|(index, snapshot)| SeriesDump {
                index,
                summary: DumpSummary::of(snapshot),
            })
            .collect(),
        excluded,
        rules: *rules,
        total: trend(
            "total",
            series.iter().map(Snapshot::handle_count).collect(),
            rules,
        ),
        types: type_trends(series, rules),
        modules,
        retained,
        exhaustion,
        limit: options.limit,
        warnings,
    }
}

/// One trend per type: leaks first (fastest first), then plateaus, churn, stable.
fn type_trends(series: &[Snapshot], rules: &TrendRules) -> Vec<TypeTrend> {
    let per_dump: Vec<BTreeMap<String, usize>> =
        series.iter().map(Snapshot::counts_by_type).collect();
    let all_types: BTreeSet<&String> = per_dump.iter().flat_map(|counts| counts.keys()).collect();
    let mut types: Vec<TypeTrend> = all_types
        .iter()
        .map(|type_name| {
            let counts = per_dump
                .iter()
                .map(|counts| counts.get(*type_name).copied().unwrap_or(0))
                .collect();
            trend(type_name, counts, rules)
        })
        .collect();
    let class_rank = |class: TrendClass| match class {
        TrendClass::Leak => 0,
        TrendClass::Plateau => 1,
        TrendClass::Churn => 2,
        TrendClass::Stable => 3,
    };
    types.sort_by(|a, b| {
        class_rank(a.class)
            .cmp(&class_rank(b.class))
            .then(b.growth_per_cycle.total_cmp(&a.growth_per_cycle))
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    types
}

fn trend(type_name: &str, counts: Vec<usize>, rules: &TrendRules) -> TypeTrend {
    let (class, slope, r2, reason) = classify(&counts, rules);
    TypeTrend {
        type_name: type_name.to_string(),
        sparkline: sparkline(&counts),
        counts,
        growth_per_cycle: slope,
        fit: r2,
        class,
        reason,
    }
}

/// What the retained stacks cannot say: no trace at all, or retained handles without a
/// record.
fn retained_warning(last: &Snapshot, retained: &[super::model::RetainedStack]) -> Option<Warning> {
    let without_record: usize = retained
        .iter()
        .filter(|stack| stack.frames.is_empty())
        .map(|stack| stack.handles.len())
        .sum();
    if last.trace.is_none() && !retained.is_empty() {
        Some(Warning::new(WarningCode::NoTrace, format!(
            "no allocation stacks: {} has no handle-trace records, so retained handles cannot be attributed to modules; {}",
            last.file_name(),
            crate::snapshot::TRACE_HINT
        )))
    } else if without_record > 0 {
        Some(Warning::new(WarningCode::UntracedHandles, format!(
            "{without_record} retained handles have no trace record in {} (opened before tracing was enabled, or their records fell out of the trace ring buffer)",
            last.file_name()
        )))
    } else {
        None
    }
}

fn exhaustion(series: &[Snapshot], limit: u64, warnings: &mut Vec<Warning>) -> Option<Exhaustion> {
    let times: Option<Vec<f64>> = series
        .iter()
        .map(|snapshot| snapshot.captured_at.map(|t| t as f64))
        .collect();
    let Some(times) = times else {
        warnings.push(Warning::new(
            WarningCode::NoCaptureTime,
            "some inputs have no capture time: the time to exhaustion cannot be estimated",
        ));
        return None;
    };
    let counts: Vec<f64> = series.iter().map(|s| s.handle_count() as f64).collect();
    let (per_second, _) = fit_xy(&times, &counts);
    if per_second <= 0.0 || !per_second.is_finite() {
        return None;
    }
    let last = series.last()?;
    let current = last.handle_count();
    let remaining = limit.saturating_sub(current as u64) as f64;
    let seconds_left = remaining / per_second;
    let reached = last.captured_at? as f64 + seconds_left;
    Some(Exhaustion {
        limit,
        current,
        growth_per_hour: per_second * 3600.0,
        hours_left: seconds_left / 3600.0,
        reached_at: if reached < 253_402_300_800.0 {
            iso8601(reached as u64)
        } else {
            "after the year 9999".to_string()
        },
    })
}
