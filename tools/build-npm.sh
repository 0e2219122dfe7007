#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Pack the Node binding with the C library inside: OUTDIR/tlslocal-X.Y.Z.tgz (X.Y.Z from
# bindings/node/package.json), which `npm install` puts into an app whose require('tlslocal')
# loads the bundled libtlslocal.so.1 with no environment variable (bindings/node/README.md).
#   tools/build-npm.sh [LIBRARY] [OUTDIR]
#   (default build/libtlslocal/libtlslocal.so.1 and build-npm; `./run npm` builds and calls it)
#
# The package is staged in a temporary directory: the files package.json lists from
# bindings/node, the library (debug sections stripped; its symbol table kept for backtraces), and
# COPYING as LICENSE, kept once in the repository rather than copied into bindings/node. The staged
# package.json gains the `os`, `cpu` and `libc` of the bundled binary, read from its ELF header:
# they describe that file, while the committed package.json also serves the source tree, which is
# pure JavaScript over whatever libtlslocal the system has. It loses `scripts` and
# `devDependencies`, which are about test/, not packed. No lock file, no .npmrc, nothing else.
set -eu
source_root=$(cd "$(dirname "$0")/.." && pwd)
library=${1:-$source_root/build/libtlslocal/libtlslocal.so.1}
outdir=${2:-$source_root/build-npm}
node=${NODE:-node}
npm=${NPM:-npm}
strip=${STRIP:-strip}
package_dir=$source_root/bindings/node

if [ ! -f "$library" ]; then
  echo "build-npm.sh: no library at $library (meson compile -C build)" >&2
  exit 1
fi
soname=$(readelf -d "$library" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libtlslocal.so.1 ] ||
  { echo "build-npm.sh: $library has SONAME '$soname', not libtlslocal.so.1" >&2; exit 1; }
# A sanitizer build cannot be loaded into an uninstrumented node: never ship one.
if readelf -d "$library" | grep -Eq 'NEEDED.*lib(asan|tsan|ubsan|lsan|msan)'; then
  echo "build-npm.sh: $library is a sanitizer build; pack a plain one" >&2
  exit 1
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir "$staging/package"
cp "$source_root/COPYING" "$staging/package/LICENSE"
"$strip" --strip-debug -o "$staging/package/libtlslocal.so.1" "$library"

# The listed files, the package.json for the binary, and the checks that they agree.
"$node" - "$package_dir" "$staging/package" "$(readlink -f "$library")" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const [source, target, library] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8'));
// The build's libtlslocal.so.1 links to libtlslocal.so.X.Y.Z: a stale build dir shows there.
const built = /^libtlslocal\.so\.(\d+\.\d+\.\d+)$/.exec(path.basename(library));
if (built && built[1] !== manifest.version) {
  throw new Error(`${library} is version ${built[1]}, the package ${manifest.version}`);
}
const generated = new Set(['LICENSE', 'libtlslocal.so.1']);
for (const name of ['LICENSE', 'libtlslocal.so.1']) {
  if (!manifest.files.includes(name)) throw new Error(`package.json's files lacks ${name}`);
}
for (const name of manifest.files.filter((file) => !generated.has(file))) {
  fs.copyFileSync(path.join(source, name), path.join(target, name));
}
// npm's names for the ELF machines a libtlslocal can be built for.
const header = Buffer.alloc(20);
const fd = fs.openSync(path.join(target, 'libtlslocal.so.1'), 'r');
fs.readSync(fd, header, 0, 20, 0);
fs.closeSync(fd);
if (header.toString('latin1', 0, 4) !== '\x7fELF' || header[5] !== 1) {
  throw new Error('the library is not a little-endian ELF file');
}
const machine = header.readUInt16LE(18);
const cpu = {
  3: 'ia32', 40: 'arm', 62: 'x64', 183: 'arm64', 243: 'riscv64', 258: 'loong64',
}[machine];
if (!cpu) throw new Error(`no npm cpu name for ELF machine ${machine}`);
const packed = {};
for (const [key, value] of Object.entries(manifest)) {
  if (key === 'scripts' || key === 'devDependencies') continue;
  packed[key] = value;
  if (key === 'files') {
    packed.os = ['linux'];
    packed.cpu = [cpu];
    packed.libc = ['glibc']; // the library links glibc's libc.so.6
  }
}
fs.writeFileSync(path.join(target, 'package.json'), JSON.stringify(packed, null, 2) + '\n');
JS

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
tarball=$(cd "$staging/package" && "$npm" pack --pack-destination "$outdir" --loglevel=error |
  tail -n 1)
[ -f "$outdir/$tarball" ] || { echo "build-npm.sh: npm pack made no $outdir/$tarball" >&2; exit 1; }
echo "$outdir/$tarball"
