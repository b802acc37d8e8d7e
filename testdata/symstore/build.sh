#!/usr/bin/env bash
# Builds the symbol-store fixtures for leakylib.dll / leakylib.pdb (testdata/pdb/, built by
# testdata/pdb/build.sh; run that first if leakylib.c changed):
#
#   testdata/symstore/         SymSrv store: compressed PDB (.pd_ = CAB), plain DLL, Breakpad .sym
#   testdata/symstore-2tier/   two-tier store (index2.txt): le/leakylib.pdb/<id>/leakylib.pdb
#   testdata/symstore-ptr/     leakylib.pdb/<id>/file.ptr -> PATH:testdata/pdb/leakylib.pdb
#
# Needs: gcab (apt package gcab, v1.5) and Mozilla dump_syms (`cargo install dump_syms`,
# v2.3.9). Reproducible: the PDB copy is stamped with a fixed mtime before gcab stores it, so
# the .pd_ is byte-identical across runs; the script checks that the CAB extracts back to the
# identical PDB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
td="$(cd "$here/.." && pwd)"          # testdata/
pdb="$td/pdb"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

GCAB="${GCAB:-gcab}"
DUMP_SYMS="${DUMP_SYMS:-dump_syms}"
READOBJ="${READOBJ:-llvm-readobj}"

# Identities from the DLL: RSDS GUID + age (PDB key), TimeDateStamp + SizeOfImage (image key).
hdr="$("$READOBJ" --file-headers --coff-debug-directory "$pdb/leakylib.dll")"
guid_bytes="$(sed -n 's/.*PDBGUID: (\(.*\))/\1/p' <<<"$hdr" | head -1)"
age="$(sed -n 's/.*PDBAge: \([0-9]*\)/\1/p' <<<"$hdr" | head -1)"
ts="$(sed -n 's/^ *TimeDateStamp: .*(0x\([0-9A-Fa-f]*\)).*/\1/p' <<<"$hdr" | head -1)"
size="$(sed -n 's/^ *SizeOfImage: \([0-9]*\)/\1/p' <<<"$hdr" | head -1)"
read -r -a g <<<"$guid_bytes"
# Data1 (LE u32), Data2 (LE u16), Data3 (LE u16) as integers, then Data4 bytes in order.
pdb_id="${g[3]}${g[2]}${g[1]}${g[0]}${g[5]}${g[4]}${g[7]}${g[6]}${g[8]}${g[9]}${g[10]}${g[11]}${g[12]}${g[13]}${g[14]}${g[15]}$(printf '%x' "$age")"
pdb_id="${pdb_id^^}"
dll_id="$(printf '%08X%x' "0x$ts" "$size")"
echo "pdb id: $pdb_id   dll id: $dll_id"

rm -rf "$here/leakylib.pdb" "$here/leakylib.dll" "$td/symstore-2tier" "$td/symstore-ptr"

# 1. SymSrv store: compressed PDB, plain DLL, Breakpad symbols.
mkdir -p "$here/leakylib.pdb/$pdb_id" "$here/leakylib.dll/$dll_id"
cp "$pdb/leakylib.pdb" "$work/leakylib.pdb"
touch -d '2026-03-02 12:00:00 UTC' "$work/leakylib.pdb"
(cd "$work" && TZ=UTC "$GCAB" -c -z -n leakylib.pd_ leakylib.pdb)
cp "$work/leakylib.pd_" "$here/leakylib.pdb/$pdb_id/leakylib.pd_"
mkdir "$work/x"
"$GCAB" -x -C "$work/x" "$here/leakylib.pdb/$pdb_id/leakylib.pd_"
cmp "$work/x/leakylib.pdb" "$pdb/leakylib.pdb"   # the CAB holds exactly the PDB
cp "$pdb/leakylib.dll" "$here/leakylib.dll/$dll_id/leakylib.dll"
# dump_syms reads the PDB and, next to it, the DLL (for CODE_ID and the x64 unwind info that
# becomes STACK CFI); --inlines adds INLINE_ORIGIN/INLINE records.
(cd "$pdb" && "$DUMP_SYMS" --inlines leakylib.pdb) > "$here/leakylib.pdb/$pdb_id/leakylib.sym"
head -1 "$here/leakylib.pdb/$pdb_id/leakylib.sym" | grep -q "^MODULE windows x86_64 $pdb_id leakylib.pdb$"

# 2. Two-tier store.
mkdir -p "$td/symstore-2tier/le/leakylib.pdb/$pdb_id"
printf '' > "$td/symstore-2tier/index2.txt"
cp "$pdb/leakylib.pdb" "$td/symstore-2tier/le/leakylib.pdb/$pdb_id/leakylib.pdb"

# 3. file.ptr store: the pointer names a path relative to the repository root (real ones hold
#    absolute paths such as PATH:\\server\share\leakylib.pdb); tests resolve it from the repo
#    root (cargo test's working directory).
mkdir -p "$td/symstore-ptr/leakylib.pdb/$pdb_id"
printf 'PATH:testdata/pdb/leakylib.pdb' > "$td/symstore-ptr/leakylib.pdb/$pdb_id/file.ptr"

(cd "$td" && find symstore symstore-2tier symstore-ptr -type f ! -name build.sh | sort | xargs sha256sum)
