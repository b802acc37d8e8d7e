//! The fleet aggregate: module versions ranked by how much higher the handle counts are in
//! the dumps that load them, with the confounders set aside — system modules every machine
//! loads, modules that always load together, other programs — and versions compared.
//! It depends only on the rows, so shards processed apart merge to the same result.

use super::model::{
    Aggregate, BatchReport, CandidateCheck, DumpRow, FailedInput, LoadedTogether, ModuleVersionRow,
    ProgramAggregate, SkippedInput, TopCheck,
};
use super::row::TOP_TYPES;
use super::stats::{mann_whitney, median};
use super::versions::{version_comparisons, MIN_GROUP_DUMPS, SIGNIFICANCE};
use crate::analysis::attribution::Attribution;
use crate::analysis::model::{top_types, SCHEMA_VERSION};
use std::collections::{BTreeMap, BTreeSet};

/// Module versions folded under a higher-ranked one when they load in at least this share of
/// the dumps that load either (Jaccard index).
const TOGETHER_SHARE: f64 = 0.9;
/// Candidates checked against the top association.
const CHECKED_CANDIDATES: usize = 3;

/// How the aggregate treats system modules.
#[derive(Debug, Clone, Default)]
pub struct AggregateOptions {
    /// Which modules are system modules.
    pub attribution: Attribution,
    /// Rank system modules too (they are loaded by nearly every process, so their presence
    /// mostly tells which OS a dump came from).
    pub include_system_modules: bool,
}

impl AggregateOptions {
    fn ranks(&self, module: &str) -> bool {
        self.include_system_modules || !self.attribution.is_system(module)
    }
}

/// The report from rows, failures and skipped inputs in any order (sorted by file name).
pub fn batch_report(
    mut dumps: Vec<DumpRow>,
    mut failures: Vec<FailedInput>,
    mut skipped: Vec<SkippedInput>,
    options: &AggregateOptions,
) -> BatchReport {
    dumps.sort_by(|a, b| a.file.cmp(&b.file));
    failures.sort_by(|a, b| a.file.cmp(&b.file));
    skipped.sort_by(|a, b| a.file.cmp(&b.file));
    let mut aggregate = aggregate(&dumps, options);
    aggregate.failed = failures.len();
    aggregate.skipped = skipped.len();
    BatchReport {
        schema_version: SCHEMA_VERSION,
        dumps,
        failures,
        skipped,
        aggregate,
    }
}

/// The aggregate over processed rows (failed and skipped counts are the caller's).
pub fn aggregate(rows: &[DumpRow], options: &AggregateOptions) -> Aggregate {
    let mut rows: Vec<&DumpRow> = rows.iter().collect();
    rows.sort_by(|a, b| a.file.cmp(&b.file));
    let with_handles: Vec<&DumpRow> = rows
        .iter()
        .copied()
        .filter(|row| row.handle_count.is_some())
        .collect();
    let modules = ranked_modules(&with_handles, options);
    let top_check = top_check(&with_handles, &modules);
    let programs = programs(&rows, options);
    let mut known_issues = BTreeMap::new();
    let mut crashes = BTreeMap::new();
    for row in &rows {
        for issue in &row.known_issues {
            *known_issues.entry(issue.label.clone()).or_default() += 1;
        }
        if let Some(crash) = &row.crash {
            *crashes.entry(crash.reason.clone()).or_default() += 1;
        }
    }
    let without_handle_data = rows.len() - with_handles.len();
    Aggregate {
        processed: rows.len(),
        failed: 0,
        skipped: 0,
        without_handle_data,
        duplicates_dropped: 0,
        version_comparisons: version_comparisons(&with_handles, |name| options.ranks(name)),
        notes: notes(&programs, without_handle_data),
        caveats: Vec::new(),
        modules,
        top_check,
        programs,
        known_issues,
        crashes,
    }
}

