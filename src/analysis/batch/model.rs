//! The batch report model (JSON is this model as it is).

use crate::analysis::model::TypeCount;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A module and its file version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleVersion {
    /// File name.
    pub name: String,
    /// File version.
    pub version: Option<String>,
    /// Loaded from a Windows system folder ([`in_system_folder`](crate::analysis::in_system_folder)
    /// of its path): a system module by default. Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system_folder: bool,
}

/// Open handles blamed on one module by their trace records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlamedCount {
    /// Module file name.
    pub module: String,
    /// Its version.
    pub version: Option<String>,
    /// Open handles whose allocation stack blames it.
    pub handles: usize,
}

/// One allocation stack of open handles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackSummary {
    /// Open handles with this stack.
    pub count: usize,
    /// Blamed module.
    pub blamed_module: Option<String>,
    /// Frames, innermost first.
    pub frames: Vec<String>,
}

/// The crash, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrashSummary {
    /// Exception code in hex.
    pub code: Option<String>,
    /// Its name (`EXCEPTION_ACCESS_VIOLATION_READ`, `STATUS_NO_MEMORY`, …).
    pub reason: String,
    /// Module of the faulting instruction.
    pub faulting_module: Option<String>,
    /// Top frames of the crashing thread.
    pub frames: Vec<String>,
}

/// A known issue a dump matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownMatch {
    /// The rule's label.
    pub label: String,
    /// Its link.
    pub link: Option<String>,
}

/// One processed dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DumpRow {
    /// The file.
    pub file: String,
    /// Process image name.
    pub process: Option<String>,
    /// File version of the process image.
    pub process_version: Option<String>,
    /// Process id.
    pub pid: Option<u32>,
    /// Capture time, ISO 8601 UTC.
    pub captured_at: Option<String>,
    /// Handles in the dump; `null` when it has no handle data (it then takes no part in any
    /// handle statistic).
    pub handle_count: Option<usize>,
    /// Handles per type.
    pub types: BTreeMap<String, usize>,
    /// The most numerous types.
    pub top_types: Vec<TypeCount>,
    /// Handle-trace records in the dump; `null` without tracing.
    pub trace_records: Option<usize>,
    /// Open handles per blamed module (from trace records), most first.
    pub blamed: Vec<BlamedCount>,
    /// Largest groups of open handles by allocation stack.
    pub stacks: Vec<StackSummary>,
    /// The crash, when the dump records an exception.
    pub crash: Option<CrashSummary>,
    /// Every loaded module with its version.
    pub modules: Vec<ModuleVersion>,
    /// Known issues the dump matches.
    pub known_issues: Vec<KnownMatch>,
    /// What the dump cannot support.
    pub warnings: Vec<crate::warning::Warning>,
    /// SHA-256 identifying the capture ([`Snapshot::content_hash`](crate::snapshot::Snapshot::content_hash)):
    /// `merge` counts a dump in several shards once.
    #[serde(default)]
    pub content_hash: Option<String>,
}

/// An input that could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedInput {
    /// The file.
    pub file: String,
    /// What went wrong.
    pub error: String,
    /// A bug in dumpleak (a panic caught while processing it), not a bad input.
    pub internal: bool,
}

/// One module version across the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModuleVersionRow {
    /// 1-based rank: the strongest association with high handle counts first.
    pub rank: usize,
    /// Module file name.
    pub module: String,
    /// File version.
    pub version: Option<String>,
    /// Dumps that load it.
    pub dumps: usize,
    /// Median handle count of those dumps.
    pub median_handles: f64,
    /// Highest handle count of those dumps.
    pub max_handles: usize,
    /// Dumps that do not load this module version.
    pub dumps_without: usize,
    /// Median handle count of those.
    pub median_without: Option<f64>,
    /// `median_handles / median_without`: how much higher the counts are where it is loaded.
    pub ratio: Option<f64>,
    /// Types that dominate the dumps that load it.
    pub dominant_types: Vec<TypeCount>,
    /// Open handles whose trace records blame it, over the dumps that load it (0 without
    /// trace records). Of module versions loaded together, the one blamed for most leads.
    #[serde(default)]
    pub blamed_handles: usize,
    /// The dumps whose trace records blame it.
    #[serde(default)]
    pub blamed_dumps: usize,
    /// Module versions loaded in (nearly) the same dumps: folded under this one instead of
    /// taking ranks of their own (their presence says nothing this one does not).
    #[serde(default)]
    pub loaded_with: Vec<LoadedTogether>,
}

/// A module version folded under another because both load in (nearly) the same dumps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadedTogether {
    /// Module file name.
    pub module: String,
    /// File version.
    pub version: Option<String>,
    /// Dumps that load both.
    pub together: usize,
    /// Dumps that load this one.
    pub dumps: usize,
    /// Open handles whose trace records blame this one.
    #[serde(default)]
    pub blamed_handles: usize,
}

/// How the reason of a [`SkippedInput`] that is a byte-identical copy of another input starts
/// (`identical to FIRST`).
pub const IDENTICAL_TO: &str = "identical to ";

/// An input recognised as something other than a dump, log or listing, or a byte-identical
/// copy of another input, and left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedInput {
    /// The file.
    pub file: String,
    /// What it is (`a PDB file`, `a ZIP archive`, `an HTML report`, …), or `identical to
    /// FIRST` for a copy of the input FIRST.
    pub reason: String,
}

/// Whether the next candidates of the ranking still go with high handle counts in the dumps
/// that do not load the top one (a check against one module riding on another's effect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopCheck {
    /// The top module.
    pub module: String,
    /// Its version.
    pub version: Option<String>,
    /// The next candidates, in rank order.
    pub candidates: Vec<CandidateCheck>,
}

