//! The aggregate gathered one row at a time: of each dump only what the fleet statistics read
//! is kept — its program, its handle count and, per module version it loads, its index in that
//! module version's list — so a batch streaming its rows out holds a few bytes per dump, not
//! the rows. Builders filled apart (one per worker) merge into one.

use super::aggregate::AggregateOptions;
use super::model::DumpRow;
use std::collections::{BTreeMap, HashMap};

/// Index of a row, a program, a module name, a module version or a type name in a builder.
pub(super) type Id = u32;

/// The name of a module version (or program, or module) as met in the first row by file name.
#[derive(Debug, Clone)]
pub(super) struct FirstSeen {
    file: Box<str>,
    /// The name as that row spells it.
    pub(super) text: String,
}

impl FirstSeen {
    /// Keeps `other` when its row comes first by file name (the earlier row on a tie).
    fn keep_first(&mut self, other: FirstSeen) {
        if other.file < self.file {
            *self = other;
        }
    }

    /// Keeps in `slot` whichever of it and `other` comes first.
    pub(super) fn keep(slot: &mut Option<FirstSeen>, other: Option<&FirstSeen>) {
        let Some(other) = other else {
            return;
        };
        match slot {
            Some(mine) => mine.keep_first(other.clone()),
            None => *slot = Some(other.clone()),
        }
    }

    fn new(file: &str, text: &str) -> FirstSeen {
        FirstSeen {
            file: file.into(),
            text: text.to_string(),
        }
    }

    fn offer(slot: &mut Option<FirstSeen>, file: &str, text: &str) {
        match slot {
            Some(seen) if *seen.file <= *file => {}
            _ => *slot = Some(FirstSeen::new(file, text)),
        }
    }
}

/// What the aggregate keeps of one row.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowFacts {
    /// Its program (by name in lower case).
    pub(super) program: Id,
    /// Its handle count; `None` without handle data.
    pub(super) handles: Option<usize>,
}

/// A module version (name in lower case, version) ranked by the aggregate.
#[derive(Debug, Clone)]
pub(super) struct ModuleKey {
    /// The module name in lower case ([`AggregateBuilder::names`]).
    pub(super) name: Id,
    /// The file version.
    pub(super) version: Option<String>,
    /// The rows with handle data that load it, ascending.
    pub(super) rows: Vec<Id>,
    /// A system module (by name, or loaded from a system folder in some dump).
    pub(super) system: bool,
}

/// A module version within the rows of one program.
#[derive(Debug, Clone, Default)]
pub(super) struct ProgramModule {
    /// Its name as first met in the program's rows.
    pub(super) display: Option<FirstSeen>,
    /// Handles per type (by type id) over the program's rows that load it.
    pub(super) types: BTreeMap<Id, usize>,
    /// Open handles whose trace records blame it, over the program's rows.
    pub(super) blamed: usize,
    /// The rows whose trace records blame it.
    pub(super) blamed_rows: usize,
}

/// The aggregate of a batch under construction ([`AggregateBuilder::add`] each row, then
/// [`AggregateBuilder::finish`]).
#[derive(Debug, Clone)]
pub struct AggregateBuilder {
    pub(super) options: AggregateOptions,
    pub(super) rows: Vec<RowFacts>,
    /// Programs by name in lower case, with the name as first met.
    pub(super) programs: Vec<(String, Option<FirstSeen>)>,
    program_ids: HashMap<String, Id>,
    /// Module names in lower case.
    pub(super) names: Vec<String>,
    name_ids: HashMap<String, Id>,
    pub(super) keys: Vec<ModuleKey>,
    key_ids: HashMap<(Id, Option<String>), Id>,
    pub(super) type_names: Vec<String>,
    type_ids: HashMap<String, Id>,
    /// Per (program, module version).
    pub(super) program_modules: HashMap<(Id, Id), ProgramModule>,
    /// Per (program, module name): the name as first met.
    pub(super) program_names: HashMap<(Id, Id), FirstSeen>,
    pub(super) known_issues: BTreeMap<String, usize>,
    pub(super) crashes: BTreeMap<String, usize>,
}

fn intern(ids: &mut HashMap<String, Id>, table: &mut Vec<String>, text: &str) -> Id {
    if let Some(&id) = ids.get(text) {
        return id;
    }
    let id = table.len() as Id;
    table.push(text.to_string());
    ids.insert(text.to_string(), id);
    id
}

