//! The fleet aggregate: module versions ranked by how much higher the handle counts are in
//! the dumps that load them, with the confounders set aside — system modules every machine
//! loads, modules that always load together, other programs — and versions compared.
//! It depends only on the rows, so shards processed apart merge to the same result.

use super::builder::{AggregateBuilder, FirstSeen, Id};
use super::model::{
    Aggregate, BatchReport, CandidateCheck, DumpRow, FailedInput, LoadedTogether, ModuleVersionRow,
    ProgramAggregate, SkippedInput, TopCheck,
};
use super::row::TOP_TYPES;
use super::stats::{mann_whitney, median};
use super::versions::{comparisons_of, dumps_text, VersionCounts, MIN_GROUP_DUMPS, SIGNIFICANCE};
use crate::analysis::attribution::Attribution;
use crate::analysis::model::{top_types, SCHEMA_VERSION};
use std::collections::BTreeMap;

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
    /// Whether `module` is a system module ([`Attribution::is_system_loaded`]).
    pub(super) fn is_system(&self, module: &super::model::ModuleVersion) -> bool {
        self.attribution
            .is_system_loaded(&module.name, module.system_folder)
    }
}

/// The report from rows, failures and skipped inputs in any order (sorted by file name).
pub fn batch_report(
    mut dumps: Vec<DumpRow>,
    failures: Vec<FailedInput>,
    skipped: Vec<SkippedInput>,
    options: &AggregateOptions,
) -> BatchReport {
    dumps.sort_by(|a, b| a.file.cmp(&b.file));
    let mut builder = AggregateBuilder::new(options);
    for row in &dumps {
        builder.add(row);
    }
    report_of(dumps, failures, skipped, builder)
}

/// The report from rows (already sorted by file name, or none when they were only streamed),
/// failures and skipped inputs, and the aggregate gathered from every row.
pub fn report_of(
    dumps: Vec<DumpRow>,
    mut failures: Vec<FailedInput>,
    mut skipped: Vec<SkippedInput>,
    builder: AggregateBuilder,
) -> BatchReport {
    failures.sort_by(|a, b| a.file.cmp(&b.file));
    skipped.sort_by(|a, b| a.file.cmp(&b.file));
    let mut aggregate = builder.finish();
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
    let mut builder = AggregateBuilder::new(options);
    for row in rows {
        builder.add(row);
    }
    builder.finish()
}

/// The headline association of a ranking: the highest-ranked module version whose dumps have
/// higher counts than the others (ratio above 1) with at least [`MIN_GROUP_DUMPS`] dumps that
/// load it and as many that do not (below that, one odd dump decides the ratio). `None` when
/// no module version qualifies. Over a batch of several programs only each program's ranking
/// has a headline (the ranking over all dumps compares different programs).
pub fn strongest_association(modules: &[ModuleVersionRow]) -> Option<&ModuleVersionRow> {
    modules.iter().find(|row| is_association(row))
}

fn is_association(row: &ModuleVersionRow) -> bool {
    row.ratio.unwrap_or(0.0) > 1.0
        && row.dumps >= MIN_GROUP_DUMPS
        && row.dumps_without >= MIN_GROUP_DUMPS
}

/// The rows of `sorted` that are not in `remove` (both ascending).
fn difference<'a>(sorted: &'a [Id], remove: &'a [Id]) -> impl Iterator<Item = Id> + 'a {
    let mut others = remove.iter().peekable();
    sorted.iter().copied().filter(move |row| {
        while others.next_if(|other| **other < *row).is_some() {}
        others.peek() != Some(&row)
    })
}

/// The rows of `a` that are also in `b` (both ascending).
fn intersection(a: &[Id], b: &[Id]) -> Vec<Id> {
    let (mut i, mut j, mut both) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    both
}

