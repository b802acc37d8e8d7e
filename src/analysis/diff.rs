//! Diff of two snapshots of one process: per-type deltas, new and closed handles, the
//! allocation stacks of the new ones grouped and attributed to modules.

use super::attribution::Attribution;
use crate::snapshot::{
    Handle, InputFormat, Operation, Snapshot, TraceOrder, TraceRecord, TRACE_HINT,
};
use crate::symbols::{Frame, ModuleSymbolStatus, SymbolOrigin, SymbolTable};
use crate::time::{duration, iso8601};
use foldhash::HashMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Version of the JSON contract; bumped when a key changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// What the diff needs besides the two snapshots.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Which modules are never blamed.
    pub attribution: Attribution,
    /// Modules to report on even when no stack mentions them.
    pub suspects: Vec<String>,
}

/// The handle-level comparison, before symbols: which handles are new and their stacks.
#[derive(Debug, Clone)]
pub struct HandleDiff {
    new: Vec<NewHandle>,
    closed: Vec<Handle>,
}

#[derive(Debug, Clone)]
struct NewHandle {
    handle: Handle,
    evidence: StackEvidence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StackEvidence {
    /// The most recent record is an OPEN with this stack.
    Open(Arc<[u64]>),
    /// The after dump has trace records, but none for this handle.
    NoRecord,
    /// The most recent record for this open handle is not an OPEN.
    Inconsistent(Operation),
    /// The after dump has no trace records at all.
    NoTrace,
}

type Identity<'a> = (u64, Option<&'a str>, Option<&'a str>);

fn identity(handle: &Handle) -> Identity<'_> {
    (
        handle.value,
        handle.type_name.as_deref(),
        handle.object_name.as_deref(),
    )
}

/// Handles of `from` whose identity (value, type, name) is not in `other` (as many times as
/// it is in `from` but not in `other`), sorted by identity.
///
/// Both lists are sorted and walked together: handle tables come in value order, so the sorts
/// are nearly linear, and only handles with equal values compare their names.
fn missing_from<'a>(from: &'a [Handle], other: &[Handle]) -> Vec<&'a Handle> {
    let mut others = sorted_by_identity(other)
        .into_iter()
        .map(identity)
        .peekable();
    let mut missing = Vec::new();
    for handle in sorted_by_identity(from) {
        let key = identity(handle);
        while others.next_if(|other| *other < key).is_some() {}
        if others.next_if_eq(&key).is_none() {
            missing.push(handle);
        }
    }
    missing
}

fn sorted_by_identity(handles: &[Handle]) -> Vec<&Handle> {
    let mut sorted: Vec<&Handle> = handles.iter().collect();
    sorted.sort_by(|a, b| identity(a).cmp(&identity(b)));
    sorted
}

/// The newest record of each of `values` that has one (records are held newest first).
fn newest_records(
    records: &[TraceRecord],
    values: impl Iterator<Item = u64>,
) -> foldhash::HashMap<u64, &TraceRecord> {
    let mut wanted: foldhash::HashSet<u64> = values.collect();
    let mut newest = foldhash::HashMap::default();
    for record in records {
        if wanted.is_empty() {
            break;
        }
        if wanted.remove(&record.handle) {
            newest.insert(record.handle, record);
        }
    }
    newest
}

/// Compares the handle tables; identity is value + type + object name, so a value reused
/// for another object counts as one closed and one new handle.
pub fn compare_handles(before: &Snapshot, after: &Snapshot) -> HandleDiff {
    let empty = Vec::new();
    let (before_handles, after_handles) = match (&before.handles, &after.handles) {
        (Some(before), Some(after)) => (before, after),
        // A summary on either side: no handle list to compare.
        _ => (&empty, &empty),
    };
    let new_handles = missing_from(after_handles, before_handles);
    let newest = after.trace.as_ref().map(|trace| {
        newest_records(
            &trace.records,
            new_handles.iter().map(|handle| handle.value),
        )
    });
    let new = new_handles
        .into_iter()
        .map(|handle| {
            let evidence = match &newest {
                None => StackEvidence::NoTrace,
                Some(newest) => match newest.get(&handle.value) {
                    None => StackEvidence::NoRecord,
                    Some(record) if record.operation == Operation::Open => {
                        StackEvidence::Open(record.stack.clone())
                    }
                    Some(record) => StackEvidence::Inconsistent(record.operation),
                },
            };
            NewHandle {
                handle: handle.clone(),
                evidence,
            }
        })
        .collect();
    let closed = missing_from(before_handles, after_handles)
        .into_iter()
        .cloned()
        .collect();
    HandleDiff { new, closed }
}