/// The dumps of `rows` (by index) that load each module version.
fn loaded_by(
    rows: &[&DumpRow],
    options: &AggregateOptions,
) -> BTreeMap<(String, Option<String>), (String, BTreeSet<usize>)> {
    let mut loaded: BTreeMap<(String, Option<String>), (String, BTreeSet<usize>)> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        for module in row
            .modules
            .iter()
            .filter(|module| options.ranks(&module.name))
        {
            loaded
                .entry((module.name.to_lowercase(), module.version.clone()))
                .or_insert_with(|| (module.name.clone(), BTreeSet::new()))
                .1
                .insert(index);
        }
    }
    loaded
}

fn counts_of(rows: &[&DumpRow], indexes: impl Iterator<Item = usize>) -> Vec<f64> {
    indexes
        .filter_map(|index| rows[index].handle_count)
        .map(|count| count as f64)
        .collect()
}

/// Module versions ranked by the ratio of the median handle count with them to without them;
/// those loaded with a higher-ranked one folded under it.
fn ranked_modules(rows: &[&DumpRow], options: &AggregateOptions) -> Vec<ModuleVersionRow> {
    let mut ranked: Vec<(ModuleVersionRow, BTreeSet<usize>)> = loaded_by(rows, options)
        .into_iter()
        .map(|((_, version), (name, with))| {
            let counts = counts_of(rows, with.iter().copied());
            let others = counts_of(rows, (0..rows.len()).filter(|i| !with.contains(i)));
            let median_handles = median(&counts).unwrap_or(0.0);
            let median_without = median(&others);
            let mut type_totals: BTreeMap<String, usize> = BTreeMap::new();
            for &index in &with {
                for (type_name, count) in &rows[index].types {
                    *type_totals.entry(type_name.clone()).or_default() += count;
                }
            }
            let row = ModuleVersionRow {
                rank: 0,
                module: name,
                version,
                dumps: with.len(),
                max_handles: counts.iter().copied().fold(0.0, f64::max) as usize,
                median_handles,
                dumps_without: others.len(),
                ratio: median_without
                    .filter(|median| *median > 0.0)
                    .map(|median| median_handles / median),
                median_without,
                dominant_types: top_types(&type_totals, TOP_TYPES),
                loaded_with: Vec::new(),
            };
            (row, with)
        })
        .collect();
    ranked.sort_by(|(a, _), (b, _)| {
        let ratio = |row: &ModuleVersionRow| row.ratio.unwrap_or(f64::NEG_INFINITY);
        ratio(b)
            .total_cmp(&ratio(a))
            .then(b.dumps.cmp(&a.dumps))
            .then_with(|| a.module.to_lowercase().cmp(&b.module.to_lowercase()))
            .then_with(|| a.version.cmp(&b.version))
    });
    fold_loaded_together(ranked)
}

/// Folds each module version under the first higher-ranked one loaded in (nearly) the same
/// dumps; numbers the rest.
fn fold_loaded_together(ranked: Vec<(ModuleVersionRow, BTreeSet<usize>)>) -> Vec<ModuleVersionRow> {
    let mut kept: Vec<(ModuleVersionRow, BTreeSet<usize>)> = Vec::new();
    for (row, with) in ranked {
        let keeper = kept.iter_mut().find(|(_, kept_with)| {
            let together = kept_with.intersection(&with).count();
            let either = kept_with.union(&with).count();
            either > 0 && together as f64 >= TOGETHER_SHARE * either as f64
        });
        match keeper {
            Some((keeper, kept_with)) => keeper.loaded_with.push(LoadedTogether {
                together: kept_with.intersection(&with).count(),
                module: row.module,
                version: row.version,
                dumps: row.dumps,
            }),
            None => kept.push((row, with)),
        }
    }
    kept.into_iter()
        .enumerate()
        .map(|(index, (mut row, _))| {
            row.rank = index + 1;
            row
        })
        .collect()
}

