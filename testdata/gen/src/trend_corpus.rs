//! A labelled validation corpus for the trend classifier of `dumpleak series` (issue 19): a
//! few hundred handle-count series whose truth is known because they were made that way.
//!
//! | truth    | shapes                                                                 |
//! |----------|------------------------------------------------------------------------|
//! | leak     | straight growth of 0.1–5 handles/cycle; a warm-up followed by growth    |
//! | plateau  | ramp, saturating curve or step up, then flat for ≥ 4 dumps and ≥ 30 %    |
//! | decline  | straight fall of 0.1–5 handles/cycle                                    |
//! | churn    | pool occupancy, bounded random walk, oscillation, grow-and-drop sawtooth |
//! | stable   | a constant level with jitter                                            |
//!
//! Each series has 4–50 dumps (short series more often), except that a straight leak or
//! decline is watched long enough for its true change to reach [`VISIBLE_CHANGE`] (2) handles:
//! at least 1 + ⌈2 / rate⌉ dumps (0.1/cycle: 21; from 0.29/cycle on, 8). A change of one
//! handle is a single step in whole-handle counts, which a stable count that ticks once shows
//! too: no rule can call it, so it has no place in a corpus that scores one. Each has a capture
//! interval of 15 minutes to a day, and one of three kinds of noise: none (whole handles only),
//! Gaussian, or heavy-tailed (Gaussian plus occasional single-dump drops and spikes of 3–8 σ, drops twice as likely —
//! handles released in bulk and reopened, a burst of work caught mid-flight). Counts are
//! rounded to whole handles and never negative.
//!
//! How much noise is realistic depends on the signal, so it is set relative to it: for
//! trends and plateaus σ is the total change divided by a signal-to-noise ratio drawn from
//! 8–60 (a leak whose whole rise is under eight noise widths is not something anyone can call
//! from the counts); churn moves by ±20–50 % of its level (at least ±3 handles); stable jitter
//! is at most ½ handle plus 1.2 % of the level. Between stable and churn there is a grey zone
//! (swings of a few percent) that the corpus leaves out, since no rule can be right there.
//!
//! Everything comes from a fixed-seed SplitMix64 generator: the corpus is the same on every
//! run and machine.

use crate::batch::splitmix;

/// What a series really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Truth {
    Leak,
    Plateau,
    Decline,
    Churn,
    Stable,
}

impl Truth {
    /// Every truth, in the order of the classifier's classes.
    pub const ALL: [Truth; 5] = [
        Truth::Leak,
        Truth::Plateau,
        Truth::Decline,
        Truth::Churn,
        Truth::Stable,
    ];

    /// Lowercase name, as the classifier's JSON spells the class.
    pub fn name(self) -> &'static str {
        match self {
            Truth::Leak => "leak",
            Truth::Plateau => "plateau",
            Truth::Decline => "decline",
            Truth::Churn => "churn",
            Truth::Stable => "stable",
        }
    }
}

/// The noise on top of the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Noise {
    /// Only the rounding to whole handles.
    None,
    /// Gaussian.
    Gaussian,
    /// Gaussian plus occasional large single-dump drops and spikes.
    HeavyTailed,
}

impl Noise {
    pub fn name(self) -> &'static str {
        match self {
            Noise::None => "none",
            Noise::Gaussian => "gaussian",
            Noise::HeavyTailed => "heavy-tailed",
        }
    }
}

/// One labelled series.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSeries {
    /// Position in the corpus (also its seed).
    pub id: usize,
    pub truth: Truth,
    /// The shape, e.g. `linear`, `warm-up then leak`, `saturating`, `bounded walk`.
    pub shape: &'static str,
    pub noise: Noise,
    /// True rate per cycle of a leak (after any warm-up) or decline (negative); 0 otherwise.
    pub rate_per_cycle: f64,
    /// Standard deviation of the Gaussian part of the noise, in handles.
    pub sigma: f64,
    /// Handle counts in time order.
    pub counts: Vec<u64>,
    /// Capture times, seconds since 1970, one per count.
    pub times: Vec<u64>,
}

impl LabelledSeries {
    /// Seconds between two dumps of this series.
    pub fn cycle_seconds(&self) -> u64 {
        match self.times.as_slice() {
            [first, .., last] => (last - first) / (self.times.len() as u64 - 1),
            _ => 0,
        }
    }
}

/// How many series of each truth, in corpus order.
pub const CORPUS_SIZES: [(Truth, usize); 5] = [
    (Truth::Leak, 130),
    (Truth::Plateau, 80),
    (Truth::Decline, 50),
    (Truth::Churn, 90),
    (Truth::Stable, 70),
];

