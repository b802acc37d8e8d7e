//! A series of dumps of one process across cycles: per-type trends classified as leak,
//! plateau, churn or stable; handles retained since each dump, grouped by allocation stack and
//! blamed on modules; the time until a handle limit is reached.

use super::attribution::Attribution;
use super::diff::{hex, DumpSummary, SCHEMA_VERSION};
use crate::snapshot::{Handle, Operation, Snapshot};
use crate::symbols::{Frame, SymbolTable};
use crate::time::iso8601;
use foldhash::{HashMap, HashSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The per-process handle limit of Windows (2^24).
pub const DEFAULT_HANDLE_LIMIT: u64 = 16_777_216;

/// Thresholds of the trend classification (see [`classify`]).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrendRules {
    /// Least-squares growth per cycle from which a type counts as growing.
    pub min_growth: f64,
    /// Largest spread (max − min) that still counts as flat.
    pub tolerance: f64,
    /// Smallest R² of the straight-line fit for a leak ("steady" growth).
    pub min_fit: f64,
}

impl Default for TrendRules {
    fn default() -> Self {
        TrendRules {
            min_growth: 0.5,
            tolerance: 1.0,
            min_fit: 0.6,
        }
    }
}

/// What the series needs besides the snapshots.
#[derive(Debug, Clone)]
pub struct SeriesOptions {
    /// Which modules are never blamed.
    pub attribution: Attribution,
    /// Trend thresholds.
    pub rules: TrendRules,
    /// Handle count at which the process is considered exhausted.
    pub limit: u64,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        SeriesOptions {
            attribution: Attribution::default(),
            rules: TrendRules::default(),
            limit: DEFAULT_HANDLE_LIMIT,
        }
    }
}

/// A trend class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrendClass {
    /// Steady growth that has not stopped.
    Leak,
    /// Grew, then flat (caches, pools warming up).
    Plateau,
    /// Up and down without a trend.
    Churn,
    /// Flat within the tolerance.
    Stable,
}

impl std::fmt::Display for TrendClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrendClass::Leak => "leak",
            TrendClass::Plateau => "plateau",
            TrendClass::Churn => "churn",
            TrendClass::Stable => "stable",
        })
    }
}

/// One type's counts across the series.
#[derive(Debug, Clone, Serialize)]
pub struct TypeTrend {
    /// Object type (`total` for all handles).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Count in each dump, in time order.
    pub counts: Vec<usize>,
    /// The counts as a sparkline.
    pub sparkline: String,
    /// Least-squares growth per cycle (dump to dump).
    pub growth_per_cycle: f64,
    /// R² of that fit (1 for a straight line; 0 when the counts do not vary).
    pub fit: f64,
    /// The class under the documented rule.
    pub class: TrendClass,
    /// Why, in words.
    pub reason: String,
}

/// A dump of the series.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesDump {
    /// Position in time order (0-based).
    pub index: usize,
    /// The dump.
    #[serde(flatten)]
    pub summary: DumpSummary,
}

/// An input left out of the series.
#[derive(Debug, Clone, Serialize)]
pub struct ExcludedInput {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Handles retained since some dump that share one allocation stack.
#[derive(Debug, Clone, Serialize)]
pub struct RetainedStack {
    /// 1-based number, fastest growth first.
    pub id: usize,
    /// Retained handles per object type (in the last dump).
    pub types: BTreeMap<String, usize>,
    /// Handles of this stack retained in each dump (opened after the first dump and open in
    /// every dump from then to the last).
    pub retained_per_dump: Vec<usize>,
    /// Least-squares growth of that count per cycle.
    pub growth_per_cycle: f64,
    /// Blamed module.
    pub blamed_module: Option<String>,
    /// Its file version.
    pub blamed_version: Option<String>,
    /// Frames innermost first (empty when the handles have no trace record).
    pub frames: Vec<String>,
    /// Handle values in the last dump, hex.
    pub handles: Vec<String>,
}

/// Retained growth per blamed module.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleGrowth {
    /// Module file name (`null`: stacks with no module outside the system modules, or no
    /// trace record).
    pub module: Option<String>,
    /// File version.
    pub version: Option<String>,
    /// Path in the last dump.
    pub path: Option<String>,
    /// Retained handles gained per cycle.
    pub growth_per_cycle: f64,
    /// Retained handles per type.
    pub types: BTreeMap<String, usize>,
    /// Stacks blamed on it.
    pub stacks: usize,
    /// Later dumps (after the first) in which it gained handles that stayed open.
    pub retained_in: usize,
    /// Later dumps in all.
    pub later_dumps: usize,
    /// One line for a bug report.
    pub headline: String,
}

