//! dumpleak: post-mortem handle-leak analysis of Windows minidumps.
//!
//! Data flows one way, one module per stage:
//!
//! 1. [`snapshot`] — **load**: a minidump becomes a [`snapshot::Snapshot`] (process, modules,
//!    handle table, handle-trace records), every count and RVA checked against the file.
//! 2. [`symbols`] — **symbolise**: return addresses become frames in WinDbg notation
//!    through one [`symbols::Symbolizer`].
//! 3. [`analysis`] — **analyse**: two snapshots become a [`analysis::DiffReport`] with new
//!    handles grouped by allocation stack and blamed on modules with their versions.
//! 4. [`report`] — **report**: renders a report as a table, Markdown, CSV or HTML; JSON is
//!    the report model itself.
//!
//! [`pipeline`] drives the stages for each command (`show`, `diff`, `series`, `batch`); its
//! entry points are re-exported here.
//!
//! # Features
//!
//! All on by default. With `default-features = false` the library still loads every input
//! (minidumps, debugger logs, handle.exe output), symbolises from local files (PDB, Breakpad,
//! export tables; directories, local symbol stores and the cache), runs every analysis and
//! renders JSON, Markdown and CSV.
//!
//! - `cli`: the `dumpleak` binary (clap, clap_complete, clap_mangen, indicatif) and the
//!   terminal renderer ([`report::Format::Table`]: tables fitted to the width, colour with
//!   anstyle); without it that format is refused with an error.
//! - `http`: downloads from `srv*…*https://…` symbol servers (ureq, rustls); without it such a
//!   path still parses and its cache is searched, and the servers are skipped with a note
//!   ("built without HTTP support").
//! - `html`: [`report::Format::Html`] (plotters); without it that format is refused.
//! - `crash`: walking the crashing thread for `show` and `batch` (minidump-unwind); without
//!   it a dump with an exception gets a note that the stack was not walked, and why.
//!
//! ```no_run
//! use dumpleak::{analysis::DiffOptions, symbols::SymbolConfig};
//! use std::path::Path;
//!
//! let symbolizer = SymbolConfig {
//!     dirs: vec!["testdata/incident/images".into()],
//!     ..SymbolConfig::default()
//! }
//! .symbolizer()?;
//! let report = dumpleak::diff_files(
//!     Path::new("testdata/incident/before.dmp"),
//!     Path::new("testdata/incident/after.dmp"),
//!     &symbolizer,
//!     &DiffOptions::default(),
//! )?;
//! for stack in &report.stacks {
//!     println!("+{} from {:?} {:?}", stack.count, stack.blamed_module, stack.blamed_version);
//! }
//! # Ok::<(), dumpleak::Error>(())
//! ```

#![warn(missing_docs)]

pub mod analysis;
mod error;
pub mod pipeline;
pub mod report;
pub mod sanitize;
pub mod snapshot;
pub mod symbols;
pub mod time;
pub mod warning;

pub use error::{Error, Result};
pub use pipeline::{
    batch_files, batch_files_of, batch_inputs, batch_one, collect_inputs, diff_files,
    diff_files_with, diff_snapshots, handles_of, require_handles, series_files, show_input,
    show_snapshot, BatchOptions, InputWalk, ShowOutcome,
};
pub use warning::{Warning, WarningCode};
