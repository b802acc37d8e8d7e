//! Small field and number readers shared by the text parsers.

/// The digits of `0x1f` / `0X1F`; `None` when there is no `0x` prefix.
pub(super) fn strip_0x(text: &str) -> Option<&str> {
    text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))
}

/// `0x1f0003` is hex, `65537` decimal.
pub(super) fn hex_or_decimal(word: &str) -> Option<u64> {
    match strip_0x(word) {
        Some(digits) => u64::from_str_radix(digits, 16).ok(),
        None => word.parse().ok(),
    }
}

/// 1 to 16 hex digits and nothing else: a value that fits in 64 bits.
pub(super) fn is_hex_u64(text: &str) -> bool {
    !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `4C: ALPC Port` → (`4C`, ` ALPC Port`): the text before the first colon when it is
/// [`is_hex_u64`], and everything after the colon.
pub(super) fn hex_label(line: &str) -> Option<(&str, &str)> {
    let (value, rest) = line.split_once(':')?;
    is_hex_u64(value).then_some((value, rest))
}

/// `Type         \tEvent` → (`Type`, `Event`): the text up to the first space or tab, and the
/// rest trimmed.
pub(super) fn split_word(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(at) => (&text[..at], text[at..].trim()),
        None => (text, ""),
    }
}

/// The text trimmed; `None` when nothing is left.
pub(super) fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A process id as the notes about a log's processes write it: decimal, as the report's header
/// and `--pid` take it, then hex, as the debugger prints it (`6036 (0x1794)`).
pub(super) fn pid_label(pid: u32) -> String {
    format!("{pid} ({pid:#x})")
}

/// `text` cut to 80 characters, with `…` when cut: a line quoted in a note.
pub(super) fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Asserts `parse(input) == want` for each case, naming the input that fails.
#[cfg(test)]
pub(super) fn assert_cases<I, O, W>(parse: impl Fn(I) -> O, cases: &[(I, W)])
where
    I: Copy + std::fmt::Debug,
    O: PartialEq<W> + std::fmt::Debug,
    W: std::fmt::Debug,
{
    for (input, want) in cases {
        assert_eq!(parse(*input), *want, "input {input:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_hex_with_0x_and_decimal_without() {
        assert_eq!(strip_0x("0X1F"), Some("1F"));
        assert_eq!(strip_0x("1f"), None);
        let cases = [
            ("0x1f0003", Some(0x1f0003)),
            ("65537", Some(65537)),
            ("1f", None),
            ("0x", None),
        ];
        assert_cases(hex_or_decimal, &cases);
    }

    #[test]
    fn hex_labels_take_up_to_16_digits_before_the_first_colon() {
        assert!(is_hex_u64("ffffffffffffffff"));
        assert!(!is_hex_u64("1ffffffffffffffff") && !is_hex_u64(""));
        let cases = [
            ("4C: ALPC Port", Some(("4C", " ALPC Port"))),
            ("4C:x:y", Some(("4C", "x:y"))),
            ("Type: File", None),
            ("no colon", None),
        ];
        assert_cases(hex_label, &cases);
    }

    #[test]
    fn words_split_at_the_first_space_or_tab() {
        let cases = [
            ("Type         \tEvent", ("Type", "Event")),
            ("Name\t a b ", ("Name", "a b")),
            ("Alone", ("Alone", "")),
        ];
        assert_cases(split_word, &cases);
        assert_eq!(non_empty("  x "), Some("x".to_owned()));
        assert_eq!(non_empty(" \t"), None);
    }
}
