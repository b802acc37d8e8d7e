//! Triage of many unrelated dumps: one row per dump (process, handles, tracing, crash, blamed
//! modules, known issues) and a fleet aggregate that answers *which version of which module
//! goes with high handle counts*: module versions ranked by presence (system modules and
//! modules that always load together set aside), versions of one module compared with a rank
//! test, per program when the batch mixes programs.

mod aggregate;
mod builder;
mod merge;
mod model;
mod row;
pub mod stats;
mod versions;

pub use aggregate::{aggregate, batch_report, report_of, strongest_association, AggregateOptions};
pub use builder::AggregateBuilder;
pub use merge::{lines_of, merge_shards, to_jsonl, MergeError};
pub use model::*;
pub use row::{dump_row, open_handle_stacks};
pub(crate) use versions::dumps_text;
pub use versions::{p_text, version_comparisons, MIN_GROUP_DUMPS, SIGNIFICANCE};
