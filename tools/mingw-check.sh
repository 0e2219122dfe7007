#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Windows portability check with MinGW-w64 (x86_64-w64-mingw32-gcc), as far as this machine allows:
# Debian ships no GLib or libffi built for Windows, so
#   1. every library source compiles for x86_64 Windows (-Werror) against the real GLib and libffi
#      headers, with a Win64 glibconfig.h made from this machine's (tools/mingw/make-glibconfig.py);
#   2. the objects link into libtlslocal-1.dll against stub import libraries of the GLib and libffi
#      functions they call (dlltool), and the DLL's export table is exactly the TL_API functions of
#      the public headers: the export macro does __declspec(dllexport);
#   3. a consumer (examples/request-context.c) compiles through the dllimport side of the macro and
#      links against the DLL's import library.
# Nothing is run (no Windows, no Wine). Usage (the meta suite's `mingw` test):
#   tools/mingw-check.sh SOURCE_ROOT VERSION_HEADER_DIR
# Exit 77 (skipped) when x86_64-w64-mingw32-gcc is missing (Debian: gcc-mingw-w64-x86-64).
set -eu
source_root=$1
version_dir=$2
cross=x86_64-w64-mingw32
command -v $cross-gcc >/dev/null 2>&1 || { echo "$cross-gcc not found: not checked"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

glibconfig=$(pkg-config --variable=libdir glib-2.0)/glib-2.0/include/glibconfig.h
mkdir "$work/include"
python3 "$source_root/tools/mingw/make-glibconfig.py" "$glibconfig" "$work/include/glibconfig.h"
# ffi.h and ffitarget.h select the Win64 ABI from the compiler's own _WIN64, so the host's serve;
# copied alone, since their directory (/usr/include/x86_64-linux-gnu) holds glibc's headers too.
ffi_h=$(echo '#include <ffi.h>' | cc -E -H - 2>&1 >/dev/null | sed -n 's/^\. //p' | head -n 1)
cp "$ffi_h" "$(dirname "$ffi_h")/ffitarget.h" "$work/include/"
cflags="-std=gnu11 -O2 -Wall -Wno-unused-parameter -Werror -DTL_BUILDING_LIBRARY
  -DG_LOG_DOMAIN=\"tlslocal\" -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_68
  -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_68 -I$work/include -I/usr/include/glib-2.0
  -I$version_dir -I$source_root/libtlslocal"

objects=""
for source in "$source_root"/libtlslocal/tl-*.c; do
  object="$work/$(basename "$source" .c).o"
  # shellcheck disable=SC2086 # the flags are meant to split
  $cross-gcc $cflags -c -o "$object" "$source"
  objects="$objects $object"
done
echo "compiled for x86_64 Windows: $(ls "$source_root"/libtlslocal/tl-*.c | wc -l) sources"

# Stub import libraries: the GLib, libffi and winpthreads functions the objects call, by DLL name.
# shellcheck disable=SC2086
# A variable the headers import (__imp_g_ascii_table) is exported as DATA.
undefined=$($cross-nm -u $objects | awk '{print $NF}' | sed 's/^__imp_\(.*\)/\1 DATA/' | sort -u)
{ echo 'LIBRARY "libglib-2.0-0.dll"'; echo "EXPORTS"; echo "$undefined" | grep -E '^(g_|glib_)'; } \
  > "$work/glib.def"
{ echo 'LIBRARY "libffi-8.dll"'; echo "EXPORTS"; echo "$undefined" | grep -E '^ffi_'; } > "$work/ffi.def"
$cross-dlltool -d "$work/glib.def" -l "$work/libglib-2.0.dll.a"
$cross-dlltool -d "$work/ffi.def" -l "$work/libffi.dll.a"
# shellcheck disable=SC2086
$cross-gcc -shared -o "$work/libtlslocal-1.dll" $objects -L"$work" -lglib-2.0 -lffi -pthread \
  -Wl,--no-undefined -Wl,--out-implib,"$work/libtlslocal.dll.a"

python3 - "$work/libtlslocal-1.dll" "$source_root/libtlslocal/tlslocal.h" \
  "$source_root/libtlslocal/tlslocal-glib.h" <<'PY'
import re, subprocess, sys
dll, headers = sys.argv[1], sys.argv[2:]
declared = set()
for header in headers:
    with open(header, encoding="utf-8") as f:
        declared |= set(re.findall(r"\bTL_API\b[^;]*?\b(tl_\w+)\s*\(", f.read(), re.S))
dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", dll], capture_output=True, text=True,
                      check=True).stdout
table = dump[dump.index("[Ordinal/Name Pointer] Table"):]
exported = set(re.findall(r"^\s*\[\s*\d+\]\s+(\S+)$", table, re.M))
problems = [f"exported but not declared: {n}" for n in sorted(exported - declared)]
problems += [f"declared but not exported: {n}" for n in sorted(declared - exported)]
for problem in problems:
    print(problem)
print(f"libtlslocal-1.dll exports {len(exported)} functions, the headers declare {len(declared)}")
sys.exit(1 if problems or len(declared) < 40 else 0)
PY

# The consumer side: TL_API is __declspec(dllimport) without TL_BUILDING_LIBRARY.
# shellcheck disable=SC2086
$cross-gcc -std=gnu11 -Wall -Werror -I$version_dir -I"$source_root/libtlslocal" \
  -o "$work/request-context.exe" "$source_root/examples/request-context.c" \
  -L"$work" -ltlslocal -pthread
echo "consumer linked against the DLL's import library: OK"
