//! Builds the series report from the segments of the series (each the dumps of one process in
//! series order), one analysis per segment.

use super::model::{
    ExcludedInput, Exhaustion, RetainedStack, SeriesDump, SeriesReport, SeriesSegment, TypeTrend,
};
use super::retained::{module_growth, retained_stacks, verdict_order};
use super::words::{sparkline, Timeline};
use super::{OrderUsed, SeriesOptions, EXHAUSTION_HORIZON_HOURS};
use crate::analysis::model::{DumpSummary, SCHEMA_VERSION};
use crate::analysis::trend::{hours_to_limit, Class, Verdict};
use crate::snapshot::{HandleIdentity, Snapshot};
use crate::symbols::SymbolTable;
use crate::time::iso8601;
use crate::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};

/// The series decided by [`super::plan`], loaded: its segments in series order (each with the
/// resolved frames of its last dump), what was left out, the order used and the warnings of
/// the plan.
pub struct Series<'a> {
    /// One entry per segment (a segment without snapshots is skipped).
    pub segments: Vec<Segment<'a>>,
    /// Inputs left out.
    pub excluded: Vec<ExcludedInput>,
    /// The order used.
    pub order: OrderUsed,
    /// Warnings about the order and the restarts.
    pub warnings: Vec<Warning>,
}

/// One segment of a [`Series`]: its dumps in series order, the resolved frames of its last
/// dump and its retained handles.
///
/// Only the last dump is read whole; of the others the report reads what a digest keeps
/// (process, capture time, counts per type, trace record count, warnings), so a long series
/// can hold its earlier dumps as digests (`type_counts` set, `handles` and trace records
/// dropped) with `retained` computed while they were whole ([`super::tracking`]).
pub struct Segment<'a> {
    /// The snapshots in series order.
    pub snapshots: &'a [Snapshot],
    /// The resolved frames of the last snapshot.
    pub symbols: &'a SymbolTable,
    /// The last snapshot's retained handles: identity → the first dump from which it is open
    /// in every dump to the last ([`super::retained_since`]).
    pub retained: BTreeMap<HandleIdentity<'a>, usize>,
}

impl<'a> Segment<'a> {
    /// A segment of whole snapshots, its retained handles computed from them.
    pub fn of(snapshots: &'a [Snapshot], symbols: &'a SymbolTable) -> Segment<'a> {
        Segment {
            snapshots,
            symbols,
            retained: super::retained_since(snapshots),
        }
    }
}

/// Builds the series report: every segment analysed on its own; warnings that change the
/// conclusion first.
pub fn build_series(series: Series<'_>, options: &SeriesOptions) -> SeriesReport {
    let mut warnings = series.warnings;
    let several = series.segments.len() > 1;
    let mut segments = Vec::new();
    let loaded = series
        .segments
        .into_iter()
        .filter(|segment| !segment.snapshots.is_empty());
    for (index, input) in loaded.enumerate() {
        let snapshots = input.snapshots;
        let mut segment_warnings = Vec::new();
        segments.push(segment(
            index,
            &input,
            series.order,
            options,
            &mut segment_warnings,
        ));
        for warning in segment_warnings {
            warnings.push(match several {
                true => Warning {
                    message: format!("segment {}: {}", index + 1, warning.message),
                    ..warning
                },
                false => warning,
            });
        }
        for snapshot in snapshots {
            for warning in &snapshot.warnings {
                warnings.push(warning.clone().in_file(snapshot.file_name()));
            }
        }
    }
    // Stable: the order within each group is kept.
    warnings.sort_by_key(|warning| !warning.shown_first());
    SeriesReport {
        schema_version: SCHEMA_VERSION,
        order: series.order,
        segments,
        excluded: series.excluded,
        rules: options.rules,
        limit: options.limit,
        warnings,
    }
}

