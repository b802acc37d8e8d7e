//! The check a file passes before it becomes a cache entry under its final name: it parses as
//! the kind of symbol file its name asks for (a `.pdb`, a `.sym`, else a PE image), it is
//! complete, and its identity is the key's. A truncated, damaged or foreign file is refused
//! with a note that gives its size and kind, never its bytes.

use super::key::{store_id, IdSource};
use super::FileKey;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use symbolic_common::ByteView;
use symbolic_debuginfo::breakpad::BreakpadObject;
use symbolic_debuginfo::pe::PeObject;
use symbolic_debuginfo::{FileFormat, Object};

/// The kind of symbol file a key's name asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `*.pdb`: a PDB (MSF) or a portable PDB.
    Pdb,
    /// `*.sym`: a Breakpad text file.
    Breakpad,
    /// Anything else (`.dll`, `.exe`, `.sys`, …): a PE image.
    Image,
}

impl Kind {
    fn of(name: &str) -> Kind {
        let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension);
        if extension.eq_ignore_ascii_case("pdb") {
            Kind::Pdb
        } else if extension.eq_ignore_ascii_case("sym") {
            Kind::Breakpad
        } else {
            Kind::Image
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Pdb => "PDB",
            Kind::Breakpad => "Breakpad file",
            Kind::Image => "PE image",
        }
    }

    fn accepts(self, format: FileFormat) -> bool {
        match self {
            Kind::Pdb => matches!(format, FileFormat::Pdb | FileFormat::PortablePdb),
            Kind::Breakpad => format == FileFormat::Breakpad,
            Kind::Image => format == FileFormat::Pe,
        }
    }
}

/// Ok when the file at `path` is the symbol file `key` names; otherwise a note calling it
/// `what` and saying why it was discarded.
pub(super) fn verify(path: &Path, key: &FileKey, what: &str) -> Result<(), String> {
    let view = ByteView::open(path).map_err(|error| format!("cannot read {what}: {error}"))?;
    let kind = Kind::of(&key.name);
    // The parsers read data from the network: a panic on a malformed file is a refusal.
    let identity = catch_unwind(AssertUnwindSafe(|| identity(&view, kind)))
        .unwrap_or_else(|_| Err(format!("a damaged {} ({} bytes)", kind.name(), view.len())));
    match identity {
        Ok(found) if found.eq_ignore_ascii_case(&key.id) => Ok(()),
        Ok(found) => Err(format!(
            "{what} is the {} of {found}, not of {}; discarded",
            kind.name(),
            key.id
        )),
        Err(why) => Err(format!("{what} is {why}; discarded")),
    }
}

/// The store id of a complete symbol file of `kind`; otherwise what the file is instead
/// (`"not a PDB (1200 bytes of HTML or XML)"`, `"a truncated PDB (…)"`).
fn identity(data: &[u8], kind: Kind) -> Result<String, String> {
    let size = data.len();
    let format = Object::peek(data);
    if !kind.accepts(format) {
        let what = match format {
            FileFormat::Unknown => describe(&data[..size.min(64)], size as u64),
            other => format!("{size} bytes, a {} file", other.name()),
        };
        return Err(format!("not a {} ({what})", kind.name()));
    }
    if format == FileFormat::Pdb {
        msf_complete(data)?;
    }
    let damaged = || format!("a damaged {} ({size} bytes)", kind.name());
    let object = Object::parse(data).map_err(|_| damaged())?;
    match &object {
        Object::Pe(pe) => sections_complete(pe, size)?,
        Object::Breakpad(breakpad) => records_complete(breakpad).ok_or_else(damaged)?,
        _ => {}
    }
    match kind {
        Kind::Image => object
            .code_id()
            .map(|id| id.as_str().to_string())
            .ok_or_else(damaged),
        Kind::Pdb | Kind::Breakpad => Ok(store_id(IdSource::Debug(object.debug_id()))),
    }
}

/// An MSF 7.00 file (a PDB; symbolic reads no other) holds all the pages its header counts.
fn msf_complete(data: &[u8]) -> Result<(), String> {
    let u32_at = |at: usize| {
        data.get(at..at + 4)
            .map(|bytes| u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])))
    };
    match u32_at(32).zip(u32_at(40)) {
        Some((page_size, pages)) if page_size * pages <= data.len() as u64 => Ok(()),
        Some((page_size, pages)) => Err(format!(
            "a truncated PDB ({} of {} bytes)",
            data.len(),
            page_size * pages
        )),
        None => Err(format!("a damaged PDB ({} bytes)", data.len())),
    }
}

/// A PE image holds the raw data of all its sections.
fn sections_complete(pe: &PeObject<'_>, size: usize) -> Result<(), String> {
    let end = pe
        .sections()
        .iter()
        .map(|section| u64::from(section.pointer_to_raw_data) + u64::from(section.size_of_raw_data))
        .max()
        .unwrap_or(0);
    if end <= size as u64 {
        Ok(())
    } else {
        Err(format!("a truncated PE image ({size} of {end} bytes)"))
    }
}

/// Every FILE, PUBLIC and FUNC record of a Breakpad file parses, and every line record of
/// its functions (a file cut inside a line fails here).
fn records_complete(breakpad: &BreakpadObject<'_>) -> Option<()> {
    for file in breakpad.file_records() {
        file.ok()?;
    }
    for public in breakpad.public_records() {
        public.ok()?;
    }
    for function in breakpad.func_records() {
        for line in function.ok()?.lines() {
            line.ok()?;
        }
    }
    Some(())
}

