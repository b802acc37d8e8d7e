#!/usr/bin/env bash
# Builds unwindlib.dll + unwindlib.pdb (x86, CodeView) for the call-frame tests: functions
# built without frame pointers, so the PDB carries FrameData (new FPO) records that
# symbolic-cfi turns into Breakpad STACK WIN records. Reproducible like ../build.sh: a scratch
# dir, relative paths, lld-link /Brepro and fixed /pdbaltpath and /pdbsourcepath.
# Needs clang and lld-link (Debian: apt-get install clang lld). Prints the sha256 of both files
# and records what llvm-pdbutil says about the frame data in frame-data.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/unwindlib.c" "$work/unwindlib.c"
(
  cd "$work"
  "${CLANG:-clang}" --target=i686-pc-windows-msvc -g -gcodeview -O2 -fomit-frame-pointer \
    -ffile-compilation-dir=. -c unwindlib.c -o unwindlib.obj
  "${LLD_LINK:-lld-link}" /dll /noentry /nodefaultlib /machine:x86 /debug /Brepro \
    /pdb:unwindlib.pdb /pdbaltpath:unwindlib.pdb '/pdbsourcepath:C:\build\unwindlib' \
    /base:0x10000000 /out:unwindlib.dll unwindlib.obj >/dev/null
)
cp "$work/unwindlib.dll" "$work/unwindlib.pdb" "$out/"
(cd "$out" && "${PDBUTIL:-llvm-pdbutil}" dump -fpo -summary unwindlib.pdb) > "$out/frame-data.txt"
(cd "$out" && sha256sum unwindlib.dll unwindlib.pdb)
