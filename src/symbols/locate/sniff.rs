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
    /// Anything else, described by its size and kind, never by its bytes.
    Garbage(String),
}

const PDB7_MAGIC: &[u8] = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0";
const PDB2_MAGIC: &[u8] = b"Microsoft C/C++ program database 2.00\r\n\x1aJG\0\0";

/// Reads the first bytes of `path` and says what they are.
pub(super) fn sniff(path: &Path) -> std::io::Result<Magic> {
    let file = fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut start = Vec::new();
    file.take(64).read_to_end(&mut start)?;
    Ok(classify(&start, size))
}

fn classify(start: &[u8], size: u64) -> Magic {
    let symbols = [PDB7_MAGIC, PDB2_MAGIC, b"BSJB", b"MZ", b"MODULE "]
        .iter()
        .any(|magic| start.starts_with(magic));
    if symbols {
        Magic::Symbols
    } else if start.starts_with(b"MSCF") {
        Magic::Cab
    } else {
        Magic::Garbage(super::verify::describe(start, size))
    }
}

/// The note for a file `what` that is none of the expected kinds (`description` from
/// [`super::verify::describe`]).
pub(super) fn garbage(what: &str, description: &str) -> String {
    format!("{what} is not a PDB, PE image, CAB or Breakpad file ({description}); discarded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(start: &[u8]) -> &'static str {
        match classify(start, start.len() as u64) {
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
    fn garbage_is_described_never_quoted() {
        let start = b"root:x:0:0:root:/root:/bin/bash\n";
        match classify(start, 1800) {
            Magic::Garbage(description) => assert_eq!(description, "1800 bytes of text"),
            _ => panic!("not garbage"),
        }
        let note = garbage("http://host/a.pdb", "10 bytes of text");
        assert_eq!(
            note,
            "http://host/a.pdb is not a PDB, PE image, CAB or Breakpad file \
             (10 bytes of text); discarded"
        );
    }
}