/// When the handle count reaches the limit at the fitted rate.
#[derive(Debug, Clone, Serialize)]
pub struct Exhaustion {
    /// The limit.
    pub limit: u64,
    /// Handles in the last dump.
    pub current: usize,
    /// Fitted growth per hour of wall-clock time.
    pub growth_per_hour: f64,
    /// Hours from the last dump to the limit.
    pub hours_left: f64,
    /// The moment, ISO 8601 UTC.
    pub reached_at: String,
}

/// The series report.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// The dumps in time order.
    pub dumps: Vec<SeriesDump>,
    /// Inputs left out, and why.
    pub excluded: Vec<ExcludedInput>,
    /// The classification thresholds used.
    pub rules: TrendRules,
    /// All handles together.
    pub total: TypeTrend,
    /// Per type: leaks first (fastest first), then plateaus, churn, stable.
    pub types: Vec<TypeTrend>,
    /// Retained growth per blamed module, fastest first.
    pub modules: Vec<ModuleGrowth>,
    /// Retained handles per allocation stack, fastest first.
    pub retained: Vec<RetainedStack>,
    /// When the limit is reached, if the total grows.
    pub exhaustion: Option<Exhaustion>,
    /// The limit asked about.
    pub limit: u64,
    /// What the evidence cannot support.
    pub warnings: Vec<String>,
}

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

/// Least-squares slope and R² of `values` against 0, 1, 2, ….
pub fn fit(values: &[f64]) -> (f64, f64) {
    let xs: Vec<f64> = (0..values.len()).map(|x| x as f64).collect();
    fit_xy(&xs, values)
}

fn fit_xy(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return (0.0, 0.0);
    }
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let syy: f64 = ys.iter().map(|y| (y - mean_y).powi(2)).sum();
    if sxx == 0.0 {
        return (0.0, 0.0);
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    (slope, r2)
}

/// Classifies counts in time order:
///
/// * **stable** — max − min ≤ tolerance;
/// * **leak** — least-squares growth ≥ min_growth per cycle with R² ≥ min_fit, and the last
///   half of the series still grows (its own slope ≥ min_growth / 2);
/// * **plateau** — last − first > tolerance and the last half is flat (max − min ≤ tolerance);
/// * **churn** — anything else.
///
/// The last half is dumps ⌊(n−1)/2⌋ … n−1 (the middle dump belongs to both halves).
pub fn classify(counts: &[usize], rules: &TrendRules) -> (TrendClass, f64, f64, String) {
    let values: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let (slope, r2) = fit(&values);
    let spread = |values: &[f64]| {
        let max = values.iter().cloned().fold(f64::MIN, f64::max);
        let min = values.iter().cloned().fold(f64::MAX, f64::min);
        max - min
    };
    if values.is_empty() {
        return (TrendClass::Stable, 0.0, 0.0, "no dumps".to_string());
    }
    let range = spread(&values);
    if range <= rules.tolerance {
        return (
            TrendClass::Stable,
            slope,
            r2,
            format!("varies by at most {range} (tolerance {})", rules.tolerance),
        );
    }
    let tail = &values[(values.len() - 1) / 2..];
    let (tail_slope, _) = fit(tail);
    let net = values[values.len() - 1] - values[0];
    if slope >= rules.min_growth && r2 >= rules.min_fit && tail_slope >= rules.min_growth / 2.0 {
        return (
            TrendClass::Leak,
            slope,
            r2,
            format!("grows {slope:+.2}/cycle (R² {r2:.2}) and is still growing in the last half ({tail_slope:+.2}/cycle)"),
        );
    }
    if net > rules.tolerance && spread(tail) <= rules.tolerance {
        return (
            TrendClass::Plateau,
            slope,
            r2,
            format!(
                "grew by {net} then stayed flat over the last {} dumps",
                tail.len()
            ),
        );
    }
    (
        TrendClass::Churn,
        slope,
        r2,
        format!("moves by up to {range} without a steady trend ({slope:+.2}/cycle, R² {r2:.2})"),
    )
}

