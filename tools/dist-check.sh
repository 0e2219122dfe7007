#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The release tarball is complete: `meson dist` makes it from the committed tree, then it is
# unpacked, built out of tree and its own whole test suite runs (every suite, the Node one too).
#   tools/dist-check.sh [DIST_DIR]      (default build-dist; ./run test and ./run dist call it)
# The tarball lands in DIST_DIR/meson-dist/, its build in DIST_DIR/unpacked-build, whose
# meson-logs/testlog.json ./run counts.
#
# Not `meson dist`'s own test pass: that one deletes its build directory, and with it the test log.
# koffi, the Node binding's one dependency, comes from the npm registry and is no part of the
# tarball: it is copied from DIST_DIR/bindings/node/node_modules when there (./run dist installs it
# there: no network needed), else the unpacked build's Node tests fetch it as a fresh checkout's
# would, into their own build directory.
# A tree with uncommitted changes is packed anyway (--allow-dirty): the tarball is what is committed.
set -eu
source_root=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$source_root/build-dist}
case "$dist" in /*) ;; *) dist=$PWD/$dist ;; esac

[ -f "$dist/build.ninja" ] || meson setup "$dist" "$source_root" -Dbench=false >/dev/null
rm -rf "$dist/meson-dist" "$dist/unpacked" "$dist/unpacked-build"
meson dist -C "$dist" --no-tests --allow-dirty --formats xztar
tarball=$(ls "$dist"/meson-dist/*.tar.xz)

# Nothing of a build, of an npm install or of Python's caches may be packed.
unwanted=$(tar -tJf "$tarball" | grep -E '/(build[^/]*|node_modules|__pycache__|meson-dist)/|\.(o|so|pyc)$' || true)
if [ -n "$unwanted" ]; then
  echo "the tarball holds build output:"
  echo "$unwanted"
  exit 1
fi

mkdir "$dist/unpacked"
tar -xJf "$tarball" -C "$dist/unpacked"
tree=$(ls -d "$dist"/unpacked/*/)
# With the API reference when Doxygen is there (./run installs it): its `reference` test runs too.
docs=false
command -v doxygen >/dev/null 2>&1 && docs=true
meson setup "$dist/unpacked-build" "$tree" -Ddocs=$docs >/dev/null
if [ -d "$dist/bindings/node/node_modules/koffi" ]; then
  cp -R "$dist/bindings/node/node_modules" "$dist/unpacked-build/bindings/node/"
fi
meson compile -C "$dist/unpacked-build" >/dev/null || meson compile -C "$dist/unpacked-build"
echo "== $(basename "$tarball"): built out of tree; its own tests:"
meson test -C "$dist/unpacked-build" --print-errorlogs
