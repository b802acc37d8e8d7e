//! The one directory walker: which files a command's inputs name.

use crate::snapshot::LoadError;
use std::path::{Path, PathBuf};

/// How directories among the inputs are expanded.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputWalk {
    /// Descend into subdirectories.
    pub recursive: bool,
}

/// The files named by `inputs`, in the order given: a file as it is, a directory as its files
/// sorted by name (depth first when recursive). Symbolic links to files are taken; links to
/// directories are not followed (no loops). A file named twice is listed once, where it is
/// first named.
pub fn collect_inputs(inputs: &[PathBuf], walk: InputWalk) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            expand_dir(input, walk, &mut files)?;
        } else {
            files.push(input.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    Ok(files)
}

fn expand_dir(dir: &Path, walk: InputWalk, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(LoadError::io(dir))?;
    let mut found: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        // The entry's type comes with the listing; only links (and file systems that do not
        // say) cost a stat.
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => found.push((path, true)),
            Ok(kind) if kind.is_file() => found.push((path, false)),
            _ if path.is_file() => found.push((path, false)),
            _ => {}
        }
    }
    found.sort();
    for (path, is_dir) in found {
        if !is_dir {
            files.push(path);
        } else if walk.recursive {
            expand_dir(&path, walk, files)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_given_order_directories_sorted_links_to_directories_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        std::fs::create_dir(dir.join("sub")).unwrap();
        for name in ["b.dmp", "a.dmp", "sub/c.dmp"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir, dir.join("sub/loop")).unwrap();
        let flat = collect_inputs(&[dir.to_path_buf()], InputWalk::default()).unwrap();
        assert_eq!(flat, [dir.join("a.dmp"), dir.join("b.dmp")]);
        let deep = collect_inputs(&[dir.to_path_buf()], InputWalk { recursive: true }).unwrap();
        assert_eq!(
            deep,
            [dir.join("a.dmp"), dir.join("b.dmp"), dir.join("sub/c.dmp")]
        );
        let given = collect_inputs(
            &[dir.join("b.dmp"), dir.join("a.dmp"), dir.join("b.dmp")],
            InputWalk::default(),
        )
        .unwrap();
        assert_eq!(given, [dir.join("b.dmp"), dir.join("a.dmp")]);
    }
}
