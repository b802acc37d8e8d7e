#!/usr/bin/env bash
# Builds leakylib.dll + leakylib.pdb (x64, CodeView) for the dumpleak fixtures, then records
# what llvm-symbolizer / llvm-pdbutil / llvm-objdump say about them.
#
# Reproducible: running it twice gives byte-identical leakylib.dll and leakylib.pdb
# (`sha256sum` printed at the end). How:
#   * the compile runs in a scratch dir on relative paths, with -ffile-compilation-dir=. (the
#     LF_BUILDINFO command line then names only the clang install, e.g. /usr/lib/llvm-14);
#   * lld-link /Brepro (timestamp + PDB GUID derived from a content hash, age 1),
#     /pdbaltpath:leakylib.pdb (the CodeView record names just "leakylib.pdb"),
#     /pdbsourcepath:C:\build\leakylib (every relative path in the PDB is made absolute
#     against this fixed, Windows-looking directory instead of the real cwd).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

CLANG="${CLANG:-clang}"
LLD_LINK="${LLD_LINK:-lld-link}"
OBJDUMP="${OBJDUMP:-llvm-objdump}"
SYMBOLIZER="${SYMBOLIZER:-llvm-symbolizer}"
PDBUTIL="${PDBUTIL:-llvm-pdbutil}"
READOBJ="${READOBJ:-llvm-readobj}"

cp "$here/leakylib.c" "$work/leakylib.c"
(
  cd "$work"
  "$CLANG" --target=x86_64-pc-windows-msvc -g -gcodeview -O1 \
    -ffile-compilation-dir=. \
    -c leakylib.c -o leakylib.obj
  "$LLD_LINK" /dll /noentry /nodefaultlib /machine:x64 /debug /Brepro \
    /pdb:leakylib.pdb /pdbaltpath:leakylib.pdb '/pdbsourcepath:C:\build\leakylib' \
    /base:0x180000000 /out:leakylib.dll leakylib.obj >/dev/null
)
cp "$work/leakylib.dll" "$work/leakylib.pdb" "$out/"

# The call chain's return addresses (RVAs) and one address inside the inlined acquire_slot,
# taken from the disassembly: the instruction after each `call`.
(cd "$out" && "$OBJDUMP" -d --no-show-raw-insn leakylib.dll | grep -v '^leakylib.dll:') > "$out/disasm.txt"
ret_after_call() { # ret_after_call <regex of the call line> -> RVA hex of the next instruction
  local va
  va="$(awk -v pat="$1" '
    found && /^ *18[0-9a-f]+:/ { sub(":", "", $1); print $1; exit }
    $0 ~ pat { found = 1 }' "$out/disasm.txt")"
  [ -n "$va" ] && printf '0x%x\n' $((0x$va - 0x180000000))
}
{
  echo "# llvm-symbolizer --obj=leakylib.dll --inlining --relative-address (reads leakylib.pdb"
  echo "# through the DLL's CodeView record). One block per address: ADDRESS <rva>, then the"
  echo "# frames innermost first, each as a FUNCTION line and a FILE:LINE:COLUMN line."
  echo "# 0x10bb 0x1064 0x102d are the return addresses of the call chain, 0x109c lies in the"
  echo "# inlined acquire_slot (the crash address of pdb/crash.dmp), 0x10ba 0x1063 0x102c are the"
  echo "# return addresses minus 1 (the call sites)."
} > "$out/symbolizer-expected.txt"
addrs=(
  "$(ret_after_call 'callq[[:space:]]+\*%rax')"           # open_pool (inlined acquire_slot) after call [imp_CreateEventW]
  "$(ret_after_call 'callq.*<LeakySessionCount\+0x10>')"  # session_init after call open_pool
  "$(ret_after_call 'callq.*<LeakyOpenSession\+0x30>')"   # LeakyOpenSession after call session_init
  "0x109c"                                                # inside inlined acquire_slot: mov ebx, [rcx+0x100]
)
# The same return addresses minus 1 (inside the call instruction: what a symbolizer should look
# up for a caller frame, so the line is the call's line, not the next statement's).
for i in 0 1 2; do addrs+=("$(printf '0x%x' $((${addrs[$i]} - 1)))"); done
for a in "${addrs[@]}"; do
  [ -n "$a" ] || { echo "build.sh: could not find a call in the disassembly" >&2; exit 1; }
  echo "ADDRESS $a" >> "$out/symbolizer-expected.txt"
  (cd "$out" && "$SYMBOLIZER" --obj=leakylib.dll --inlining --relative-address "$a") \
    | sed '/^$/d' >> "$out/symbolizer-expected.txt"
done

{
  echo "# llvm-pdbutil dump -summary leakylib.pdb"
  (cd "$out" && "$PDBUTIL" dump -summary leakylib.pdb)
  echo "# llvm-readobj --coff-debug-directory --file-headers leakylib.dll (excerpt)"
  (cd "$out" && "$READOBJ" --coff-debug-directory --file-headers --coff-exports leakylib.dll) \
    | grep -E 'TimeDateStamp|SizeOfImage|ImageBase|PDBSignature|PDBGUID|PDBAge|PDBFileName|Name:|RVA:'
} > "$out/pdb-info.txt"

rm -f "$out/disasm.txt"
(cd "$out" && "$OBJDUMP" -d --no-show-raw-insn leakylib.dll | grep -v '^leakylib.dll:') > "$out/leakylib.disasm.txt"
(cd "$out" && sha256sum leakylib.dll leakylib.pdb)