/// One candidate of [`TopCheck`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateCheck {
    /// Module file name.
    pub module: String,
    /// Its version.
    pub version: Option<String>,
    /// Dumps without the top module that load this one.
    pub dumps_with: usize,
    /// Dumps without the top module that do not.
    pub dumps_without: usize,
    /// Ratio of the medians in those dumps.
    pub ratio: Option<f64>,
    /// Two-sided Mann–Whitney p-value of that comparison, when both groups are large enough.
    pub p_value: Option<f64>,
    /// `still an effect`, `no effect left`, or `too few dumps without the top module`.
    pub verdict: String,
}

/// One version of a module, with the handle counts of the dumps that load it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionStats {
    /// File version.
    pub version: Option<String>,
    /// Dumps (with handle data) that load it.
    pub dumps: usize,
    /// Median handle count.
    pub median_handles: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
    /// Highest handle count.
    pub max: usize,
    /// The handle count of each of those dumps, ascending.
    #[serde(default)]
    pub counts: Vec<usize>,
}

/// The versions of one module compared: does one of them go with higher handle counts?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VersionComparison {
    /// Module file name.
    pub module: String,
    /// Its versions, most dumps first.
    pub versions: Vec<VersionStats>,
    /// The version whose handle counts stand out (significantly higher than the other
    /// versions'), or `null`.
    pub high_version: Option<String>,
    /// Ratio of that version's median to the other versions' (for the most significant
    /// version when none stands out).
    pub effect: Option<f64>,
    /// Two-sided Mann–Whitney U p-value of that version against the others.
    pub p_value: Option<f64>,
    /// One line for a bug report.
    pub verdict: String,
}

/// The aggregate of the dumps of one program, when a batch mixes programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProgramAggregate {
    /// Process image name.
    pub program: String,
    /// Its dumps.
    pub dumps: usize,
    /// Its dumps with handle data.
    pub with_handle_data: usize,
    /// Module versions ranked within the program's dumps.
    pub modules: Vec<ModuleVersionRow>,
    /// Versions compared within the program's dumps.
    pub version_comparisons: Vec<VersionComparison>,
}

/// The aggregate over all processed dumps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Aggregate {
    /// Dumps processed.
    pub processed: usize,
    /// Inputs that failed.
    pub failed: usize,
    /// Inputs recognised as something else and left out.
    #[serde(default)]
    pub skipped: usize,
    /// Processed dumps without handle data (left out of every handle statistic).
    #[serde(default)]
    pub without_handle_data: usize,
    /// Dumps `merge` found in more than one shard (counted once).
    #[serde(default)]
    pub duplicates_dropped: usize,
    /// Module versions ranked by how much higher the handle counts are in the dumps that load
    /// them; system modules left out unless asked for, modules loaded together folded.
    pub modules: Vec<ModuleVersionRow>,
    /// Whether system modules were ranked too (`--include-system-modules`).
    #[serde(default)]
    pub system_modules_included: bool,
    /// For the top-ranked module version: whether the next candidates still show an effect in
    /// the dumps without it.
    #[serde(default)]
    pub top_check: Option<TopCheck>,
    /// Modules loaded in two or more versions, versions compared; strongest first.
    #[serde(default)]
    pub version_comparisons: Vec<VersionComparison>,
    /// Per program, when the batch holds dumps of several programs.
    #[serde(default)]
    pub programs: Vec<ProgramAggregate>,
    /// What changes how the aggregate reads (said at the top of the report).
    #[serde(default)]
    pub notes: Vec<String>,
    /// What the run passed over (subfolders, links, filtered files; said at the end).
    #[serde(default)]
    pub caveats: Vec<String>,
    /// Dumps per known-issue label.
    pub known_issues: BTreeMap<String, usize>,
    /// Dumps with a crash, per exception name.
    pub crashes: BTreeMap<String, usize>,
}

/// One line of `--format jsonl`: a dump or a failure as each finishes, then the aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BatchLine {
    /// A processed dump.
    Dump(Box<DumpRow>),
    /// An input that failed.
    Failure(FailedInput),
    /// An input recognised as something else and left out.
    Skipped(SkippedInput),
    /// The aggregate over the dumps and failures before it.
    Aggregate(Box<Aggregate>),
}

/// The batch report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BatchReport {
    /// Version of this JSON contract.
    pub schema_version: u32,
    /// Processed dumps, by file name.
    pub dumps: Vec<DumpRow>,
    /// Failed inputs, by file name.
    pub failures: Vec<FailedInput>,
    /// Inputs recognised as something other than a dump, log or listing, by file name.
    pub skipped: Vec<SkippedInput>,
    /// The aggregate.
    pub aggregate: Aggregate,
}

/// A row with only what the aggregate reads, for the unit tests.
#[cfg(test)]
pub(super) fn test_row(
    file: &str,
    process: &str,
    handles: Option<usize>,
    modules: &[(&str, &str)],
) -> DumpRow {
    DumpRow {
        file: file.to_string(),
        process: Some(process.to_string()),
        process_version: None,
        pid: None,
        captured_at: None,
        handle_count: handles,
        types: BTreeMap::new(),
        top_types: Vec::new(),
        trace_records: None,
        blamed: Vec::new(),
        stacks: Vec::new(),
        crash: None,
        modules: modules
            .iter()
            .map(|(name, version)| ModuleVersion {
                name: name.to_string(),
                version: Some(version.to_string()),
                system_folder: false,
            })
            .collect(),
        known_issues: Vec::new(),
        warnings: Vec::new(),
        content_hash: None,
    }
}
