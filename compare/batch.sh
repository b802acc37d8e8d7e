#!/usr/bin/env bash
# Batch throughput: N generated customer-style dumps (not committed; built by the fixture
# generator), `dumpleak batch` with --jobs 1 and with all cores, and the per-dump cost next to
# `minidump-stackwalk --json` (rust-minidump's processor) on the same dumps. Installs hyperfine
# (Debian) and minidump-stackwalk (crates.io) when missing. Prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
SAMPLE=${SAMPLE:-100}

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
command -v minidump-stackwalk >/dev/null || cargo install minidump-stackwalk --locked -q
cargo build --release -q
cargo build --release -q -p dumpleak-fixtures --bin make-fixtures

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/make-fixtures --batch-bench "$work/dumps" "$N" >/dev/null
ls "$work/dumps" | sed -n "1,${SAMPLE}p" | sed "s|^|$work/dumps/|" > "$work/sample.txt"
cores=$(nproc)

hyperfine --warmup 2 --runs 10 --export-json "$work/batch.json" \
  -n jobs-1 "target/release/dumpleak batch $work/dumps --jobs 1 -q --format jsonl > /dev/null || true" \
  -n "jobs-$cores" "target/release/dumpleak batch $work/dumps --jobs $cores -q --format jsonl > /dev/null || true" >&2

# Per-dump cost, one process per dump for both tools (the way a job runner calls them).
hyperfine --warmup 1 --runs 3 --export-json "$work/per-dump.json" \
  -n dumpleak-show "xargs -a $work/sample.txt -n 1 target/release/dumpleak show --format json > /dev/null" \
  -n minidump-stackwalk "xargs -a $work/sample.txt -n 1 minidump-stackwalk --json > /dev/null 2>&1" >&2

python3 - "$work/batch.json" "$work/per-dump.json" "$N" "$SAMPLE" "$cores" <<'PY'
import json, sys
batch = {r["command"]: r["mean"] for r in json.load(open(sys.argv[1]))["results"]}
per = {r["command"]: r["mean"] for r in json.load(open(sys.argv[2]))["results"]}
n, sample, cores = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
one, many = batch["jobs-1"], batch[f"jobs-{cores}"]
print(f"batch of {n} dumps, --jobs 1:      {one:7.2f} s  {n / one:8.0f} dumps/s")
print(f"batch of {n} dumps, --jobs {cores}:      {many:7.2f} s  {n / many:8.0f} dumps/s  (speed-up {one / many:.2f}x)")
d, m = per["dumpleak-show"] / sample, per["minidump-stackwalk"] / sample
print(f"per dump, one process each: dumpleak show --format json {d * 1e3:6.2f} ms, minidump-stackwalk --json {m * 1e3:6.2f} ms  (ratio {m / d:.2f}x)")
print(f"per dump inside one batch run (--jobs 1): {one / n * 1e3:.2f} ms")
PY
