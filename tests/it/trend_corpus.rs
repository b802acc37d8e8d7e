//! The trend classifier against the labelled corpus of `dumpleak_fixtures::trend_corpus`
//! (issue 19). Run with `--nocapture` to see the confusion matrix and every wrong series.
//!
//! "Right" means exactly one thing: the verdict's class is the series' truth, or, for a series
//! shorter than the classifier's minimum, "too few dumps" (no class). There is no allowance.
//! A trend too small to be seen in whole handles is kept out of the corpus where it is made,
//! not excused here: the generator watches every straight leak or decline long enough for its
//! true change to reach `VISIBLE_CHANGE` (2) handles — a change of one handle is a single
//! step, which a stable count that ticks once shows as well — so a slow leak gets a long
//! series (0.1/cycle: at least 21 dumps). The bar's own slow leaks (≥ 0.2/cycle over ≥ 8
//! dumps) stay in the corpus: from 0.29/cycle on, 8 dumps suffice.
//!
//! The bar: at least 95 % right overall, and no leak of ≥ 0.2 handles per cycle over ≥ 8
//! dumps called stable or churn — on the fixed seed. Corpora from 20 other seeds must each be
//! ≥ 95 % right, and of their slow leaks at most 1 in 500 may be called stable or churn: a
//! heavy-tailed series can bury a leak (several single-dump drops of up to 8 σ in a short
//! series), and no rule sees every one (docs/series-verdicts.md names them).
//!
//! README.md and docs/series-verdicts.md show the fixed seed's matrix between
//! `<!-- trend-corpus-matrix -->` markers; the test renders it and fails when either differs.

use dumpleak::analysis::trend::{classify, Class, Rules, Verdict, MIN_DUMPS};
use dumpleak_fixtures::trend_corpus::{trend_corpus, trend_corpus_seeded, LabelledSeries, Truth};
use std::collections::BTreeMap;

const TOO_FEW: &str = "too few";
const LABELS: [&str; 6] = ["leak", "plateau", "decline", "churn", "stable", TOO_FEW];
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BEGIN: &str = "<!-- trend-corpus-matrix -->";
const END: &str = "<!-- /trend-corpus-matrix -->";

fn expected(series: &LabelledSeries) -> &'static str {
    if series.counts.len() < MIN_DUMPS {
        TOO_FEW
    } else {
        series.truth.name()
    }
}

fn predicted(verdict: &Verdict) -> &'static str {
    match verdict.class {
        _ if verdict.too_few => TOO_FEW,
        Some(class) => class.name(),
        None => "none",
    }
}

fn verdict(series: &LabelledSeries) -> Verdict {
    let counts: Vec<f64> = series.counts.iter().map(|&c| c as f64).collect();
    classify(&counts, Some(&series.times), &Rules::default())
}

/// A leak the bar covers: ≥ 0.2 handles per cycle over ≥ 8 dumps.
fn slow_leak_of_the_bar(series: &LabelledSeries) -> bool {
    series.truth == Truth::Leak && series.rate_per_cycle >= 0.2 && series.counts.len() >= 8
}

fn missed(series: &LabelledSeries, verdict: &Verdict) -> bool {
    slow_leak_of_the_bar(series) && matches!(verdict.class, Some(Class::Stable | Class::Churn))
}

/// The confusion matrix (truth, verdict) → count.
type Matrix = BTreeMap<(&'static str, &'static str), usize>;

fn right(matrix: &Matrix) -> usize {
    LABELS
        .iter()
        .map(|l| matrix.get(&(*l, *l)).unwrap_or(&0))
        .sum()
}

/// The matrix as the Markdown block README.md and docs/series-verdicts.md show.
fn markdown(matrix: &Matrix) -> String {
    let mut text = format!("| truth \\ verdict | {} | n |\n", LABELS.join(" | "));
    text.push_str(&format!("|---{}|---|\n", "|---".repeat(LABELS.len())));
    for truth in LABELS {
        let row: Vec<usize> = LABELS
            .iter()
            .map(|got| *matrix.get(&(truth, *got)).unwrap_or(&0))
            .collect();
        let cells: Vec<String> = LABELS
            .iter()
            .zip(&row)
            .map(|(got, count)| match *got == truth {
                true => format!("**{count}**"),
                false => count.to_string(),
            })
            .collect();
        text.push_str(&format!(
            "| {truth} | {} | {} |\n",
            cells.join(" | "),
            row.iter().sum::<usize>()
        ));
    }
    let total: usize = matrix.values().sum();
    let right = right(matrix);
    text.push_str(&format!(
        "\n{right} of {total} right ({:.1} %).\n",
        100.0 * right as f64 / total as f64
    ));
    text
}

/// The text between the matrix markers of `file` (relative to the crate's root).
fn documented_matrix(file: &str) -> String {
    let text = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap();
    let start = text
        .find(BEGIN)
        .unwrap_or_else(|| panic!("{file} has no {BEGIN} marker"));
    let rest = &text[start + BEGIN.len()..];
    let end = rest
        .find(END)
        .unwrap_or_else(|| panic!("{file} has no {END} marker"));
    rest[..end].trim_start_matches('\n').to_string()
}

