#!/usr/bin/env bash
# dumpleak side by side with the tools users would pick instead, and with itself at scale, on
# the same inputs, on this machine. Prints a Markdown table of times and ratios, one row per
# goal with its target and whether it is met (docs/performance.md).
#
#   bash compare/compare.sh            # about 5 minutes on 2 cores once built (BATCH_SCALE=100000)
#   BATCH_SCALE=10000 bash compare/compare.sh   # the large batch row with fewer dumps
#
# Installs what is missing: hyperfine and llvm (llvm-symbolizer) from Debian, skelsec's Python
# `minidump` parser from PyPI (in a venv under target/compare/). minidump-stackwalk is used when
# installed (`cargo install minidump-stackwalk --locked`); without it its rows are skipped.
# Inputs are generated into a temporary directory by the fixture generator (not committed):
# two dumps with 100,000 handles and 200,000 trace records, a customer-style dump, sparse
# full-memory twins of both with 6 GiB of memory each, 5,000 customer-style dumps, and
# BATCH_SCALE (default 100,000) small dumps. The series rows use 2, 12 and 24 hard links that
# alternate between the two 100k-handle dumps (no extra disk).
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
stackwalk=yes
if ! command -v minidump-stackwalk >/dev/null; then
  stackwalk=no
  echo "minidump-stackwalk is not installed: its rows are skipped (install it with \`cargo install minidump-stackwalk --locked\`)" >&2
fi
venv=target/compare/venv
if ! "$venv/bin/python" -c 'import minidump' 2>/dev/null; then
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q minidump==0.0.24
fi

