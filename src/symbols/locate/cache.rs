//! The on-disk cache: files kept in store layout (`cache/name/ID/name`), each written to a
//! temporary file in its folder and renamed into place, so no reader ever sees half a file.

use super::verify::verify;
use super::{cab, FileKey};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::NamedTempFile;

/// `cache/name/ID/name`.
pub(super) fn entry_path(cache: &Path, key: &FileKey) -> PathBuf {
    cache.join(&key.name).join(&key.id).join(&key.name)
}

/// Puts `key` into `cache` unless it is there already: `write` gets the entry's folder (just
/// created) and its path, and returns where the file is, noting why when it cannot. The empty
/// folders of a failed write are removed.
pub(super) fn fill(
    cache: &Path,
    key: &FileKey,
    notes: &mut Vec<String>,
    write: impl FnOnce(&Path, &Path, &mut Vec<String>) -> Option<PathBuf>,
) -> Option<PathBuf> {
    let target = entry_path(cache, key);
    if target.is_file() {
        // A run killed while another one completed the entry left its temporary beside it.
        if let Some(dir) = target.parent() {
            remove_stale_temporaries(dir);
        }
        return Some(target);
    }
    let written = match create_parent(&target) {
        Ok(dir) => {
            remove_stale_temporaries(&dir);
            write(&dir, &target, notes)
        }
        Err(note) => {
            notes.push(note);
            None
        }
    };
    if written.is_none() {
        remove_empty_dirs(&target, cache);
    }
    written
}

/// Copies a file found in a directory (at most `max_bytes`) into the cache, when it is the
/// file `key` names: one that is not (a mismatched PDB used with `--allow-mismatched`, say)
/// is used where it is, without a note here (its user says what is wrong with it).
pub(super) fn copy_in(
    key: &FileKey,
    source: &Path,
    cache: &Path,
    max_bytes: u64,
    notes: &mut Vec<String>,
) -> Option<PathBuf> {
    fill(cache, key, notes, |dir, target, notes| {
        let note = |error: std::io::Error| {
            format!(
                "cannot copy {} into cache {}: {error}",
                source.display(),
                cache.display()
            )
        };
        let copied = NamedTempFile::with_prefix_in(".copy-", dir).and_then(|mut temp| {
            let source = fs::File::open(source)?;
            let copied = std::io::copy(&mut source.take(max_bytes + 1), temp.as_file_mut())?;
            Ok((copied <= max_bytes).then_some(temp))
        });
        match copied.map_err(note) {
            Ok(Some(temp)) if verify(temp.path(), key, "").is_ok() => {
                persist(temp, target).map_err(|note| notes.push(note)).ok()
            }
            Ok(_) => None,
            Err(note) => {
                notes.push(note);
                None
            }
        }
    })
}

/// Expands the CAB at `cab` (holding `key.name`, at most `max_bytes`) into the cache.
pub(super) fn expand_in(
    key: &FileKey,
    cab: &Path,
    cache: &Path,
    max_bytes: u64,
    notes: &mut Vec<String>,
) -> Option<PathBuf> {
    let expand = |dir: &Path, target: &Path, notes: &mut Vec<String>| {
        let what = format!("{} expanded", cab.display());
        cab::expand(cab, &key.name, dir, max_bytes)
            .and_then(|expanded| admit(expanded, key, &what, target))
            .map_err(|note| notes.push(note))
            .ok()
    };
    let target = entry_path(cache, key);
    if same_file::is_same_file(cab, &target).unwrap_or(false) {
        // The cache's own entry is the cabinet (stored under the plain name): the expanded
        // file replaces it.
        let dir = target.parent().unwrap_or(cache);
        return expand(dir, &target, notes);
    }
    fill(cache, key, notes, expand)
}

/// Moves a finished temporary file to `target` when it is the complete symbol file `key`
/// names (`what` names it in the note when it is not).
pub(super) fn admit(
    file: NamedTempFile,
    key: &FileKey,
    what: &str,
    target: &Path,
) -> Result<PathBuf, String> {
    verify(file.path(), key, what)?;
    persist(file, target)
}

fn create_parent(target: &Path) -> Result<PathBuf, String> {
    let dir = target.parent().unwrap_or(Path::new(".")).to_path_buf();
    fs::create_dir_all(&dir)
        .map(|()| dir.clone())
        .map_err(|error| format!("cannot create cache directory {}: {error}", dir.display()))
}

/// Moves a finished temporary file to `target`. When another thread or process got there
/// first (Windows refuses to replace a mapped file), its copy is used.
fn persist(file: NamedTempFile, target: &Path) -> Result<PathBuf, String> {
    match file.persist(target) {
        Ok(_) => Ok(target.to_path_buf()),
        Err(_) if target.is_file() => Ok(target.to_path_buf()),
        Err(error) => Err(format!(
            "cannot write {}: {}",
            target.display(),
            error.error
        )),
    }
}

/// Prefixes of the temporary files written into a cache entry's folder.
const TEMPORARY_PREFIXES: [&str; 3] = [".download-", ".expand-", ".copy-"];