impl HandleDiff {
    /// Every return address the report will show, for the symbolizer.
    pub fn addresses(&self) -> impl Iterator<Item = u64> + '_ {
        self.new
            .iter()
            .flat_map(|new| match &new.evidence {
                StackEvidence::Open(stack) => &stack[..],
                _ => &[],
            })
            .copied()
    }

    /// Number of new handles.
    pub fn new_count(&self) -> usize {
        self.new.len()
    }
}

/// A dump as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct DumpSummary {
    /// The file as given.
    pub path: String,
    /// Process id.
    pub pid: Option<u32>,
    /// Process image name.
    pub process: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Capture time, ISO 8601 UTC.
    pub captured_at: Option<String>,
    /// Process start time, ISO 8601 UTC.
    pub process_started_at: Option<String>,
    /// Handles in the table.
    pub handle_count: usize,
    /// Handle-trace records in the dump; `null` without a HandleOperationListStream.
    pub trace_records: Option<usize>,
}

impl DumpSummary {
    /// Summarises a snapshot.
    pub fn of(snapshot: &Snapshot) -> DumpSummary {
        DumpSummary {
            path: snapshot.source.display().to_string(),
            pid: snapshot.process.pid,
            process: snapshot.process.image_name.clone(),
            arch: snapshot.process.arch.clone(),
            os: snapshot.process.os_version.clone(),
            captured_at: snapshot.captured_at.map(iso8601),
            process_started_at: snapshot.process.started_at.map(iso8601),
            handle_count: snapshot.handle_count(),
            trace_records: snapshot.trace.as_ref().map(|trace| trace.record_count),
        }
    }
}

/// Count of one object type in both dumps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeDelta {
    /// Object type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Handles of this type before.
    pub before: usize,
    /// Handles of this type after.
    pub after: usize,
    /// `after - before`.
    pub delta: i64,
}

/// A handle that appeared or disappeared.
#[derive(Debug, Clone, Serialize)]
pub struct HandleChange {
    /// The handle value in hex (`0x1bc`).
    pub handle: String,
    /// Object type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The type was inferred from the creating API (debugger logs that do not print types).
    pub type_inferred: bool,
    /// Object name, `null` for unnamed objects.
    pub name: Option<String>,
    /// For a new handle to a named object that another handle in the after dump already
    /// refers to: that handle (the object's lowest handle value). Such a handle is a duplicate,
    /// not a new object.
    pub same_object_as: Option<String>,
    /// Granted access mask in hex.
    pub granted_access: String,
    /// Handles to the object, as the dump counts them.
    pub object_handle_count: u32,
    /// Allocation stack (most recent OPEN), innermost first, in WinDbg notation; empty when
    /// there is none.
    pub stack: Vec<String>,
    /// Number of the stack group in `stacks` (1-based).
    pub stack_id: Option<usize>,
    /// What the trace records say about this handle: `open` (stack shown), `no-record`,
    /// `not-traced` (the dump has no trace records), `last-record-close`,
    /// `last-record-bad-ref`; `null` for closed handles.
    pub trace: Option<String>,
    /// Module blamed for the allocation.
    pub blamed_module: Option<String>,
    /// File version of the blamed module.
    pub blamed_version: Option<String>,
}

/// Several handles to one named object.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateGroup {
    /// Object type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Object name.
    pub name: String,
    /// All handles to it in the after dump, in hex.
    pub handles: Vec<String>,
    /// How many of them are new.
    pub new: usize,
}

/// New handles sharing one allocation stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackGroup {
    /// 1-based number, largest group first.
    pub id: usize,
    /// Handles allocated by this stack.
    pub count: usize,
    /// Count per object type.
    pub types: BTreeMap<String, usize>,
    /// The handles, in hex.
    pub handles: Vec<String>,
    /// Blamed module (file name).
    pub blamed_module: Option<String>,
    /// Its file version.
    pub blamed_version: Option<String>,
    /// Its path.
    pub blamed_path: Option<String>,
    /// Frames innermost first, in WinDbg notation.
    pub frames: Vec<String>,
    /// The same frames, structured.
    pub frame_details: Vec<Frame>,
}