impl AggregateBuilder {
    /// An empty aggregate ranking module versions as `options` says.
    pub fn new(options: &AggregateOptions) -> AggregateBuilder {
        AggregateBuilder {
            options: options.clone(),
            rows: Vec::new(),
            programs: Vec::new(),
            program_ids: HashMap::new(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            keys: Vec::new(),
            key_ids: HashMap::new(),
            type_names: Vec::new(),
            type_ids: HashMap::new(),
            program_modules: HashMap::new(),
            program_names: HashMap::new(),
            known_issues: BTreeMap::new(),
            crashes: BTreeMap::new(),
        }
    }

    /// Rows added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn program_id(&mut self, lower: String) -> Id {
        if let Some(&id) = self.program_ids.get(&lower) {
            return id;
        }
        let id = self.programs.len() as Id;
        self.program_ids.insert(lower.clone(), id);
        self.programs.push((lower, None));
        id
    }

    fn key_id(&mut self, name: Id, version: &Option<String>) -> Id {
        if let Some(&id) = self.key_ids.get(&(name, version.clone())) {
            return id;
        }
        let id = self.keys.len() as Id;
        self.key_ids.insert((name, version.clone()), id);
        self.keys.push(ModuleKey {
            name,
            version: version.clone(),
            rows: Vec::new(),
            system: false,
        });
        id
    }

    /// Takes in one row: its program, handle count, known issues and crash, and for a row
    /// with handle data the module versions it loads (those the options rank) with its
    /// handles per type.
    pub fn add(&mut self, row: &DumpRow) {
        let index = self.rows.len() as Id;
        let process = row.process.as_deref().unwrap_or("(unknown)");
        let program = self.program_id(process.to_lowercase());
        FirstSeen::offer(&mut self.programs[program as usize].1, &row.file, process);
        self.rows.push(RowFacts {
            program,
            handles: row.handle_count,
        });
        for issue in &row.known_issues {
            *self.known_issues.entry(issue.label.clone()).or_default() += 1;
        }
        if let Some(crash) = &row.crash {
            *self.crashes.entry(crash.reason.clone()).or_default() += 1;
        }
        if row.handle_count.is_none() {
            return;
        }
        let types: Vec<(Id, usize)> = row
            .types
            .iter()
            .map(|(name, count)| {
                (
                    intern(&mut self.type_ids, &mut self.type_names, name),
                    *count,
                )
            })
            .collect();
        for module in &row.modules {
            let system = self.options.is_system(module);
            if system && !self.options.include_system_modules {
                continue;
            }
            let name = intern(
                &mut self.name_ids,
                &mut self.names,
                &module.name.to_lowercase(),
            );
            let key = self.key_id(name, &module.version);
            self.keys[key as usize].system |= system;
            let rows = &mut self.keys[key as usize].rows;
            if rows.last() == Some(&index) {
                continue; // the same module version twice in one dump counts once
            }
            rows.push(index);
            let scoped = self.program_modules.entry((program, key)).or_default();
            FirstSeen::offer(&mut scoped.display, &row.file, &module.name);
            for &(type_id, count) in &types {
                *scoped.types.entry(type_id).or_default() += count;
            }
            let blamed: usize = row
                .blamed
                .iter()
                .filter(|blamed| {
                    blamed.module.eq_ignore_ascii_case(&module.name)
                        && blamed.version == module.version
                })
                .map(|blamed| blamed.handles)
                .sum();
            scoped.blamed += blamed;
            scoped.blamed_rows += usize::from(blamed > 0);
            match self.program_names.get_mut(&(program, name)) {
                Some(seen) if *seen.file <= *row.file => {}
                Some(seen) => *seen = FirstSeen::new(&row.file, &module.name),
                None => {
                    let seen = FirstSeen::new(&row.file, &module.name);
                    self.program_names.insert((program, name), seen);
                }
            }
        }
    }