/// Age after which a temporary file is a leftover of a run that was killed: no download
/// lasts this long (see `LocatorOptions::download_deadline`).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Removes the temporary files killed runs left in an entry's folder `dir` (those modified
/// more than [`STALE_AFTER`] ago); younger ones may belong to a run still going.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let temporary = name
            .to_str()
            .is_some_and(|name| TEMPORARY_PREFIXES.iter().any(|p| name.starts_with(p)));
        // Not followed: a link is not ours to judge by its target.
        let stale = entry.metadata().is_ok_and(|meta| {
            meta.is_file()
                && meta
                    .modified()
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age > STALE_AFTER)
        });
        if temporary && stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes the empty `name/ID` folders a failed write left in `cache`.
fn remove_empty_dirs(target: &Path, cache: &Path) {
    let mut dir = target.parent();
    while let Some(current) = dir.filter(|current| *current != cache && current.starts_with(cache))
    {
        if fs::remove_dir(current).is_err() {
            break;
        }
        dir = current.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    const PDB: &[u8] = include_bytes!("../../../testdata/pdb/leakylib.pdb");
    const ID: &str = "4F5704A7F90205594C4C44205044422E1";

    fn key() -> FileKey {
        FileKey::new("leakylib.pdb", ID)
    }

    #[test]
    fn a_copy_lands_in_store_layout() {
        let source_dir = TempDir::new().unwrap();
        let cache = TempDir::new().unwrap();
        let source = source_dir.path().join("leakylib.pdb");
        fs::write(&source, PDB).unwrap();
        let mut notes = Vec::new();
        let copy = copy_in(&key(), &source, cache.path(), 1 << 20, &mut notes).unwrap();
        assert_eq!(copy, entry_path(cache.path(), &key()));
        assert_eq!(fs::read(&copy).unwrap(), PDB);
        assert!(notes.is_empty(), "{notes:?}");
        let leftovers: Vec<_> = fs::read_dir(copy.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
    }

    #[test]
    fn only_the_complete_file_of_the_key_is_copied() {
        let source_dir = TempDir::new().unwrap();
        let cache = TempDir::new().unwrap();
        let source = source_dir.path().join("leakylib.pdb");
        let other = FileKey::new("leakylib.pdb", "4F5704A7F90205594C4C44205044422E2");
        for (key, bytes, max_bytes) in [
            (key(), &PDB[..8192], 1 << 20),
            (key(), PDB, PDB.len() as u64 - 1),
            (other, PDB, 1 << 20),
        ] {
            fs::write(&source, bytes).unwrap();
            let mut notes = Vec::new();
            assert_eq!(
                copy_in(&key, &source, cache.path(), max_bytes, &mut notes),
                None
            );
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(fs::read_dir(cache.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn an_existing_entry_is_kept() {
        let cache = TempDir::new().unwrap();
        let target = entry_path(cache.path(), &key());
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, b"first").unwrap();
        let mut notes = Vec::new();
        let found = fill(cache.path(), &key(), &mut notes, |_, _, _| {
            panic!("an existing entry is not written again")
        });
        assert_eq!(found, Some(target.clone()));
        assert_eq!(fs::read(&target).unwrap(), b"first");
    }

    #[test]
    fn a_failed_write_leaves_no_empty_folders() {
        let cache = TempDir::new().unwrap();
        let mut notes = Vec::new();
        let found = fill(cache.path(), &key(), &mut notes, |dir, _, notes| {
            assert!(dir.is_dir());
            notes.push("no luck".to_string());
            None
        });
        assert_eq!(found, None);
        assert_eq!(notes, ["no luck"]);
        assert_eq!(fs::read_dir(cache.path()).unwrap().count(), 0);
    }

    #[test]
    fn temporaries_of_killed_runs_are_removed_when_the_entry_is_filled_or_used() {
        let cache = TempDir::new().unwrap();
        let dir = entry_path(cache.path(), &key())
            .parent()
            .unwrap()
            .to_path_buf();
        fs::create_dir_all(&dir).unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        let file = |name: &str, old: bool| {
            let path = dir.join(name);
            let file = fs::File::create(&path).unwrap();
            if old {
                file.set_modified(two_hours_ago).unwrap();
            }
            path
        };
        let stale = [".download-a1", ".expand-b2", ".copy-c3"].map(|name| file(name, true));
        let kept = [
            file(".download-fresh", false),
            file("notes.txt", true),
            file(".tmpXYZ", true),
        ];
        let mut notes = Vec::new();
        fill(cache.path(), &key(), &mut notes, |_, _, _| None);
        for path in stale {
            assert!(!path.exists(), "{path:?} kept");
        }
        for path in kept {
            assert!(path.exists(), "{path:?} removed");
        }
        // Beside an entry another run completed, they go when the entry is next used.
        let entry = entry_path(cache.path(), &key());
        fs::write(&entry, b"complete").unwrap();
        let stale = file(".download-d4", true);
        let found = fill(cache.path(), &key(), &mut notes, |_, _, _| unreachable!());
        assert_eq!(found, Some(entry));
        assert!(!stale.exists());
    }

    #[test]
    fn a_missing_source_is_a_note() {
        let cache = TempDir::new().unwrap();
        let source = cache.path().join("missing.pdb");
        let mut notes = Vec::new();
        assert_eq!(copy_in(&key(), &source, cache.path(), 1, &mut notes), None);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("cannot copy "), "{notes:?}");
        assert!(!cache.path().join("leakylib.pdb").exists());
    }
}