/// A module met in the outstanding stacks.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleRow {
    /// Module file name.
    pub name: String,
    /// File version.
    pub version: Option<String>,
    /// Path in the dump.
    pub path: Option<String>,
    /// Whether it is treated as a system module (never blamed).
    pub system: bool,
    /// New handles blamed on it.
    pub blamed: usize,
    /// New handles whose stack passes through it.
    pub inclusive: usize,
    /// Stack groups passing through it.
    pub stacks: usize,
    /// Stack groups blamed on it.
    pub blamed_stacks: usize,
    /// New handles blamed on it, per object type.
    pub blamed_types: BTreeMap<String, usize>,
    /// Where its symbols came from.
    pub symbols: SymbolOrigin,
}

/// A module named with `--suspect`.
#[derive(Debug, Clone, Serialize)]
pub struct SuspectRow {
    /// The name as given.
    pub name: String,
    /// Whether the after dump has it loaded.
    pub loaded: bool,
    /// Module file name as loaded.
    pub module: Option<String>,
    /// File version.
    pub version: Option<String>,
    /// Path in the dump.
    pub path: Option<String>,
    /// Stack groups passing through it.
    pub stacks: usize,
    /// Stack groups in all.
    pub stacks_total: usize,
    /// New handles blamed on it.
    pub blamed: usize,
    /// New handles whose stack passes through it.
    pub inclusive: usize,
    /// One line for a bug report.
    pub verdict: String,
}

/// What the trace records could and could not tell.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSummary {
    /// Whether the after dump has handle-trace records.
    pub available: bool,
    /// Which end of the record list was newest.
    pub order: Option<TraceOrder>,
    /// New handles with an allocation stack.
    pub new_with_stack: usize,
    /// New handles whose records were lost (or never written).
    pub new_without_record: usize,
    /// New handles whose most recent record is not an OPEN.
    pub new_inconsistent: usize,
}

/// The diff report: everything any renderer shows.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// The earlier dump.
    pub before: DumpSummary,
    /// The later dump.
    pub after: DumpSummary,
    /// Seconds between the captures.
    pub elapsed_seconds: Option<i64>,
    /// `after.handle_count - before.handle_count`.
    pub total_delta: i64,
    /// Counts per type, largest delta first.
    pub by_type: Vec<TypeDelta>,
    /// Handles in after and not in before.
    pub new_handles: Vec<HandleChange>,
    /// Handles in before and not in after.
    pub closed_handles: Vec<HandleChange>,
    /// New handles that are not further handles to an object another handle refers to.
    pub new_objects: usize,
    /// Named objects with several handles, at least one of them new.
    pub duplicates: Vec<DuplicateGroup>,
    /// New handles grouped by allocation stack, largest group first.
    pub stacks: Vec<StackGroup>,
    /// Modules in the outstanding stacks.
    pub modules: Vec<ModuleRow>,
    /// Modules asked about with `--suspect`.
    pub suspects: Vec<SuspectRow>,
    /// Where each module's symbols came from.
    pub symbols: Vec<ModuleSymbolStatus>,
    /// What the trace records support.
    pub trace: TraceSummary,
    /// What the evidence cannot support.
    pub warnings: Vec<String>,
}

