//! Builds without the `http` feature: symbol servers are never asked. [`super::Locator`] checks
//! [`AVAILABLE`] and notes the servers it skipped instead of calling [`Servers::download`].

use super::{FileKey, LocatedFile};
use std::time::Duration;

/// Whether this build can ask symbol servers.
pub(super) const AVAILABLE: bool = false;

/// Stands in for the HTTP client's server state; holds nothing.
pub(super) struct Servers;

impl Servers {
    /// No client to configure.
    pub(super) fn new(
        _timeout: Duration,
        _deadline: Duration,
        _max_download_bytes: u64,
    ) -> Servers {
        Servers
    }

    /// Never downloads.
    pub(super) fn download(
        &self,
        _key: &FileKey,
        _server: super::Server,
        _notes: &mut Vec<String>,
    ) -> Option<LocatedFile> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FileKey, Locator, LocatorOptions, SymbolPath};
    use std::net::TcpListener;
    use std::time::Duration;

    const NAME: &str = "leakylib.pdb";
    const ID: &str = "3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1";

    #[test]
    fn servers_are_skipped_with_one_note_and_their_cache_still_searched() {
        let cache = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let path = format!("srv*{}*{url};srv*{url}/second", cache.path().display());
        let options = LocatorOptions {
            offline: false,
            cache_dir: cache.path().to_path_buf(),
            timeout: Duration::from_secs(5),
            download_deadline: Duration::from_secs(5),
            max_download_bytes: 1 << 20,
        };
        let locator = Locator::new(SymbolPath::parse(&path).unwrap(), options);
        let key = FileKey::new(NAME, ID);

        let located = locator.find(&key);
        assert!(located.file.is_none());
        assert_eq!(
            located.notes,
            [format!(
                "built without HTTP support (the `http` feature): symbol server {url}, \
                 {url}/second not asked"
            )]
        );
        assert!(listener.accept().is_err(), "the server was contacted");

        let stored = cache.path().join(NAME).join(ID).join(NAME);
        std::fs::create_dir_all(stored.parent().unwrap()).unwrap();
        let mut pdb = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0".to_vec();
        pdb.resize(256, 0x5a);
        std::fs::write(&stored, &pdb).unwrap();
        let located = locator.find(&key);
        assert_eq!(located.file.map(|file| file.path), Some(stored));
        assert!(located.notes.is_empty(), "{:?}", located.notes);
    }
}
