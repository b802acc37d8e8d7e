//! Builds the [`Symbolizer`] a command asked for: symbol path, image directories, cache.

use super::locate::{is_foreign_windows_path, FileKey, Locator, LocatorOptions, SymbolPath};
use super::{
    DebugFileKind, DebugFileSource, DumpMemoryExportSource, FileFinder, PeExportSource,
    SymbolSource, Symbolizer,
};
use crate::warning::{Warning, WarningCode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Largest symbol file downloaded from a server.
pub const MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// How long one download may stall.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one download may take in all.
pub const DOWNLOAD_DEADLINE: Duration = Duration::from_secs(120);

/// Where symbols come from, as the command line says.
#[derive(Debug, Clone, Default)]
pub struct SymbolConfig {
    /// A symbol path in `_NT_SYMBOL_PATH` syntax.
    pub symbol_path: Option<String>,
    /// Plain directories (`--symbols DIR`), searched after the symbol path.
    pub dirs: Vec<PathBuf>,
    /// Where downloads and converted symbols are kept; a per-user default when `None`.
    pub cache_dir: Option<PathBuf>,
    /// Never contact a symbol server.
    pub offline: bool,
    /// Use PDBs whose identity does not match the module (marked in the report).
    pub allow_mismatched: bool,
}

impl SymbolConfig {
    /// The symbol path from `_NT_SYMBOL_PATH`, when set and not empty.
    pub fn symbol_path_from_env() -> Option<String> {
        std::env::var("_NT_SYMBOL_PATH")
            .ok()
            .filter(|path| !path.trim().is_empty())
    }

    /// Whether any symbol location is configured.
    pub fn has_locations(&self) -> bool {
        self.symbol_path.is_some() || !self.dirs.is_empty()
    }

    /// The symbolizer: PDBs, then Breakpad files, then image export tables found along the
    /// path, then export tables in dump memory. With no location configured, only dump
    /// memory is used.
    pub fn symbolizer(&self) -> Result<Symbolizer, SymbolError> {
        if !self.has_locations() {
            return Ok(Symbolizer::default());
        }
        let mut path = match &self.symbol_path {
            Some(text) => SymbolPath::parse(text).map_err(|reason| SymbolError::BadSymbolPath {
                path: text.clone(),
                reason,
            })?,
            None => SymbolPath::from_dirs(&[]),
        };
        path.extend(SymbolPath::from_dirs(&self.dirs));
        let mut problems: Vec<String> = path.notes().to_vec();
        problems.extend(path.check());
        let cache_dir = match &self.cache_dir {
            Some(dir) if is_foreign_windows_path(dir) => {
                let default = LocatorOptions::default_cache_dir();
                problems.push(format!(
                    "--cache-dir {} is a Windows path, which this system cannot open: the default cache {} is used instead",
                    dir.display(),
                    default.display()
                ));
                default
            }
            Some(dir) => dir.clone(),
            None => LocatorOptions::default_cache_dir(),
        };
        let warnings = problems
            .into_iter()
            .map(|problem| Warning::new(WarningCode::SymbolPath, problem))
            .collect();
        let locator: Arc<dyn FileFinder> = Arc::new(Locator::new(
            path,
            LocatorOptions {
                offline: self.offline,
                cache_dir: cache_dir.clone(),
                timeout: DOWNLOAD_TIMEOUT,
                download_deadline: DOWNLOAD_DEADLINE,
                max_download_bytes: MAX_DOWNLOAD_BYTES,
            },
        ));
        let unwind_cache = Some(cache_dir.clone());
        let sources: Vec<Box<dyn SymbolSource>> = vec![
            Box::new(DebugFileSource::new(
                DebugFileKind::Pdb,
                Arc::clone(&locator),
                Some(cache_dir.clone()),
                self.allow_mismatched,
            )),
            Box::new(DebugFileSource::new(
                DebugFileKind::Breakpad,
                Arc::clone(&locator),
                Some(cache_dir),
                self.allow_mismatched,
            )),
            Box::new(PeExportSource::new(Arc::clone(&locator))),
            Box::new(DumpMemoryExportSource),
        ];
        Ok(Symbolizer::new(sources)
            .with_warnings(warnings)
            .with_unwind_files(locator, unwind_cache))
    }
}

impl FileFinder for Locator {
    fn find_file(&self, name: &str, id: &str) -> (Option<PathBuf>, Vec<String>) {
        let located = self.find(&FileKey {
            name: name.to_string(),
            id: id.to_string(),
        });
        (located.file.map(|file| file.path), located.notes)
    }

    fn places(&self) -> Vec<String> {
        Locator::places(self)
    }
}

/// A symbol configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SymbolError {
    /// The symbol path (`--symbol-path`, `_NT_SYMBOL_PATH`) does not parse.
    #[error("bad symbol path {path:?}: {reason}")]
    BadSymbolPath {
        /// The symbol path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl SymbolError {
    /// Whether the user's options are at fault (all of these are).
    pub fn is_usage(&self) -> bool {
        matches!(self, SymbolError::BadSymbolPath { .. })
    }
}
