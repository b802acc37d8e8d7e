//! Allocation stacks: handles grouped by the stack of their newest OPEN record, each group's
//! frames resolved and blamed on a module with its version. Every command groups this way.

use super::attribution::Attribution;
use crate::snapshot::Snapshot;
use crate::symbols::{Frame, SymbolTable};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One allocation stack, resolved and blamed.
#[derive(Debug, Clone)]
pub struct Blame {
    /// Frames innermost first, shared with the symbol table.
    pub frames: Vec<Arc<Frame>>,
    /// The frames in WinDbg notation (inlined functions on their own lines).
    pub lines: Vec<String>,
    /// Blamed module: the innermost frame outside the system modules.
    pub module: Option<String>,
    /// Its file version in the snapshot.
    pub version: Option<String>,
    /// Its path in the snapshot.
    pub path: Option<String>,
}

impl Blame {
    /// Resolves `stack` with `symbols` and blames it under `attribution`; the version and
    /// path come from `snapshot`'s module list.
    pub fn of(
        stack: &[u64],
        symbols: &SymbolTable,
        attribution: &Attribution,
        snapshot: &Snapshot,
    ) -> Blame {
        let frames: Vec<Arc<Frame>> = stack
            .iter()
            .map(|address| symbols.frame(*address))
            .collect();
        let lines = frames.iter().flat_map(|frame| frame.lines()).collect();
        // A module's path tells a system module the list does not name (one of the Windows
        // system folders).
        let blamed = attribution.blamed_with(&frames, |frame| {
            snapshot
                .module_at(frame.address)
                .map(|module| module.path.as_str())
        });
        let module = blamed.and_then(|frame| frame.module.clone());
        // The module the blamed address lies in (a binary search), else the one of that name
        // (frames named by a log); a dump of 100,000 modules and stacks is not searched
        // name by name for every stack.
        let loaded = module.as_deref().and_then(|name| {
            blamed
                .and_then(|frame| snapshot.module_at(frame.address))
                .filter(|module| module.name == name)
                .or_else(|| snapshot.module_named(name))
        });
        Blame {
            version: loaded.and_then(|module| module.file_version.clone()),
            path: loaded.map(|module| module.path.clone()),
            module,
            lines,
            frames,
        }
    }
}

/// Handles sharing one allocation stack.
#[derive(Debug, Clone)]
pub struct StackGroup<T> {
    /// The return addresses, innermost first (empty: no trace record).
    pub stack: Arc<[u64]>,
    /// What was grouped, in the order given.
    pub members: Vec<T>,
    /// The stack resolved and blamed.
    pub blame: Blame,
}

/// Groups `items` by stack (in stack order, so the result is deterministic; callers sort by
/// what their report ranks on) and resolves and blames each distinct stack once.
pub fn group_by_stack<T>(
    items: impl IntoIterator<Item = (Arc<[u64]>, T)>,
    symbols: &SymbolTable,
    attribution: &Attribution,
    snapshot: &Snapshot,
) -> Vec<StackGroup<T>> {
    let mut groups: BTreeMap<Arc<[u64]>, Vec<T>> = BTreeMap::new();
    for (stack, item) in items {
        groups.entry(stack).or_default().push(item);
    }
    groups
        .into_iter()
        .map(|(stack, members)| StackGroup {
            blame: Blame::of(&stack, symbols, attribution, snapshot),
            stack,
            members,
        })
        .collect()
}
