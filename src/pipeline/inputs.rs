//! The one directory walker: which files a command's inputs name, and what it passed over.

use crate::snapshot::LoadError;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// How directories among the inputs are expanded.
#[derive(Debug, Clone, Default)]
pub struct InputWalk {
    /// Descend into subdirectories.
    pub recursive: bool,
    /// Follow symbolic links that lead outside the folder given (and links to folders).
    pub follow_links: bool,
    /// Only files matching one of these globs (on the path below the folder given, or the
    /// file name); all when empty.
    pub include: Vec<String>,
    /// Files matching any of these globs are left out.
    pub exclude: Vec<String>,
}

/// What a walk found.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// The files, in the order given; a directory's sorted by name (depth first).
    pub files: Vec<PathBuf>,
    /// Folders that could not be listed, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    /// What was passed over and how to include it, one sentence each.
    pub notes: Vec<String>,
}

/// The files named by `inputs` ([`walk_inputs`]); the first unreadable folder is an error.
pub fn collect_inputs(inputs: &[PathBuf], walk: InputWalk) -> Result<Vec<PathBuf>, LoadError> {
    let collected = walk_inputs(inputs, &walk)?;
    match collected.unreadable.into_iter().next() {
        Some((path, reason)) => Err(LoadError::Io {
            path,
            source: std::io::Error::other(reason),
        }),
        None => Ok(collected.files),
    }
}

/// The files named by `inputs`, in the order given: a file as it is, a directory as its files
/// sorted by name (depth first when recursive). Inside a folder, symbolic links are followed
/// only when they stay inside it (or with `follow_links`), and a folder is never entered twice
/// (no loops). A file named twice is listed once, where it is first named. A folder that
/// cannot be listed is reported in [`Collected::unreadable`], not an error; a bad glob is.
pub fn walk_inputs(inputs: &[PathBuf], walk: &InputWalk) -> Result<Collected, LoadError> {
    let filter = GlobFilter::new(walk)?;
    let mut collected = Collected::default();
    let mut counts = Counts::default();
    for input in inputs {
        if input.is_dir() {
            let root = input.canonicalize().unwrap_or_else(|_| input.clone());
            let mut visited = BTreeSet::from([root.clone()]);
            let mut walker = Walker {
                walk,
                filter: &filter,
                root: &root,
                top: input,
                visited: &mut visited,
                counts: &mut counts,
                collected: &mut collected,
            };
            walker.expand(input);
        } else {
            collected.files.push(input.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    collected.files.retain(|file| seen.insert(file.clone()));
    collected.notes = counts.notes();
    Ok(collected)
}

#[derive(Default)]
struct Counts {
    subfolders: usize,
    links: usize,
    filtered: usize,
}

impl Counts {
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let counted = |count: usize, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        if self.subfolders > 0 {
            notes.push(format!(
                "{} not searched (--recursive searches subfolders)",
                counted(self.subfolders, "subfolder was", "subfolders were")
            ));
        }
        if self.links > 0 {
            notes.push(format!(
                "{} not followed (--follow-links follows them)",
                counted(
                    self.links,
                    "symbolic link leading outside the folder was",
                    "symbolic links leading outside the folder were"
                )
            ));
        }
        if self.filtered > 0 {
            notes.push(format!(
                "{} left out by --include/--exclude",
                counted(self.filtered, "file was", "files were")
            ));
        }
        notes
    }
}

struct Walker<'a> {
    walk: &'a InputWalk,
    filter: &'a GlobFilter,
    root: &'a Path,
    top: &'a Path,
    visited: &'a mut BTreeSet<PathBuf>,
    counts: &'a mut Counts,
    collected: &'a mut Collected,
}

impl Walker<'_> {
    fn expand(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                self.collected.unreadable.push((
                    dir.to_path_buf(),
                    format!("cannot list the folder: {error}"),
                ));
                return;
            }
        };
        let mut found: Vec<(PathBuf, bool)> = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                self.link(path, &mut found);
            } else if kind.is_dir() {
                found.push((path, true));
            } else if kind.is_file() {
                found.push((path, false));
            }
        }
        // All in one folder: by name is by path (and much cheaper than comparing components).
        found.sort_by_cached_key(|(path, is_dir)| (path.file_name().map(OsStr::to_owned), *is_dir));
        for (path, is_dir) in found {
            if !is_dir {
                self.file(path);
            } else if self.walk.recursive {
                let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                if self.visited.insert(canonical) {
                    self.expand(&path);
                }
            } else {
                self.counts.subfolders += 1;
            }
        }
    }

    /// A link inside the folder: kept when its target is inside the folder (or links are
    /// followed), as a file or a folder.
    fn link(&mut self, path: PathBuf, found: &mut Vec<(PathBuf, bool)>) {
        let Ok(target) = path.canonicalize() else {
            return;
        };
        if !self.walk.follow_links && !target.starts_with(self.root) {
            self.counts.links += 1;
            return;
        }
        if target.is_dir() {
            found.push((path, true));
        } else if target.is_file() {
            found.push((path, false));
        }
    }

    fn file(&mut self, path: PathBuf) {
        let relative = path.strip_prefix(self.top).unwrap_or(&path);
        if self.filter.keeps(relative) {
            self.collected.files.push(path);
        } else {
            self.counts.filtered += 1;
        }
    }
}

