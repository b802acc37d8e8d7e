#!/usr/bin/env bash
# Compares dumpleak's PDB lookups with llvm-symbolizer on the same PDB and addresses:
# N addresses spread over leakylib.dll's code (testdata/pdb), both tools reading the list from
# stdin, warm (dumpleak's SymCache already built; llvm-symbolizer has no persistent cache).
# Prints the time per address of each and the ratio. Needs llvm-symbolizer (Debian: llvm)
# and hyperfine (Debian: hyperfine); installs them when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}

if ! command -v llvm-symbolizer >/dev/null || ! command -v hyperfine >/dev/null; then
  apt-get update -qq && apt-get install -y -qq llvm hyperfine >/dev/null
fi
cargo build --release --example symbolize -q

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$N" "$work" <<'PY'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
rvas = [0x1001 + (i * 7) % 0xf2 for i in range(n)]
open(f"{work}/rva.txt", "w").write("".join(f"{hex(r)}\n" for r in rvas))
open(f"{work}/abs.txt", "w").write("".join(f"{hex(r + 0x180000000)}\n" for r in rvas))
PY

# Warm dumpleak's cache once.
echo 0x180001064 | target/release/examples/symbolize testdata/pdb/after.dmp testdata/pdb "$work/cache" >/dev/null

hyperfine --warmup 1 --runs 5 --export-json "$work/times.json" \
  -n dumpleak "target/release/examples/symbolize testdata/pdb/after.dmp testdata/pdb $work/cache < $work/abs.txt > /dev/null" \
  -n llvm-symbolizer "llvm-symbolizer --obj=testdata/pdb/leakylib.dll --relative-address --inlining < $work/rva.txt > /dev/null" >&2

python3 - "$work/times.json" "$N" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
t = {r["command"]: r["mean"] for r in data["results"]}
d, l = t["dumpleak"], t["llvm-symbolizer"]
print(f"addresses: {n}")
print(f"dumpleak        {d:8.3f} s  {d / n * 1e9:8.0f} ns/address")
print(f"llvm-symbolizer {l:8.3f} s  {l / n * 1e9:8.0f} ns/address")
print(f"ratio: dumpleak is {l / d:.1f}x faster per address")
PY