/// The analysis of one segment.
fn segment(
    index: usize,
    input: &Segment<'_>,
    order: OrderUsed,
    options: &SeriesOptions,
    warnings: &mut Vec<Warning>,
) -> SeriesSegment {
    let series = input.snapshots;
    let n = series.len();
    let last = &series[n - 1];
    let times: Option<Vec<u64>> = series.iter().map(|snapshot| snapshot.captured_at).collect();
    let timeline = Timeline {
        times: times.as_deref(),
        dumps: n,
        rules: &options.rules,
    };
    if n == 2 {
        warnings.push(Warning::new(WarningCode::TwoDumps, "two dumps show a difference, not a trend: a leak cannot be told from a cache warming up; add dumps from later cycles"));
    }
    if times.is_none() {
        warnings.push(no_capture_time(series, order));
    }
    let retained = retained_stacks(
        series,
        &input.retained,
        input.symbols,
        &options.attribution,
        &timeline,
    );
    warnings.extend(retained_warning(last, &retained));
    let modules = module_growth(&retained, last, &timeline);
    let total = trend(
        "total",
        series.iter().map(Snapshot::handle_count).collect(),
        &timeline,
    );
    SeriesSegment {
        index,
        pid: last.process.pid,
        process_started_at: last.process.started_at.map(iso8601),
        dumps: series
            .iter()
            .enumerate()
            .map(|(index, snapshot)| SeriesDump {
                index,
                summary: DumpSummary::of(snapshot),
            })
            .collect(),
        exhaustion: exhaustion(&total, last, options.limit),
        total,
        types: type_trends(series, &timeline),
        modules,
        retained,
    }
}

/// Which dumps have no capture time, and what that costs.
fn no_capture_time(series: &[Snapshot], order: OrderUsed) -> Warning {
    let missing = series.iter().filter(|s| s.captured_at.is_none()).count();
    let taken = match order {
        OrderUsed::Time => "",
        OrderUsed::Given => "they are taken in the order given; ",
        OrderUsed::Name => "they are taken in file-name order; ",
    };
    Warning::new(
        WarningCode::NoCaptureTime,
        format!(
            "{missing} of {} dumps have no capture time: {taken}rates are per cycle only and \
             the time to exhaustion has no date",
            series.len()
        ),
    )
}

/// One verdict per type, in report order (leaks first, fastest first).
fn type_trends(series: &[Snapshot], timeline: &Timeline) -> Vec<TypeTrend> {
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
            trend(type_name, counts, timeline)
        })
        .collect();
    types.sort_by(|a, b| {
        verdict_order(&a.verdict, &b.verdict).then_with(|| a.type_name.cmp(&b.type_name))
    });
    types
}

fn trend(type_name: &str, counts: Vec<usize>, timeline: &Timeline) -> TypeTrend {
    TypeTrend {
        type_name: type_name.to_string(),
        sparkline: sparkline(&counts),
        verdict: timeline.classify(&counts),
        counts,
    }
}

/// What the retained stacks cannot say: no trace at all, or retained handles without a
/// record.
fn retained_warning(last: &Snapshot, retained: &[RetainedStack]) -> Option<Warning> {
    let without_record: usize = retained
        .iter()
        .filter(|stack| stack.frames.is_empty())
        .map(|stack| stack.handles.len())
        .sum();
    if last.trace.is_none() && !retained.is_empty() {
        Some(Warning::new(WarningCode::NoTrace, format!(
            "no allocation stacks: {} has no handle-trace records, so retained handles cannot be attributed to modules; {}",
            last.file_name(),
            crate::snapshot::trace_hint(last.input)
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

/// When a leaking total reaches `limit` at its robust rate (from the change point on after a
/// warm-up); `None` unless the total is a leak.
fn exhaustion(total: &TypeTrend, last: &Snapshot, limit: u64) -> Option<Exhaustion> {
    let verdict: &Verdict = &total.verdict;
    if verdict.class != Some(Class::Leak) || verdict.slope_per_cycle <= 0.0 {
        return None;
    }
    let current = last.handle_count();
    let remaining = limit.saturating_sub(current as u64) as f64;
    let hours_left = verdict
        .slope_per_hour
        .and_then(|per_hour| hours_to_limit(current as f64, limit as f64, per_hour));
    let within_horizon = hours_left.map(|hours| hours <= EXHAUSTION_HORIZON_HOURS);
    let reached_at = match (hours_left, within_horizon, last.captured_at) {
        (Some(hours), Some(true), Some(captured)) => Some(iso8601(
            captured.saturating_add((hours * 3600.0).round() as u64),
        )),
        _ => None,
    };
    Some(Exhaustion {
        limit,
        current,
        growth_per_cycle: verdict.slope_per_cycle,
        cycles_left: remaining / verdict.slope_per_cycle,
        growth_per_hour: verdict.slope_per_hour.filter(|_| hours_left.is_some()),
        hours_left,
        within_horizon,
        reached_at,
    })
}
