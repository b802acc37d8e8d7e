//! Builds the diff report from the comparison and the resolved frames.

use super::compare::{HandleDiff, NewHandle, StackEvidence};
use super::model::{
    DiffReport, DuplicateGroup, HandleChange, ModuleRow, OutstandingStack, SuspectRow,
    TraceSummary, TypeCounts, TypeDelta,
};
use super::warnings::{consistency_warnings, symbol_warnings, trace_warnings};
use super::DiffOptions;
use crate::analysis::attribution::Attribution;
use crate::analysis::model::{hex, DumpSummary, SCHEMA_VERSION};
use crate::analysis::stacks::{group_by_stack, StackGroup};
use crate::snapshot::{Handle, InputFormat, Snapshot};
use crate::symbols::{ModuleSymbolStatus, SymbolOrigin, SymbolTable};
use foldhash::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Builds the report from the comparison and the resolved frames.
pub fn build_report(
    before: &Snapshot,
    after: &Snapshot,
    handles: &HandleDiff,
    symbols: &SymbolTable,
    options: &DiffOptions,
) -> DiffReport {
    let attribution = &options.attribution;
    let no_type: Arc<str> = Arc::from(crate::snapshot::NO_TYPE);
    let groups = outstanding_groups(handles, symbols, attribution, after);
    let counts = ModuleCounts::of(&groups, &no_type);
    // The stacks take the groups' resolved frames over (a log can hold 900,000 of them), and
    // share the names of the modules they blame; the groups are gone before the handles are
    // listed.
    let mut shared = SharedNames::default();
    let stacks: Vec<OutstandingStack> = groups
        .into_iter()
        .enumerate()
        .map(|(index, group)| outstanding_stack(index, group, &no_type, &mut shared))
        .collect();
    drop(shared);
    let modules = module_rows(&counts, &stacks, after, symbols, attribution);
    let suspects = options
        .suspects
        .iter()
        .map(|name| suspect_row(name, after, &counts, stacks.len()))
        .collect();
    let objects = shared_objects(after);
    let (new_handles, trace) = new_handle_changes(handles, &stacks, after, &objects, &no_type);
    let new_objects = new_handles
        .iter()
        .filter(|change| change.same_object_as.is_none())
        .count();

    let mut warnings = consistency_warnings(before, after);
    warnings.extend(trace_warnings(before, after, &trace, handles.new.len()));
    warnings.extend(symbol_warnings(&modules, symbols, handles.new.is_empty()));
    for snapshot in [before, after] {
        for warning in &snapshot.warnings {
            warnings.push(warning.clone().in_file(snapshot.file_name()));
        }
    }

    // What changes the conclusion is read first, in every format.
    warnings.sort_by_key(|warning| !warning.shown_first());
    DiffReport {
        schema_version: SCHEMA_VERSION,
        before: DumpSummary::of(before),
        after: DumpSummary::of(after),
        reordered: false,
        elapsed_seconds: match (before.captured_at, after.captured_at) {
            (Some(a), Some(b)) => Some(b as i64 - a as i64),
            _ => None,
        },
        total_delta: after.handle_count() as i64 - before.handle_count() as i64,
        by_type: type_deltas(before, after),
        duplicates: duplicate_groups(objects, handles),
        new_handles,
        closed_handles: handles
            .closed
            .iter()
            .map(|handle| handle_change(handle, &no_type, before.input))
            .collect(),
        new_objects,
        stacks,
        modules,
        suspects,
        symbols: symbols.module_status().cloned().collect(),
        trace,
        warnings,
    }
}

/// New handles with an allocation stack, grouped by it: largest group first, then by the
/// lowest handle value, then by the stack.
fn outstanding_groups<'a, 'h>(
    handles: &'a HandleDiff<'h>,
    symbols: &SymbolTable,
    attribution: &Attribution,
    after: &Snapshot,
) -> Vec<StackGroup<&'a NewHandle<'h>>> {
    let with_stack = handles.new.iter().filter_map(|new| match &new.evidence {
        StackEvidence::Open(stack) => Some((stack.clone(), new)),
        _ => None,
    });
    let mut groups = group_by_stack(with_stack, symbols, attribution, after);
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.members[0].handle.value.cmp(&b.members[0].handle.value))
            .then_with(|| a.stack.cmp(&b.stack))
    });
    groups
}

