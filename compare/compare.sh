#!/usr/bin/env bash
# dumpleak side by side with the tools users would pick instead, on the same inputs, on this
# machine. Prints a Markdown table of times and ratios (the README's performance table).
#
#   bash compare/compare.sh            # about 5 minutes on 2 cores
#
# Installs what is missing: hyperfine and llvm (llvm-symbolizer) from Debian, skelsec's Python
# `minidump` parser from PyPI (in a venv under target/compare/), minidump-stackwalk from crates.io.
# Inputs are generated into a temporary directory by the fixture generator (not committed):
# two dumps with 100,000 handles and 200,000 trace records, a customer-style dump, sparse
# full-memory twins of both with 6 GiB of memory each, and 1,000 customer-style dumps.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-10}

export PATH="$HOME/.cargo/bin:$PATH"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
apt_install() {
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v hyperfine >/dev/null || apt_install hyperfine
command -v llvm-symbolizer >/dev/null || apt_install llvm
command -v minidump-stackwalk >/dev/null || cargo install minidump-stackwalk --locked -q
venv=target/compare/venv
if ! "$venv/bin/python" -c 'import minidump' 2>/dev/null; then
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q minidump==0.0.24
fi

cargo build --release -q
cargo build --release -q --example symbolize --example parse_handles
cargo build --release -q -p dumpleak-fixtures --bin make-fixtures
dumpleak=$root/target/release/dumpleak

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "generating inputs in $work" >&2
target/release/make-fixtures --large "$work" 6 >&2
target/release/make-fixtures --batch-bench "$work/batch" 1000 >&2
ls "$work"/batch/*.dmp > "$work/batch.txt"
cores=$(nproc)

bench() { # name-of-json, runs, hyperfine arguments...
  local out=$1 n=$2
  shift 2
  hyperfine --style basic --warmup 2 --runs "$n" --export-json "$work/$out.json" "$@" >&2
}

# 1. Handle streams of two 100k-handle dumps: the Python parser only parses them (the
#    HandleDataStream in full, the trace stream's header: it has no parser for the records);
#    dumpleak's diff loads both, reads the later dump's 200,000 trace records too, diffs,
#    attributes the new handles' stacks to modules and writes the report. The parse_handles
#    example does exactly the Python script's work, for a like-for-like figure.
bench handles "$runs" \
  -n python-minidump "$venv/bin/python compare/py_parse_handles.py $work/large-a.dmp $work/large-b.dmp" \
  -n dumpleak-diff "$dumpleak diff $work/large-a.dmp $work/large-b.dmp --format json" \
  -n dumpleak-parse "target/release/examples/parse_handles $work/large-a.dmp $work/large-b.dmp"

# 2. Per-dump processing of 1,000 customer-style dumps: dumpleak batch in one process;
#    minidump-stackwalk --json once per dump (it has no batch mode), as many at a time as
#    cores; and dumpleak once per dump the same way.
bench per-dump 3 \
  -n "dumpleak-batch-jobs-1" "$dumpleak batch $work/batch --jobs 1 -q --format jsonl" \
  -n "dumpleak-batch-jobs-$cores" "$dumpleak batch $work/batch --jobs $cores -q --format jsonl" \
  -n "minidump-stackwalk-P$cores" "xargs -a $work/batch.txt -P $cores -n 1 minidump-stackwalk --json" \
  -n "dumpleak-show-P$cores" "xargs -a $work/batch.txt -P $cores -n 1 $dumpleak show --format json"

# 3. PDB address lookups, 200,000 return addresses in leakylib.dll (real clang/lld-link PDB),
#    read from stdin by both; dumpleak's SymCache is warm, llvm-symbolizer has no cache.
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
rvas = [0x1001 + (i * 7) % 0xf2 for i in range(200_000)]
open(f"{work}/rva.txt", "w").write("".join(f"{hex(r)}\n" for r in rvas))
open(f"{work}/abs.txt", "w").write("".join(f"{hex(r + 0x180000000)}\n" for r in rvas))
PY
echo 0x180001064 | target/release/examples/symbolize testdata/pdb/after.dmp testdata/pdb "$work/symcache" >/dev/null
bench symbols 5 \
  -n dumpleak "target/release/examples/symbolize testdata/pdb/after.dmp testdata/pdb $work/symcache < $work/abs.txt" \
  -n llvm-symbolizer "llvm-symbolizer --obj=testdata/pdb/leakylib.dll --relative-address --inlining < $work/rva.txt"

# 4. Cost follows the streams read, not the file: each dump next to its 6 GiB full-memory twin.
bench sparse "$runs" \
  -n small "$dumpleak show $work/small.dmp --format json" \
  -n small-full-memory "$dumpleak show $work/small-full-memory.dmp --format json" \
  -n large "$dumpleak show $work/large-b.dmp --format json" \
  -n large-full-memory "$dumpleak show $work/large-b-full-memory.dmp --format json"
peak_rss() { # peak resident set of a command, in KiB
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
rss_small=$(peak_rss "$dumpleak" show "$work/small-full-memory.dmp" --format json)
rss_large=$(peak_rss "$dumpleak" show "$work/large-b-full-memory.dmp" --format json)
sizes=$(stat -c '%n %s %b %B' "$work"/*.dmp)

python3 - "$work" "$cores" "$rss_small" "$rss_large" "$sizes" <<'PY'
import json, sys
work, cores = sys.argv[1], int(sys.argv[2])
rss_small, rss_large = int(sys.argv[3]), int(sys.argv[4])
def means(name):
    return {r["command"]: r["median"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
h, p, s, m = means("handles"), means("per-dump"), means("symbols"), means("sparse")
apparent = {}
for line in sys.argv[5].splitlines():
    path, size, blocks, block = line.split()
    apparent[path.rsplit("/", 1)[1]] = (int(size), int(blocks) * int(block))
n = 1000
rows = []
def row(what, ours, theirs, ratio, target, met):
    rows.append(f"| {what} | {ours} | {theirs} | {ratio} | {target} | {'yes' if met else '**no**'} |")
ms = lambda t: f"{t * 1e3:.1f} ms" if t >= 0.01 else f"{t * 1e3:.2f} ms"
r = h["python-minidump"] / h["dumpleak-diff"]
row("`diff` of two dumps with 100k handles and 200k trace records vs parsing their handle streams with Python `minidump` 0.0.24",
    ms(h["dumpleak-diff"]), ms(h["python-minidump"]), f"{r:.0f}×", "≥ 50×", r >= 50)
r = h["python-minidump"] / h["dumpleak-parse"]
rows.append(f"| Same two handle streams, the same parse on both sides (HandleDataStream in full, trace header only) | {ms(h['dumpleak-parse'])} | {ms(h['python-minidump'])} | {r:.0f}× | — | — |")
ours = p[f"dumpleak-batch-jobs-{cores}"] / n
theirs = p[f"minidump-stackwalk-P{cores}"] / n
row(f"Per-dump cost, 1,000 customer dumps, {cores} cores: `dumpleak batch` vs `minidump-stackwalk --json` per dump",
    ms(ours), ms(theirs), f"{theirs / ours:.1f}×", "≥ 3×", theirs / ours >= 3)
show = p[f"dumpleak-show-P{cores}"] / n
rows.append(f"| Same, one `dumpleak show --format json` process per dump (like for like) | {ms(show)} | {ms(theirs)} | {theirs / show:.1f}× | — | — |")
per = lambda t: f"{t / 200_000 * 1e9:.0f} ns"
r = s["llvm-symbolizer"] / s["dumpleak"]
row("PDB lookup per address, 200k return addresses (warm SymCache vs `llvm-symbolizer --inlining`)",
    per(s["dumpleak"]), per(s["llvm-symbolizer"]), f"{r:.1f}×", "≥ 10×", r >= 10)
for small, full, rss in [("small", "small-full-memory", rss_small), ("large", "large-full-memory", rss_large)]:
    name = {"small": "small.dmp", "large": "large-b.dmp"}[small]
    size, disk = apparent[full.replace("large", "large-b") + ".dmp"]
    r = m[full] / m[small]
    mib = lambda b: f"{b / 2**20:.1f} MiB" if b >= 2**20 else f"{b / 1024:.0f} KiB"
    row(f"`show` of a {size / 2**30:.1f} GiB sparse full-memory dump ({mib(disk)} on disk) vs {name} ({mib(apparent[name][0])}), same streams; peak RSS {rss / 1024:.0f} MiB",
        ms(m[full]), ms(m[small]), f"{r:.2f}× the time", "≤ 1.5×, < 100 MiB", r <= 1.5 and rss < 100 * 1024)
one, many = p["dumpleak-batch-jobs-1"], p[f"dumpleak-batch-jobs-{cores}"]
row(f"`batch` of 1,000 dumps, `--jobs {cores}` vs `--jobs 1`", ms(many), ms(one), f"{one / many:.2f}×", "≥ 1.8×", one / many >= 1.8)
print("| Measurement | dumpleak | other | ratio | target | met |")
print("|---|---:|---:|---:|---|---|")
print("\n".join(rows))
PY
