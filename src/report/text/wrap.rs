//! Widths of text on a terminal, wrapping at spaces, and shortening paths in the middle.

use std::ops::Range;
use unicode_width::UnicodeWidthStr;

/// Columns `text` takes on a terminal (wide characters count 2).
pub(super) fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// The words of `text` (split at spaces) with their byte offsets.
pub(super) fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(' ')
        .scan(0, |offset, word| {
            let start = *offset;
            *offset += word.len() + 1;
            Some((start, word))
        })
        .filter(|(_, word)| !word.is_empty())
}

/// The widest word of `text`.
pub(super) fn longest_word(text: &str) -> usize {
    words(text).map(|(_, word)| width(word)).max().unwrap_or(0)
}

/// Byte ranges of the lines of `text` wrapped at spaces to at most `max` columns; the spaces
/// at a break are dropped. Only a word wider than a whole line is cut, at `max`. Empty text is
/// one empty line.
pub(super) fn wrap(text: &str, max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    if width(text) <= max {
        return std::iter::once(0..text.len()).collect();
    }
    let mut lines = Vec::new();
    // The line being filled: where it starts, where its last word ends, how wide it is.
    let mut line: Option<(usize, usize, usize)> = None;
    for (start, word) in words(text) {
        let word_width = width(word);
        if let Some((line_start, end, line_width)) = line {
            let gap = width(&text[end..start]);
            if line_width + gap + word_width <= max {
                line = Some((
                    line_start,
                    start + word.len(),
                    line_width + gap + word_width,
                ));
                continue;
            }
            lines.push(line_start..end);
        }
        let mut from = start;
        let mut rest = word;
        while width(rest) > max {
            let cut = cut_at_width(rest, max);
            lines.push(from..from + cut);
            from += cut;
            rest = &rest[cut..];
        }
        line = Some((from, from + rest.len(), width(rest)));
    }
    lines.extend(line.map(|(start, end, _)| start..end));
    if lines.is_empty() {
        lines.extend(std::iter::once(0..0));
    }
    lines
}

/// The byte length of the longest prefix of `text` at most `max` columns wide (at least one
/// character, so that cutting always advances).
fn cut_at_width(text: &str, max: usize) -> usize {
    let mut used = 0;
    for (at, character) in text.char_indices() {
        let character_width = width(character.encode_utf8(&mut [0; 4]));
        if at > 0 && used + character_width > max {
            return at;
        }
        used += character_width;
    }
    text.len()
}

/// `text` at most `max` columns wide: itself when it fits, else its start and its end with
/// `…` between, keeping the file name (the part after the last `\` or `/`) whole when it
/// leaves room for a start.
pub(super) fn shorten_middle(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    if max <= 1 {
        return "…".chars().take(max).collect();
    }
    let budget = max - 1;
    let name_at = text.rfind(['\\', '/']).unwrap_or(0);
    let name = &text[name_at..];
    let tail = if width(name) < budget {
        name
    } else {
        let mut start = text.len();
        for (at, _) in text.char_indices().rev() {
            if width(&text[at..]) > budget {
                break;
            }
            start = at;
        }
        &text[start..]
    };
    let head = &text[..cut_at_width(text, budget - width(tail)).min(text.len())];
    let head = if width(tail) == budget { "" } else { head };
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, max: usize) -> Vec<&str> {
        wrap(text, max)
            .into_iter()
            .map(|range| &text[range])
            .collect()
    }

    #[test]
    fn wraps_only_at_spaces_and_keeps_versions_whole() {
        let text = "MSMAPI32.DLL 11.0.5601.0: 9 of 9 new handles (6 Mutant, 3 Section)";
        let wrapped = lines(text, 20);
        assert_eq!(
            wrapped,
            [
                "MSMAPI32.DLL",
                "11.0.5601.0: 9 of 9",
                "new handles (6",
                "Mutant, 3 Section)"
            ]
        );
        assert!(wrapped.iter().all(|line| width(line) <= 20));
        assert_eq!(lines("fits", 20), ["fits"]);
        assert_eq!(lines("", 5), [""]);
    }

    #[test]
    fn only_a_word_wider_than_the_line_is_cut() {
        assert_eq!(lines("ab abcdefgh c", 4), ["ab", "abcd", "efgh", "c"]);
        assert_eq!(lines("日本語", 4), ["日本", "語"]);
    }

    #[test]
    fn paths_keep_their_file_name() {
        let path = r"C:\Program Files\Common Files\System\MSMAPI\1033\MSMAPI32.DLL";
        assert_eq!(shorten_middle(path, 30), r"C:\Program Files…\MSMAPI32.DLL");
        assert_eq!(shorten_middle(path, 14), r"…\MSMAPI32.DLL");
        assert_eq!(shorten_middle(path, 10), "…API32.DLL");
        assert_eq!(shorten_middle(path, 100), path);
        for max in 1..path.len() {
            assert!(width(&shorten_middle(path, max)) <= max, "{max}");
        }
    }
}
