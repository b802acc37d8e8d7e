//! The pipeline on large generated inputs (built once per run in a temporary directory by
//! `dumpleak-fixtures`, never committed): loading a snapshot, the diff of two dumps with
//! 100,000 handles and 200,000 trace records (and writing its JSON report), a million frames through the symbolizer with a
//! warm cache, a batch of 1,000 customer-style dumps on one thread and on all cores, and a
//! series of 2 and 12 dumps of 100,000 handles.
//!
//! `cargo bench --bench pipeline` (about two minutes); `compare/compare.sh` times the same
//! inputs side by side with the tools users would pick instead. Needs the `crash` feature (on
//! by default): the batch timings include walking crash stacks, as the CLI's do.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dumpleak::analysis::DiffOptions;
use dumpleak::symbols::{SymbolConfig, Symbolizer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Inputs shared by every benchmark of the run.
struct Inputs {
    _dir: tempfile::TempDir,
    large_a: PathBuf,
    large_b: PathBuf,
    small: PathBuf,
    small_full: PathBuf,
    large_full: PathBuf,
    batch: Vec<PathBuf>,
}

const BATCH_DUMPS: u32 = 1_000;

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let written = dumpleak_fixtures::large::write_large(dir.path(), 6).expect("large inputs");
        let path = |name: &str| {
            written
                .iter()
                .map(|(path, _)| path.clone())
                .find(|path| path.ends_with(name))
                .expect("written")
        };
        let batch_dir = dir.path().join("batch");
        dumpleak_fixtures::batch::write_bench(&batch_dir, BATCH_DUMPS).expect("batch dumps");
        let batch = dumpleak::collect_inputs(&[batch_dir], dumpleak::InputWalk::default())
            .expect("batch files");
        Inputs {
            large_a: path("large-a.dmp"),
            large_b: path("large-b.dmp"),
            small: path("small.dmp"),
            small_full: path("small-full-memory.dmp"),
            large_full: path("large-b-full-memory.dmp"),
            batch,
            _dir: dir,
        }
    })
}

fn load(c: &mut Criterion) {
    let inputs = inputs();
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    for (name, path) in [
        ("100k-handles-200k-records", &inputs.large_b),
        ("customer-dump", &inputs.small),
        ("customer-dump-6GiB-full-memory", &inputs.small_full),
        ("100k-handles-6GiB-full-memory", &inputs.large_full),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| dumpleak::snapshot::load(path).expect("loads"))
        });
    }
    // As `diff` reads the later dump: the trace records left in the dump, scanned in place in
    // one part per core (copied in chunks), no object information kept.
    let lazy = dumpleak::snapshot::LoadOptions {
        lazy_trace_stacks: true,
        skip_object_info: true,
        ..Default::default()
    };
    group.bench_function("100k-handles-200k-records-trace-in-place", |b| {
        b.iter(|| dumpleak::snapshot::load_with(&inputs.large_b, &lazy).expect("loads"))
    });
    group.finish();
}

fn diff(c: &mut Criterion) {
    let inputs = inputs();
    let symbolizer = Symbolizer::default();
    let options = DiffOptions::default();
    let mut group = c.benchmark_group("diff");
    group.sample_size(20);
    // Both dumps loaded with compact handle tables, the later one's trace scanned in place.
    group.bench_function("100k-handles-200k-records", |b| {
        b.iter(|| {
            dumpleak::diff_files(&inputs.large_a, &inputs.large_b, &symbolizer, &options)
                .expect("diff")
        })
    });
    // Writing that diff's report as JSON (3,000 new handles with their stacks, 2 MB), as
    // `diff --format json` does after the comparison.
    let report = dumpleak::diff_files(&inputs.large_a, &inputs.large_b, &symbolizer, &options)
        .expect("diff");
    group.bench_function("100k-handles-200k-records-json-report", |b| {
        b.iter(|| dumpleak::report::write_json(&report, std::io::sink()).expect("writes"))
    });
    group.finish();
}

const FRAMES: usize = 1_000_000;

fn symbolize(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let snapshot = dumpleak::snapshot::load(&root.join("testdata/pdb/after.dmp")).expect("fixture");
    let cache = tempfile::tempdir().expect("cache");
    let symbolizer = SymbolConfig {
        dirs: vec![root.join("testdata/pdb")],
        cache_dir: Some(cache.path().to_path_buf()),
        ..SymbolConfig::default()
    }
    .symbolizer()
    .expect("symbolizer");
    // Return addresses spread over leakylib.dll's code (PDB, inline frames), one frame each.
    const BASE: u64 = 0x1_8000_0000;
    let frames: Vec<u64> = (0..FRAMES as u64)
        .map(|i| BASE + 0x1001 + (i * 7) % 0xf2)
        .collect();
    let mut statuses = BTreeMap::new();
    symbolizer.resolve_one(&snapshot, frames[0], true, &mut statuses);
    let mut group = c.benchmark_group("symbolize");
    group.sample_size(10);
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function(BenchmarkId::new("warm-pdb-frames", FRAMES), |b| {
        b.iter(|| {
            for &address in &frames {
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

fn batch(c: &mut Criterion) {
    let inputs = inputs();
    let symbolizer = Symbolizer::default();
    let load = dumpleak::snapshot::LoadOptions::default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(BATCH_DUMPS)));
    for jobs in [1, cores] {
        let options = dumpleak::BatchOptions {
            jobs: Some(jobs),
            ..Default::default()
        };
        group.bench_function(BenchmarkId::new("jobs", jobs), |b| {
            b.iter(|| {
                dumpleak::batch_files(&inputs.batch, &load, &symbolizer, &options, &|_| {})
                    .expect("batch")
            })
        });
    }
    group.finish();
}

/// `series` of 2 and 12 dumps of 100,000 handles (hard links taking the two large dumps in
/// turn): the time grows with the number of dumps, the memory does not (each dump is kept as
/// a digest and its handles' keys; `compare/compare.sh` measures the peak RSS).
fn series(c: &mut Criterion) {
    let inputs = inputs();
    let symbolizer = Symbolizer::default();
    let load = dumpleak::snapshot::LoadOptions::default();
    let options = dumpleak::analysis::SeriesOptions::default();
    let mut group = c.benchmark_group("series");
    group.sample_size(10);
    for dumps in [2, 12] {
        let dir = inputs.large_a.with_file_name(format!("series-{dumps}"));
        if !dir.exists() {
            std::fs::create_dir(&dir).expect("series directory");
            for index in 0..dumps {
                let source = [&inputs.large_a, &inputs.large_b][index % 2];
                std::fs::hard_link(source, dir.join(format!("d{index:02}.dmp")))
                    .or_else(|_| {
                        std::fs::copy(source, dir.join(format!("d{index:02}.dmp"))).map(drop)
                    })
                    .expect("series dump");
            }
        }
        group.throughput(Throughput::Elements(dumps as u64));
        group.bench_function(BenchmarkId::new("100k-handle-dumps", dumps), |b| {
            b.iter(|| {
                dumpleak::series_files(
                    std::slice::from_ref(&dir),
                    &load,
                    &symbolizer,
                    &options,
                    &|| {},
                )
                .expect("series")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, load, diff, symbolize, batch, series);
criterion_main!(benches);
