//! Symbol-store keys: the file name and identity folder a symbol file is stored under, the
//! one place those identities are formatted, and the checks that keep names and ids taken
//! from a dump from escaping a directory.

use symbolic_common::DebugId;

/// A file to find: its name and its SymSrv identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    /// File name without directories (`leakylib.pdb`, `MSMAPI32.DLL`, `leakylib.sym`).
    pub name: String,
    /// Identity folder name: a PDB's GUID and age (`3F1A…7D1`), an image's TimeDateStamp and
    /// SizeOfImage (`42435B8E4000`); a Breakpad file uses its PDB's. See [`store_id`].
    pub id: String,
}

impl FileKey {
    /// A key from a name and an id.
    pub fn new(name: impl Into<String>, id: impl Into<String>) -> FileKey {
        FileKey {
            name: name.into(),
            id: id.into(),
        }
    }
}

/// What a symbol-store id is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSource {
    /// A PDB: GUID and age (PDB 7.0) or signature and age (PDB 2.0).
    Debug(DebugId),
    /// A PE image: the TimeDateStamp and SizeOfImage of its headers.
    Image {
        /// The COFF header's TimeDateStamp.
        timestamp: u32,
        /// The optional header's SizeOfImage.
        size_of_image: u32,
    },
}

/// The identity folder name a symbol store (and a Breakpad `MODULE` line) uses, as SymSrv
/// writes it:
///
/// - PDB 7.0: the GUID as 32 upper-case hex digits without dashes, then the age in
///   upper-case hex without leading zeros (`3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1A` for age 26);
/// - PDB 2.0: the signature as `%08X`, then the age as `%X`;
/// - image: the TimeDateStamp as `%08X`, then the SizeOfImage as `%x` (SymSrv writes the size
///   in lower case: `42435B8E1a000`).
///
/// Every id dumpleak looks up or reports is formatted here, so one module always has one id.
pub fn store_id(source: IdSource) -> String {
    match source {
        IdSource::Debug(id) if id.is_pdb20() => {
            let bytes = id.uuid().into_bytes();
            let signature = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            format!("{signature:08X}{:X}", id.appendix())
        }
        IdSource::Debug(id) => format!("{:X}{:X}", id.uuid().simple(), id.appendix()),
        IdSource::Image {
            timestamp,
            size_of_image,
        } => format!("{timestamp:08X}{size_of_image:x}"),
    }
}

/// The folders a store may keep `name` under: its own name (`name/ID/name`, as SymSrv
/// lays it out), and for a Breakpad file `X.sym` first its PDB's name, `X.pdb/ID/X.sym`, the
/// layout Breakpad, rust-minidump, symbolicator and Mozilla's symbol server use.
pub(super) fn store_folders(name: &str) -> Vec<String> {
    match name.rsplit_once('.') {
        Some((stem, extension)) if extension.eq_ignore_ascii_case("sym") && !stem.is_empty() => {
            vec![format!("{stem}.pdb"), name.to_string()]
        }
        _ => vec![name.to_string()],
    }
}

/// Windows device names, reserved with any extension.
const RESERVED_NAMES: [&str; 24] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "CONIN$",
    "CONOUT$",
];

/// Rejects names and ids (from a dump, so hostile) that are not one plain path component.
pub(super) fn check_key(key: &FileKey) -> Result<(), String> {
    check_component(&key.name).map_err(|reason| format!("bad file name: {reason}"))?;
    check_component(&key.id).map_err(|reason| format!("bad id: {reason}"))?;
    if !key.id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("bad id: not letters and digits".to_string());
    }
    Ok(())
}

fn check_component(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("empty".to_string());
    }
    if text.len() > 255 {
        return Err(format!("{} bytes long (at most 255)", text.len()));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!("control character {c:?}"));
    }
    if let Some(c) = text.chars().find(|c| r#"/\:<>"|?*"#.contains(*c)) {
        return Err(format!(
            "{c:?} is not allowed (path separator, drive or wildcard)"
        ));
    }
    if text.chars().all(|c| c == '.') {
        return Err("dots only (names a directory)".to_string());
    }
    if text.contains("..") {
        return Err("\"..\" could leave the directory".to_string());
    }
    let stem = text.split('.').next().unwrap_or(text).trim_end();
    if RESERVED_NAMES
        .iter()
        .any(|reserved| stem.eq_ignore_ascii_case(reserved))
    {
        return Err(format!("{stem} is a reserved Windows device name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdb_ids_are_upper_case_guid_or_signature_then_age() {
        let guid =
            symbolic_common::Uuid::parse_str("3f1a0c2b-9d4e-4b7a-8c1d-2e3f4a5b6c7d").unwrap();
        let id = store_id(IdSource::Debug(DebugId::from_parts(guid, 26)));
        assert_eq!(id, "3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7D1A");
        let id = store_id(IdSource::Debug(DebugId::from_parts(guid, 0xab)));
        assert_eq!(id, "3F1A0C2B9D4E4B7A8C1D2E3F4A5B6C7DAB");
        let nb10 = DebugId::from_pdb20(0x3c1a2b, 0xc);
        assert_eq!(store_id(IdSource::Debug(nb10)), "003C1A2BC");
    }

    #[test]
    fn image_id_is_symsrv_form() {
        let id = store_id(IdSource::Image {
            timestamp: 0x42435b8e,
            size_of_image: 0x1a000,
        });
        assert_eq!(id, "42435B8E1a000");
        let id = store_id(IdSource::Image {
            timestamp: 0x1,
            size_of_image: 0x4000,
        });
        assert_eq!(id, "000000014000");
    }

    #[test]
    fn breakpad_files_are_also_kept_under_their_pdb_name() {
        assert_eq!(store_folders("crash.sym"), ["crash.pdb", "crash.sym"]);
        assert_eq!(store_folders("crash.pdb"), ["crash.pdb"]);
        assert_eq!(store_folders("KERNEL32.DLL"), ["KERNEL32.DLL"]);
        assert_eq!(store_folders(".sym"), [".sym"]);
    }

    #[test]
    fn keys_must_be_plain_components() {
        assert!(check_key(&FileKey::new("a.pdb", "3F1A1")).is_ok());
        for (name, id, reason) in [
            ("", "1", "bad file name: empty"),
            ("..", "1", "bad file name: dots only (names a directory)"),
            ("a/b.pdb", "1", "bad file name: '/' is not allowed"),
            ("nul.pdb", "1", "bad file name: nul is a reserved"),
            ("a.pdb", "a..b", "bad id: \"..\" could leave"),
            ("a.pdb", "1-2", "bad id: not letters and digits"),
        ] {
            let error = check_key(&FileKey::new(name, id)).unwrap_err();
            assert!(error.starts_with(reason), "{name:?}/{id:?}: {error}");
        }
    }
}