/// How many rows `a` and `b` (both ascending) share.
fn shared(a: &[Id], b: &[Id]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

/// A module version ranked, with the rows that load it.
struct Ranked {
    row: ModuleVersionRow,
    rows: Vec<Id>,
    /// A system module (never the leader of a non-system one).
    system: bool,
}

impl AggregateBuilder {
    /// The aggregate over the rows added (failed and skipped counts are the caller's).
    pub fn finish(self) -> Aggregate {
        let with_handles = self.rows.iter().filter(|row| row.handles.is_some()).count();
        let ranked = self.ranked_modules(None);
        let programs = self.program_aggregates();
        let top_check = if programs.is_empty() {
            self.top_check(&ranked)
        } else {
            None
        };
        let without_handle_data = self.rows.len() - with_handles;
        Aggregate {
            processed: self.rows.len(),
            failed: 0,
            skipped: 0,
            without_handle_data,
            duplicates_dropped: 0,
            version_comparisons: comparisons_of(self.version_counts(None)),
            notes: notes(&programs, without_handle_data),
            caveats: Vec::new(),
            modules: ranked.into_iter().map(|ranked| ranked.row).collect(),
            system_modules_included: self.options.include_system_modules,
            top_check,
            programs,
            known_issues: self.known_issues,
            crashes: self.crashes,
        }
    }

    fn in_scope(&self, row: Id, scope: Option<Id>) -> bool {
        scope.is_none_or(|program| self.rows[row as usize].program == program)
    }

    fn handles(&self, row: Id) -> f64 {
        self.rows[row as usize].handles.unwrap_or(0) as f64
    }

    /// The rows with handle data of `scope` (one program, or all).
    fn universe(&self, scope: Option<Id>) -> Vec<Id> {
        (0..self.rows.len() as Id)
            .filter(|&row| self.rows[row as usize].handles.is_some() && self.in_scope(row, scope))
            .collect()
    }

    /// The programs of `scope`, by id.
    fn scope_programs(&self, scope: Option<Id>) -> Vec<Id> {
        match scope {
            Some(program) => vec![program],
            None => (0..self.programs.len() as Id).collect(),
        }
    }

    /// The name of module version `key` as first met in `scope`, its handles per type and the
    /// handles blamed on it with the number of dumps that blame it.
    fn key_in_scope(
        &self,
        key: Id,
        scope: Option<Id>,
    ) -> (String, BTreeMap<String, usize>, (usize, usize)) {
        let mut first: Option<FirstSeen> = None;
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        let mut blamed = (0, 0);
        for program in self.scope_programs(scope) {
            let Some(module) = self.program_modules.get(&(program, key)) else {
                continue;
            };
            FirstSeen::keep(&mut first, module.display.as_ref());
            blamed.0 += module.blamed;
            blamed.1 += module.blamed_rows;
            for (type_id, count) in &module.types {
                *types
                    .entry(self.type_names[*type_id as usize].clone())
                    .or_default() += count;
            }
        }
        (
            first.map(|seen| seen.text).unwrap_or_default(),
            types,
            blamed,
        )
    }

    /// Module versions ranked by the ratio of the median handle count with them to without
    /// them; those loaded with a higher-ranked one folded under it.
    fn ranked_modules(&self, scope: Option<Id>) -> Vec<Ranked> {
        let universe = self.universe(scope);
        let mut ranked: Vec<Ranked> = Vec::new();
        for (key_id, key) in self.keys.iter().enumerate() {
            let with: Vec<Id> = key
                .rows
                .iter()
                .copied()
                .filter(|&row| self.in_scope(row, scope))
                .collect();
            if with.is_empty() {
                continue;
            }
            let (name, type_totals, (blamed_handles, blamed_dumps)) =
                self.key_in_scope(key_id as Id, scope);
            let counts: Vec<f64> = with.iter().map(|&row| self.handles(row)).collect();
            let others: Vec<f64> = difference(&universe, &with)
                .map(|row| self.handles(row))
                .collect();
            let median_handles = median(&counts).unwrap_or(0.0);
            let median_without = median(&others);
            let row = ModuleVersionRow {
                rank: 0,
                module: name,
                version: key.version.clone(),
                dumps: with.len(),
                max_handles: counts.iter().copied().fold(0.0, f64::max) as usize,
                median_handles,
                dumps_without: others.len(),
                ratio: median_without
                    .filter(|median| *median > 0.0)
                    .map(|median| median_handles / median),
                median_without,
                dominant_types: top_types(&type_totals, TOP_TYPES),
                blamed_handles,
                blamed_dumps,
                loaded_with: Vec::new(),
            };
            ranked.push(Ranked {
                row,
                rows: with,
                system: key.system,
            });
        }
        ranked.sort_by(|Ranked { row: a, .. }, Ranked { row: b, .. }| {
            let ratio = |row: &ModuleVersionRow| row.ratio.unwrap_or(f64::NEG_INFINITY);
            ratio(b)
                .total_cmp(&ratio(a))
                .then(b.dumps.cmp(&a.dumps))
                .then(b.blamed_handles.cmp(&a.blamed_handles))
                .then_with(|| a.module.to_lowercase().cmp(&b.module.to_lowercase()))
                .then_with(|| a.version.cmp(&b.version))
        });
        fold_loaded_together(ranked)
    }

    /// For the top association: do the next candidates still go with higher counts in the
    /// dumps that do not load the top module version?
    fn top_check(&self, modules: &[Ranked]) -> Option<TopCheck> {
        let top_index = modules
            .iter()
            .position(|ranked| is_association(&ranked.row))?;
        let (top, top_rows) = (&modules[top_index].row, &modules[top_index].rows);
        let without_top: Vec<Id> = difference(&self.universe(None), top_rows).collect();
        let counts =
            |rows: &[Id]| -> Vec<f64> { rows.iter().map(|&row| self.handles(row)).collect() };
        let candidates = modules
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != top_index)
            .map(|(_, ranked)| (&ranked.row, &ranked.rows))
            .take(CHECKED_CANDIDATES)
            .map(|(candidate, rows)| {
                let with: Vec<Id> = intersection(&without_top, rows);
                let without: Vec<Id> = difference(&without_top, rows).collect();
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

    /// Handle counts per version of each module in `scope`, for the version comparisons.
    fn version_counts(&self, scope: Option<Id>) -> VersionCounts {
        let mut counts: VersionCounts = BTreeMap::new();
        for key in &self.keys {
            let with: Vec<f64> = key
                .rows
                .iter()
                .filter(|&&row| self.in_scope(row, scope))
                .map(|&row| self.handles(row))
                .collect();
            if with.is_empty() {
                continue;
            }
            let mut first: Option<FirstSeen> = None;
            for program in self.scope_programs(scope) {
                FirstSeen::keep(&mut first, self.program_names.get(&(program, key.name)));
            }
            counts
                .entry(self.names[key.name as usize].clone())
                .or_insert_with(|| {
                    (
                        first.map(|seen| seen.text).unwrap_or_default(),
                        BTreeMap::new(),
                    )
                })
                .1
                .insert(key.version.clone(), with);
        }
        counts
    }

    /// Per-program aggregates when the rows hold dumps of more than one program.
    fn program_aggregates(&self) -> Vec<ProgramAggregate> {
        if self.programs.len() < 2 {
            return Vec::new();
        }
        let mut order: Vec<Id> = (0..self.programs.len() as Id).collect();
        order.sort_by(|a, b| {
            self.programs[*a as usize]
                .0
                .cmp(&self.programs[*b as usize].0)
        });
        order
            .into_iter()
            .map(|program| {
                let rows = self.rows.iter().filter(|row| row.program == program);
                ProgramAggregate {
                    program: self.programs[program as usize]
                        .1
                        .as_ref()
                        .map(|seen| seen.text.clone())
                        .unwrap_or_default(),
                    dumps: rows.clone().count(),
                    with_handle_data: rows.filter(|row| row.handles.is_some()).count(),
                    modules: self
                        .ranked_modules(Some(program))
                        .into_iter()
                        .map(|ranked| ranked.row)
                        .collect(),
                    version_comparisons: comparisons_of(self.version_counts(Some(program))),
                }
            })
            .collect()
    }
}

/// Folds each module version under the first higher-ranked one loaded in (nearly) the same
/// dumps — a system module never leads a module that is not one (a program's own image is not
/// folded under a system DLL) —; numbers the rest.
fn fold_loaded_together(ranked: Vec<Ranked>) -> Vec<Ranked> {
    let mut kept: Vec<Ranked> = Vec::new();
    for mut module in ranked {
        let keeper = kept.iter_mut().find(|keeper| {
            let together = shared(&keeper.rows, &module.rows);
            let either = keeper.rows.len() + module.rows.len() - together;
            (module.system || !keeper.system)
                && either > 0
                && together as f64 >= TOGETHER_SHARE * either as f64
        });
        match keeper {
            Some(keeper) => {
                // Presence cannot tell modules loaded together apart; trace records can: the
                // one they blame for more handles leads the group, in the group's place.
                if module.row.blamed_handles > keeper.row.blamed_handles
                    && (keeper.system || !module.system)
                {
                    std::mem::swap(keeper, &mut module);
                    keeper.row.loaded_with = std::mem::take(&mut module.row.loaded_with);
                }
                keeper.row.loaded_with.push(LoadedTogether {
                    together: shared(&keeper.rows, &module.rows),
                    module: module.row.module,
                    version: module.row.version,
                    dumps: module.row.dumps,
                    blamed_handles: module.row.blamed_handles,
                });
            }
            None => kept.push(module),
        }
    }
    for (index, ranked) in kept.iter_mut().enumerate() {
        ranked.row.rank = index + 1;
    }
    kept
}

fn notes(programs: &[ProgramAggregate], without_handle_data: usize) -> Vec<String> {
    let mut notes = Vec::new();
    if !programs.is_empty() {
        let list = programs
            .iter()
            .map(|program| format!("{} ({})", program.program, dumps_text(program.dumps)))
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(format!(
            "the batch holds dumps of {} programs: {list}; the ranking over all dumps compares different programs, so each program is also ranked on its own",
            programs.len()
        ));
    }
    if without_handle_data > 0 {
        notes.push(format!(
            "{without_handle_data} {} no handle data (a dump without a HandleDataStream, a log or listing that shows no handles): listed, but no part of any handle statistic",
            if without_handle_data == 1 { "input has" } else { "inputs have" }
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::batch::model::{test_row, BlamedCount};

    fn with_system_modules(rows: &[DumpRow]) -> Aggregate {
        let everything = AggregateOptions {
            include_system_modules: true,
            ..AggregateOptions::default()
        };
        super::aggregate(rows, &everything)
    }

    fn row_of<'a>(aggregate: &'a Aggregate, module: &str) -> Option<&'a ModuleVersionRow> {
        aggregate.modules.iter().find(|row| row.module == module)
    }

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

        let aggregate = with_system_modules(&rows);
        let app = row_of(&aggregate, "App.exe").unwrap();
        assert_eq!(
            app.loaded_with[0].module, "ntdll.dll",
            "loaded in the same dumps"
        );
    }

    #[test]
    fn of_modules_loaded_together_the_one_trace_records_blame_leads() {
        let mut rows = fleet();
        let leader = |rows: &[DumpRow]| {
            let aggregate = aggregate(rows, &AggregateOptions::default());
            let top = aggregate.modules[0].clone();
            let folded: Vec<(String, usize)> = top
                .loaded_with
                .iter()
                .map(|other| (other.module.clone(), other.blamed_handles))
                .collect();
            (top.module, top.blamed_handles, folded)
        };
        // Without trace records the name decides, and nothing is blamed.
        assert_eq!(
            leader(&rows),
            (
                "Leaky.dll".to_string(),
                0,
                vec![("LeakyUi.dll".to_string(), 0)]
            )
        );
        // The trace records of two dumps blame LeakyUi.dll: it leads, in the same place.
        for row in &mut rows[..2] {
            row.blamed.push(BlamedCount {
                module: "LEAKYUI.DLL".to_string(),
                version: Some("2.0".to_string()),
                handles: 40,
            });
        }
        assert_eq!(
            leader(&rows),
            (
                "LeakyUi.dll".to_string(),
                80,
                vec![("Leaky.dll".to_string(), 0)]
            )
        );
        let aggregate = aggregate(&rows, &AggregateOptions::default());
        assert_eq!(aggregate.modules[0].rank, 1);
        assert_eq!(
            strongest_association(&aggregate.modules).unwrap().module,
            "LeakyUi.dll"
        );
        // Another version of it is not blamed.
        rows[2].blamed.push(BlamedCount {
            module: "LeakyUi.dll".to_string(),
            version: Some("9.9".to_string()),
            handles: 500,
        });
        assert_eq!(leader(&rows).1, 80);
    }

    #[test]
    fn a_blamed_module_leads_one_ranked_above_it_that_loads_nearly_with_it() {
        // LeakyUi.dll also loads in one dump of low count: it ranks below Leaky.dll and folds
        // under it (10 of 11 dumps together) until trace records blame it.
        let mut rows: Vec<DumpRow> = (0..20)
            .map(|index| {
                let mut modules = vec![("App.exe", "1.0")];
                if index < 10 {
                    modules.push(("Leaky.dll", "2.0"));
                }
                if index <= 10 {
                    modules.push(("LeakyUi.dll", "2.0"));
                }
                let handles = if index < 10 { 900 + index } else { 100 + index };
                test_row(
                    &format!("d{index:02}.dmp"),
                    "App.exe",
                    Some(handles),
                    &modules,
                )
            })
            .collect();
        let top = |rows: &[DumpRow]| {
            let aggregate = aggregate(rows, &AggregateOptions::default());
            let top = aggregate.modules[0].clone();
            (
                top.rank,
                top.module,
                top.dumps,
                top.loaded_with[0].module.clone(),
            )
        };
        let unblamed = top(&rows);
        assert_eq!(unblamed, (1, "Leaky.dll".into(), 10, "LeakyUi.dll".into()));
        rows[3].blamed.push(BlamedCount {
            module: "LeakyUi.dll".to_string(),
            version: Some("2.0".to_string()),
            handles: 7,
        });
        assert_eq!(
            top(&rows),
            (1, "LeakyUi.dll".into(), 11, "Leaky.dll".into())
        );
    }

    #[test]
    fn the_headline_needs_enough_dumps_on_both_sides() {
        // Rare.dll: in the one dump with the most handles (ratio far above Leaky.dll's).
        let mut rows = fleet();
        rows[0].modules.push(super::super::model::ModuleVersion {
            name: "Rare.dll".to_string(),
            version: Some("1.0".to_string()),
            system_folder: false,
        });
        rows[0].handle_count = Some(5000);
        let aggregate = aggregate(&rows, &AggregateOptions::default());
        assert_eq!(aggregate.modules[0].module, "Rare.dll");
        let top = strongest_association(&aggregate.modules).unwrap();
        assert_eq!((top.module.as_str(), top.rank), ("Leaky.dll", 2));
        assert_eq!(aggregate.top_check.unwrap().module, "Leaky.dll");
        // 3 dumps against 3: no headline.
        let few: Vec<DumpRow> = fleet()
            .into_iter()
            .filter(|row| row.file.as_str() < "d03" || row.file.as_str() >= "d09")
            .collect();
        let aggregate = super::aggregate(&few, &AggregateOptions::default());
        assert_eq!(aggregate.modules[0].module, "Leaky.dll");
        assert!(strongest_association(&aggregate.modules).is_none());
        assert!(aggregate.top_check.is_none());
    }

    #[test]
    fn modules_from_system_folders_are_system_modules_and_lead_no_other() {
        let mut rows = fleet();
        for row in &mut rows {
            row.modules.push(super::super::model::ModuleVersion {
                name: "ACLUI.DLL".to_string(),
                version: Some("10.0".to_string()),
                system_folder: true,
            });
        }
        let names = |aggregate: &Aggregate| -> Vec<String> {
            aggregate
                .modules
                .iter()
                .map(|row| row.module.clone())
                .collect()
        };
        let aggregate = aggregate(&rows, &AggregateOptions::default());
        assert_eq!(names(&aggregate), ["Leaky.dll", "Bystander.dll", "App.exe"]);
        assert!(AggregateOptions::default().is_system(rows[0].modules.last().unwrap()));
        let aggregate = with_system_modules(&rows);
        // CRYPTBASE.DLL sorts before App.exe (same dumps, no ratio) but does not lead it.
        let app = row_of(&aggregate, "App.exe").expect("App.exe keeps a rank of its own");
        assert!(app.rank < aggregate.modules.len() + 1);
        let cryptbase = row_of(&aggregate, "CRYPTBASE.DLL");
        assert!(cryptbase.is_none_or(|row| row
            .loaded_with
            .iter()
            .all(|other| other.module != "App.exe")));
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
        assert!(aggregate.notes[1].starts_with("1 input has no handle data"));
    }
}
