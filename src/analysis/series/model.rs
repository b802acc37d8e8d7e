//! The series report model.

use super::{TrendClass, TrendRules};
use crate::analysis::model::DumpSummary;
use serde::Serialize;
use std::collections::BTreeMap;

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
    pub warnings: Vec<crate::warning::Warning>,
}
