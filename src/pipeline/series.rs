//! `series`: inputs → snapshots (in parallel) → the series decided (order, program, restarts)
//! → symbolise each segment's retained handles' stacks → the series report.

use super::diff::require_handles;
use super::inputs::{collect_inputs, InputWalk};
use crate::analysis::series::{self, ExcludedInput, InputFacts, Series};
use crate::analysis::{self, SeriesOptions};
use crate::error::{Error, Result};
use crate::snapshot::{self, Snapshot};
use crate::symbols::{SymbolTable, Symbolizer};
use std::path::{Path, PathBuf};

/// Loads `inputs` (files, and directories: their files by name, not recursive) in parallel,
/// decides the series ([`series::plan`]: order, the program's dumps, restarts as segments) and
/// builds its report. `progress` is called once per loaded input. Unreadable inputs and dumps
/// of other programs or concurrent processes are listed as excluded, not fatal; a usage error
/// when the overrides of the rule are out of range, when `--order time` meets an input without
/// a capture time, or when no segment has two dumps.
pub fn series_files(
    inputs: &[PathBuf],
    load: &snapshot::LoadOptions,
    symbolizer: &Symbolizer,
    options: &SeriesOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<analysis::SeriesReport> {
    use rayon::prelude::*;
    series::check_rules(&options.rules).map_err(Error::Usage)?;
    let files = expand(inputs)?;
    let loaded: Vec<(
        &PathBuf,
        Option<&Path>,
        Result<Snapshot, snapshot::LoadError>,
    )> = files
        .par_iter()
        .map(|(path, dir)| {
            let result = snapshot::load_with(path, load).and_then(require_handles);
            progress();
            (path, dir.as_deref(), result)
        })
        .collect();
    let mut excluded = Vec::new();
    let mut snapshots = Vec::new();
    let mut facts = Vec::new();
    for (path, dir, result) in loaded {
        match result {
            Ok(snapshot) => {
                facts.push(InputFacts::of(&snapshot, dir));
                snapshots.push(Some(snapshot));
            }
            Err(error) => excluded.push(ExcludedInput {
                path: path.display().to_string(),
                reason: error.to_string(),
            }),
        }
    }
    let plan = series::plan(&facts, options.order).map_err(Error::Usage)?;
    for (index, reason) in plan.excluded {
        excluded.push(ExcludedInput {
            path: facts[index].path.clone(),
            reason,
        });
    }
    if plan.segments.iter().all(|segment| segment.len() < 2) {
        return Err(too_few(&plan.segments, files.len(), &excluded));
    }
    let segments: Vec<Vec<Snapshot>> = plan
        .segments
        .iter()
        .map(|members| {
            members
                .iter()
                .filter_map(|&index| snapshots[index].take())
                .collect()
        })
        .collect();
    let symbols: Vec<SymbolTable> = segments
        .iter()
        .map(|segment| {
            let last = &segment[segment.len() - 1];
            symbolizer.resolve(last, series::retained_addresses(segment))
        })
        .collect();
    let series = Series {
        segments: segments
            .iter()
            .zip(&symbols)
            .map(|(segment, symbols)| (segment.as_slice(), symbols))
            .collect(),
        excluded,
        order: plan.order,
        warnings: plan.warnings,
    };
    let mut report = analysis::build_series(series, options);
    symbolizer.prepend_warnings(&mut report.warnings);
    Ok(report)
}

/// The files named by `inputs` in the order given, each with the directory it was found in
/// (`None` for a file named itself); a file named twice is taken once, where first named.
fn expand(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, Option<PathBuf>)>> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for input in inputs {
        let dir = input.is_dir().then(|| input.clone());
        for file in collect_inputs(std::slice::from_ref(input), InputWalk::default())? {
            if seen.insert(file.clone()) {
                files.push((file, dir.clone()));
            }
        }
    }
    Ok(files)
}

fn too_few(segments: &[Vec<usize>], inputs: usize, excluded: &[ExcludedInput]) -> Error {
    let usable: usize = segments.iter().map(Vec::len).sum();
    let restarts = if segments.len() > 1 {
        format!(
            ", and the process restarted between them ({} runs of one dump each)",
            segments.len()
        )
    } else {
        String::new()
    };
    Error::Usage(format!(
        "a series needs at least two dumps of one process with handle data; {usable} usable of \
         {inputs} inputs{restarts}{}",
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
    ))
}