/// What a file of `size` bytes starting with `start` looks like, for a note: `empty`, `N
/// bytes of HTML or XML`, `N bytes of text`, `N bytes of binary data`. A file that is not what
/// was asked for may be anything, a credentials file included: its bytes are never shown.
pub(super) fn describe(start: &[u8], size: u64) -> String {
    if size == 0 {
        return "empty".to_string();
    }
    let text = match std::str::from_utf8(start) {
        Ok(text) => Some(text),
        // A multi-byte character cut where the sniffed start ends.
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&start[..error.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    let kind = match text {
        Some(text) if text.trim_start().starts_with('<') => "HTML or XML",
        Some(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => "text",
        _ => "binary data",
    };
    format!("{size} bytes of {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDB: &[u8] = include_bytes!("../../../testdata/pdb/leakylib.pdb");
    const PDB_ID: &str = "4F5704A7F90205594C4C44205044422E1";
    const DLL: &[u8] = include_bytes!("../../../testdata/pdb/leakylib.dll");
    const DLL_ID: &str = "A3E750526000";

    fn check(name: &str, id: &str, bytes: &[u8]) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, bytes).unwrap();
        verify(&path, &FileKey::new(name, id), "it")
    }

    fn breakpad() -> String {
        format!(
            "MODULE windows x86_64 {PDB_ID} leakylib.pdb\nFILE 0 leakylib.c\n\
             FUNC 1000 20 0 open_pool\n1000 10 52 0\n1010 10 53 0\nPUBLIC 1000 0 open_pool\n"
        )
    }

    #[test]
    fn complete_files_of_the_right_identity_pass() {
        check("leakylib.pdb", PDB_ID, PDB).unwrap();
        check("leakylib.pdb", &PDB_ID.to_lowercase(), PDB).unwrap();
        check("leakylib.dll", DLL_ID, DLL).unwrap();
        check("LEAKYLIB.DLL", &DLL_ID.to_lowercase(), DLL).unwrap();
        check("leakylib.sym", PDB_ID, breakpad().as_bytes()).unwrap();
    }

    #[test]
    fn files_are_described_never_quoted() {
        for (start, size, expected) in [
            (&b""[..], 0, "empty"),
            (
                b"  <html>\r\n<body>Sign in</body>",
                4000,
                "4000 bytes of HTML or XML",
            ),
            (
                b"root:x:0:0:root:/root:/bin/bash\n",
                1800,
                "1800 bytes of text",
            ),
            ("caf\u{e9}".as_bytes(), 5, "5 bytes of text"),
            (&"caf\u{e9}".as_bytes()[..4], 900, "900 bytes of text"),
            (b"\x7fELF\x02\x01", 12000, "12000 bytes of binary data"),
            (b"text\x1b]52;c;secret\x07", 21, "21 bytes of binary data"),
        ] {
            assert_eq!(describe(start, size), expected, "{start:?}");
        }
    }

    #[test]
    fn foreign_truncated_and_damaged_files_are_refused() {
        let other_id = "4F5704A7F90205594C4C44205044422E2";
        // An MSF header for two 4 KiB pages, then junk.
        let mut garbage_pdb = PDB[..64].to_vec();
        garbage_pdb[40..44].copy_from_slice(&2u32.to_le_bytes());
        garbage_pdb.resize(8192, 0xa5);
        let sym = breakpad();
        for (name, id, bytes, expected) in [
            (
                "leakylib.pdb",
                other_id,
                PDB,
                format!("is the PDB of {PDB_ID}, not of {other_id}"),
            ),
            (
                "leakylib.pdb",
                PDB_ID,
                &PDB[..40960],
                "is a truncated PDB (40960 of 73728 bytes)".into(),
            ),
            (
                "leakylib.pdb",
                PDB_ID,
                &PDB[..69632],
                "is a truncated PDB (69632 of 73728 bytes)".into(),
            ),
            (
                "leakylib.pdb",
                PDB_ID,
                &garbage_pdb,
                "is a damaged PDB (8192 bytes)".into(),
            ),
            (
                "leakylib.pdb",
                PDB_ID,
                DLL,
                "is not a PDB (3584 bytes, a pe file)".into(),
            ),
            (
                "leakylib.pdb",
                PDB_ID,
                b"<html>",
                "is not a PDB (6 bytes of HTML or XML)".into(),
            ),
            (
                "leakylib.dll",
                "A3E750527000",
                DLL,
                "is the PE image of a3e750526000, not of A3E750527000".into(),
            ),
            (
                "leakylib.dll",
                DLL_ID,
                &DLL[..2048],
                "is a truncated PE image (2048 of 3584 bytes)".into(),
            ),
            (
                "leakylib.sym",
                other_id,
                sym.as_bytes(),
                format!("is the Breakpad file of {PDB_ID}, not of {other_id}"),
            ),
            (
                "leakylib.sym",
                PDB_ID,
                &sym.as_bytes()[..sym.len() - 33],
                "is a damaged Breakpad file".into(),
            ),
            (
                "leakylib.sym",
                PDB_ID,
                b"",
                "is not a Breakpad file (empty)".into(),
            ),
        ] {
            let error = check(name, id, bytes).unwrap_err();
            assert!(
                error.starts_with(&format!("it {expected}")),
                "{name}: {error}"
            );
            assert!(error.ends_with("; discarded"), "{error}");
        }
    }
}
