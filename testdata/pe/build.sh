#!/usr/bin/env bash
# Builds the export-only 32-bit PE DLLs used by the dumpleak fixtures.
# Reproducible: fixed /timestamp, no PDB, no debug directory, objects built from .s files
# (clang writes a zero COFF timestamp). Run twice and compare with sha256sum.
#
# Every exported function is a 0x600-byte block of int3 (0xCC), laid out in the order the
# .s file lists them, so every return address used by the fixtures (export + offset < 0x600)
# resolves to exactly that export under a nearest-preceding-export lookup.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../incident/images}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

CLANG="${CLANG:-clang}"
LLD_LINK="${LLD_LINK:-lld-link}"
READOBJ="${READOBJ:-llvm-readobj}"

# name  source-stem  base        timestamp
dlls=(
  "ntdll.dll        ntdll       0x7C900000  0x411096B4"
  "kernel32.dll     kernel32    0x7C800000  0x411096B8"
  "MSMAPI32.DLL     msmapi32    0x35F00000  0x42435B8E"
  "MapiHelper.dll   mapihelper  0x10000000  0x5F3A2C10"
)

# Generate an assembly file: one 0x600-byte function per export, in .def order.
gen_asm() {
  local def="$1" asm="$2"
  {
    echo '    .text'
    awk 'f && NF { print $1 } /^EXPORTS/ { f = 1 }' "$def" | while read -r sym; do
      echo "    .globl _${sym}"
      echo "    .p2align 4, 0xcc"
      echo "_${sym}:"
      echo "    .fill 0x600, 1, 0xcc"
    done
  } > "$asm"
}

: > "$out/exports.txt"
for entry in "${dlls[@]}"; do
  read -r name stem base ts <<<"$entry"
  gen_asm "$here/$stem.def" "$work/$stem.s"
  "$CLANG" --target=i686-pc-windows-msvc -c "$work/$stem.s" -o "$work/$stem.obj"
  "$LLD_LINK" /dll /noentry /nodefaultlib /machine:x86 /safeseh:no \
    "/timestamp:$ts" "/base:$base" "/def:$here/$stem.def" \
    "/out:$work/$name" "$work/$stem.obj" >/dev/null
  cp "$work/$name" "$out/$name"
  {
    echo "===== $name (base $base, timestamp $ts)"
    (cd "$out" && "$READOBJ" --coff-exports --file-headers "$name") | grep -v '^File:'
    echo
  } >> "$out/exports.txt"
done
(cd "$out" && sha256sum ntdll.dll kernel32.dll MSMAPI32.DLL MapiHelper.dll)