/// The object types of `members`, counted (`no_type` for the untyped).
fn types_of(members: &[&NewHandle], no_type: &Arc<str>) -> TypeCounts {
    TypeCounts::of(
        members
            .iter()
            .map(|member| member.handle.type_name.as_ref().unwrap_or(no_type)),
    )
}

/// One shared copy of each name many stacks repeat (blamed modules, versions, paths).
#[derive(Default)]
struct SharedNames(HashMap<Box<str>, Arc<str>>);

impl SharedNames {
    fn get(&mut self, name: Option<&str>) -> Option<Arc<str>> {
        let name = name?;
        if let Some(shared) = self.0.get(name) {
            return Some(Arc::clone(shared));
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.insert(name.into(), Arc::clone(&shared));
        Some(shared)
    }
}

/// The report's row of `group`, which gives its resolved frames and lines up to it.
fn outstanding_stack(
    index: usize,
    group: StackGroup<&NewHandle>,
    no_type: &Arc<str>,
    shared: &mut SharedNames,
) -> OutstandingStack {
    OutstandingStack {
        id: index + 1,
        count: group.members.len(),
        types: types_of(&group.members, no_type),
        handles: group
            .members
            .iter()
            .map(|member| member.handle.value)
            .collect(),
        blamed_module: shared.get(group.blame.module.as_deref()),
        blamed_version: shared.get(group.blame.version.as_deref()),
        blamed_path: shared.get(group.blame.path.as_deref()),
        frames: group.blame.lines.into(),
        frame_details: group.blame.frames,
    }
}

/// Per module met in the outstanding stacks: handles blamed on it, handles whose stack passes
/// through it, stacks through it, and blamed handles per type.
#[derive(Default)]
struct ModuleCounts {
    by_module: BTreeMap<String, (usize, usize, usize)>,
    blamed_types: BTreeMap<String, BTreeMap<String, usize>>,
}

impl ModuleCounts {
    fn of(groups: &[StackGroup<&NewHandle>], no_type: &Arc<str>) -> ModuleCounts {
        let mut counts = ModuleCounts::default();
        for group in groups {
            let size = group.members.len();
            let distinct: BTreeSet<&str> = group
                .blame
                .frames
                .iter()
                .filter_map(|frame| frame.module.as_deref())
                .collect();
            for module in distinct {
                let entry = counts.by_module.entry(module.to_string()).or_default();
                entry.1 += size;
                entry.2 += 1;
            }
            if let Some(blamed) = &group.blame.module {
                counts.by_module.entry(blamed.clone()).or_default().0 += size;
                let per_type = counts.blamed_types.entry(blamed.clone()).or_default();
                for (type_name, count) in types_of(&group.members, no_type).iter() {
                    match per_type.get_mut(type_name) {
                        Some(total) => *total += count,
                        None => {
                            per_type.insert(type_name.to_string(), count);
                        }
                    }
                }
            }
        }
        counts
    }