#[test]
fn corpus_confusion_matrix_holds_the_bar() {
    let started = std::time::Instant::now();
    let corpus = trend_corpus();
    assert!(corpus.len() >= 300, "a few hundred series");
    let mut matrix = Matrix::new();
    let mut by_shape: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut missed_leaks = Vec::new();
    let mut rate_errors = Vec::new();
    for series in &corpus {
        let verdict = verdict(series);
        let (truth, got) = (expected(series), predicted(&verdict));
        *matrix.entry((truth, got)).or_default() += 1;
        let shape = by_shape
            .entry((series.truth.name(), series.shape))
            .or_default();
        shape.0 += 1;
        if truth == got {
            shape.1 += 1;
        } else {
            wrong.push(format!(
                "#{} {} {} ({} noise, σ {:.2}, rate {:+.2}, {} dumps) → {got}: {} {:?}",
                series.id,
                truth,
                series.shape,
                series.noise.name(),
                series.sigma,
                series.rate_per_cycle,
                series.counts.len(),
                verdict.reason,
                series.counts
            ));
        }
        if missed(series, &verdict) {
            missed_leaks.push(series.id);
        }
        if series.shape == "linear" && got == truth && series.counts.len() >= 8 {
            let per_hour = series.rate_per_cycle * 3600.0 / series.cycle_seconds() as f64;
            let estimate = verdict
                .slope_per_hour
                .expect("the corpus has capture times");
            rate_errors.push(((estimate - per_hour) / per_hour).abs());
        }
    }

    let total = corpus.len();
    let right = right(&matrix);
    let accuracy = right as f64 / total as f64;
    let rendered = markdown(&matrix);
    println!("{rendered}in {:.2} s", started.elapsed().as_secs_f64());
    for ((truth, shape), (count, ok)) in &by_shape {
        println!("  {truth:8} {shape:18} {ok:3} of {count:3}");
    }
    rate_errors.sort_by(f64::total_cmp);
    if !rate_errors.is_empty() {
        println!(
            "linear trends (≥ 8 dumps, {}): relative error of the Theil–Sen rate per hour: \
             median {:.1} %, 90th percentile {:.1} %",
            rate_errors.len(),
            100.0 * rate_errors[rate_errors.len() / 2],
            100.0 * rate_errors[rate_errors.len() * 9 / 10]
        );
    }
    for line in &wrong {
        println!("wrong: {line}");
    }

    assert!(
        missed_leaks.is_empty(),
        "leaks of ≥ 0.2/cycle over ≥ 8 dumps called stable or churn: {missed_leaks:?}"
    );
    assert!(
        accuracy >= 0.95,
        "only {right} of {total} right ({:.1} %)",
        100.0 * accuracy
    );
    // Every truth is represented, so the matrix means something.
    for truth in Truth::ALL {
        assert!(corpus.iter().filter(|s| s.truth == truth).count() >= 40);
    }
    for file in ["README.md", "docs/series-verdicts.md"] {
        assert_eq!(
            documented_matrix(file),
            rendered,
            "{file}'s corpus matrix is stale; paste this between its {BEGIN} markers:\n\
             {rendered}"
        );
    }
}

#[test]
fn corpus_is_deterministic_and_well_formed() {
    let corpus = trend_corpus();
    assert_eq!(corpus, trend_corpus());
    for series in &corpus {
        assert!((4..=50).contains(&series.counts.len()), "#{}", series.id);
        assert_eq!(series.counts.len(), series.times.len());
        assert!(series.times.windows(2).all(|pair| pair[0] < pair[1]));
        if matches!(series.truth, Truth::Leak | Truth::Decline) {
            assert!((0.1..=5.0).contains(&series.rate_per_cycle.abs()));
        }
    }
    let lengths: Vec<usize> = corpus.iter().map(|s| s.counts.len()).collect();
    assert!(lengths.contains(&4) && lengths.iter().any(|&n| n >= 45));
    // The bar's slowest cases are in it: leaks of 0.2–0.3/cycle over 8–12 dumps.
    assert!(corpus
        .iter()
        .any(|s| slow_leak_of_the_bar(s) && s.rate_per_cycle < 0.3 && s.counts.len() <= 12));
}

/// Share right, the bar's slow leaks, and those of them called stable or churn, of one corpus.
fn score(corpus: &[LabelledSeries]) -> (f64, usize, Vec<usize>) {
    let (mut right, mut slow, mut missed_leaks) = (0, 0, Vec::new());
    for series in corpus {
        let verdict = verdict(series);
        if predicted(&verdict) == expected(series) {
            right += 1;
        }
        slow += usize::from(slow_leak_of_the_bar(series));
        if missed(series, &verdict) {
            missed_leaks.push(series.id);
        }
    }
    (right as f64 / corpus.len() as f64, slow, missed_leaks)
}

#[test]
fn corpus_from_other_seeds_holds_the_bar() {
    const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;
    let (mut shares, mut slow, mut missed_leaks) = (Vec::new(), 0, Vec::new());
    for seed in SEEDS {
        let (share, slow_leaks, missed_ids) = score(&trend_corpus_seeded(seed));
        println!(
            "seed {seed}: {:.1} % right; slow leaks called stable or churn: {missed_ids:?} of \
             {slow_leaks}",
            100.0 * share
        );
        shares.push(share);
        slow += slow_leaks;
        missed_leaks.extend(missed_ids.into_iter().map(|id| (seed, id)));
    }
    let (low, high) = shares
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    println!(
        "seeds {SEEDS:?}: {:.1} % right on average ({:.1}–{:.1} %); {} of {slow} slow leaks \
         called stable or churn: {missed_leaks:?}",
        100.0 * shares.iter().sum::<f64>() / shares.len() as f64,
        100.0 * low,
        100.0 * high,
        missed_leaks.len(),
    );
    for (seed, share) in SEEDS.zip(&shares) {
        assert!(*share >= 0.95, "seed {seed}: {:.1} % right", 100.0 * share);
    }
    assert!(
        missed_leaks.len() * 500 <= slow,
        "slow leaks called stable or churn: {missed_leaks:?} of {slow}"
    );
}
