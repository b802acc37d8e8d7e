//! Symbol lookups: warm lookups per second through the Symbolizer (SymCache mapped), and the
//! first-use cost of converting the PDB into a SymCache. Run with `cargo bench --bench symbols`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dumpleak::symbols::SymbolConfig;
use std::collections::BTreeMap;
use std::path::Path;

const BASE: u64 = 0x1_8000_0000;

fn fixture() -> dumpleak::snapshot::Snapshot {
    dumpleak::snapshot::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pdb/after.dmp"))
        .expect("fixture")
}

fn config(cache: &Path) -> SymbolConfig {
    SymbolConfig {
        dirs: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pdb")],
        cache_dir: Some(cache.to_path_buf()),
        ..SymbolConfig::default()
    }
}

fn warm_lookups(c: &mut Criterion) {
    let snapshot = fixture();
    let cache = tempfile::tempdir().unwrap();
    let symbolizer = config(cache.path()).symbolizer().unwrap();
    // Every byte of leakylib's code section as a return address.
    let addresses: Vec<u64> = (0x1001..0x10f3).map(|rva| BASE + rva).collect();
    let mut statuses = BTreeMap::new();
    symbolizer.resolve_one(&snapshot, addresses[0], true, &mut statuses);
    let mut group = c.benchmark_group("symbolize");
    group.throughput(Throughput::Elements(addresses.len() as u64));
    group.bench_function(BenchmarkId::new("warm-lookups", addresses.len()), |b| {
        b.iter(|| {
            for &address in &addresses {
                std::hint::black_box(symbolizer.resolve_one(
                    &snapshot,
                    address,
                    true,
                    &mut statuses,
                ));
            }
        })
    });
    group.finish();
}

fn first_use_conversion(c: &mut Criterion) {
    let snapshot = fixture();
    c.bench_function("symbolize/first-use-pdb-to-symcache", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap(),
            |cache| {
                let symbolizer = config(cache.path()).symbolizer().unwrap();
                let mut statuses = BTreeMap::new();
                std::hint::black_box(symbolizer.resolve_one(
                    &snapshot,
                    BASE + 0x1064,
                    true,
                    &mut statuses,
                ));
            },
        )
    });
    c.bench_function("symbolize/first-use-from-disk-cache", |b| {
        let cache = tempfile::tempdir().unwrap();
        let mut statuses = BTreeMap::new();
        config(cache.path()).symbolizer().unwrap().resolve_one(
            &snapshot,
            BASE + 0x1064,
            true,
            &mut statuses,
        );
        b.iter(|| {
            let symbolizer = config(cache.path()).symbolizer().unwrap();
            std::hint::black_box(symbolizer.resolve_one(
                &snapshot,
                BASE + 0x1064,
                true,
                &mut statuses,
            ));
        })
    });
}

criterion_group!(benches, warm_lookups, first_use_conversion);
criterion_main!(benches);
