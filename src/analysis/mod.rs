//! Analyse stage: compares snapshots and attributes growth to modules. Never opens files.

mod attribution;
pub mod batch;
pub mod diff;
pub mod known;
mod log_diff;
pub mod series;
pub mod trend;

pub use attribution::{Attribution, DEFAULT_SYSTEM_MODULES};
pub use diff::{build_report, compare_handles, DiffOptions, DiffReport, HandleDiff};
pub use log_diff::log_diff_sides;
pub use series::{build_series, SeriesOptions, SeriesReport, TrendRules};
pub mod show;
pub use show::{show, ShowReport};
