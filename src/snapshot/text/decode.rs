//! Bytes → text: UTF-16LE/BE (with or without BOM), UTF-8 (with or without BOM), else lossy.
//!
//! Line ends are normalised to `\n`. Never panics; a size cap is the caller's business.

use serde::Serialize;

/// The encoding [`decode`] recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    /// UTF-8 (or plain ASCII), with or without a BOM.
    Utf8,
    /// UTF-16 little-endian (`.logopen /u`, PowerShell `Out-File` on Windows PowerShell).
    Utf16Le,
    /// UTF-16 big-endian (BOM `FE FF`).
    Utf16Be,
}

/// Decoded text and how it was decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedText {
    /// The text, line ends normalised to `\n`, BOM removed.
    pub text: String,
    /// The encoding recognised.
    pub encoding: TextEncoding,
    /// Whether a byte order mark was present.
    pub bom: bool,
    /// Whether invalid sequences were replaced by U+FFFD.
    pub lossy: bool,
}

/// Decodes `bytes` to text; see the module documentation.
pub fn decode(bytes: &[u8]) -> DecodedText {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, TextEncoding::Utf16Le, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, TextEncoding::Utf16Be, true);
    }
    match utf16_guess(bytes) {
        Some(encoding) => utf16(bytes, encoding, false),
        None => utf8(bytes, false),
    }
}

/// `bytes` as they are, when [`decode`] would return them unchanged: UTF-8 without a BOM or a
/// CR, not taken for UTF-16. A large log is then parsed where it lies instead of copied.
pub fn as_plain_utf8(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let unchanged =
        !text.starts_with('\u{feff}') && !text.contains('\r') && utf16_guess(bytes).is_none();
    unchanged.then_some(text)
}

/// Shorthand for `decode(bytes).text`.
pub fn decode_to_string(bytes: &[u8]) -> String {
    decode(bytes).text
}

/// Normalises CRLF and lone CR to LF.
pub fn normalize_newlines(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

fn utf8(bytes: &[u8], bom: bool) -> DecodedText {
    let (text, lossy) = match std::str::from_utf8(bytes) {
        Ok(text) => (normalize_newlines(text), false),
        Err(_) => (normalize_newlines(&String::from_utf8_lossy(bytes)), true),
    };
    DecodedText {
        text,
        encoding: TextEncoding::Utf8,
        bom,
        lossy,
    }
}

fn utf16(bytes: &[u8], encoding: TextEncoding, bom: bool) -> DecodedText {
    let units = bytes.chunks_exact(2).map(|pair| match encoding {
        TextEncoding::Utf16Be => u16::from_be_bytes([pair[0], pair[1]]),
        _ => u16::from_le_bytes([pair[0], pair[1]]),
    });
    let mut lossy = bytes.len() % 2 != 0;
    let mut text = String::with_capacity(bytes.len() / 2);
    for unit in char::decode_utf16(units) {
        match unit {
            Ok(c) => text.push(c),
            Err(_) => {
                lossy = true;
                text.push(char::REPLACEMENT_CHARACTER);
            }
        }
    }
    DecodedText {
        text: normalize_newlines(&text),
        encoding,
        bom,
        lossy,
    }
}

/// UTF-16 without a BOM: ASCII-heavy text has a NUL in every other byte.
fn utf16_guess(bytes: &[u8]) -> Option<TextEncoding> {
    let sample = &bytes[..bytes.len().min(4096)];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even_nul, mut odd_nul) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even_nul += usize::from(pair[0] == 0);
        odd_nul += usize::from(pair[1] == 0);
    }
    if odd_nul * 10 >= pairs * 4 && even_nul * 10 < pairs {
        Some(TextEncoding::Utf16Le)
    } else if even_nul * 10 >= pairs * 4 && odd_nul * 10 < pairs {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}
