//! The on-disk cache: files kept in store layout (`cache/name/ID/name`), each written to a
//! temporary file in its folder and renamed into place, so no reader ever sees half a file.

use super::{cab, FileKey};
use std::fs;
use std::path::{Path, PathBuf};
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
        return Some(target);
    }
    let written = match create_parent(&target) {
        Ok(dir) => write(&dir, &target, notes),
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

/// Copies a file found in a directory into the cache.
pub(super) fn copy_in(
    key: &FileKey,
    source: &Path,
    cache: &Path,
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
        let copied = NamedTempFile::with_prefix_in(".copy-", dir)
            .and_then(|mut temp| {
                std::io::copy(&mut fs::File::open(source)?, temp.as_file_mut())?;
                Ok(temp)
            })
            .map_err(note)
            .and_then(|temp| persist(temp, target));
        copied.map_err(|note| notes.push(note)).ok()
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
    fill(cache, key, notes, |dir, target, notes| {
        cab::expand(cab, &key.name, dir, max_bytes)
            .and_then(|expanded| persist(expanded, target))
            .map_err(|note| notes.push(note))
            .ok()
    })
}

fn create_parent(target: &Path) -> Result<PathBuf, String> {
    let dir = target.parent().unwrap_or(Path::new(".")).to_path_buf();
    fs::create_dir_all(&dir)
        .map(|()| dir.clone())
        .map_err(|error| format!("cannot create cache directory {}: {error}", dir.display()))
}

/// Moves a finished temporary file to `target`. When another thread or process got there
/// first (Windows refuses to replace a mapped file), its copy is used.
pub(super) fn persist(file: NamedTempFile, target: &Path) -> Result<PathBuf, String> {
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

    fn key() -> FileKey {
        FileKey::new("a.pdb", "ABC1")
    }

    #[test]
    fn a_copy_lands_in_store_layout() {
        let source_dir = TempDir::new().unwrap();
        let cache = TempDir::new().unwrap();
        let source = source_dir.path().join("a.pdb");
        fs::write(&source, b"pdb bytes").unwrap();
        let mut notes = Vec::new();
        let copy = copy_in(&key(), &source, cache.path(), &mut notes).unwrap();
        assert_eq!(copy, cache.path().join("a.pdb").join("ABC1").join("a.pdb"));
        assert_eq!(fs::read(&copy).unwrap(), b"pdb bytes");
        assert!(notes.is_empty(), "{notes:?}");
        let leftovers: Vec<_> = fs::read_dir(copy.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
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
    fn a_missing_source_is_a_note() {
        let cache = TempDir::new().unwrap();
        let source = cache.path().join("missing.pdb");
        let mut notes = Vec::new();
        assert_eq!(copy_in(&key(), &source, cache.path(), &mut notes), None);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("cannot copy "), "{notes:?}");
        assert!(!cache.path().join("a.pdb").exists());
    }
}
