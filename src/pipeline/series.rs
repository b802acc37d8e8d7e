//! `series`: inputs → snapshots (in parallel) → the dumps of one process in time order →
//! symbolise the retained handles' stacks → the series report.

use super::diff::require_handles;
use super::inputs::{collect_inputs, InputWalk};
use crate::analysis;
use crate::error::{Error, Result};
use crate::snapshot::{self, Snapshot};
use crate::symbols::Symbolizer;

/// Loads `inputs` (files or directories) in parallel, keeps the dumps of the series' process
/// in capture-time order, and builds the series report. `progress` is called once per loaded
/// input. Unreadable inputs and dumps of other processes are listed as excluded, not fatal.
pub fn series_files(
    inputs: &[std::path::PathBuf],
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &analysis::SeriesOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<analysis::SeriesReport> {
    use rayon::prelude::*;
    let files = collect_inputs(inputs, InputWalk::default())?;
    let loaded: Vec<(std::path::PathBuf, Result<Snapshot, snapshot::LoadError>)> = files
        .par_iter()
        .map(|path| {
            let result = snapshot::load_with(path, load).and_then(require_handles);
            progress();
            (path.clone(), result)
        })
        .collect();
    let mut excluded = Vec::new();
    let mut snapshots = Vec::new();
    for (path, result) in loaded {
        match result {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(error) => excluded.push(analysis::series::ExcludedInput {
                path: path.display().to_string(),
                reason: error.to_string(),
            }),
        }
    }
    let series = analysis::series::one_process(snapshots, &mut excluded);
    if series.len() < 2 {
        return Err(Error::Usage(format!(
            "a series needs at least two dumps of one process with handle data; {} usable of {} inputs{}",
            series.len(),
            files.len(),
            if excluded.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    excluded
                        .iter()
                        .map(|input| input.reason.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        )));
    }
    let last = &series[series.len() - 1];
    let symbols = symbolizer.resolve(last, analysis::series::retained_addresses(&series));
    Ok(analysis::build_series(&series, excluded, &symbols, options))
}