/// For the top association: do the next candidates still go with higher counts in the dumps
/// that do not load the top module version?
fn top_check(rows: &[&DumpRow], modules: &[ModuleVersionRow]) -> Option<TopCheck> {
    let top = modules
        .first()
        .filter(|row| row.ratio.unwrap_or(0.0) > 1.0)?;
    let loads = |row: &DumpRow, module: &str, version: &Option<String>| {
        row.modules
            .iter()
            .any(|loaded| loaded.name.eq_ignore_ascii_case(module) && &loaded.version == version)
    };
    let without_top: Vec<&DumpRow> = rows
        .iter()
        .copied()
        .filter(|row| !loads(row, &top.module, &top.version))
        .collect();
    let candidates = modules
        .iter()
        .skip(1)
        .take(CHECKED_CANDIDATES)
        .map(|candidate| {
            let (with, without): (Vec<&DumpRow>, Vec<&DumpRow>) = without_top
                .iter()
                .copied()
                .partition(|row| loads(row, &candidate.module, &candidate.version));
            let counts = |group: &[&DumpRow]| -> Vec<f64> {
                group
                    .iter()
                    .filter_map(|row| row.handle_count)
                    .map(|c| c as f64)
                    .collect()
            };
            let (with_counts, without_counts) = (counts(&with), counts(&without));
            let ratio = match (median(&with_counts), median(&without_counts)) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
            let enough = with.len() >= MIN_GROUP_DUMPS && without.len() >= MIN_GROUP_DUMPS;
            let p_value = enough
                .then(|| mann_whitney(&with_counts, &without_counts))
                .flatten()
                .map(|test| test.p_value);
            let verdict = match p_value {
                None => "too few dumps without the top module".to_string(),
                Some(p) if p < SIGNIFICANCE && ratio.unwrap_or(0.0) > 1.0 => {
                    "still an effect".to_string()
                }
                Some(_) => "no effect left".to_string(),
            };
            CandidateCheck {
                module: candidate.module.clone(),
                version: candidate.version.clone(),
                dumps_with: with.len(),
                dumps_without: without.len(),
                ratio,
                p_value,
                verdict,
            }
        })
        .collect();
    Some(TopCheck {
        module: top.module.clone(),
        version: top.version.clone(),
        candidates,
    })
}

/// Per-program aggregates when the rows hold dumps of more than one program.
fn programs(rows: &[&DumpRow], options: &AggregateOptions) -> Vec<ProgramAggregate> {
    let mut by_program: BTreeMap<String, (String, Vec<&DumpRow>)> = BTreeMap::new();
    for row in rows {
        let name = row
            .process
            .clone()
            .unwrap_or_else(|| "(unknown)".to_string());
        by_program
            .entry(name.to_lowercase())
            .or_insert_with(|| (name, Vec::new()))
            .1
            .push(row);
    }
    if by_program.len() < 2 {
        return Vec::new();
    }
    by_program
        .into_values()
        .map(|(program, rows)| {
            let with_handles: Vec<&DumpRow> = rows
                .iter()
                .copied()
                .filter(|row| row.handle_count.is_some())
                .collect();
            ProgramAggregate {
                program,
                dumps: rows.len(),
                with_handle_data: with_handles.len(),
                modules: ranked_modules(&with_handles, options),
                version_comparisons: version_comparisons(&with_handles, |name| options.ranks(name)),
            }
        })
        .collect()
}