/// `--include` / `--exclude`.
struct GlobFilter {
    include: Option<globset::GlobSet>,
    exclude: Option<globset::GlobSet>,
}

impl GlobFilter {
    fn new(walk: &InputWalk) -> Result<GlobFilter, LoadError> {
        let set = |globs: &[String], option: &str| -> Result<Option<globset::GlobSet>, LoadError> {
            if globs.is_empty() {
                return Ok(None);
            }
            let mut builder = globset::GlobSetBuilder::new();
            for glob in globs {
                let compiled = globset::GlobBuilder::new(glob)
                    .case_insensitive(cfg!(windows))
                    .build()
                    .map_err(|error| LoadError::Ambiguous {
                        path: PathBuf::from(glob),
                        message: format!("{option} {glob:?} is not a glob: {error}"),
                    })?;
                builder.add(compiled);
            }
            builder
                .build()
                .map(Some)
                .map_err(|error| LoadError::Ambiguous {
                    path: PathBuf::from(option),
                    message: error.to_string(),
                })
        };
        Ok(GlobFilter {
            include: set(&walk.include, "--include")?,
            exclude: set(&walk.exclude, "--exclude")?,
        })
    }

    fn keeps(&self, relative: &Path) -> bool {
        let name = relative.file_name().map(Path::new).unwrap_or(relative);
        let matches = |set: &globset::GlobSet| set.is_match(relative) || set.is_match(name);
        self.include.as_ref().is_none_or(matches) && !self.exclude.as_ref().is_some_and(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        std::fs::create_dir(dir.join("sub")).unwrap();
        for name in ["b.dmp", "a.dmp", "notes.txt", "sub/c.dmp"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        root
    }

    #[test]
    fn files_in_given_order_directories_sorted_subfolders_counted() {
        let root = tree();
        let dir = root.path();
        let flat = walk_inputs(&[dir.to_path_buf()], &InputWalk::default()).unwrap();
        assert_eq!(
            flat.files,
            [dir.join("a.dmp"), dir.join("b.dmp"), dir.join("notes.txt")]
        );
        assert_eq!(
            flat.notes,
            ["1 subfolder was not searched (--recursive searches subfolders)"]
        );
        let deep = InputWalk {
            recursive: true,
            ..InputWalk::default()
        };
        let deep = walk_inputs(&[dir.to_path_buf()], &deep).unwrap();
        assert_eq!(deep.files.last().unwrap(), &dir.join("sub/c.dmp"));
        assert!(deep.notes.is_empty());
        let given = collect_inputs(
            &[dir.join("b.dmp"), dir.join("a.dmp"), dir.join("b.dmp")],
            InputWalk::default(),
        )
        .unwrap();
        assert_eq!(given, [dir.join("b.dmp"), dir.join("a.dmp")]);
    }

    #[test]
    fn include_and_exclude_globs() {
        let root = tree();
        let dir = root.path();
        let walk = InputWalk {
            recursive: true,
            include: vec!["*.dmp".to_string()],
            exclude: vec!["sub/*".to_string()],
            ..InputWalk::default()
        };
        let found = walk_inputs(&[dir.to_path_buf()], &walk).unwrap();
        assert_eq!(found.files, [dir.join("a.dmp"), dir.join("b.dmp")]);
        assert_eq!(
            found.notes,
            ["2 files were left out by --include/--exclude"]
        );
        let bad = InputWalk {
            include: vec!["[".to_string()],
            ..InputWalk::default()
        };
        assert!(walk_inputs(&[dir.to_path_buf()], &bad).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn links_outside_the_folder_and_loops_are_not_followed() {
        let root = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"password").unwrap();
        let dir = root.path();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.join("secret.dmp"))
            .unwrap();
        std::os::unix::fs::symlink(dir, dir.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(dir.join("a.dmp"), dir.join("inside.dmp")).unwrap();
        let walk = InputWalk {
            recursive: true,
            ..InputWalk::default()
        };
        let found = walk_inputs(&[dir.to_path_buf()], &walk).unwrap();
        assert!(!found.files.contains(&dir.join("secret.dmp")));
        assert!(found.files.contains(&dir.join("inside.dmp")));
        assert_eq!(found.files.len(), 5, "{:?}", found.files);
        assert!(found.notes[0]
            .starts_with("1 symbolic link leading outside the folder was not followed"));
        let follow = InputWalk {
            follow_links: true,
            ..walk
        };
        let found = walk_inputs(&[dir.to_path_buf()], &follow).unwrap();
        assert!(found.files.contains(&dir.join("secret.dmp")));
    }

    #[test]
    fn an_unreadable_folder_is_reported_and_the_walk_goes_on() {
        let root = tree();
        let dir = root.path();
        let walk = InputWalk::default();
        let filter = GlobFilter::new(&walk).unwrap();
        let (mut visited, mut counts, mut collected) =
            (BTreeSet::new(), Counts::default(), Collected::default());
        let mut walker = Walker {
            walk: &walk,
            filter: &filter,
            root: dir,
            top: dir,
            visited: &mut visited,
            counts: &mut counts,
            collected: &mut collected,
        };
        // A folder that vanished (or may not be listed) after it was found.
        walker.expand(&dir.join("vanished"));
        walker.expand(dir);
        assert_eq!(collected.unreadable.len(), 1);
        assert!(collected.unreadable[0]
            .1
            .starts_with("cannot list the folder"));
        assert_eq!(collected.files.len(), 3);
    }
}