/// Sparkline of counts, scaled from their minimum to their maximum.
pub fn sparkline(counts: &[usize]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(min), Some(max)) = (counts.iter().min(), counts.iter().max()) else {
        return String::new();
    };
    counts
        .iter()
        .map(|&count| {
            if max == min {
                BARS[0]
            } else {
                BARS[(count - min) * (BARS.len() - 1) / (max - min)]
            }
        })
        .collect()
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

type Identity = (u64, Option<Arc<str>>, Option<Arc<str>>);

fn identity(handle: &Handle) -> Identity {
    (
        handle.value,
        handle.type_name.clone(),
        handle.object_name.clone(),
    )
}

/// The retained handles of the last dump: identity → first dump from which it is open in
/// every dump to the last (≥ 1; handles open since the first dump are the baseline).
pub fn retained_since(series: &[Snapshot]) -> BTreeMap<Identity, usize> {
    let sets: Vec<HashSet<Identity>> = series
        .iter()
        .map(|snapshot| snapshot.handles.iter().flatten().map(identity).collect())
        .collect();
    let mut retained = BTreeMap::new();
    let Some(last) = sets.last() else {
        return retained;
    };
    for handle in last {
        let mut since = sets.len() - 1;
        while since > 0 && sets[since - 1].contains(handle) {
            since -= 1;
        }
        if since > 0 {
            retained.insert(handle.clone(), since);
        }
    }
    retained
}

/// Return addresses of the retained handles' stacks, for the symbolizer.
pub fn retained_addresses(series: &[Snapshot]) -> Vec<u64> {
    let Some(last) = series.last() else {
        return Vec::new();
    };
    let newest = newest_opens(last);
    let retained = retained_since(series);
    let mut addresses: BTreeSet<u64> = BTreeSet::new();
    for (value, _, _) in retained.keys() {
        if let Some(stack) = newest.get(value) {
            addresses.extend(stack.iter().copied());
        }
    }
    addresses.into_iter().collect()
}

