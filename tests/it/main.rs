//! The integration tests, as one test binary (`cargo test --test it`; one module:
//! `cargo test --test it cli::`). Each file directly under `tests/` is a test binary of its
//! own that links the whole library and its dependencies, so the tests live here, in modules
//! of this binary, and build once. Files in subdirectories of `tests/` are not test binaries.
//!
//! Not here: `tests/bounded_memory.rs`, which installs a counting global allocator and has to
//! be alone in its binary (see that file).

mod common;

mod audit_answers;
mod batch;
// Chromium runs on the Linux leg only; the Windows leg (Wine) has no browser.
#[cfg(not(windows))]
mod browser;
mod budgets;
mod cli;
mod conventions;
mod depth;
mod fleet;
mod fleet_audit;
mod fuzz_corpus;
mod golden;
mod hostile;
mod html;
mod injection;
mod locate;
mod notes;
mod output;
mod pasted_logs;
mod series;
mod series_trust;
mod series_verdicts;
mod stores;
mod symbols;
// Pseudo-terminals come from util-linux `script`; Windows has no such thing.
#[cfg(not(windows))]
mod terminal;
mod text_inputs;
mod text_parsers;
mod trend_corpus;
mod trust;
mod unwind;
#[cfg(windows)]
mod windows;
