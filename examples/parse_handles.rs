//! Reads the handle streams of minidumps and prints each file's handle and trace record
//! counts: the same work as `compare/py_parse_handles.py` does with the Python `minidump` package
//! (HandleDataStream in full, the HandleOperationListStream header only), for a like-for-like
//! row in `compare/compare.sh`.
//!
//! `cargo run --release --example parse_handles -- a.dmp b.dmp`

use dumpleak::snapshot::{load_with, LoadOptions};
use std::path::PathBuf;

fn main() {
    let options = LoadOptions {
        skip_trace_records: true,
        ..LoadOptions::default()
    };
    for path in std::env::args_os().skip(1).map(PathBuf::from) {
        match load_with(&path, &options) {
            Ok(snapshot) => println!(
                "{} {} {}",
                path.display(),
                snapshot.handles.as_ref().map_or(0, Vec::len),
                snapshot
                    .trace
                    .as_ref()
                    .map_or("None".to_string(), |trace| trace.record_count.to_string())
            ),
            Err(error) => {
                eprintln!("{}: {error}", path.display());
                std::process::exit(1);
            }
        }
    }
}