fn newest_opens(snapshot: &Snapshot) -> HashMap<u64, Arc<[u64]>> {
    let mut newest = HashMap::default();
    let mut seen = HashSet::default();
    for record in snapshot.trace.iter().flat_map(|trace| &trace.records) {
        if seen.insert(record.handle) && record.operation == Operation::Open {
            newest.insert(record.handle, record.stack.clone());
        }
    }
    newest
}

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
    let mut warnings = Vec::new();
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
    let total = trend(
        "total",
        series.iter().map(Snapshot::handle_count).collect(),
        rules,
    );
    if n == 2 {
        warnings.push(
            "two dumps show a difference, not a trend: a leak cannot be told from a cache warming up; add dumps from later cycles".to_string(),
        );
    }

    // Retained handles, grouped by the stack of their most recent OPEN in the last dump.
    let last = &series[n - 1];
    let newest = newest_opens(last);
    let retained = retained_since(series);
    let mut groups: BTreeMap<Arc<[u64]>, Vec<(&Identity, usize)>> = BTreeMap::new();
    for (handle, since) in &retained {
        let stack = newest
            .get(&handle.0)
            .cloned()
            .unwrap_or_else(|| Arc::from([]));
        groups.entry(stack).or_default().push((handle, *since));
    }
    let attribution = &options.attribution;
    let mut stacks: Vec<RetainedStack> = groups
        .into_iter()
        .map(|(stack, members)| {
            let frames: Vec<Frame> = stack
                .iter()
                .map(|address| symbols.frame(*address))
                .collect();
            let blamed = attribution
                .blamed(&frames)
                .and_then(|frame| frame.module.clone());
            let retained_per_dump: Vec<usize> = (0..n)
                .map(|dump| members.iter().filter(|(_, since)| *since <= dump).count())
                .collect();
            let (growth, _) = fit(&retained_per_dump
                .iter()
                .map(|&c| c as f64)
                .collect::<Vec<_>>());
            let mut types = BTreeMap::new();
            for ((_, type_name, _), _) in &members {
                *types
                    .entry(type_name.as_deref().unwrap_or("(none)").to_string())
                    .or_insert(0) += 1;
            }
            let mut values: Vec<u64> = members.iter().map(|((value, _, _), _)| *value).collect();
            values.sort_unstable();
            RetainedStack {
                id: 0,
                types,
                retained_per_dump,
                growth_per_cycle: growth,
                blamed_version: blamed
                    .as_deref()
                    .and_then(|name| last.module_named(name))
                    .and_then(|module| module.file_version.clone()),
                blamed_module: blamed,
                frames: frames.iter().flat_map(Frame::lines).collect(),
                handles: values.into_iter().map(hex).collect(),
            }
        })
        .collect();
    stacks.sort_by(|a, b| {
        b.growth_per_cycle
            .total_cmp(&a.growth_per_cycle)
            .then_with(|| a.handles.cmp(&b.handles))
    });
    for (index, stack) in stacks.iter_mut().enumerate() {
        stack.id = index + 1;
    }
    let without_record = stacks
        .iter()
        .filter(|stack| stack.frames.is_empty())
        .map(|stack| stack.handles.len())
        .sum::<usize>();
    if last.trace.is_none() && !retained.is_empty() {
        warnings.push(format!(
            "no allocation stacks: {} has no handle-trace records, so retained handles cannot be attributed to modules; {}",
            last.file_name(),
            crate::snapshot::TRACE_HINT
        ));
    } else if without_record > 0 {
        warnings.push(format!(
            "{without_record} retained handles have no trace record in {} (opened before tracing was enabled, or their records fell out of the trace ring buffer)",
            last.file_name()
        ));
    }

    // Per blamed module.
    let mut by_module: BTreeMap<Option<String>, Vec<&RetainedStack>> = BTreeMap::new();
    for stack in &stacks {
        if !stack.frames.is_empty() {
            by_module
                .entry(stack.blamed_module.clone())
                .or_default()
                .push(stack);
        }
    }
    let later_dumps = n - 1;
    let mut modules: Vec<ModuleGrowth> = by_module
        .into_iter()
        .map(|(module, stacks)| {
            let growth: f64 = stacks.iter().map(|stack| stack.growth_per_cycle).sum();
            let mut types = BTreeMap::new();
            for stack in &stacks {
                for (type_name, count) in &stack.types {
                    *types.entry(type_name.clone()).or_insert(0) += count;
                }
            }
            let retained_in = (1..n)
                .filter(|&dump| {
                    stacks.iter().any(|stack| {
                        stack.retained_per_dump[dump] > stack.retained_per_dump[dump - 1]
                    })
                })
                .count();
            let loaded = module.as_deref().and_then(|name| last.module_named(name));
            let version = loaded.and_then(|module| module.file_version.clone());
            // The module's growth shared out over its types by their retained counts.
            let retained_total: usize = types.values().sum();
            let per_cycle_types = types
                .iter()
                .map(|(type_name, count)| {
                    let per_cycle = growth * *count as f64 / retained_total.max(1) as f64;
                    format!("{} {type_name}", trim_float((per_cycle * 10.0).round() / 10.0))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let name = module
                .clone()
                .unwrap_or_else(|| "(system modules only)".to_string());
            let headline = format!(
                "{name}{}: {:+.1} handles/cycle ({per_cycle_types}) from {} stack{}, retained in {} later dumps",
                version.as_deref().map_or(String::new(), |v| format!(" {v}")),
                growth,
                stacks.len(),
                if stacks.len() == 1 { "" } else { "s" },
                if retained_in == later_dumps {
                    format!("all {later_dumps}")
                } else {
                    format!("{retained_in} of {later_dumps}")
                }
            );
            ModuleGrowth {
                path: loaded.map(|module| module.path.clone()),
                version,
                module,
                growth_per_cycle: growth,
                types,
                stacks: stacks.len(),
                retained_in,
                later_dumps,
                headline,
            }
        })
        .collect();
    modules.sort_by(|a, b| {
        b.growth_per_cycle
            .total_cmp(&a.growth_per_cycle)
            .then_with(|| a.module.cmp(&b.module))
    });

    let exhaustion = exhaustion(series, options.limit, &mut warnings);
    let dumps = series
        .iter()
        .enumerate()
        .map(|(index, snapshot)| SeriesDump {
            index,
            summary: DumpSummary::of(snapshot),
        })
        .collect();
    for snapshot in series {
        for warning in &snapshot.warnings {
            warnings.push(format!("{}: {warning}", snapshot.file_name()));
        }
    }
    SeriesReport {
        schema_version: SCHEMA_VERSION,
        dumps,
        excluded,
        rules: *rules,
        total,
        types,
        modules,
        retained: stacks,
        exhaustion,
        limit: options.limit,
        warnings,
    }
}

/// `3`, `2.5`, `0.33`: per-cycle type counts without needless decimals.
fn trim_float(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').to_string()
    }
}