/// Builds the report from the comparison and the resolved frames.
pub fn build_report(
    before: &Snapshot,
    after: &Snapshot,
    handles: &HandleDiff,
    symbols: &SymbolTable,
    options: &DiffOptions,
) -> DiffReport {
    let attribution = &options.attribution;
    let mut warnings = consistency_warnings(before, after);

    let by_type = type_deltas(before, after);

    // Group new handles by identical stack; remember each handle's group.
    let mut groups: BTreeMap<&[u64], Vec<&NewHandle>> = BTreeMap::new();
    for new in &handles.new {
        if let StackEvidence::Open(stack) = &new.evidence {
            groups.entry(&stack[..]).or_default().push(new);
        }
    }
    let mut ordered: Vec<(&[u64], Vec<&NewHandle>)> = groups.into_iter().collect();
    ordered.sort_by(|(stack_a, a), (stack_b, b)| {
        b.len()
            .cmp(&a.len())
            .then_with(|| a[0].handle.value.cmp(&b[0].handle.value))
            .then_with(|| stack_a.cmp(stack_b))
    });

    let version_of = |name: &str| {
        after
            .module_named(name)
            .and_then(|module| module.file_version.clone())
    };
    let path_of = |name: &str| after.module_named(name).map(|module| module.path.clone());

    let mut stack_of_handle: HashMap<u64, (usize, Vec<String>, Option<String>)> =
        HashMap::default();
    let mut stacks = Vec::new();
    let mut module_counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut blamed_types: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (index, (stack, members)) in ordered.iter().enumerate() {
        let id = index + 1;
        let frames: Vec<Frame> = stack
            .iter()
            .map(|address| symbols.frame(*address))
            .collect();
        let texts: Vec<String> = frames.iter().flat_map(Frame::lines).collect();
        let blamed = attribution
            .blamed(&frames)
            .and_then(|frame| frame.module.clone());
        let mut types = BTreeMap::new();
        for member in members {
            *types
                .entry(member.handle.type_label().to_string())
                .or_insert(0) += 1;
            stack_of_handle.insert(member.handle.value, (id, texts.clone(), blamed.clone()));
        }
        let distinct_modules: BTreeSet<&str> = frames
            .iter()
            .filter_map(|frame| frame.module.as_deref())
            .collect();
        for module in distinct_modules {
            let counts = module_counts.entry(module.to_string()).or_default();
            counts.1 += members.len();
            counts.2 += 1;
        }
        if let Some(blamed) = &blamed {
            module_counts.entry(blamed.clone()).or_default().0 += members.len();
            let per_type = blamed_types.entry(blamed.clone()).or_default();
            for (type_name, count) in &types {
                *per_type.entry(type_name.clone()).or_default() += count;
            }
        }
        stacks.push(StackGroup {
            id,
            count: members.len(),
            types,
            handles: members
                .iter()
                .map(|member| hex(member.handle.value))
                .collect(),
            blamed_version: blamed.as_deref().and_then(version_of),
            blamed_path: blamed.as_deref().and_then(path_of),
            blamed_module: blamed,
            frames: texts,
            frame_details: frames,
        });
    }

    let symbol_status: BTreeMap<&str, &ModuleSymbolStatus> = symbols
        .module_status()
        .map(|status| (status.module.as_str(), status))
        .collect();
    let mut modules: Vec<ModuleRow> = module_counts
        .iter()
        .map(|(name, (blamed, inclusive, stack_count))| ModuleRow {
            name: name.clone(),
            version: version_of(name),
            path: path_of(name),
            system: attribution.is_system(name),
            blamed: *blamed,
            inclusive: *inclusive,
            stacks: *stack_count,
            blamed_stacks: stacks
                .iter()
                .filter(|stack| stack.blamed_module.as_deref() == Some(name.as_str()))
                .count(),
            blamed_types: blamed_types.get(name).cloned().unwrap_or_default(),
            symbols: symbol_status
                .get(name.as_str())
                .map_or(SymbolOrigin::None, |status| status.origin),
        })
        .collect();
    modules.sort_by(|a, b| {
        b.blamed
            .cmp(&a.blamed)
            .then(b.inclusive.cmp(&a.inclusive))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });

    let suspects = options
        .suspects
        .iter()
        .map(|name| suspect_row(name, after, &module_counts, stacks.len()))
        .collect();

    let mut trace = TraceSummary {
        available: after.trace.is_some(),
        order: after.trace.as_ref().map(|trace| trace.order),
        new_with_stack: 0,
        new_without_record: 0,
        new_inconsistent: 0,
    };
    let new_handles: Vec<HandleChange> = handles
        .new
        .iter()
        .map(|new| {
            let trace_state = match &new.evidence {
                StackEvidence::Open(_) => {
                    trace.new_with_stack += 1;
                    "open"
                }
                StackEvidence::NoRecord => {
                    trace.new_without_record += 1;
                    "no-record"
                }
                StackEvidence::Inconsistent(operation) => {
                    trace.new_inconsistent += 1;
                    match operation {
                        Operation::Close => "last-record-close",
                        Operation::BadRef => "last-record-bad-ref",
                        _ => "last-record-unknown",
                    }
                }
                StackEvidence::NoTrace => "not-traced",
            };
            let (stack_id, stack, blamed) = match stack_of_handle.get(&new.handle.value) {
                Some((id, texts, blamed)) => (Some(*id), texts.clone(), blamed.clone()),
                None => (None, Vec::new(), None),
            };
            HandleChange {
                stack_id,
                stack,
                trace: Some(trace_state.to_string()),
                blamed_version: blamed.as_deref().and_then(version_of),
                blamed_module: blamed,
                ..handle_change(&new.handle)
            }
        })
        .collect();
    let mut new_handles = new_handles;
    let mut first_handle_of_object: HashMap<(&str, &str), u64> = HashMap::default();
    for handle in after.handles.iter().flatten() {
        if let Some(name) = shared_object_name(handle) {
            let first = first_handle_of_object
                .entry((handle.type_label(), name))
                .or_insert(handle.value);
            *first = (*first).min(handle.value);
        }
    }
    for (change, new) in new_handles.iter_mut().zip(&handles.new) {
        if let Some(name) = shared_object_name(&new.handle) {
            if let Some(first) = first_handle_of_object.get(&(change.type_name.as_str(), name)) {
                let first = hex(*first);
                if first != change.handle {
                    change.same_object_as = Some(first);
                }
            }
        }
    }
    let new_objects = new_handles
        .iter()
        .filter(|change| change.same_object_as.is_none())
        .count();
    let closed_handles = handles.closed.iter().map(handle_change).collect();

    warnings.extend(trace_warnings(before, after, &trace, handles.new.len()));
    warnings.extend(symbol_warnings(&modules, symbols, handles.new.is_empty()));
    for snapshot in [before, after] {
        for warning in &snapshot.warnings {
            warnings.push(format!("{}: {warning}", snapshot.file_name()));
        }
    }

    DiffReport {
        schema_version: SCHEMA_VERSION,
        before: DumpSummary::of(before),
        after: DumpSummary::of(after),
        elapsed_seconds: match (before.captured_at, after.captured_at) {
            (Some(a), Some(b)) => Some(b as i64 - a as i64),
            _ => None,
        },
        total_delta: after.handle_count() as i64 - before.handle_count() as i64,
        by_type,
        duplicates: duplicate_groups(after, handles),
        new_handles,
        closed_handles,
        new_objects,
        stacks,
        modules,
        suspects,
        symbols: symbols.module_status().cloned().collect(),
        trace,
        warnings,
    }
}

