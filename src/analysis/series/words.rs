//! How the series puts numbers and verdicts into words: sparklines, rates per cycle and per
//! hour or day, and the one-line verdict of a headline.

use crate::analysis::trend::{classify, Class, Rules, Verdict};
use crate::time::iso8601;
use std::collections::BTreeMap;

/// Sparkline of counts, scaled from their minimum to their maximum.
pub fn sparkline(counts: &[usize]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(min), Some(max)) = (counts.iter().min(), counts.iter().max()) else {
        return String::new();
    };
    counts
        .iter()
        .map(|&count| {
            if max == min {
                BARS[0]
            } else {
                BARS[(count - min) * (BARS.len() - 1) / (max - min)]
            }
        })
        .collect()
}

/// `3`, `2.5`, `0.33`: a count or rate without needless decimals (two at most).
pub fn number(value: f64) -> String {
    if (value - value.round()).abs() < 0.005 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').to_string()
    }
}

/// `+3`, `-0.5`, `0`.
pub fn signed(value: f64) -> String {
    let text = number(value);
    if value > 0.0 && text != "0" {
        format!("+{text}")
    } else {
        text
    }
}

/// A rate per hour as it reads best: `+18/hour`, or per day below one handle an hour
/// (`+12/day`).
pub fn per_time(per_hour: f64) -> String {
    if per_hour.abs() >= 1.0 || per_hour == 0.0 {
        format!("{}/hour", signed(per_hour))
    } else {
        format!("{}/day", signed(per_hour * 24.0))
    }
}

/// `+3/cycle, +18/hour`, or `+3/cycle` without capture times.
pub fn rates(per_cycle: f64, per_hour: Option<f64>) -> String {
    match per_hour {
        Some(per_hour) => format!("{}/cycle, {}", signed(per_cycle), per_time(per_hour)),
        None => format!("{}/cycle", signed(per_cycle)),
    }
}

/// `2026-03-02 12:00 UTC`.
pub fn short_time(seconds: u64) -> String {
    let text = iso8601(seconds);
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// The class of a verdict as a table cell: the class, or `too few` without one.
pub fn class_cell(verdict: &Verdict) -> String {
    match verdict.class {
        Some(class) => class.to_string(),
        None if verdict.too_few => "too few".to_string(),
        None => "none".to_string(),
    }
}

/// The dumps of a segment as the verdicts see them: how many, their capture times (when every
/// one has one) and the rule.
pub struct Timeline<'a> {
    /// Capture times, one per dump, when every dump has one.
    pub times: Option<&'a [u64]>,
    /// Number of dumps.
    pub dumps: usize,
    /// The rule.
    pub rules: &'a Rules,
}

impl Timeline<'_> {
    /// The verdict on `counts` (one per dump).
    pub fn classify(&self, counts: &[usize]) -> Verdict {
        let values: Vec<f64> = counts.iter().map(|&count| count as f64).collect();
        classify(&values, self.times, self.rules)
    }

    /// The verdict in a few words ([`verdict_words`]), with the capture times.
    pub fn words(&self, verdict: &Verdict) -> String {
        verdict_words(verdict, self.dumps, self.rules.min_dumps, &|index| {
            self.when(index)
        })
    }

    /// ` (2026-03-02 16:00 UTC)` for dump `index`, when the capture times are known.
    pub fn when(&self, index: usize) -> String {
        self.times
            .and_then(|times| times.get(index))
            .map_or(String::new(), |&time| format!(" ({})", short_time(time)))
    }
}

/// The verdict in a few words for a headline: `leak, +18/hour`; `plateau: levelled off at ~6
/// from dump 3 (2026-03-02 16:00 UTC)`; `too few dumps for a verdict (4 of the 5 needed)`.
/// `dumps` is the number of dumps, `needed` the fewest for a verdict, `when(k)` the capture
/// time of dump k as ` (2026-03-02 16:00 UTC)`, or empty.
pub fn verdict_words(
    verdict: &Verdict,
    dumps: usize,
    needed: usize,
    when: &dyn Fn(usize) -> String,
) -> String {
    let Some(class) = verdict.class else {
        return if verdict.too_few {
            format!("too few dumps for a verdict ({dumps} of the {needed} needed)")
        } else {
            "no verdict".to_string()
        };
    };
    match class {
        Class::Leak | Class::Decline => match verdict.slope_per_hour {
            Some(per_hour) => format!("{class}, {}", per_time(per_hour)),
            None => class.to_string(),
        },
        Class::Plateau => match verdict.change_point {
            Some(point) => format!(
                "plateau: levelled off at ~{} from dump {}{}",
                number(point.level),
                point.index,
                when(point.index)
            ),
            None => class.to_string(),
        },
        Class::Churn | Class::Stable => class.to_string(),
    }
}

/// Whether a headline leads with the rate (a leak, a decline, or growth too short to judge)
/// rather than with the number of retained handles.
fn leads_with_rate(verdict: &Verdict) -> bool {
    match verdict.class {
        Some(Class::Leak | Class::Decline) => true,
        None => verdict.slope_per_cycle != 0.0,
        Some(_) => false,
    }
}

