//! The series report model.

use super::OrderUsed;
use crate::analysis::model::DumpSummary;
use crate::analysis::trend::{Rules, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;

/// One type's counts across a segment, with their verdict.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TypeTrend {
    /// Object type (`total` for all handles).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Count in each dump of the segment, in series order.
    pub counts: Vec<usize>,
    /// The counts as a sparkline.
    pub sparkline: String,
    /// The verdict (its fields appear beside `counts` in the JSON).
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A dump of a segment.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesDump {
    /// Position in the segment (0-based; the `#k` of the tables and "dump k" of a verdict).
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
#[non_exhaustive]
pub struct RetainedStack {
    /// 1-based number within the segment: leaks first, fastest first.
    pub id: usize,
    /// Retained handles per object type (in the last dump).
    pub types: BTreeMap<String, usize>,
    /// Handles of this stack retained in each dump (opened after the first dump and open in
    /// every dump from then to the last).
    pub retained_per_dump: Vec<usize>,
    /// The verdict on `retained_per_dump`.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Blamed module.
    pub blamed_module: Option<String>,
    /// Its file version.
    pub blamed_version: Option<String>,
    /// Frames innermost first (empty when the handles have no trace record).
    pub frames: Vec<String>,
    /// Handle values in the last dump, hex.
    pub handles: Vec<String>,
}

/// Retained handles per blamed module, with their verdict.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ModuleGrowth {
    /// Module file name (`null`: stacks with no module outside the system modules).
    pub module: Option<String>,
    /// File version.
    pub version: Option<String>,
    /// Path in the last dump.
    pub path: Option<String>,
    /// Handles of its stacks retained in each dump.
    pub retained_per_dump: Vec<usize>,
    /// The verdict on `retained_per_dump`.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Retained handles per type (in the last dump).
    pub types: BTreeMap<String, usize>,
    /// Stacks blamed on it.
    pub stacks: usize,
    /// Later dumps (after the first) in which it gained handles that stayed open.
    pub retained_in: usize,
    /// Later dumps in all.
    pub later_dumps: usize,
    /// One line for a bug report, with the verdict.
    pub headline: String,
}

/// When the handle count reaches the limit at the robust rate of a leaking total.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Exhaustion {
    /// The limit.
    pub limit: u64,
    /// Handles in the last dump. At or above the limit, the limit was already reached at or
    /// before the last dump: `cycles_left` and `hours_left` are 0 and `reached_at` is the last
    /// dump's capture time.
    pub current: usize,
    /// Growth per cycle (Theil–Sen, from the change point on after a warm-up).
    pub growth_per_cycle: f64,
    /// Cycles from the last dump to the limit at that rate.
    pub cycles_left: f64,
    /// Growth per hour of capture time; `null` without usable capture times.
    pub growth_per_hour: Option<f64>,
    /// Hours from the last dump to the limit; `null` without usable capture times.
    pub hours_left: Option<f64>,
    /// Whether that is within the horizon of 10 years; `null` without usable capture times.
    pub within_horizon: Option<bool>,
    /// The moment, ISO 8601 UTC, when within the horizon; otherwise `null`.
    pub reached_at: Option<String>,
}

/// The dumps of one process (one pid and start time) in series order, analysed together.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SeriesSegment {
    /// Position among the segments (0-based).
    pub index: usize,
    /// Process id.
    pub pid: Option<u32>,
    /// Process start time, ISO 8601 UTC.
    pub process_started_at: Option<String>,
    /// Its dumps in series order.
    pub dumps: Vec<SeriesDump>,
    /// All handles together.
    pub total: TypeTrend,
    /// Per type: leaks first (fastest first), then plateaus, declines, churn, stable, and
    /// those without a verdict.
    pub types: Vec<TypeTrend>,
    /// Retained handles per blamed module, in the same order.
    pub modules: Vec<ModuleGrowth>,
    /// Retained handles per allocation stack, in the same order.
    pub retained: Vec<RetainedStack>,
    /// When the limit is reached, if the total leaks.
    pub exhaustion: Option<Exhaustion>,
}

/// The series report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SeriesReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// How the dumps were ordered.
    pub order: OrderUsed,
    /// One segment per run of the process; more than one when it restarted.
    pub segments: Vec<SeriesSegment>,
    /// Inputs left out, and why.
    pub excluded: Vec<ExcludedInput>,
    /// The verdict rule used, with the overrides given.
    pub rules: Rules,
    /// The limit asked about.
    pub limit: u64,
    /// What the evidence cannot support; those that change the conclusion first.
    pub warnings: Vec<crate::warning::Warning>,
}

impl SeriesReport {
    /// Leaves out, in each segment, the handle types whose count is the same in every dump
    /// (`--only-changed`); the total stays.
    pub fn keep_changed_types(&mut self) {
        for segment in &mut self.segments {
            segment
                .types
                .retain(|trend| trend.counts.windows(2).any(|pair| pair[0] != pair[1]));
        }
    }
}
