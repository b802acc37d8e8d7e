//! Analyse stage: compares snapshots and attributes growth to modules. Never opens files.
//!
//! The shared core every command uses: [`model`] (report pieces: schema version, dump
//! summary, hex), [`stacks`] (grouping by allocation stack and blaming a module),
//! [`Attribution`] (which modules are never blamed); handle identity and the newest trace
//! record per handle are methods of the snapshot model.

mod access;
mod attribution;
pub mod batch;
pub mod diff;
pub mod handles;
pub mod known;
mod log_diff;
pub mod model;
pub mod series;
pub mod show;
pub mod stacks;
pub mod trend;

pub use attribution::{in_system_folder, Attribution, DEFAULT_SYSTEM_MODULES};
pub use diff::{
    build_report, compare_handle_tables, compare_handles, DiffOptions, DiffReport, HandleDiff,
    HandleTables,
};
pub use log_diff::log_diff_sides;
pub use model::{hex, DumpSummary, TypeCount, SCHEMA_VERSION};
pub use series::{build_series, SeriesOptions, SeriesReport};
pub use show::{show, ShowReport};
