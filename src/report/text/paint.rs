//! Colour for the terminal: ANSI styles around text the renderer laid out. Every string has
//! been escaped by the sanitising view before it gets here, so the only escape sequences in
//! the output are these.

use super::super::document::Tone;
use anstyle::{AnsiColor, Style};
use std::ops::Range;

/// What a piece of text is, for its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ink {
    /// The report's title and section headings.
    Heading,
    /// A table's column headings.
    Header,
    /// A warning that changes the conclusion.
    Alert,
    /// A highlighted phrase or cell.
    Tone(Tone),
}

/// Styles text when colour is on; passes it through otherwise.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paint {
    pub(super) on: bool,
}

impl Paint {
    /// `text` in the style of `ink` (none: as it is).
    pub(super) fn ink(&self, text: &str, ink: Option<Ink>) -> String {
        match ink {
            Some(ink) if self.on && !text.is_empty() => {
                let style = style(ink);
                format!("{}{text}{}", style.render(), style.render_reset())
            }
            _ => text.to_string(),
        }
    }

    /// The part `range` of `text` in the style of `base`, with the `marks` (ranges of `text`,
    /// in order, not overlapping) in theirs.
    pub(super) fn marked(
        &self,
        text: &str,
        range: Range<usize>,
        base: Option<Ink>,
        marks: &[(Range<usize>, Tone)],
    ) -> String {
        if !self.on {
            return text[range].to_string();
        }
        let mut out = String::new();
        let mut at = range.start;
        for (mark, tone) in marks {
            let start = mark.start.max(at);
            let end = mark.end.min(range.end);
            if start >= end {
                continue;
            }
            out.push_str(&self.ink(&text[at..start], base));
            out.push_str(&self.ink(&text[start..end], Some(Ink::Tone(*tone))));
            at = end;
        }
        out.push_str(&self.ink(&text[at..range.end], base));
        out
    }
}

fn style(ink: Ink) -> Style {
    let color = |color: AnsiColor| Style::new().fg_color(Some(color.into()));
    match ink {
        Ink::Heading | Ink::Header => Style::new().bold(),
        Ink::Alert => color(AnsiColor::Red).bold(),
        Ink::Tone(Tone::Blame) => color(AnsiColor::Magenta).bold(),
        Ink::Tone(Tone::Leak) => color(AnsiColor::Red).bold(),
        Ink::Tone(Tone::Change) => color(AnsiColor::Yellow),
    }
}

/// Where the `phrases` stand in `text` as wholes (not inside a longer word, version or name),
/// in order and not overlapping (an earlier, then a longer phrase wins); of a verdict phrase,
/// where its last word stands.
pub(super) fn find_marks(
    text: &str,
    phrases: &[(impl AsRef<str>, Tone)],
) -> Vec<(Range<usize>, Tone)> {
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_'));
    let mut found: Vec<(Range<usize>, Tone)> = Vec::new();
    for (phrase, tone) in phrases {
        let phrase = phrase.as_ref();
        if phrase.is_empty() {
            continue;
        }
        for (start, _) in text.match_indices(phrase) {
            let end = start + phrase.len();
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            let starts_joined = joins(before) && phrase.starts_with(|c: char| joins(Some(c)));
            let ends_joined = joins(after) && phrase.ends_with(|c: char| joins(Some(c)));
            let whole = !(starts_joined || ends_joined);
            if whole {
                // A verdict phrase (`— leak`, `): leak`, `#2  plateau`) names its context to be
                // found; only its verdict word is coloured.
                let start = match tone {
                    Tone::Leak | Tone::Change => start + phrase.rfind(' ').map_or(0, |i| i + 1),
                    _ => start,
                };
                found.push((start..end, *tone));
            }
        }
    }
    found.sort_by_key(|(range, _)| (range.start, std::cmp::Reverse(range.end)));
    let mut kept: Vec<(Range<usize>, Tone)> = Vec::new();
    for (range, tone) in found {
        if kept.last().is_none_or(|(last, _)| last.end <= range.start) {
            kept.push((range, tone));
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_found_only_as_wholes() {
        let marks = [("MSMAPI32.DLL 11.0.5601.0", Tone::Blame)];
        let text =
            "blamed: MSMAPI32.DLL 11.0.5601.0; XMSMAPI32.DLL 11.0.5601.0 MSMAPI32.DLL 11.0.5601.05";
        let found = find_marks(text, &marks);
        assert_eq!(found, [(8..32, Tone::Blame)]);
    }

    #[test]
    fn of_a_verdict_phrase_only_the_verdict_word_is_marked() {
        let marks = [("): leak", Tone::Leak), ("— plateau", Tone::Change)];
        let text = "38 → 50 (+6.43/hour): leak; ShardCache.dll — plateau: levelled off";
        let found: Vec<&str> = find_marks(text, &marks)
            .into_iter()
            .map(|(range, _)| &text[range])
            .collect();
        assert_eq!(found, ["leak", "plateau"]);
    }

    #[test]
    fn colour_only_when_on() {
        let text = "a MSMAPI32.DLL b";
        let marks = [(2..14, Tone::Blame)];
        let off = Paint { on: false };
        assert_eq!(off.marked(text, 0..text.len(), None, &marks), text);
        let on = Paint { on: true };
        let coloured = on.marked(text, 0..text.len(), None, &marks);
        assert!(coloured.starts_with("a \x1b["), "{coloured:?}");
        assert!(coloured.ends_with("\x1b[0m b"), "{coloured:?}");
        assert!(coloured.contains("MSMAPI32.DLL"));
    }
}
