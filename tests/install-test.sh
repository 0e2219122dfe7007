#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install into a temporary prefix, then build and run a consumer through `pkg-config tlslocal` only,
# and check it loads the installed libtlslocal.so.1, not the build tree's. Then load the bindings
# from that prefix only: the Python package `meson install` put there (which finds the library
# through the relative path it recorded), and the Node package as `npm pack` makes it (which finds
# the library through LD_LIBRARY_PATH=<prefix libdir>, as a user of a non-default prefix would
# set); each must map the installed library and no other. The Python package is checked when the
# build installs it (TLSLOCAL_CHECK_PYTHON=1: -Dpython), the Node package with the Node tests
# (TLSLOCAL_CHECK_NODE=1: -Dnode), with the koffi they install into <build>/bindings/node.
set -eu
build_root=$1
source_root=$2
cc=${CC:-cc}
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

meson install -C "$build_root" --destdir "$staging" --no-rebuild --quiet
pc_file=$(find "$staging" -name tlslocal.pc | head -n 1)
[ -n "$pc_file" ] || { echo "tlslocal.pc was not installed"; exit 1; }
# Relocate the .pc to the staging prefix, as a packager's install would be; GLib's own .pc stays.
prefix=$(sed -n 's/^prefix=//p' "$pc_file")
mkdir "$staging/pc"
sed "s|^prefix=.*|prefix=$staging$prefix|" "$pc_file" > "$staging/pc/tlslocal.pc"
export PKG_CONFIG_PATH="$staging/pc"
flags=$(pkg-config --cflags --libs tlslocal)
echo "pkg-config --cflags --libs tlslocal: $flags"

# shellcheck disable=SC2086 # the flags are meant to split
"$cc" -o "$staging/consumer" "$source_root/examples/request-context.c" $flags -pthread
libdir=$(dirname "$(find "$staging" -name libtlslocal.so.1 | head -n 1)")
soname=$(readelf -d "$libdir/libtlslocal.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libtlslocal.so.1 ] || { echo "SONAME is '$soname'"; exit 1; }
resolved=$(LD_LIBRARY_PATH="$libdir" ldd "$staging/consumer" | awk '/libtlslocal/ {print $3}')
case "$resolved" in
  "$staging"/*) ;;
  *) echo "consumer resolved libtlslocal to '$resolved', not the installed copy"; exit 1 ;;
esac
LD_LIBRARY_PATH="$libdir" "$staging/consumer" > "$staging/out.txt"
grep -q 'req-2  linus' "$staging/out.txt"
grep -q 'alive after the workers ended: 0' "$staging/out.txt"
echo "installed consumer ran: OK"

# Nothing that points at the source or build tree: no TLSLOCAL_LIBRARY, PYTHONPATH or NODE_PATH.
unset TLSLOCAL_LIBRARY PYTHONPATH NODE_PATH LD_LIBRARY_PATH
installed_lib=$(readlink -f "$libdir/libtlslocal.so.1")
cd "$staging"

python=${PYTHON:-python3}
package=$(find "$staging" -path '*/tlslocal/_ffi.py' | head -n 1)
if [ "${TLSLOCAL_CHECK_PYTHON:-}" = 1 ]; then
  [ -n "$package" ] || { echo "the Python package was not installed"; exit 1; }
  site=$(dirname "$(dirname "$package")")
  PYTHONPATH="$site" PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1 "$python" - "$installed_lib" <<'PY'
import os, sys
import tlslocal
mapped = {line.split()[-1] for line in open("/proc/self/maps")
          if os.path.basename(line.split()[-1]).startswith("libtlslocal.so")}
assert tlslocal.__file__.startswith(os.getcwd()), f"imported {tlslocal.__file__}, not the installed one"
assert mapped == {sys.argv[1]}, f"mapped {mapped}, not only {sys.argv[1]}"
loc = tlslocal.local()
loc.x = 5
assert loc.x == 5
print(f"installed Python binding {tlslocal.version()} ran, from {os.path.dirname(tlslocal.__file__)}: OK")
PY
else
  [ -z "$package" ] || { echo "a Python package was installed though -Dpython said no"; exit 1; }
  echo "-Dpython: no Python package installed, none checked"
fi

if [ "${TLSLOCAL_CHECK_NODE:-}" != 1 ]; then
  echo "no Node tests (-Dnode): the installed Node package was not checked"
  exit 0
fi
node=${NODE:-node}
# koffi where the Node tests have it (installed now if they have not run yet).
koffi_dir="$build_root/bindings/node/node_modules"
NODE=$node sh "$source_root/bindings/node/setup.sh" --into "$build_root/bindings/node"
tarball=$(cd "$source_root/bindings/node" &&
  npm pack --ignore-scripts --silent --pack-destination "$staging" | tail -n 1)
mkdir -p "$staging/app/node_modules/tlslocal"
tar -xzf "$staging/$tarball" -C "$staging/app/node_modules/tlslocal" --strip-components=1
# koffi is the package's registry dependency, not ours: linked in as npm would install it.
ln -s "$koffi_dir/koffi" "$staging/app/node_modules/koffi"
[ ! -d "$koffi_dir/@koromix" ] || ln -s "$koffi_dir/@koromix" "$staging/app/node_modules/@koromix"
cd "$staging/app"
LD_LIBRARY_PATH="$libdir" "$node" - "$installed_lib" <<'JS'
const fs = require('node:fs');
const tlslocal = require('tlslocal');
const mapped = new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
  .map((line) => line.split(/\s+/).pop()).filter((file) => /\/libtlslocal\.so/.test(file)));
const where = require.resolve('tlslocal');
if (!where.startsWith(process.cwd())) throw new Error(`required ${where}, not the packed one`);
if (mapped.size !== 1 || !mapped.has(process.argv[2])) {
  throw new Error(`mapped ${[...mapped]}, not only ${process.argv[2]}`);
}
const local = new tlslocal.Local();
local.set('x', 5);
if (local.get('x') !== 5) throw new Error('x is not 5');
console.log(`installed Node binding ran, from ${where}: OK`);
JS