fn exhaustion(series: &[Snapshot], limit: u64, warnings: &mut Vec<String>) -> Option<Exhaustion> {
    let times: Option<Vec<f64>> = series
        .iter()
        .map(|snapshot| snapshot.captured_at.map(|t| t as f64))
        .collect();
    let Some(times) = times else {
        warnings.push(
            "some inputs have no capture time: the time to exhaustion cannot be estimated"
                .to_string(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_documented_shapes() {
        let rules = TrendRules::default();
        let class = |counts: &[usize]| classify(counts, &rules).0;
        assert_eq!(class(&[10, 11, 12, 13, 14, 15, 16, 17]), TrendClass::Leak);
        assert_eq!(
            class(&[10, 13, 16, 18, 19, 19, 19, 19]),
            TrendClass::Plateau
        );
        assert_eq!(class(&[14, 11, 16, 12, 15, 10, 16, 13]), TrendClass::Churn);
        assert_eq!(class(&[30, 30, 31, 30, 30, 31, 30, 30]), TrendClass::Stable);
        assert_eq!(class(&[5, 5]), TrendClass::Stable);
        assert_eq!(class(&[5, 9]), TrendClass::Leak);
        // A leak that stopped is a plateau, not a leak.
        assert_eq!(class(&[0, 4, 8, 12, 12, 12, 12]), TrendClass::Plateau);
    }

    #[test]
    fn fits_lines_and_draws_sparklines() {
        let (slope, r2) = fit(&[1.0, 3.0, 5.0, 7.0]);
        assert!((slope - 2.0).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        assert_eq!(fit(&[4.0, 4.0, 4.0]), (0.0, 0.0));
        assert_eq!(sparkline(&[0, 7, 14]), "▁▄█");
        assert_eq!(sparkline(&[3, 3]), "▁▁");
        assert_eq!(trim_float(3.0), "3");
        assert_eq!(trim_float(2.5), "2.5");
    }
}
