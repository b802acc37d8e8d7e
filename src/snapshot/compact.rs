//! A compact handle table for comparing large tables (`diff`): 32 bytes per handle instead of
//! a [`Handle`]'s 88, no reference count per handle, each distinct name decoded once per dump.
//! A full [`Handle`] is made only for the handles a report shows ([`CompactHandles::handle`]).

use super::model::{Handle, NO_TYPE};
use std::sync::Arc;

/// One handle of a [`CompactHandles`] table: the descriptor's fields, with the type and object
/// names as indices into the table's names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CompactHandle {
    /// The handle value.
    pub value: u64,
    /// The type name's index in [`CompactHandles::names`] (0: none).
    pub type_name: u32,
    /// The object name's index in [`CompactHandles::names`] (0: none).
    pub object_name: u32,
    /// Handle attributes.
    pub attributes: u32,
    /// Granted access mask.
    pub granted_access: u32,
    /// Number of handles to the object.
    pub handle_count: u32,
    /// Number of references to the object.
    pub pointer_count: u32,
}

/// A handle table in compact form: what [`Snapshot::handles`](super::Snapshot::handles) holds,
/// without object information (the diff does not show it).
#[derive(Debug, Clone)]
pub(crate) struct CompactHandles {
    /// The handles in table order.
    pub handles: Vec<CompactHandle>,
    /// The distinct names, each once; index 0 is "no name". The order of the others depends
    /// on which thread met them first: nothing may be ordered by an index.
    pub names: Vec<Option<Arc<str>>>,
}

impl CompactHandles {
    /// The name at `index` (`None` for 0 and for an index the table does not hold).
    pub fn name(&self, index: u32) -> Option<&str> {
        self.names.get(index as usize)?.as_deref()
    }

    /// The shared name at `index`.
    fn shared(&self, index: u32) -> Option<Arc<str>> {
        self.names.get(index as usize)?.clone()
    }

    /// The full [`Handle`] at `index` (below the table's length).
    pub fn handle(&self, index: usize) -> Handle {
        let compact = &self.handles[index];
        Handle {
            type_name: self.shared(compact.type_name),
            object_name: self.shared(compact.object_name),
            attributes: compact.attributes,
            granted_access: compact.granted_access,
            handle_count: compact.handle_count,
            pointer_count: compact.pointer_count,
            ..Handle::new(compact.value)
        }
    }

    /// Every handle as a full [`Handle`], in table order.
    pub fn to_handles(&self) -> Vec<Handle> {
        (0..self.handles.len())
            .map(|index| self.handle(index))
            .collect()
    }

    /// What identifies the handle at `index` across dumps: value, type and object name.
    pub fn identity(&self, index: usize) -> (u64, Option<&str>, Option<&str>) {
        let compact = &self.handles[index];
        (
            compact.value,
            self.name(compact.type_name),
            self.name(compact.object_name),
        )
    }

    /// Handles per type name (`(none)` for the untyped), counted by index first.
    pub fn counts_by_type(&self) -> std::collections::BTreeMap<String, usize> {
        let mut by_index = vec![0usize; self.names.len().max(1)];
        for handle in &self.handles {
            if let Some(count) = by_index.get_mut(handle.type_name as usize) {
                *count += 1;
            }
        }
        let mut counts = std::collections::BTreeMap::new();
        for (index, count) in by_index.into_iter().enumerate() {
            if count > 0 {
                let label = self.name(index as u32).unwrap_or(NO_TYPE);
                *counts.entry(label.to_string()).or_default() += count;
            }
        }
        counts
    }
}

/// Interns names for a table parsed on several threads: each worker keeps the indices of the
/// string RVAs it met, and asks the shared table (under its lock) only for an RVA new to it.
pub(crate) struct Interner<'file> {
    shared: std::sync::Mutex<SharedNames<'file>>,
}

#[derive(Default)]
struct SharedNames<'file> {
    by_content: foldhash::HashMap<&'file [u8], u32>,
    names: Vec<Option<Arc<str>>>,
}

impl<'file> Interner<'file> {
    /// An interner holding only "no name" (index 0).
    pub fn new() -> Interner<'file> {
        Interner {
            shared: std::sync::Mutex::new(SharedNames {
                names: vec![None],
                ..SharedNames::default()
            }),
        }
    }

    /// The index of the name whose UTF-16LE bytes are `raw`; an empty name is no name (0).
    pub fn index_of(&self, raw: &'file [u8]) -> u32 {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = shared.by_content.get(raw) {
            return *index;
        }
        let text = super::bytes::decode_utf16le(raw);
        let index = if text.is_empty() {
            0
        } else {
            shared.names.push(Some(Arc::from(text)));
            (shared.names.len() - 1) as u32
        };
        shared.by_content.insert(raw, index);
        index
    }

    /// The names interned, by index.
    pub fn into_names(self) -> Vec<Option<Arc<str>>> {
        self.shared
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .names
    }
}