fn notes(programs: &[ProgramAggregate], without_handle_data: usize) -> Vec<String> {
    let mut notes = Vec::new();
    if !programs.is_empty() {
        let list = programs
            .iter()
            .map(|program| format!("{} ({} dumps)", program.program, program.dumps))
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(format!(
            "the batch holds dumps of {} programs: {list}; the ranking over all dumps compares different programs, so each program is also ranked on its own",
            programs.len()
        ));
    }
    if without_handle_data > 0 {
        notes.push(format!(
            "{without_handle_data} {} no handle data (no HandleDataStream): listed, but no part of any handle statistic",
            if without_handle_data == 1 { "dump has" } else { "dumps have" }
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::batch::model::test_row;

    /// 12 dumps of one program: Leaky.dll (always with its helper LeakyUi.dll) in the six
    /// with high counts; Bystander.dll in half of each group; ntdll everywhere.
    fn fleet() -> Vec<DumpRow> {
        (0..12)
            .map(|index| {
                let leaky = index < 6;
                let mut modules = vec![("ntdll.dll", "10.0"), ("App.exe", "1.0")];
                if leaky {
                    modules.extend([("Leaky.dll", "2.0"), ("LeakyUi.dll", "2.0")]);
                }
                if index % 2 == 0 {
                    modules.push(("Bystander.dll", "1.0"));
                }
                let handles = if leaky { 900 + index * 10 } else { 100 + index };
                test_row(
                    &format!("d{index:02}.dmp"),
                    "App.exe",
                    Some(handles),
                    &modules,
                )
            })
            .collect()
    }

    #[test]
    fn system_modules_are_left_out_and_modules_loaded_together_fold() {
        let rows = fleet();
        let options = AggregateOptions::default();
        let aggregate = aggregate(&rows, &options);
        let names: Vec<&str> = aggregate
            .modules
            .iter()
            .map(|row| row.module.as_str())
            .collect();
        assert_eq!(names, ["Leaky.dll", "Bystander.dll", "App.exe"]);
        let top = &aggregate.modules[0];
        assert_eq!(top.rank, 1);
        assert_eq!(top.loaded_with.len(), 1);
        assert_eq!(top.loaded_with[0].module, "LeakyUi.dll");
        assert_eq!(
            (top.loaded_with[0].together, top.loaded_with[0].dumps),
            (6, 6)
        );
        assert_eq!(aggregate.modules[1].rank, 2, "folded modules take no rank");

        let everything = AggregateOptions {
            include_system_modules: true,
            ..AggregateOptions::default()
        };
        let aggregate = super::aggregate(&rows, &everything);
        let app = aggregate
            .modules
            .iter()
            .find(|row| row.module == "App.exe")
            .unwrap();
        assert_eq!(
            app.loaded_with[0].module, "ntdll.dll",
            "loaded in the same dumps"
        );
    }

    #[test]
    fn the_next_candidates_are_checked_without_the_top_module() {
        let mut rows = fleet();
        // Bystander goes with higher counts only through Leaky: without Leaky, no effect.
        rows.extend((12..20).map(|index| {
            let mut modules = vec![("App.exe", "1.0")];
            if index % 2 == 0 {
                modules.push(("Bystander.dll", "1.0"));
            }
            test_row(
                &format!("d{index:02}.dmp"),
                "App.exe",
                Some(100 + index % 3),
                &modules,
            )
        }));
        let aggregate = aggregate(&rows, &AggregateOptions::default());
        let check = aggregate.top_check.expect("a top association");
        assert_eq!(check.module, "Leaky.dll");
        let bystander = check
            .candidates
            .iter()
            .find(|candidate| candidate.module == "Bystander.dll")
            .unwrap();
        assert_eq!((bystander.dumps_with, bystander.dumps_without), (7, 7));
        assert_eq!(bystander.verdict, "no effect left");
    }

    #[test]
    fn dumps_without_handle_data_take_no_part_and_programs_are_ranked_apart() {
        let mut rows = fleet();
        rows.push(test_row(
            "crash.dmp",
            "App.exe",
            None,
            &[("Leaky.dll", "2.0")],
        ));
        rows.push(test_row(
            "other.dmp",
            "Other.exe",
            Some(50),
            &[("Leaky.dll", "2.0")],
        ));
        let aggregate = aggregate(&rows, &AggregateOptions::default());
        assert_eq!(aggregate.without_handle_data, 1);
        assert_eq!(aggregate.processed, 14);
        let leaky = aggregate
            .modules
            .iter()
            .find(|row| row.module == "Leaky.dll")
            .unwrap();
        assert_eq!(leaky.dumps, 7, "the dump without handles is not counted");
        assert_eq!(aggregate.programs.len(), 2);
        assert_eq!(aggregate.programs[0].program, "App.exe");
        assert_eq!(aggregate.programs[0].with_handle_data, 12);
        assert!(aggregate.notes[0].starts_with("the batch holds dumps of 2 programs"));
        assert!(aggregate.notes[1].starts_with("1 dump has no handle data"));
    }
}
