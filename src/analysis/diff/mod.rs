//! Diff of two snapshots of one process: per-type deltas, new and closed handles, the
//! allocation stacks of the new ones grouped and attributed to modules.
//!
//! [`compare_handles`] compares the tables (pure), the symbolizer resolves exactly the
//! addresses of the new handles' stacks, and [`build_report`] builds the [`DiffReport`].

mod build;
mod compare;
mod model;
mod warnings;

pub use build::build_report;
pub use compare::{
    compare_handle_tables, compare_handles, HandleDiff, HandleTables, NewestRecords,
};
pub use model::*;

use super::attribution::Attribution;

/// What the diff needs besides the two snapshots.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Which modules are never blamed.
    pub attribution: Attribution,
    /// Modules to report on even when no stack mentions them.
    pub suspects: Vec<String>,
    /// Compare dumps of different processes anyway (the report then says so first).
    pub allow_different_process: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CompactHandle, CompactHandles, Handle, InputFormat, Snapshot};
    use crate::symbols::SymbolTable;
    use std::sync::Arc;

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
            handles: Some(handles),
            ..Snapshot::empty("test.dmp", InputFormat::Minidump)
        }
    }

    fn report(before: Vec<Handle>, after: Vec<Handle>) -> DiffReport {
        report_of(snapshot(before), snapshot(after))
    }

    fn report_of(before: Snapshot, after: Snapshot) -> DiffReport {
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
        let same: Vec<(u64, Option<u64>)> = report
            .new_handles
            .iter()
            .map(|new| (new.handle, new.same_object_as))
            .collect();
        assert_eq!(
            same,
            [(0x20, Some(0x10)), (0x24, None), (0x28, None), (0x2c, None)]
        );
        assert_eq!(report.new_objects, 3);
        assert_eq!(report.duplicates.len(), 1);
        assert_eq!(&*report.duplicates[0].type_name, "Mutant");
        assert_eq!(report.duplicates[0].handles, ["0x10", "0x20"]);
    }

    /// A snapshot holding `handles` as a compact table (names interned in order met).
    fn compact_snapshot(handles: &[Handle]) -> Snapshot {
        fn index(names: &mut Vec<Option<Arc<str>>>, name: &Option<Arc<str>>) -> u32 {
            let Some(name) = name else { return 0 };
            match names.iter().position(|known| known.as_ref() == Some(name)) {
                Some(index) => index as u32,
                None => {
                    names.push(Some(Arc::clone(name)));
                    (names.len() - 1) as u32
                }
            }
        }
        let mut names = vec![None];
        let handles = handles
            .iter()
            .map(|handle| CompactHandle {
                value: handle.value,
                type_name: index(&mut names, &handle.type_name),
                object_name: index(&mut names, &handle.object_name),
                attributes: handle.attributes,
                granted_access: handle.granted_access,
                handle_count: handle.handle_count,
                pointer_count: handle.pointer_count,
            })
            .collect();
        Snapshot {
            compact_handles: Some(CompactHandles { handles, names }),
            ..Snapshot::empty("test.dmp", InputFormat::Minidump)
        }
    }

    #[test]
    fn compact_tables_compare_as_full_ones() {
        // Unsorted with a duplicate and a value reused for another type; then strictly
        // increasing values (the walk without sorting). Named objects shared twice.
        let lock = Some(r"\BaseNamedObjects\Lock");
        let unsorted = (
            vec![
                handle(8, "Event", None, 1),
                handle(4, "Event", None, 1),
                handle(4, "Event", None, 1),
                handle(0x10, "Mutant", lock, 2),
            ],
            vec![
                handle(4, "Event", None, 1),
                handle(0x20, "Mutant", lock, 2),
                handle(12, "Mutant", None, 1),
                handle(8, "Section", None, 1),
                handle(0x10, "Mutant", lock, 2),
            ],
        );
        let sorted = (
            vec![
                handle(4, "Event", None, 1),
                handle(8, "Event", None, 1),
                handle(0x10, "Mutant", lock, 2),
            ],
            vec![
                handle(4, "Event", None, 1),
                handle(8, "Section", Some("a"), 1),
                handle(12, "Mutant", None, 1),
                handle(0x10, "Mutant", lock, 2),
                handle(0x20, "Mutant", lock, 2),
            ],
        );
        for (before, after) in [unsorted, sorted] {
            let full = report(before.clone(), after.clone());
            let compact = report_of(compact_snapshot(&before), compact_snapshot(&after));
            assert_eq!(
                serde_json::to_value(&compact).unwrap(),
                serde_json::to_value(&full).unwrap()
            );
            assert!(!full.new_handles.is_empty() && !full.closed_handles.is_empty());
        }
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
        let new: Vec<(u64, &str)> = compare::missing_from(&after, &before)
            .iter()
            .map(|handle| (handle.value, handle.type_label()))
            .collect();
        assert_eq!(new, [(8, "Section"), (12, "Mutant")]);
        let closed: Vec<(u64, &str)> = compare::missing_from(&before, &after)
            .iter()
            .map(|handle| (handle.value, handle.type_label()))
            .collect();
        assert_eq!(closed, [(4, "Event"), (8, "Event")]);
    }
}