/// What a module headline is made of.
pub struct Headline<'a> {
    /// Module name (`None`: stacks with only system modules).
    pub module: Option<&'a str>,
    /// Its file version.
    pub version: Option<&'a str>,
    /// The verdict on its retained handles.
    pub verdict: &'a Verdict,
    /// Retained handles per type.
    pub types: &'a BTreeMap<String, usize>,
    /// Stacks blamed on it.
    pub stacks: usize,
    /// Later dumps in which it gained retained handles, and later dumps in all.
    pub retained_in: (usize, usize),
    /// The words of the verdict ([`Timeline::words`]).
    pub verdict_words: String,
}

impl Headline<'_> {
    /// `MSMAPI32.DLL 11.0.5601.0: +3.0 handles/cycle (2 Mutant, 1 Section) from 3 stacks,
    /// retained in all 6 later dumps — leak, +18/hour`: a growing module's rate shared out over
    /// its types by their retained counts; otherwise its retained handles (`ShardCache.dll
    /// 2.1.0.5: 6 retained handles (6 File) from 1 stack, …`).
    pub fn text(&self) -> String {
        let retained_total: usize = self.types.values().sum();
        let slope = self.verdict.slope_per_cycle;
        let amount = if leads_with_rate(self.verdict) {
            let per_type = self
                .types
                .iter()
                .map(|(type_name, count)| {
                    let share = slope * *count as f64 / retained_total.max(1) as f64;
                    format!("{} {type_name}", number((share * 10.0).round() / 10.0))
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("{slope:+.1} handles/cycle ({per_type})")
        } else {
            let per_type = self
                .types
                .iter()
                .map(|(type_name, count)| format!("{count} {type_name}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{retained_total} retained handles ({per_type})")
        };
        let (retained_in, later) = self.retained_in;
        format!(
            "{}{}: {amount} from {} stack{}, retained in {} later dumps — {}",
            self.module.unwrap_or("(system modules only)"),
            self.version.map_or(String::new(), |v| format!(" {v}")),
            self.stacks,
            if self.stacks == 1 { "" } else { "s" },
            if retained_in == later {
                format!("all {later}")
            } else {
                format!("{retained_in} of {later}")
            },
            self.verdict_words
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_rates_read_naturally() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(0.333), "0.33");
        assert_eq!(signed(0.001), "0");
        assert_eq!(signed(-2.0), "-2");
        assert_eq!(per_time(18.0), "+18/hour");
        assert_eq!(per_time(0.5), "+12/day");
        assert_eq!(per_time(0.0), "0/hour");
        assert_eq!(rates(0.5, Some(0.5)), "+0.5/cycle, +12/day");
        assert_eq!(rates(-2.0, None), "-2/cycle");
        assert_eq!(sparkline(&[0, 7, 14]), "▁▄█");
        assert_eq!(sparkline(&[3, 3]), "▁▁");
        assert_eq!(short_time(1_772_452_800), "2026-03-02 12:00 UTC");
    }

    /// The headline of `module` (name, version) over 7 later dumps, in `retained` of which it
    /// gained handles.
    fn headline(
        timeline: &Timeline,
        module: Option<(&str, &str)>,
        verdict: &Verdict,
        types: &BTreeMap<String, usize>,
        stacks: usize,
        retained: usize,
    ) -> String {
        Headline {
            module: module.map(|(name, _)| name),
            version: module.map(|(_, version)| version),
            verdict,
            types,
            stacks,
            retained_in: (retained, 7),
            verdict_words: timeline.words(verdict),
        }
        .text()
    }

    #[test]
    fn headlines_lead_with_the_rate_of_a_leak_and_the_level_of_a_plateau() {
        let hourly: Vec<u64> = (0..8).map(|k| 1_772_438_400 + 3600 * k).collect();
        let rules = Rules::default();
        let types = BTreeMap::from([("Mutant".to_string(), 14), ("Section".to_string(), 7)]);
        let timeline = Timeline {
            times: Some(&hourly),
            dumps: 8,
            rules: &rules,
        };
        let leak = timeline.classify(&[0, 3, 6, 9, 12, 15, 18, 21]);
        assert_eq!(
            headline(
                &timeline,
                Some(("MSMAPI32.DLL", "11.0.5601.0")),
                &leak,
                &types,
                3,
                7
            ),
            "MSMAPI32.DLL 11.0.5601.0: +3.0 handles/cycle (2 Mutant, 1 Section) from 3 stacks, \
             retained in all 7 later dumps — leak, +3/hour"
        );
        let plateau = timeline.classify(&[0, 3, 5, 6, 6, 6, 6, 6]);
        assert_eq!(plateau.class, Some(Class::Plateau));
        let files = BTreeMap::from([("File".to_string(), 6)]);
        assert_eq!(
            headline(&timeline, None, &plateau, &files, 1, 3),
            "(system modules only): 6 retained handles (6 File) from 1 stack, retained in 3 of 7 \
             later dumps — plateau: levelled off at ~6 from dump 3 (2026-03-02 11:00 UTC)"
        );
        let short = Timeline {
            times: None,
            dumps: 3,
            rules: &rules,
        };
        let few = short.classify(&[0, 2, 4]);
        assert_eq!(
            short.words(&few),
            "too few dumps for a verdict (3 of the 5 needed)"
        );
    }
}
