//! Resolves addresses read from standard input (one hex address per line, absolute) against
//! the modules of a dump, the way `llvm-symbolizer` resolves addresses against an object:
//! used by `compare/compare-symbolizer.sh` to compare the two on the same addresses.
//!
//! `cargo run --release --example symbolize -- DUMP SYMBOL_DIR CACHE_DIR < addresses`

use dumpleak::symbols::SymbolConfig;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dump, symbols, cache] = args.as_slice() else {
        eprintln!("usage: symbolize DUMP SYMBOL_DIR CACHE_DIR < addresses");
        std::process::exit(2);
    };
    let snapshot = dumpleak::snapshot::load(&PathBuf::from(dump)).expect("dump");
    let symbolizer = SymbolConfig {
        dirs: vec![PathBuf::from(symbols)],
        cache_dir: Some(PathBuf::from(cache)),
        ..SymbolConfig::default()
    }
    .symbolizer()
    .expect("symbolizer");
    let mut statuses = BTreeMap::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let text = line.trim().trim_start_matches("0x");
        let Ok(address) = u64::from_str_radix(text, 16) else {
            continue;
        };
        let frame = symbolizer.resolve_one(&snapshot, address, false, &mut statuses);
        for line in frame.lines() {
            writeln!(out, "{line}").expect("stdout");
        }
        writeln!(out).expect("stdout");
    }
}
