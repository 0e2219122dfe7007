#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Record the ABI baseline abi/libtlslocal.so.1.abi from a build (default: build-abi, set up when
# missing), on purpose: after adding functions in a new version node, or before the first release.
# Commit the new baseline with the change. The meta suite's `abi` test compares every build with it.
#   tools/abi-update.sh [BUILD_DIR]
set -eu
source_root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$source_root/build-abi}
[ -f "$build/build.ninja" ] || meson setup "$build" "$source_root" >/dev/null
buildtype=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json, sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["debug"])')
[ "$buildtype" = True ] || { echo "$build is not a -g build (meson configure -Ddebug=true)" >&2; exit 1; }
meson compile -C "$build" tlslocal >/dev/null
library=$(find "$build/libtlslocal" -maxdepth 1 -name 'libtlslocal.so.1' | head -n 1)
exec python3 "$source_root/tools/abi-check.py" --update "$library" \
  "$source_root/abi/libtlslocal.so.1.abi" \
  "$source_root/libtlslocal/tlslocal.h" "$source_root/libtlslocal/tlslocal-glib.h" \
  "$build/libtlslocal/tlslocal-version.h"