/// Hex as WinDbg prints handle values: lowercase, no padding.
pub fn hex(value: u64) -> String {
    format!("{value:#x}")
}

fn handle_change(handle: &Handle) -> HandleChange {
    HandleChange {
        handle: hex(handle.value),
        type_name: handle.type_label().to_string(),
        type_inferred: handle.type_inferred,
        same_object_as: None,
        name: handle.object_name.as_deref().map(str::to_owned),
        granted_access: format!("{:#x}", handle.granted_access),
        object_handle_count: handle.handle_count,
        stack: Vec::new(),
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
    let per_open = matches!(handle.type_name.as_deref(), Some("File" | "Key"));
    let counted_alone = handle.handle_count == 1;
    handle
        .object_name
        .as_deref()
        .filter(|name| !name.is_empty() && !per_open && !counted_alone)
}

fn duplicate_groups(after: &Snapshot, handles: &HandleDiff) -> Vec<DuplicateGroup> {
    let new_values: foldhash::HashSet<u64> =
        handles.new.iter().map(|new| new.handle.value).collect();
    let mut objects: HashMap<(&str, &str), Vec<u64>> = HashMap::default();
    for handle in after.handles.iter().flatten() {
        if let Some(name) = shared_object_name(handle) {
            objects
                .entry((handle.type_label(), name))
                .or_default()
                .push(handle.value);
        }
    }
    let mut groups: Vec<DuplicateGroup> = objects
        .into_iter()
        .filter_map(|((type_name, name), mut values)| {
            values.sort_unstable();
            let new = values
                .iter()
                .filter(|value| new_values.contains(value))
                .count();
            (values.len() > 1 && new > 0).then(|| DuplicateGroup {
                type_name: type_name.to_string(),
                name: name.to_string(),
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
    module_counts: &BTreeMap<String, (usize, usize, usize)>,
    stacks_total: usize,
) -> SuspectRow {
    let module = after.module_named(name);
    let counts = module.and_then(|module| {
        module_counts
            .iter()
            .find(|(counted, _)| counted.eq_ignore_ascii_case(&module.name))
            .map(|(_, counts)| *counts)
    });
    let (blamed, inclusive, stacks) = counts.unwrap_or_default();
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

fn consistency_warnings(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut warnings = Vec::new();
    for snapshot in [before, after] {
        if snapshot.handles.is_none() && snapshot.type_counts.is_some() {
            warnings.push(format!(
                "{} is a type summary without a handle list: only per-type counts are compared, new and closed handles cannot be named",
                snapshot.file_name()
            ));
        }
    }
    let (a, b) = (&before.process, &after.process);
    let pid_differs = matches!((a.pid, b.pid), (Some(x), Some(y)) if x != y);
    let start_differs = matches!((a.started_at, b.started_at), (Some(x), Some(y)) if x != y);
    if pid_differs || start_differs {
        warnings.push(format!(
            "the dumps are of different processes ({} pid {} started {} vs {} pid {} started {}): handle values are not comparable, the diff below does not show a leak",
            a.image_name.as_deref().unwrap_or("?"),
            a.pid.map_or("?".to_string(), |pid| pid.to_string()),
            a.started_at.map_or("?".to_string(), iso8601),
            b.image_name.as_deref().unwrap_or("?"),
            b.pid.map_or("?".to_string(), |pid| pid.to_string()),
            b.started_at.map_or("?".to_string(), iso8601),
        ));
    } else if let (Some(x), Some(y)) = (&a.image_name, &b.image_name) {
        if !x.eq_ignore_ascii_case(y) {
            warnings.push(format!(
                "the dumps are of different programs ({x} vs {y}): the diff below does not show a leak"
            ));
        }
    }
    if a.pid.is_none() || b.pid.is_none() {
        warnings.push(
            "a dump has no process id (no MiscInfoStream): that both dumps are of one process could not be checked".to_string(),
        );
    }
    if let (Some(first), Some(second)) = (before.captured_at, after.captured_at) {
        if first > second {
            warnings.push(format!(
                "the dumps are given in reverse time order: {} was captured {} after {}; deltas read backwards (swap the arguments)",
                before.file_name(),
                duration(first - second),
                after.file_name()
            ));
        }
    }
    warnings
}

fn trace_warnings(
    before: &Snapshot,
    after: &Snapshot,
    trace: &TraceSummary,
    new_count: usize,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if new_count == 0 {
        return warnings;
    }
    match &after.trace {
        None if after.input != InputFormat::Minidump => warnings.push(format!(
            "no allocation stacks: {} holds no !htrace records; {TRACE_HINT}",
            after.file_name()
        )),
        None => warnings.push(format!(
            "no allocation stacks: {} has no handle-trace records (HandleOperationListStream); {TRACE_HINT}",
            after.file_name()
        )),
        Some(records) if records.records.is_empty() => warnings.push(format!(
            "no allocation stacks: the handle trace in {} is empty; {TRACE_HINT}",
            after.file_name()
        )),
        Some(records) => {
            if records.order == TraceOrder::AssumedNewestFirst && trace.new_with_stack > 0 {
                warnings.push(format!(
                    "the handle-trace records in {} do not show which end is newest; newest first was assumed (as WinDbg's !htrace prints)",
                    after.file_name()
                ));
            }
            if trace.new_without_record > 0 {
                let why = if before.trace.is_some() {
                    "tracing was already on when the first dump was taken, so their OPEN records fell out of the trace ring buffer (it wrapped)"
                } else {
                    "they were opened before tracing was enabled, or their records fell out of the trace ring buffer"
                };
                warnings.push(format!(
                    "{} of {new_count} new handles have no trace record: {why}; their allocation stacks are unknown",
                    trace.new_without_record
                ));
            }
            if trace.new_inconsistent > 0 {
                warnings.push(format!(
                    "{} new handles are open, yet their most recent trace record is not an OPEN (records lost or out of order); no stack is shown for them",
                    trace.new_inconsistent
                ));
            }
        }
    }
    warnings
}

fn symbol_warnings(modules: &[ModuleRow], symbols: &SymbolTable, no_new: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    if no_new {
        return warnings;
    }
    let export_only: Vec<&str> = modules
        .iter()
        .filter(|row| row.symbols == SymbolOrigin::Exports)
        .map(|row| row.name.as_str())
        .collect();
    if !export_only.is_empty() {
        warnings.push(format!(
            "export symbols only for {}: function names are the nearest preceding export (WinDbg: \"Defaulted to export symbols\") and may belong to an unexported function",
            export_only.join(", ")
        ));
    }
    let unnamed: Vec<&str> = modules
        .iter()
        .filter(|row| row.symbols == SymbolOrigin::None)
        .map(|row| row.name.as_str())
        .collect();
    if !unnamed.is_empty() {
        warnings.push(format!(
            "no symbols for {}: their frames read module+offset (give the image files with --symbols DIR)",
            unnamed.join(", ")
        ));
    }
    for status in symbols.module_status() {
        if status.mismatched {
            warnings.push(format!(
                "symbols for {} do not match the module's identity and were used only because of --allow-mismatched ({}): names and lines may be wrong",
                status.module,
                status.file.as_deref().map_or(String::new(), |file| file.display().to_string())
            ));
        }
        for note in &status.notes {
            warnings.push(format!("symbols for {}: {note}", status.module));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ProcessInfo;

    fn handle(value: u64, type_name: &str, name: Option<&str>, handle_count: u32) -> Handle {
        Handle {
            value,
            type_name: Some(type_name.into()),
            object_name: name.map(Into::into),
            attributes: 0,
            granted_access: 0,
            handle_count,
            pointer_count: handle_count,
            object_info: Vec::new(),
            type_inferred: false,
        }
    }

    fn snapshot(handles: Vec<Handle>) -> Snapshot {
        Snapshot {
            source: "test.dmp".into(),
            input: InputFormat::Minidump,
            process: ProcessInfo::default(),
            captured_at: None,
            dump_flags: 0,
            modules: Vec::new(),
            handles: Some(handles),
            trace: None,
            type_counts: None,
            frame_text: BTreeMap::new(),
            memory: None,
            file: None,
            warnings: Vec::new(),
        }
    }

    fn report(before: Vec<Handle>, after: Vec<Handle>) -> DiffReport {
        let (before, after) = (snapshot(before), snapshot(after));
        let handles = compare_handles(&before, &after);
        build_report(
            &before,
            &after,
            &handles,
            &SymbolTable::default(),
            &DiffOptions::default(),
        )
    }

    #[test]
    fn a_name_shares_an_object_only_for_namespace_objects_counted_more_than_once() {
        let lock = r"\BaseNamedObjects\Lock";
        let log = r"\Device\HarddiskVolume3\app.log";
        let key = r"\REGISTRY\MACHINE\SOFTWARE\App";
        let report = report(
            vec![
                handle(0x10, "Mutant", Some(lock), 2),
                handle(0x14, "File", Some(log), 1),
                handle(0x18, "Key", Some(key), 1),
                handle(0x1c, "Event", Some("\\BaseNamedObjects\\Once"), 1),
            ],
            vec![
                handle(0x10, "Mutant", Some(lock), 2),
                handle(0x14, "File", Some(log), 1),
                handle(0x18, "Key", Some(key), 1),
                handle(0x1c, "Event", Some("\\BaseNamedObjects\\Once"), 1),
                handle(0x20, "Mutant", Some(lock), 2),
                handle(0x24, "File", Some(log), 1),
                handle(0x28, "Key", Some(key), 1),
                handle(0x2c, "Event", Some("\\BaseNamedObjects\\Once"), 1),
            ],
        );
        let same: Vec<(&str, Option<&str>)> = report
            .new_handles
            .iter()
            .map(|new| (new.handle.as_str(), new.same_object_as.as_deref()))
            .collect();
        assert_eq!(
            same,
            [
                ("0x20", Some("0x10")),
                ("0x24", None),
                ("0x28", None),
                ("0x2c", None)
            ]
        );
        assert_eq!(report.new_objects, 3);
        assert_eq!(report.duplicates.len(), 1);
        assert_eq!(report.duplicates[0].type_name, "Mutant");
        assert_eq!(report.duplicates[0].handles, ["0x10", "0x20"]);
    }

    #[test]
    fn handles_missing_from_the_other_side_count_multiplicity() {
        let before = [
            handle(8, "Event", None, 1),
            handle(4, "Event", None, 1),
            handle(4, "Event", None, 1),
        ];
        let after = [
            handle(4, "Event", None, 1),
            handle(12, "Mutant", None, 1),
            handle(8, "Section", None, 1),
        ];
        let new: Vec<(u64, &str)> = missing_from(&after, &before)
            .iter()
            .map(|handle| (handle.value, handle.type_label()))
            .collect();
        assert_eq!(new, [(8, "Section"), (12, "Mutant")]);
        let closed: Vec<(u64, &str)> = missing_from(&before, &after)
            .iter()
            .map(|handle| (handle.value, handle.type_label()))
            .collect();
        assert_eq!(closed, [(4, "Event"), (8, "Event")]);
    }
}