cargo build --release -q
cargo build --release -q --example symbolize --example parse_handles
cargo build --release -q -p dumpleak-fixtures --bin make-fixtures
target=${CARGO_TARGET_DIR:-target}
dumpleak=$root/$target/release/dumpleak
[ -x "$dumpleak" ] || dumpleak=$target/release/dumpleak
make_fixtures=${dumpleak%/dumpleak}/make-fixtures
examples=${dumpleak%/dumpleak}/examples
batch_dumps=${BATCH_DUMPS:-5000}
batch_scale=${BATCH_SCALE:-100000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "generating inputs in $work" >&2
$make_fixtures --large "$work" 6 >&2
$make_fixtures --batch-bench "$work/batch" "$batch_dumps" >&2
# (no `ls | head`: head closing the pipe early fails the script under pipefail)
ls "$work"/batch/*.dmp > "$work/batch-all.txt"
sed -n 1,1000p "$work/batch-all.txt" > "$work/batch.txt"
for n in 2 12 24; do # series of n 100k-handle dumps: hard links, a and b in turn
  mkdir -p "$work/series-$n"
  for i in $(seq 1 "$n"); do
    source=$work/large-a.dmp; [ $((i % 2)) = 0 ] && source=$work/large-b.dmp
    ln "$source" "$(printf '%s/series-%s/d%02d.dmp' "$work" "$n" "$i")"
  done
done
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
  -n cat "cat $work/large-a.dmp $work/large-b.dmp" \
  -n dumpleak-diff "$dumpleak diff $work/large-a.dmp $work/large-b.dmp --format json" \
  -n dumpleak-parse "$examples/parse_handles $work/large-a.dmp $work/large-b.dmp"

# 2. Per-dump processing of 1,000 customer-style dumps: dumpleak batch in one process;
#    minidump-stackwalk --json once per dump (it has no batch mode), as many at a time as
#    cores; and dumpleak once per dump the same way.
#    The batch itself runs on all $batch_dumps dumps (per-dump figures divide by that).
stackwalk_args=()
[ "$stackwalk" = yes ] && stackwalk_args=(-n "minidump-stackwalk-P$cores" "xargs -a $work/batch.txt -P $cores -n 1 minidump-stackwalk --json")
bench per-dump 3 \
  -n "dumpleak-batch-jobs-$cores" "$dumpleak batch $work/batch --jobs $cores -q --format jsonl" \
  "${stackwalk_args[@]}" \
  -n "dumpleak-show-P$cores" "xargs -a $work/batch.txt -P $cores -n 1 $dumpleak show --format json"

# The --jobs ratio on its own, with as many runs as the other short rows (3 runs of the group
# above are too few for a ratio of two runs of 0.2-0.4 s).
bench batch-jobs "$runs" \
  -n "dumpleak-batch-jobs-1" "$dumpleak batch $work/batch --jobs 1 -q --format jsonl" \
  -n "dumpleak-batch-jobs-$cores" "$dumpleak batch $work/batch --jobs $cores -q --format jsonl"

# 3. PDB address lookups, 200,000 return addresses in leakylib.dll (real clang/lld-link PDB),
#    read from stdin by both; dumpleak's SymCache is warm, llvm-symbolizer has no cache.
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
rvas = [0x1001 + (i * 7) % 0xf2 for i in range(200_000)]
open(f"{work}/rva.txt", "w").write("".join(f"{hex(r)}\n" for r in rvas))
open(f"{work}/abs.txt", "w").write("".join(f"{hex(r + 0x180000000)}\n" for r in rvas))
PY
echo 0x180001064 | $examples/symbolize testdata/pdb/after.dmp testdata/pdb "$work/symcache" >/dev/null
bench symbols 5 \
  -n dumpleak "$examples/symbolize testdata/pdb/after.dmp testdata/pdb $work/symcache < $work/abs.txt" \
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

# 5. Series memory and time: peak RSS (median of 3) of a series of 2, 12 and 24 dumps of
#    100k handles; the time of 2 and 24.
median_rss() {
  for _ in 1 2 3; do peak_rss "$@"; done | sort -n | sed -n 2p
}
series_rss=""
for n in 2 12 24; do
  series_rss="$series_rss $(median_rss "$dumpleak" series "$work/series-$n" --format json)"
done
bench series 3 \
  -n series-2 "$dumpleak series $work/series-2 --format json" \
  -n series-24 "$dumpleak series $work/series-24 --format json"

# 6. show of the 100k-handle dump next to minidump-stackwalk --json on it.
show_args=(-n dumpleak-show "$dumpleak show $work/large-b.dmp --format json")
[ "$stackwalk" = yes ] && show_args+=(-n minidump-stackwalk "minidump-stackwalk --json $work/large-b.dmp")
bench show "$runs" "${show_args[@]}"

# 7. A batch of BATCH_SCALE small dumps, JSON Lines, all cores: time and peak RSS. The dumps
#    replace the others on disk (about 45 KB each).
rm -rf "$work"/large-*-full-memory.dmp "$work"/small-full-memory.dmp
$make_fixtures --batch-bench "$work/scale" "$batch_scale" >&2
read -r scale_time scale_rss < <(python3 -c 'import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
  "$dumpleak" batch "$work/scale" -q --format jsonl)
rm -rf "$work/scale"

python3 - "$work" "$cores" "$rss_small" "$rss_large" "$sizes" "$batch_dumps" "$series_rss" "$batch_scale" "$scale_time" "$scale_rss" "$stackwalk" <<'PY'
import json, sys
work, cores = sys.argv[1], int(sys.argv[2])
rss_small, rss_large = int(sys.argv[3]), int(sys.argv[4])
batch_dumps = int(sys.argv[6])
rss_2, rss_12, rss_24 = (int(v) for v in sys.argv[7].split())
batch_scale, scale_time, scale_rss = int(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10])
stackwalk = sys.argv[11] == "yes"
def means(name):
    return {r["command"]: r["median"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
h, p, s, m = means("handles"), means("per-dump"), means("symbols"), means("sparse")
se, sh = means("series"), means("show")
apparent = {}
for line in sys.argv[5].splitlines():
    path, size, blocks, block = line.split()
    apparent[path.rsplit("/", 1)[1]] = (int(size), int(blocks) * int(block))
n = batch_dumps
rows = []
def row(what, ours, theirs, ratio, target, met):
    rows.append(f"| {what} | {ours} | {theirs} | {ratio} | {target} | {'yes' if met else '**no**'} |")
ms = lambda t: f"{t * 1e3:.1f} ms" if t >= 0.01 else f"{t * 1e3:.2f} ms"
r = h["python-minidump"] / h["dumpleak-diff"]
row("`diff` of two dumps with 100k handles and 200k trace records vs parsing their handle streams with Python `minidump` 0.0.24",
    ms(h["dumpleak-diff"]), ms(h["python-minidump"]), f"{r:.0f}×", "≥ 50×", r >= 50)
r = h["dumpleak-diff"] / h["cat"]
row("`diff` of the same pair vs reading both files (`cat a b > /dev/null`)",
    ms(h["dumpleak-diff"]), ms(h["cat"]), f"{r:.2f}× the time", "≤ 1.5×", r <= 1.5)
r = h["python-minidump"] / h["dumpleak-parse"]
rows.append(f"| Same two handle streams, the same parse on both sides (HandleDataStream in full, trace header only) | {ms(h['dumpleak-parse'])} | {ms(h['python-minidump'])} | {r:.0f}× | — | — |")
ours = p[f"dumpleak-batch-jobs-{cores}"] / n
show = p[f"dumpleak-show-P{cores}"] / 1000
skipped = "skipped: minidump-stackwalk is not installed (`cargo install minidump-stackwalk --locked`)"
if stackwalk:
    theirs = p[f"minidump-stackwalk-P{cores}"] / 1000
    row(f"Per-dump cost, {n:,} customer dumps, {cores} cores: `dumpleak batch` vs `minidump-stackwalk --json` per dump (1,000 of them)",
        ms(ours), ms(theirs), f"{theirs / ours:.1f}×", "≥ 3×", theirs / ours >= 3)
    rows.append(f"| Same, one `dumpleak show --format json` process per dump (like for like) | {ms(show)} | {ms(theirs)} | {theirs / show:.1f}× | — | — |")
else:
    rows.append(f"| Per-dump cost, `dumpleak batch` vs `minidump-stackwalk --json` | {ms(ours)} | — | — | ≥ 3× | {skipped} |")
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
jobs = means("batch-jobs")
one, many = jobs["dumpleak-batch-jobs-1"], jobs[f"dumpleak-batch-jobs-{cores}"]
row(f"`batch` of {n:,} dumps, `--jobs {cores}` vs `--jobs 1` (JSON Lines)", ms(many), ms(one), f"{one / many:.2f}×", "≥ 1.8×", one / many >= 1.8)
r = rss_12 / rss_2
row(f"`series` of 12 dumps of 100k handles vs 2: peak RSS", f"{rss_12 / 1024:.0f} MiB", f"{rss_2 / 1024:.0f} MiB", f"{r:.2f}×", "≤ 2×", r <= 2)
per_dump = (rss_24 - rss_2) / 22
rows.append(f"| `series` of 24 dumps of 100k handles: time, peak RSS (vs 2 dumps: {ms(se['series-2'])}, {rss_2 / 1024:.0f} MiB; {per_dump:.0f} KiB more per dump) | {ms(se['series-24'])}, {rss_24 / 1024:.0f} MiB | — | {se['series-24'] / se['series-2']:.1f}× the time of 2 | — | — |")
rows.append(f"| `batch` of {batch_scale:,} small dumps, {cores} cores, JSON Lines: time, peak RSS | {scale_time:.1f} s, {scale_rss / 1024:.0f} MiB | — | {scale_time / batch_scale * 1e3:.2f} ms a dump | — | — |")
if stackwalk:
    r = sh["minidump-stackwalk"] / sh["dumpleak-show"]
    row("`show` of the 100k-handle dump vs `minidump-stackwalk --json`", ms(sh["dumpleak-show"]), ms(sh["minidump-stackwalk"]), f"{r:.1f}×", "≥ 5×", r >= 5)
else:
    rows.append(f"| `show` of the 100k-handle dump vs `minidump-stackwalk --json` | {ms(sh['dumpleak-show'])} | — | — | ≥ 5× | {skipped} |")
print("| Measurement | dumpleak | other | ratio | target | met |")
print("|---|---:|---:|---:|---|---|")
print("\n".join(rows))
PY
