//! Files that are recognisably something other than an input: symbol files, archives,
//! images, kernel dumps, reports. Told by their first bytes, never by their name.

/// What the file starting with `head` is, when it is a known kind of non-input.
pub fn other_kind(head: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"Microsoft C/C++ MSF 7.00", "a PDB file (symbols)"),
        (b"Microsoft C/C++ program database", "a PDB file (symbols)"),
        (b"MODULE ", "a Breakpad symbol file"),
        (b"MSCF", "a CAB archive (or a compressed `_` symbol file)"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "a gzip file"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (
            b"PAGEDU64",
            "a Windows kernel dump (dumpleak reads user-mode minidumps)",
        ),
        (
            b"PAGEDUMP",
            "a Windows kernel dump (dumpleak reads user-mode minidumps)",
        ),
        (b"MZ", "a PE image (EXE or DLL)"),
    ];
    if let Some((_, kind)) = KINDS.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(kind);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let lower: Vec<u8> = text.iter().take(15).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return Some("an HTML page (a report?)");
    }
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return Some("a JSON or JSONL file (a report?)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_non_inputs_are_recognised_by_content() {
        assert_eq!(
            other_kind(b"Microsoft C/C++ MSF 7.00\r\n\x1aDS"),
            Some("a PDB file (symbols)")
        );
        assert_eq!(
            other_kind(b"MODULE windows x86 5A98 test.pdb"),
            Some("a Breakpad symbol file")
        );
        assert!(other_kind(b"PAGEDU64\0\0").unwrap().contains("kernel dump"));
        assert!(other_kind(b"\xef\xbb\xbf  <!DOCTYPE HTML>")
            .unwrap()
            .contains("HTML"));
        assert!(other_kind(b"\n{\"kind\":\"dump\"}")
            .unwrap()
            .contains("JSON"));
        assert_eq!(other_kind(b"MDMP\x93\xa7"), None);
        assert_eq!(other_kind(b"Microsoft (R) Windows Debugger"), None);
        assert_eq!(other_kind(b""), None);
    }
}
