//! Analyse stage: compares snapshots and attributes growth to modules. Never opens files.

mod attribution;
pub mod diff;

pub use attribution::{Attribution, DEFAULT_SYSTEM_MODULES};
pub use diff::{build_report, compare_handles, DiffOptions, DiffReport, HandleDiff};
pub mod show;
pub use show::{show, ShowReport};
