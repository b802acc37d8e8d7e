//! Recognising what a file is by its first bytes: a symbol file (PDB, PE image, Breakpad), a
//! cabinet, or something a server should not have sent.

use std::fs;
use std::io::Read;
use std::path::Path;

/// What a file starts with.
pub(super) enum Magic {
    /// A cabinet (`MSCF`).
    Cab,
    /// A PDB (MSF 7.00 or 2.00, or a portable PDB), a PE image (`MZ`) or a Breakpad file
    /// (`MODULE `).
    Symbols,
    /// Anything else, with its first bytes.
    Garbage(Vec<u8>),
}

const PDB7_MAGIC: &[u8] = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0";
const PDB2_MAGIC: &[u8] = b"Microsoft C/C++ program database 2.00\r\n\x1aJG\0\0";

/// Reads the first bytes of `path` and says what they are.
pub(super) fn sniff(path: &Path) -> std::io::Result<Magic> {
    let mut start = Vec::new();
    fs::File::open(path)?.take(64).read_to_end(&mut start)?;
    Ok(classify(start))
}

fn classify(start: Vec<u8>) -> Magic {
    let symbols = [PDB7_MAGIC, PDB2_MAGIC, b"BSJB", b"MZ", b"MODULE "]
        .iter()
        .any(|magic| start.starts_with(magic));
    if symbols {
        Magic::Symbols
    } else if start.starts_with(b"MSCF") {
        Magic::Cab
    } else {
        Magic::Garbage(start)
    }
}

/// Ok when `path` is a PDB, PE image or Breakpad file; `what` names it in the note.
pub(super) fn check_magic(path: &Path, what: &str) -> Result<(), String> {
    match sniff(path) {
        Ok(Magic::Symbols) => Ok(()),
        Ok(Magic::Cab) => Err(garbage(what, b"MSCF")),
        Ok(Magic::Garbage(start)) => Err(garbage(what, &start)),
        Err(error) => Err(format!("cannot read {what}: {error}")),
    }
}

/// The note for a file `what` that is none of the expected kinds and starts with `start`.
pub(super) fn garbage(what: &str, start: &[u8]) -> String {
    let shown: String = String::from_utf8_lossy(&start[..start.len().min(16)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!(
        "{what} is not a PDB, PE image, CAB or Breakpad file (starts with {shown:?}); discarded"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(start: &[u8]) -> &'static str {
        match classify(start.to_vec()) {
            Magic::Cab => "cab",
            Magic::Symbols => "symbols",
            Magic::Garbage(_) => "garbage",
        }
    }

    #[test]
    fn files_are_recognised_by_their_start() {
        let mut pdb7 = PDB7_MAGIC.to_vec();
        pdb7.extend_from_slice(&[0; 8]);
        assert_eq!(kind(&pdb7), "symbols");
        assert_eq!(kind(PDB2_MAGIC), "symbols");
        assert_eq!(kind(b"BSJB\x01\x00"), "symbols");
        assert_eq!(kind(b"MZ\x90\x00"), "symbols");
        assert_eq!(kind(b"MODULE windows x86_64 ABC leakylib.pdb"), "symbols");
        assert_eq!(kind(b"MSCF\0\0\0\0"), "cab");
        assert_eq!(kind(b"<html>not found</html>"), "garbage");
        assert_eq!(kind(b"Microsoft C/C++ MSF 7.00"), "garbage");
        assert_eq!(kind(b""), "garbage");
    }

    #[test]
    fn garbage_note_shows_the_start_without_control_characters() {
        let note = garbage("http://host/a.pdb", b"<html>\r\n<body>not found</body>");
        assert_eq!(
            note,
            "http://host/a.pdb is not a PDB, PE image, CAB or Breakpad file \
             (starts with \"<html>..<body>no\"); discarded"
        );
    }
}