    /// (blamed, inclusive, stacks) of the module loaded as `name`, in any spelling.
    fn of_module(&self, name: &str) -> (usize, usize, usize) {
        self.by_module
            .iter()
            .find(|(counted, _)| crate::snapshot::same_module(counted, name))
            .map(|(_, counts)| *counts)
            .unwrap_or_default()
    }
}

fn module_rows(
    counts: &ModuleCounts,
    stacks: &[OutstandingStack],
    after: &Snapshot,
    symbols: &SymbolTable,
    attribution: &Attribution,
) -> Vec<ModuleRow> {
    let symbol_status: BTreeMap<&str, &ModuleSymbolStatus> = symbols
        .module_status()
        .map(|status| (status.module.as_str(), status))
        .collect();
    // Looked up once each: the stacks may pass through 100,000 modules.
    let mut loaded_by_key: HashMap<String, &crate::snapshot::Module> = HashMap::default();
    for module in &after.modules {
        loaded_by_key
            .entry(crate::snapshot::module_key(&module.name))
            .or_insert(module);
    }
    let mut blamed_stacks: HashMap<&str, usize> = HashMap::default();
    for stack in stacks {
        if let Some(module) = stack.blamed_module.as_deref() {
            *blamed_stacks.entry(module).or_default() += 1;
        }
    }
    let mut modules: Vec<ModuleRow> = counts
        .by_module
        .iter()
        .map(|(name, (blamed, inclusive, stack_count))| {
            let loaded = loaded_by_key
                .get(&crate::snapshot::module_key(name))
                .copied();
            ModuleRow {
                name: name.clone(),
                version: loaded.and_then(|module| module.file_version.clone()),
                path: loaded.map(|module| module.path.clone()),
                timestamp: loaded
                    .filter(|module| module.timestamp != 0)
                    .map(|module| format!("{:08x}", module.timestamp)),
                pdb: loaded
                    .and_then(|module| module.debug_file.as_ref())
                    .map(crate::analysis::show::pdb_identity),
                system: attribution
                    .is_system_module(name, loaded.map(|module| module.path.as_str())),
                blamed: *blamed,
                inclusive: *inclusive,
                stacks: *stack_count,
                blamed_stacks: blamed_stacks.get(name.as_str()).copied().unwrap_or(0),
                blamed_types: counts.blamed_types.get(name).cloned().unwrap_or_default(),
                symbols: symbol_status
                    .get(name.as_str())
                    .map_or(SymbolOrigin::None, |status| status.origin),
            }
        })
        .collect();
    modules.sort_by(|a, b| {
        b.blamed
            .cmp(&a.blamed)
            .then(b.inclusive.cmp(&a.inclusive))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    modules
}

/// The new handles as the report lists them, with their stack (found by handle value) and
/// blame, and what the trace records said about them.
fn new_handle_changes(
    handles: &HandleDiff,
    stacks: &[OutstandingStack],
    after: &Snapshot,
    objects: &SharedObjects,
    no_type: &Arc<str>,
) -> (Vec<HandleChange>, TraceSummary) {
    let mut stack_of_handle: HashMap<u64, &OutstandingStack> = HashMap::default();
    for stack in stacks {
        for value in &stack.handles {
            stack_of_handle.insert(*value, stack);
        }
    }
    let mut trace = TraceSummary {
        available: after.trace.is_some(),
        order: after.trace.as_ref().map(|trace| trace.order),
        new_with_stack: 0,
        new_without_record: 0,
        new_inconsistent: 0,
    };
    let changes = handles
        .new
        .iter()
        .map(|new| {
            match &new.evidence {
                StackEvidence::Open(_) => trace.new_with_stack += 1,
                StackEvidence::NoRecord => trace.new_without_record += 1,
                StackEvidence::Inconsistent(_) => trace.new_inconsistent += 1,
                StackEvidence::NoTrace => {}
            }
            let mut change = handle_change(&new.handle, no_type, after.input);
            change.trace = Some(new.evidence.label());
            if let Some(stack) = stack_of_handle.get(&new.handle.value) {
                change.stack_id = Some(stack.id);
                change.stack = Arc::clone(&stack.frames);
                change.blamed_module = stack.blamed_module.clone();
                change.blamed_version = stack.blamed_version.clone();
            }
            if let Some(name) = shared_object_name(&new.handle) {
                // The lowest value of the object's handles (they are sorted).
                if let Some(&first) = objects
                    .get(&(new.handle.type_label(), name))
                    .and_then(|values| values.first())
                {
                    if first != new.handle.value {
                        change.same_object_as = Some(first);
                    }
                }
            }
            change
        })
        .collect();
    (changes, trace)
}

/// The handle values of each shared named object (by type and name), sorted.
type SharedObjects<'a> = HashMap<(&'a str, &'a str), Vec<u64>>;

/// The shared named objects of `snapshot` ([`shared_object_name`]) with their handles.
fn shared_objects(snapshot: &Snapshot) -> SharedObjects<'_> {
    let mut objects: SharedObjects = HashMap::default();
    for handle in snapshot.handles.iter().flatten() {
        if let Some(name) = shared_object_name(handle) {
            objects
                .entry((handle.type_label(), name))
                .or_default()
                .push(handle.value);
        }
    }
    if let Some(table) = &snapshot.compact_handles {
        for handle in &table.handles {
            let type_name = table.name(handle.type_name);
            let object_name = table.name(handle.object_name);
            if let Some(name) = shared_name(type_name, object_name, handle.handle_count) {
                objects
                    .entry((type_name.unwrap_or(crate::snapshot::NO_TYPE), name))
                    .or_default()
                    .push(handle.value);
            }
        }
    }
    for values in objects.values_mut() {
        values.sort_unstable();
    }
    objects
}

/// A handle as the report lists it; `no_type` is the shared `(none)` for untyped handles.
/// Access and count are `None` where a text `input` does not give them (0 then).
fn handle_change(handle: &Handle, no_type: &Arc<str>, input: InputFormat) -> HandleChange {
    let known = |value: u32| (input == InputFormat::Minidump || value != 0).then_some(value);
    HandleChange {
        handle: handle.value,
        type_name: handle
            .type_name
            .clone()
            .unwrap_or_else(|| Arc::clone(no_type)),
        type_inferred: handle.type_inferred,
        same_object_as: None,
        name: handle.object_name.clone(),
        granted_access: known(handle.granted_access),
        object_handle_count: known(handle.handle_count),
        stack: Arc::new([]),
        stack_id: None,
        trace: None,
        blamed_module: None,
        blamed_version: None,
    }
}

fn type_deltas(before: &Snapshot, after: &Snapshot) -> Vec<TypeDelta> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (type_name, count) in before.counts_by_type() {
        counts.entry(type_name).or_default().0 += count;
    }
    for (type_name, count) in after.counts_by_type() {
        counts.entry(type_name).or_default().1 += count;
    }
    let mut deltas: Vec<TypeDelta> = counts
        .into_iter()
        .map(|(type_name, (before, after))| TypeDelta {
            type_name,
            before,
            after,
            delta: after as i64 - before as i64,
        })
        .collect();
    deltas.sort_by(|a, b| {
        b.delta
            .cmp(&a.delta)
            .then(b.after.cmp(&a.after))
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    deltas
}

/// The name by which `handle` can be told to share its object with other handles: named
/// objects of the object-manager namespace (Mutant, Event, Section, …) exist once per name, so
/// two handles with the same type and name refer to one object. File and Key objects are
/// created anew by every open, so a shared path says nothing; and a dump that counts a single
/// handle to the object rules sharing out.
fn shared_object_name(handle: &Handle) -> Option<&str> {
    shared_name(
        handle.type_name.as_deref(),
        handle.object_name.as_deref(),
        handle.handle_count,
    )
}

/// [`shared_object_name`] of a handle given by its type, object name and handle count.
fn shared_name<'a>(
    type_name: Option<&str>,
    object_name: Option<&'a str>,
    handle_count: u32,
) -> Option<&'a str> {
    let per_open = matches!(type_name, Some("File" | "Key"));
    let counted_alone = handle_count == 1;
    object_name.filter(|name| !name.is_empty() && !per_open && !counted_alone)
}

fn duplicate_groups(objects: SharedObjects, handles: &HandleDiff) -> Vec<DuplicateGroup> {
    let new_values: foldhash::HashSet<u64> =
        handles.new.iter().map(|new| new.handle.value).collect();
    let mut groups: Vec<DuplicateGroup> = objects
        .into_iter()
        .filter_map(|((type_name, name), values)| {
            let new = values
                .iter()
                .filter(|value| new_values.contains(value))
                .count();
            (values.len() > 1 && new > 0).then(|| DuplicateGroup {
                type_name: Arc::from(type_name),
                name: Arc::from(name),
                handles: values.iter().map(|value| hex(*value)).collect(),
                new,
            })
        })
        .collect();
    groups.sort_by(|a, b| {
        b.handles
            .len()
            .cmp(&a.handles.len())
            .then_with(|| (&a.type_name, &a.name).cmp(&(&b.type_name, &b.name)))
    });
    groups
}

fn suspect_row(
    name: &str,
    after: &Snapshot,
    counts: &ModuleCounts,
    stacks_total: usize,
) -> SuspectRow {
    let module = after.module_named(name);
    let (blamed, inclusive, stacks) = module
        .map(|module| counts.of_module(&module.name))
        .unwrap_or_default();
    let verdict = match module {
        None => format!("{name}: not loaded in {}", after.file_name()),
        Some(module) => {
            let version = module.file_version.as_deref().unwrap_or("(no version)");
            let mut line = format!(
                "{} {version}: in {stacks} of {stacks_total} outstanding stacks",
                module.name
            );
            if blamed > 0 {
                line.push_str(&format!(", blamed for {blamed} new handles"));
            } else if inclusive > 0 {
                line.push_str(&format!(
                    ", on the path of {inclusive} new handles but blamed for none"
                ));
            }
            line
        }
    };
    SuspectRow {
        name: name.to_string(),
        loaded: module.is_some(),
        module: module.map(|module| module.name.clone()),
        version: module.and_then(|module| module.file_version.clone()),
        path: module.map(|module| module.path.clone()),
        stacks,
        stacks_total,
        blamed,
        inclusive,
        verdict,
    }
}
