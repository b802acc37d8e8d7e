//! One module per command: inputs → load → symbolise → analyse → report model. The CLI (and
//! any other front end) calls these; each stage they drive stays ignorant of the others.

mod batch;
mod diff;
mod handles;
mod identical;
pub mod inputs;
pub mod output;
mod series;
mod show;

pub use batch::{
    batch_collected, batch_files, batch_files_of, batch_inputs, batch_one, BatchOptions,
};
pub use diff::{diff_files, diff_files_with, diff_snapshots, require_handles};
pub use handles::handles_of;
pub use inputs::{collect_inputs, walk_inputs, Collected, InputWalk};
pub use series::series_files;
pub use show::{show_input, show_snapshot, ShowOutcome};
