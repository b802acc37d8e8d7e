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
        Magic::Garbage(describe(start, size))
    }
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
        // A multi-byte character cut by the sniff's end.
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

/// Ok when `path` is a PDB, PE image or Breakpad file; `what` names it in the note.
pub(super) fn check_magic(path: &Path, what: &str) -> Result<(), String> {
    match sniff(path) {
        Ok(Magic::Symbols) => Ok(()),
        Ok(Magic::Cab) => Err(garbage(what, "a cabinet")),
        Ok(Magic::Garbage(description)) => Err(garbage(what, &description)),
        Err(error) => Err(format!("cannot read {what}: {error}")),
    }
}

/// The note for a file `what` that is none of the expected kinds (`description` from
/// [`describe`]).
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
        let note = garbage("http://host/a.pdb", &describe(b"root:x:0:0", 10));
        assert_eq!(
            note,
            "http://host/a.pdb is not a PDB, PE image, CAB or Breakpad file \
             (10 bytes of text); discarded"
        );
    }
}
