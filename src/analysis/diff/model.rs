//! The diff report model: everything any renderer shows (JSON is this model as it is).

use crate::snapshot::TraceOrder;
use crate::symbols::{Frame, ModuleSymbolStatus, SymbolOrigin};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::analysis::model::DumpSummary;

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
///
/// Strings shared by many handles (type, object name, stack, blamed module) are shared, not
/// copied per handle: a hostile dump can give 100,000 handles one 64 KiB name.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HandleChange {
    /// The handle value; in hex in JSON (`"0x1bc"`).
    #[serde(serialize_with = "hex_value")]
    pub handle: u64,
    /// Object type.
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
    /// The type was inferred from the creating API (debugger logs that do not print types).
    pub type_inferred: bool,
    /// Object name, `null` for unnamed objects.
    pub name: Option<Arc<str>>,
    /// For a new handle to a named object that another handle in the after dump already
    /// refers to: that handle (the object's lowest handle value). Such a handle is a duplicate,
    /// not a new object. In hex in JSON.
    #[serde(serialize_with = "hex_option")]
    pub same_object_as: Option<u64>,
    /// Granted access mask, in hex in JSON (`"0x1f0003"`); `null` when a text input does not
    /// give it.
    #[serde(serialize_with = "hex_option")]
    pub granted_access: Option<u32>,
    /// Handles to the object, as the dump counts them; `null` when a text input does not
    /// give the count.
    pub object_handle_count: Option<u32>,
    /// Allocation stack (most recent OPEN), innermost first, in WinDbg notation; empty when
    /// there is none. Shared with the stack group's frames.
    pub stack: Arc<[String]>,
    /// Number of the stack group in `stacks` (1-based).
    pub stack_id: Option<usize>,
    /// What the trace records say about this handle: `open` (stack shown), `no-record`,
    /// `not-traced` (the dump has no trace records), `last-record-close`,
    /// `last-record-bad-ref`; `null` for closed handles.
    pub trace: Option<&'static str>,
    /// Module blamed for the allocation.
    pub blamed_module: Option<Arc<str>>,
    /// File version of the blamed module.
    pub blamed_version: Option<Arc<str>>,
}

/// Several handles to one named object.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateGroup {
    /// Object type.
    #[serde(rename = "type")]
    pub type_name: Arc<str>,
    /// Object name.
    pub name: Arc<str>,
    /// All handles to it in the after dump, in hex.
    pub handles: Vec<String>,
    /// How many of them are new.
    pub new: usize,
}

/// New handles sharing one allocation stack.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OutstandingStack {
    /// 1-based number, largest group first.
    pub id: usize,
    /// Handles allocated by this stack.
    pub count: usize,
    /// Count per object type.
    pub types: TypeCounts,
    /// The handle values; in hex in JSON.
    #[serde(serialize_with = "hex_values")]
    pub handles: Vec<u64>,
    /// Blamed module (file name).
    pub blamed_module: Option<Arc<str>>,
    /// Its file version.
    pub blamed_version: Option<Arc<str>>,
    /// Its path.
    pub blamed_path: Option<Arc<str>>,
    /// Frames innermost first, in WinDbg notation.
    pub frames: Arc<[String]>,
    /// The same frames, structured (shared with the symbol table).
    pub frame_details: Vec<Arc<Frame>>,
}

/// Handles per object type, in the order of the type names: a short list (the handles of one
/// stack are mostly of one type), shared names, and a JSON object (`{"Event": 3}`) as a map
/// would be. A report can have a million stacks: a map apiece took 400 bytes a stack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeCounts(Box<[(Arc<str>, usize)]>);

impl TypeCounts {
    /// Counts `names` (in any order).
    pub fn of<'a>(names: impl IntoIterator<Item = &'a Arc<str>>) -> TypeCounts {
        let mut counts: Vec<(Arc<str>, usize)> = Vec::new();
        for name in names {
            match counts.binary_search_by(|(known, _)| known.as_ref().cmp(name)) {
                Ok(at) => counts[at].1 += 1,
                Err(at) => counts.insert(at, (Arc::clone(name), 1)),
            }
        }
        TypeCounts(counts.into_boxed_slice())
    }

    /// (type, count) in the order of the type names.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.0.iter().map(|(name, count)| (name.as_ref(), *count))
    }
}

impl Serialize for TypeCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, count) in self.iter() {
            map.serialize_entry(name, &count)?;
        }
        map.end()
    }
}

/// A value in hex as WinDbg prints it (`"0x1bc"`).
fn hex_value<V: Copy + Into<u64>, S: Serializer>(
    value: &V,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(crate::analysis::model::hex_in(
        (*value).into(),
        &mut [0; 18],
    ))
}

fn hex_option<V: Copy + Into<u64>, S: Serializer>(
    value: &Option<V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => hex_value(value, serializer),
        None => serializer.serialize_none(),
    }
}

fn hex_values<S: Serializer>(values: &[u64], serializer: S) -> Result<S::Ok, S::Error> {
    /// One value of the list, written without a string of its own.
    struct Hex(u64);
    impl Serialize for Hex {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            hex_value(&self.0, serializer)
        }
    }
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        seq.serialize_element(&Hex(*value))?;
    }
    seq.end()
}

/// A module met in the outstanding stacks.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ModuleRow {
    /// Module file name.
    pub name: String,
    /// File version.
    pub version: Option<String>,
    /// Path in the dump.
    pub path: Option<String>,
    /// PE `TimeDateStamp` in hex (`42435b8e`), with the file version what a vendor needs to
    /// name the build; `null` when the input does not record it.
    pub timestamp: Option<String>,
    /// The PDB and its identity as symbol stores key it (`msmapi32.pdb 0C3F…A1`: GUID and age),
    /// so that a vendor can fetch the matching symbols; `null` without a CodeView record.
    pub pdb: Option<String>,
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct DiffReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// The earlier dump.
    pub before: DumpSummary,
    /// The later dump.
    pub after: DumpSummary,
    /// The inputs were given newest first and compared older → newer.
    pub reordered: bool,
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
    pub stacks: Vec<OutstandingStack>,
    /// Modules in the outstanding stacks.
    pub modules: Vec<ModuleRow>,
    /// Modules asked about with `--suspect`.
    pub suspects: Vec<SuspectRow>,
    /// Where each module's symbols came from.
    pub symbols: Vec<ModuleSymbolStatus>,
    /// What the trace records support.
    pub trace: TraceSummary,
    /// What the evidence cannot support.
    pub warnings: Vec<crate::warning::Warning>,
}

impl DiffReport {
    /// Leaves out the handle types whose count did not change (`--only-changed`).
    pub fn keep_changed_types(&mut self) {
        self.by_type.retain(|row| row.delta != 0);
    }

    /// Drops the stacks' structured frames (`frame_details`), which only the JSON report
    /// shows, before another format lays the report out: a log can give 900,000 stacks of
    /// frames of their own, and a CSV of their handles is laid out after them. The JSON of the
    /// report lists no frame details afterwards.
    pub fn drop_frame_details(&mut self) {
        for stack in &mut self.stacks {
            stack.frame_details = Vec::new();
        }
    }
}
