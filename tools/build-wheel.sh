#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Python platform wheel: the tlslocal package with the built libtlslocal.so.1 inside it, tagged
# for this platform (py3-none-linux_x86_64), written into OUTDIR.
#   tools/build-wheel.sh [LIBRARY [OUTDIR]]
# (defaults: build/libtlslocal/libtlslocal.so.1 and build-wheel; `./run wheel` builds the library
# first, then calls this). Prints the wheel's path last.
#
# It calls the package's own PEP 517 backend (bindings/python/backend) with the config setting
# bundle-library=LIBRARY, as `pip wheel --config-settings bundle-library=LIBRARY` would, without
# needing pip: Debian's python3 has none. Not a manylinux tag: the library needs the system's GLib
# and libffi, which manylinux does not allow a wheel to take from the system.
set -eu
source_root=$(cd "$(dirname "$0")/.." && pwd)
library=${1:-$source_root/build/libtlslocal/libtlslocal.so.1}
outdir=${2:-$source_root/build-wheel}
python=${PYTHON:-python3}

[ -f "$library" ] || { echo "build-wheel.sh: no library at $library (meson compile -C build first)" >&2; exit 1; }
mkdir -p "$outdir"
library=$(cd "$(dirname "$library")" && pwd)/$(basename "$library")
outdir=$(cd "$outdir" && pwd)

# The hook runs in the package's directory, as pip runs it; no bytecode written into the tree.
cd "$source_root/bindings/python"
wheel=$(PYTHONDONTWRITEBYTECODE=1 "$python" -c '
import sys
sys.path.insert(0, "backend")
import tlslocal_backend
print(tlslocal_backend.build_wheel(sys.argv[2], {"bundle-library": sys.argv[1]}))
' "$library" "$outdir")
echo "$outdir/$wheel"