/// Least true change, in handles, of a straight leak or decline over its series: the series
/// is made long enough for it.
pub const VISIBLE_CHANGE: f64 = 2.0;

const SEED: u64 = 0x7E2D_19C0_5EED_0019;
/// 2026-03-02 00:00 UTC.
const START: u64 = 1_772_409_600;
const CYCLES: [u64; 6] = [900, 1800, 3600, 7200, 21_600, 86_400];

/// The corpus (420 series).
pub fn trend_corpus() -> Vec<LabelledSeries> {
    trend_corpus_seeded(SEED)
}

/// A corpus made the same way from another seed (to check that a result is not an accident
/// of the fixed one).
pub fn trend_corpus_seeded(seed: u64) -> Vec<LabelledSeries> {
    let mut corpus = Vec::new();
    for (truth, count) in CORPUS_SIZES {
        for _ in 0..count {
            let id = corpus.len();
            corpus.push(series(seed, id, truth));
        }
    }
    corpus
}

/// Series `id` of the corpus of `seed`, with the given truth.
pub fn series(seed: u64, id: usize, truth: Truth) -> LabelledSeries {
    let mut rng = Rng::new(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    // 15 % short (4–7 dumps), half 8–16, the rest up to 50; a plateau needs 2 dumps below
    // its level and 4 at it.
    let n = match rng.uniform() {
        u if u < 0.15 => 4 + rng.below(4),
        u if u < 0.65 => 8 + rng.below(9),
        _ => 17 + rng.below(34),
    };
    let n = if truth == Truth::Plateau { n.max(6) } else { n };
    // A straight leak or decline is watched long enough for its whole change to reach
    // VISIBLE_CHANGE handles: slower ones get longer series.
    let straight_rate = match truth {
        Truth::Leak | Truth::Decline => Some(rng.log_uniform(0.1, 5.0)),
        _ => None,
    };
    let n = match straight_rate {
        Some(rate) => n.max(1 + (VISIBLE_CHANGE / rate - 1e-9).ceil() as usize),
        None => n,
    };
    let cycle = CYCLES[rng.below(CYCLES.len())];
    let times: Vec<u64> = (0..n as u64)
        .map(|k| START + k * cycle + rng.below(cycle as usize / 50 + 1) as u64)
        .collect();
    let noise = match rng.below(20) {
        0..=4 => Noise::None,
        5..=12 => Noise::Gaussian,
        _ => Noise::HeavyTailed,
    };
    let snr = rng.log_uniform(8.0, 60.0);
    let mut rate_per_cycle = 0.0;
    let (shape, clean, sigma): (&'static str, Vec<f64>, f64) = match truth {
        Truth::Leak | Truth::Decline => {
            let rate = straight_rate.expect("drawn above for every leak and decline");
            let warm_up = truth == Truth::Leak && n >= 12 && rng.below(6) == 0;
            let level = rng.log_uniform(3.0, 3000.0);
            if warm_up {
                let w = 2 + rng.below(n / 4 - 1);
                let amount = level * rng.range(0.3, 2.0) + 5.0;
                rate_per_cycle = rate;
                let clean = (0..n)
                    .map(|t| {
                        level
                            + amount * (t.min(w) as f64 / w as f64)
                            + rate * t.saturating_sub(w) as f64
                    })
                    .collect();
                ("warm-up then leak", clean, rate * (n - 1 - w) as f64 / snr)
            } else {
                let sign = if truth == Truth::Leak { 1.0 } else { -1.0 };
                rate_per_cycle = sign * rate;
                let span = rate * (n - 1) as f64;
                let start = if sign > 0.0 {
                    level
                } else {
                    span * rng.range(1.5, 4.0) + level.min(1000.0)
                };
                let clean = (0..n).map(|t| start + sign * rate * t as f64).collect();
                ("linear", clean, span / snr)
            }
        }
        Truth::Plateau => {
            let base = rng.log_uniform(3.0, 2000.0);
            let rise = base * rng.range(0.3, 2.0) + rng.range(3.0, 30.0);
            // Level reached at dump w ≥ 2; from there at least 4 dumps and 30 % of the series.
            let flat = 4.max((0.3 * n as f64).ceil() as usize);
            let w = 2 + rng.below(n - flat - 1);
            let (shape, clean): (&'static str, Vec<f64>) = match rng.below(20) {
                0..=7 => (
                    "ramp",
                    (0..n)
                        .map(|t| base + rise * t.min(w) as f64 / w as f64)
                        .collect(),
                ),
                8..=14 => (
                    "decelerating",
                    (0..n)
                        .map(|t| {
                            let left = 1.0 - t.min(w) as f64 / w as f64;
                            base + rise * (1.0 - left * left)
                        })
                        .collect(),
                ),
                _ => (
                    "step",
                    (0..n)
                        .map(|t| if t < w { base } else { base + rise })
                        .collect(),
                ),
            };
            (shape, clean, rise / snr)
        }
        Truth::Churn => {
            let level = rng.log_uniform(5.0, 2000.0);
            let amplitude = (level * rng.range(0.2, 0.5)).max(3.0);
            let level = level.max(amplitude);
            let (shape, clean) = churn(&mut rng, n, level, amplitude);
            (shape, clean, amplitude * rng.range(0.0, 0.15))
        }
        Truth::Stable => {
            let level = rng.log_uniform(1.0, 3000.0);
            let sigma = if noise == Noise::None {
                0.0
            } else {
                rng.range(0.0, 0.5) + level * rng.range(0.0, 0.012)
            };
            ("constant", vec![level; n], sigma)
        }
    };
    // The rounding to whole handles is part of the noise budget of a trend or plateau.
    let sigma = match (noise, truth) {
        (Noise::None, _) => 0.0,
        (_, Truth::Leak | Truth::Decline | Truth::Plateau) => {
            (sigma * sigma - 1.0 / 12.0).max(0.0).sqrt()
        }
        _ => sigma,
    };
    let counts = clean
        .iter()
        .map(|value| {
            let mut noisy = value + rng.gaussian() * sigma;
            if noise == Noise::HeavyTailed && rng.uniform() < 0.08 {
                let size = rng.range(3.0, 8.0) * sigma;
                noisy += if rng.below(3) == 0 { size } else { -size };
            }
            noisy.round().max(0.0) as u64
        })
        .collect();
    LabelledSeries {
        id,
        truth,
        shape,
        noise,
        rate_per_cycle,
        sigma,
        counts,
        times,
    }
}

/// A count that moves by ±`amplitude` around `level` without a drift, repeating within the
/// series (at least two periods of any periodic shape fit in it).
fn churn(rng: &mut Rng, n: usize, level: f64, amplitude: f64) -> (&'static str, Vec<f64>) {
    let longest_period = (n / 2).max(2);
    let (shape, clean): (&'static str, Vec<f64>) = match rng.below(4) {
        0 => (
            "pool",
            (0..n)
                .map(|_| level + amplitude * rng.range(-1.0, 1.0))
                .collect(),
        ),
        1 => {
            let step = amplitude * rng.range(0.6, 1.2);
            let mut x = rng.range(-1.0, 1.0) * amplitude;
            let walk = (0..n)
                .map(|_| {
                    x += rng.gaussian() * step;
                    // Reflect at the pool's bounds.
                    while x.abs() > amplitude {
                        x = x.signum() * 2.0 * amplitude - x;
                    }
                    level + x
                })
                .collect();
            ("bounded walk", walk)
        }
        2 => {
            let period = rng.range(2.0, longest_period as f64 + 0.5);
            let phase = rng.range(0.0, std::f64::consts::TAU);
            let wave = (0..n)
                .map(|t| {
                    level + amplitude * (std::f64::consts::TAU * t as f64 / period + phase).sin()
                })
                .collect();
            ("oscillation", wave)
        }
        _ => {
            let period = 2 + rng.below(longest_period - 1);
            let phase = rng.below(period);
            let saw = (0..n)
                .map(|t| {
                    let position = (t + phase) % period;
                    level - amplitude + 2.0 * amplitude * position as f64 / (period - 1) as f64
                })
                .collect();
            ("sawtooth", saw)
        }
    };
    (shape, with_drops(rng, clean, level))
}

/// Half of the churn series also lose 30–60 % of their count now and then (GC-like drops,
/// 10 % of dumps) and are back the next dump.
fn with_drops(rng: &mut Rng, values: Vec<f64>, level: f64) -> Vec<f64> {
    if rng.below(2) == 0 {
        return values;
    }
    values
        .into_iter()
        .map(|value| {
            if rng.uniform() < 0.1 {
                value - level * rng.range(0.3, 0.6)
            } else {
                value
            }
        })
        .collect()
}

/// SplitMix64 with the helpers the corpus needs.
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.state)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }

    fn log_uniform(&mut self, low: f64, high: f64) -> f64 {
        self.range(low.ln(), high.ln()).exp()
    }

    /// Uniform in 0..n (n ≥ 1).
    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize
    }

    /// Standard normal (Box–Muller).
    fn gaussian(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
