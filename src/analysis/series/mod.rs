//! A series of dumps of one process across cycles: per-type trends classified as leak,
//! plateau, churn or stable; handles retained since each dump, grouped by allocation stack and
//! blamed on modules; the time until a handle limit is reached.

mod build;
mod classify;
mod model;
mod process;
mod retained;

pub use build::build_series;
pub use classify::{classify, fit, sparkline};
pub use model::*;
pub use process::one_process;
pub use retained::{retained_addresses, retained_since};

use super::attribution::Attribution;
use serde::Serialize;

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
