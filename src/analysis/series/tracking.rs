//! Retained-handle tracking without keeping the dumps: each dump is reduced to the sorted
//! identities of its handles ([`HandleKeys`], 16 bytes a handle, names interned once for the
//! whole series in [`Names`]), and the dumps of a segment are walked in series order, two at a
//! time ([`retained_keys`]). Only the last dump of a segment is needed whole, to map the
//! result back to its handles ([`retained_in`]).

use crate::snapshot::{HandleIdentity, Snapshot};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A handle identity with its names interned: value, type id, object name id (0 for none).
pub type HandleKey = (u64, u32, u32);
type Key = HandleKey;

/// The type and object names of every dump of a series, each stored once and numbered from 1
/// (0 is no name). Shared by the threads that load the dumps.
#[derive(Debug, Default)]
pub struct Names {
    ids: Mutex<foldhash::HashMap<Arc<str>, u32>>,
}

/// The identities of one dump's handles, sorted and without repeats (a set, as
/// [`super::retained_since`] counts them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandleKeys(Vec<Key>);

impl HandleKeys {
    /// Bytes the keys hold (for the documented memory per dump).
    pub fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Key>()
    }
}

impl Names {
    /// The keys of `snapshot`'s handles; its names are interned (the lock is taken once per
    /// dump, for the dump's distinct names).
    pub fn keys_of(&self, snapshot: &Snapshot) -> HandleKeys {
        let handles = snapshot.handles.as_deref().unwrap_or_default();
        // Names are shared `Arc`s within a snapshot: distinct contents are few.
        let mut local: foldhash::HashMap<&str, u32> = foldhash::HashMap::default();
        let mut distinct: Vec<&Arc<str>> = Vec::new();
        let mut local_keys: Vec<Key> = Vec::with_capacity(handles.len());
        for handle in handles {
            let mut ids = [0u32; 2];
            for (id, name) in ids.iter_mut().zip([&handle.type_name, &handle.object_name]) {
                if let Some(name) = name {
                    *id = *local.entry(name).or_insert_with(|| {
                        distinct.push(name);
                        distinct.len() as u32
                    });
                }
            }
            local_keys.push((handle.value, ids[0], ids[1]));
        }
        let global: Vec<u32> = {
            let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
            let next = ids.len() as u32 + 1;
            let mut next = next;
            std::iter::once(0)
                .chain(distinct.iter().map(|name| {
                    *ids.entry(Arc::clone(name)).or_insert_with(|| {
                        next += 1;
                        next - 1
                    })
                }))
                .collect()
        };
        let mut keys: Vec<Key> = local_keys
            .into_iter()
            .map(|(value, type_id, name_id)| {
                (value, global[type_id as usize], global[name_id as usize])
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.shrink_to_fit();
        HandleKeys(keys)
    }
}

/// For each handle of the last of `dumps` (in series order): the first dump from which it is
/// open in every dump to the last, aligned with the last dump's keys. The dumps are walked
/// in order, two at a time: each handle keeps the index of the previous dump's entry when the
/// previous dump has it, else starts at this dump.
pub fn retained_keys<'k>(dumps: impl IntoIterator<Item = &'k HandleKeys>) -> Vec<(Key, usize)> {
    let mut previous: Vec<(Key, usize)> = Vec::new();
    for (index, keys) in dumps.into_iter().enumerate() {
        let mut earlier = previous.iter().peekable();
        let current = keys
            .0
            .iter()
            .map(|key| {
                while earlier.next_if(|(other, _)| other < key).is_some() {}
                match earlier.next_if(|(other, _)| other == key) {
                    Some((_, since)) => (*key, *since),
                    None => (*key, index),
                }
            })
            .collect();
        previous = current;
    }
    previous
}

/// The retained handles of `last` (identity → the first dump from which it is open in every
/// dump to the last, ≥ 1), from [`retained_keys`] of the segment whose last dump it is: the
/// same map [`super::retained_since`] computes from the whole dumps.
pub fn retained_in<'a>(
    last: &'a Snapshot,
    names: &Names,
    since: &[(Key, usize)],
) -> BTreeMap<HandleIdentity<'a>, usize> {
    let ids = names.ids.lock().unwrap_or_else(|e| e.into_inner());
    let id = |name: Option<&str>| match name {
        None => Some(0),
        Some(name) => ids.get(name).copied(),
    };
    let mut retained = BTreeMap::new();
    for handle in last.handles.iter().flatten() {
        let identity = handle.identity();
        let (Some(type_id), Some(name_id)) = (id(identity.type_name), id(identity.object_name))
        else {
            continue;
        };
        let key = (identity.value, type_id, name_id);
        if let Ok(at) = since.binary_search_by(|(other, _)| other.cmp(&key)) {
            if since[at].1 > 0 {
                retained.insert(identity, since[at].1);
            }
        }
    }
    retained
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{load, Handle};

    fn handle(value: u64, type_name: &str, name: Option<&str>) -> Handle {
        Handle {
            type_name: Some(type_name.into()),
            object_name: name.map(Into::into),
            ..Handle::new(value)
        }
    }

    fn snapshot_of(handles: Vec<Handle>) -> Snapshot {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/series");
        let mut snapshot = load(&dir.join("indexer-05e6b1.dmp")).expect("fixture");
        snapshot.handles = Some(handles);
        snapshot
    }

    #[test]
    fn keys_walked_in_order_give_what_the_whole_dumps_give() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/series");
        let mut series: Vec<Snapshot> = std::fs::read_dir(&dir)
            .expect("fixtures")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.to_string_lossy().contains("indexer-"))
            .map(|path| load(&path).expect("fixture"))
            .collect();
        series.sort_by_key(|snapshot| snapshot.captured_at);
        assert_eq!(series.len(), 8);
        // A value reused for another object, a repeated identity and a name gone and back.
        series[6]
            .handles
            .as_mut()
            .unwrap()
            .push(handle(0x9990, "Event", Some("x")));
        series[7]
            .handles
            .as_mut()
            .unwrap()
            .push(handle(0x9990, "Mutant", Some("x")));
        series[7]
            .handles
            .as_mut()
            .unwrap()
            .push(handle(0x9990, "Mutant", Some("x")));
        let names = Names::default();
        let keys: Vec<HandleKeys> = series.iter().map(|s| names.keys_of(s)).collect();
        let since = retained_keys(&keys);
        let last = &series[7];
        let expected = super::super::retained_since(&series);
        assert!(!expected.is_empty());
        assert_eq!(retained_in(last, &names, &since), expected);
    }

    #[test]
    fn a_handle_missing_from_one_dump_starts_again() {
        let a = handle(4, "Event", None);
        let b = handle(8, "File", Some(r"\Device\x"));
        let series = [
            snapshot_of(vec![a.clone()]),
            snapshot_of(vec![a.clone(), b.clone()]),
            snapshot_of(vec![b.clone()]),
            snapshot_of(vec![a.clone(), b.clone()]),
        ];
        let names = Names::default();
        let keys: Vec<HandleKeys> = series.iter().map(|s| names.keys_of(s)).collect();
        let retained = retained_in(&series[3], &names, &retained_keys(&keys));
        let found: Vec<(u64, usize)> = retained.iter().map(|(h, s)| (h.value, *s)).collect();
        // a was closed in dump 2 and reopened in 3; b is open since dump 1.
        assert_eq!(found, [(4, 3), (8, 1)]);
    }
}