    /// Takes in the rows of `other` (filled apart with the same options) after these.
    pub fn merge(&mut self, other: AggregateBuilder) {
        let offset = self.rows.len() as Id;
        let programs: Vec<Id> = other
            .programs
            .into_iter()
            .map(|(lower, seen)| {
                let id = self.program_id(lower);
                let slot = &mut self.programs[id as usize].1;
                match (slot.as_mut(), seen) {
                    (Some(mine), Some(theirs)) => mine.keep_first(theirs),
                    (None, seen) => *slot = seen,
                    (Some(_), None) => {}
                }
                id
            })
            .collect();
        self.rows.extend(other.rows.iter().map(|row| RowFacts {
            program: programs[row.program as usize],
            handles: row.handles,
        }));
        let names: Vec<Id> = other
            .names
            .iter()
            .map(|name| intern(&mut self.name_ids, &mut self.names, name))
            .collect();
        let types: Vec<Id> = other
            .type_names
            .iter()
            .map(|name| intern(&mut self.type_ids, &mut self.type_names, name))
            .collect();
        let keys: Vec<Id> = other
            .keys
            .into_iter()
            .map(|key| {
                let id = self.key_id(names[key.name as usize], &key.version);
                self.keys[id as usize].system |= key.system;
                let rows = &mut self.keys[id as usize].rows;
                rows.extend(key.rows.iter().map(|row| row + offset));
                id
            })
            .collect();
        for ((program, key), module) in other.program_modules {
            let mine = self
                .program_modules
                .entry((programs[program as usize], keys[key as usize]))
                .or_default();
            match (mine.display.as_mut(), module.display) {
                (Some(mine), Some(theirs)) => mine.keep_first(theirs),
                (None, theirs) => mine.display = theirs,
                (Some(_), None) => {}
            }
            for (type_id, count) in module.types {
                *mine.types.entry(types[type_id as usize]).or_default() += count;
            }
            mine.blamed += module.blamed;
            mine.blamed_rows += module.blamed_rows;
        }
        for ((program, name), seen) in other.program_names {
            let key = (programs[program as usize], names[name as usize]);
            match self.program_names.get_mut(&key) {
                Some(mine) => mine.keep_first(seen),
                None => {
                    self.program_names.insert(key, seen);
                }
            }
        }
        for (label, count) in other.known_issues {
            *self.known_issues.entry(label).or_default() += count;
        }
        for (reason, count) in other.crashes {
            *self.crashes.entry(reason).or_default() += count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::batch::aggregate::aggregate;
    use crate::analysis::batch::model::test_row;

    /// Two programs; Leaky.dll spelt `leaky.dll` in the first dump by name only; handles
    /// per type; one dump without handle data.
    fn rows() -> Vec<DumpRow> {
        (0..18)
            .map(|index| {
                let leaky = if index == 0 { "leaky.dll" } else { "Leaky.dll" };
                let mut modules = vec![("App.exe", "1.0"), ("Helper.dll", "3.0")];
                if index % 3 != 1 {
                    modules.push((leaky, if index < 12 { "2.0" } else { "2.1" }));
                }
                let program = if index % 4 == 0 {
                    "Other.exe"
                } else {
                    "App.exe"
                };
                let handles = (index != 5).then_some(100 + index * 37 % 11 * 50);
                let mut row = test_row(&format!("d{index:02}.dmp"), program, handles, &modules);
                row.types.insert("Event".to_string(), index);
                row.types.insert(format!("Type{}", index % 3), 2);
                row
            })
            .collect()
    }

    #[test]
    fn builders_filled_apart_in_any_order_merge_to_the_aggregate_of_all_rows() {
        let rows = rows();
        let options = AggregateOptions::default();
        let whole = aggregate(&rows, &options);
        assert!(whole.modules.iter().any(|row| row.module == "leaky.dll"));
        assert_eq!(whole.programs.len(), 2);
        let mut reversed = AggregateBuilder::new(&options);
        for row in rows.iter().rev() {
            reversed.add(row);
        }
        assert_eq!(
            reversed.finish(),
            whole,
            "names as the first dump by name spells them"
        );
        let mut parts: Vec<AggregateBuilder> =
            (0..3).map(|_| AggregateBuilder::new(&options)).collect();
        for (index, row) in rows.iter().rev().enumerate() {
            parts[index % 3].add(row);
        }
        let mut merged = parts.remove(0);
        for part in parts {
            merged.merge(part);
        }
        assert_eq!(merged.len(), rows.len());
        assert_eq!(merged.finish(), whole);
    }
}
