//! `series`: inputs → snapshots (in parallel) → the series decided (order, program, restarts)
//! → symbolise each segment's retained handles' stacks → the series report.

use super::diff::require_handles;
use super::inputs::{collect_inputs, InputWalk};
use crate::analysis::series::tracking::{self, HandleKey, HandleKeys, Names};
use crate::analysis::series::{self, ExcludedInput, InputFacts, Segment, Series};
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
    // The series shows no object information.
    let load = &snapshot::LoadOptions {
        skip_object_info: true,
        ..*load
    };
    // Each dump is read whole once, on any thread, and kept only as a digest and the keys of
    // its handles: memory grows by a few hundred bytes and 16 bytes a handle per dump.
    let names = Names::default();
    let loaded: Vec<(&PathBuf, Option<&Path>, Result<Digest, snapshot::LoadError>)> = files
        .par_iter()
        .map(|(path, dir)| {
            let result = snapshot::load_with(path, load)
                .and_then(require_handles)
                .map(|snapshot| {
                    // A pipe cannot be read again: its snapshot stays whole.
                    let whole = !std::fs::metadata(path).is_ok_and(|meta| meta.is_file());
                    Digest {
                        keys: names.keys_of(&snapshot),
                        snapshot: if whole { snapshot } else { digest(snapshot) },
                        whole,
                    }
                });
            progress();
            (path, dir.as_deref(), result)
        })
        .collect();
    let mut excluded = Vec::new();
    let mut digests = Vec::new();
    let mut facts = Vec::new();
    for (path, dir, result) in loaded {
        match result {
            Ok(digest) => {
                facts.push(InputFacts::of(&digest.snapshot, dir));
                digests.push(Some(digest));
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
    let segments: Vec<(Vec<Snapshot>, Since)> = plan
        .segments
        .iter()
        .map(|members| {
            let digests: Vec<Digest> = members
                .iter()
                .filter_map(|&index| digests[index].take())
                .collect();
            let since = tracking::retained_keys(digests.iter().map(|digest| &digest.keys));
            let last_whole = digests.last().is_some_and(|digest| digest.whole);
            let snapshots: Vec<Snapshot> =
                digests.into_iter().map(|digest| digest.snapshot).collect();
            (snapshots, since, last_whole)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(mut snapshots, since, last_whole)| {
            if !last_whole {
                reload_last(&mut snapshots, load)?;
            }
            Ok((snapshots, since))
        })
        .collect::<Result<_>>()?;
    let retained: Vec<_> = segments
        .iter()
        .map(|(snapshots, since)| match snapshots.last() {
            Some(last) => tracking::retained_in(last, &names, since),
            None => Default::default(),
        })
        .collect();
    let symbols: Vec<SymbolTable> = segments
        .iter()
        .zip(&retained)
        .map(|((segment, _), retained)| match segment.last() {
            Some(last) => symbolizer.resolve(last, series::retained_addresses_of(last, retained)),
            None => SymbolTable::default(),
        })
        .collect();
    let series = Series {
        segments: segments
            .iter()
            .zip(&symbols)
            .zip(retained)
            .map(|(((snapshots, _), symbols), retained)| Segment {
                snapshots,
                symbols,
                retained,
            })
            .collect(),
        excluded,
        order: plan.order,
        warnings: plan.warnings,
    };
    let mut report = analysis::build_series(series, options);
    symbolizer.prepend_warnings(&mut report.warnings);
    Ok(report)
}

/// Per handle of a segment's last dump, the first dump from which it is open to the last.
type Since = Vec<(HandleKey, usize)>;

/// A dump of a series while the series is decided: its digest (or the whole snapshot of an
/// input that cannot be read twice) and its handles' keys.
struct Digest {
    snapshot: Snapshot,
    keys: HandleKeys,
    whole: bool,
}

/// What the series report reads of a dump that is not the last of its segment: the handle
/// table becomes counts per type, the trace its record count; the file is let go.
fn digest(mut snapshot: Snapshot) -> Snapshot {
    if snapshot.type_counts.is_none() {
        let counts = snapshot.counts_by_type();
        snapshot.type_counts = Some(
            counts
                .into_iter()
                .map(|(type_name, count)| (type_name, count as u64))
                .collect(),
        );
    }
    snapshot.handles = None;
    if let Some(trace) = &mut snapshot.trace {
        trace.records = Vec::new();
    }
    snapshot.frame_text = Default::default();
    snapshot.memory = None;
    snapshot.file = None;
    snapshot
}

/// Reads the last of `snapshots` whole again: its handles, stacks and modules' memory are
/// what the report shows.
fn reload_last(snapshots: &mut [Snapshot], load: &snapshot::LoadOptions) -> Result<()> {
    if let Some(last) = snapshots.last_mut() {
        *last = require_handles(snapshot::load_with(&last.source, load)?)?;
    }
    Ok(())
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
