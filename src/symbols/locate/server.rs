//! Asking symbol servers: `URL/name/ID/name`, then the compressed `…/name_`, then
//! `…/file.ptr`; checking what they send before it goes into the cache; and remembering, for
//! a [`Servers`]' lifetime, files a server does not have and servers that did not answer.

use super::key::store_folders;
use super::sniff::{garbage, sniff, Magic};
use super::{cab, cache, http, store, FileKey, LocatedFile};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tempfile::NamedTempFile;

/// Whether this build can ask symbol servers.
pub(super) const AVAILABLE: bool = true;

/// The symbol servers of one locator: the HTTP agent and what earlier requests taught.
pub(super) struct Servers {
    agent: ureq::Agent,
    deadline: Duration,
    max_download_bytes: u64,
    /// (server URL, name, id) the server did not have or served unusable.
    misses: Mutex<HashSet<(String, String, String)>>,
    /// Servers given up for the rest of the run, with the sentence that says why.
    unreachable: Mutex<Vec<(String, String)>>,
}

impl Servers {
    /// Servers asked with `timeout`, each download cut after `deadline` and capped at
    /// `max_download_bytes`.
    pub(super) fn new(timeout: Duration, deadline: Duration, max_download_bytes: u64) -> Servers {
        Servers {
            agent: http::agent(timeout),
            deadline,
            max_download_bytes,
            misses: Mutex::new(HashSet::new()),
            unreachable: Mutex::new(Vec::new()),
        }
    }

    /// Downloads `key` from the server at `url` into `cache`, unless the server could not be
    /// reached or did not have it earlier.
    pub(super) fn download(
        &self,
        key: &FileKey,
        server: super::Server,
        notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        let super::Server { url, cache } = server;
        if let Some(sentence) = self.unreachable_sentence(url) {
            // The same words as when it failed, so that a report says it once.
            notes.push(sentence);
            return None;
        }
        let miss = (
            url.to_string(),
            key.name.to_lowercase(),
            key.id.to_uppercase(),
        );
        if lock(&self.misses).contains(&miss) {
            return None;
        }
        let found = cache::fill(cache, key, notes, |dir, target, notes| {
            self.try_downloads(key, url, dir, target, notes)
        });
        if found.is_none() {
            lock(&self.misses).insert(miss);
        }
        found.map(|path| LocatedFile {
            path,
            origin: format!("{url} (downloaded)"),
        })
    }

    fn unreachable_sentence(&self, url: &str) -> Option<String> {
        lock(&self.unreachable)
            .iter()
            .find(|(server, _)| server == url)
            .map(|(_, sentence)| sentence.clone())
    }

    /// `URL/name/ID/name`, then `…/name_`, then `…/file.ptr` (whose message becomes a note;
    /// its path is never followed), under each folder a store may keep the file in
    /// (`URL/X.pdb/ID/X.sym` first for a Breakpad file); the first answer other than "not
    /// found" decides.
    fn try_downloads(
        &self,
        key: &FileKey,
        url: &str,
        dir: &Path,
        target: &Path,
        notes: &mut Vec<String>,
    ) -> Option<PathBuf> {
        for folder in store_folders(&key.name) {
            let base = format!(
                "{url}/{}/{}",
                http::encode_segment(&folder),
                http::encode_segment(&key.id)
            );
            for name in [key.name.clone(), store::compressed_name(&key.name)] {
                let from = format!("{base}/{}", http::encode_segment(&name));
                if let Some(body) = self.get(&from, dir, url, notes).ok()? {
                    return self.store_download(key, body, &from, target, notes);
                }
            }
            let from = format!("{base}/file.ptr");
            if let Some(body) = self.get(&from, dir, url, notes).ok()? {
                notes.push(store::server_pointer_note(body.path(), &from));
                return None;
            }
        }
        None
    }

    /// One GET into a temporary file in `dir`: `Ok(None)` when the server does not have it;
    /// `Err` after a note on any failure (marking the server unreachable when it is).
    fn get(
        &self,
        url: &str,
        dir: &Path,
        server: &str,
        notes: &mut Vec<String>,
    ) -> Result<Option<NamedTempFile>, ()> {
        let limits = http::Limits {
            max_bytes: self.max_download_bytes,
            deadline: self.deadline,
        };
        match http::fetch(&self.agent, url, dir, limits) {
            http::Fetch::Body(file) => Ok(Some(file)),
            http::Fetch::Missing => Ok(None),
            http::Fetch::Failed { note, unreachable } => {
                let sentence = match unreachable {
                    Some(http::Unreachable::NoAnswer) => {
                        format!("symbol server {server} could not be reached ({note})")
                    }
                    Some(http::Unreachable::TooSlow) => format!(
                        "symbol server {server} too slow, not asked again in this run ({note})"
                    ),
                    None => format!("symbol server request {note}"),
                };
                if unreachable.is_some() {
                    lock(&self.unreachable).push((server.to_string(), sentence.clone()));
                }
                notes.push(sentence);
                Err(())
            }
        }
    }

    /// Checks a downloaded body and stores it under `target` (expanding a CAB) when it is the
    /// file `key` names, complete.
    fn store_download(
        &self,
        key: &FileKey,
        body: NamedTempFile,
        from: &str,
        target: &Path,
        notes: &mut Vec<String>,
    ) -> Option<PathBuf> {
        let result = match sniff(body.path()) {
            Ok(Magic::Cab) => {
                let dir = target.parent().unwrap_or(target);
                cab::expand(body.path(), &key.name, dir, self.max_download_bytes).and_then(
                    |expanded| cache::admit(expanded, key, &format!("{from} expanded"), target),
                )
            }
            Ok(Magic::Symbols) => cache::admit(body, key, from, target),
            Ok(Magic::Garbage(description)) => Err(garbage(from, &description)),
            Err(error) => Err(format!("cannot read the download of {from}: {error}")),
        };
        result.map_err(|note| notes.push(note)).ok()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
