#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One registry per process, the npm package's half: C code linked against a system-style install
# of libtlslocal (meson install --destdir; tests/package/npm-registry-helper.c, linked with an
# rpath to that install) is loaded into node first, so that install's libtlslocal.so.1 is mapped;
# then require('tlslocal') from an app with the packed tarball installed must use that very file,
# not map its bundled copy beside it: one libtlslocal in /proc/self/maps, tl_version() resolved in
# that one file, and a named local set from JavaScript seen by the C code and back. With the
# library already mapped, TLSLOCAL_LIBRARY naming another copy (the bundled one) is refused, and
# naming the mapped one is taken. In the other order (the binding, then the C code), the C code's
# dependency resolves to the bundled copy the binding loaded.
#   npm-registry.sh SOURCE_ROOT BUILD_ROOT LIBRARY [NODE]     (CC: the C compiler)
set -eu
source_root=$1
build_root=$2
library=$3
NODE=${4:-${NODE:-node}}
cc=${CC:-cc}
. "$source_root/tests/package/npm-common.sh"
npm_app "$source_root" "$library"

system=$work/system
meson install -C "$build_root" --destdir "$system" --no-rebuild --quiet
system_library=$(find "$system" -name libtlslocal.so.1 | head -n 1)
header=$(find "$system" -name tlslocal.h | head -n 1)
if [ -z "$system_library" ] || [ -z "$header" ]; then
  echo "meson install put no libtlslocal.so.1 or tlslocal.h into $system"
  exit 1
fi
libdir=$(dirname "$system_library")
"$cc" -shared -fPIC -o "$work/libnpm-registry-helper.so" \
  "$source_root/tests/package/npm-registry-helper.c" -I"$(dirname "$header")" \
  -L"$libdir" -ltlslocal -Wl,-rpath,"$libdir"
echo "helper linked against $system_library"

cat > "$app/registry.js" <<'JS'
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi'); // the package's dependency, installed beside it

const [helperPath, systemLibrary, mode] = process.argv.slice(2);
const system = fs.realpathSync(systemLibrary);
const bundled = path.join(__dirname, 'node_modules', 'tlslocal', 'libtlslocal.so.1');
function mappedLibraries() {
  return [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .map((line) => line.split(/\s+/).slice(5).join(' '))
    .filter((file) => /\/libtlslocal\.so/.test(file)))];
}
function loadHelper() {
  const helper = koffi.load(helperPath);
  return {
    set: helper.func('int helper_set(const char *name, const char *key, const char *value)'),
    get: helper.func('const char *helper_get(const char *name, const char *key)'),
    versionFile: helper.func('const char *helper_version_file(void)'),
  };
}

if (mode === 'after') {
  // The other order: the binding first (its bundled copy), then the C code, whose dependency on
  // libtlslocal.so.1 resolves to the loaded copy by SONAME, its rpath notwithstanding.
  const tlslocal = require('tlslocal');
  assert.equal(tlslocal.libraryPath, bundled);
  const helper = loadHelper();
  assert.deepEqual(mappedLibraries(), [fs.realpathSync(bundled)]);
  assert.equal(helper.versionFile(), bundled);
  tlslocal.Local.open('npm-registry').set('fromJs', 'bundled');
  assert.equal(helper.get('npm-registry', 'fromJs'), 'bundled');
  console.log('C code loaded after the binding: shares its bundled copy: OK');
  return;
}

const helper = loadHelper();
assert.deepEqual(mappedLibraries(), [system], 'the helper mapped the system-style library');

if (mode === 'refused') {
  // TLSLOCAL_LIBRARY names the bundled copy, another file than the mapped one.
  assert.throws(() => require('tlslocal'), (error) =>
    /is not the libtlslocal\.so\.1 this process has already loaded/.test(error.message) &&
    error.message.includes(systemLibrary));
  assert.deepEqual(mappedLibraries(), [system], 'the refused library was not mapped');
  console.log('TLSLOCAL_LIBRARY naming another copy than the loaded one: refused: OK');
  return;
}

const tlslocal = require('tlslocal');
assert.equal(fs.realpathSync(tlslocal.libraryPath), system);
assert.deepEqual(mappedLibraries(), [system], 'one libtlslocal, the system-style one');
assert.equal(fs.realpathSync(helper.versionFile()), system, "the helper's tl_version");
assert.ok(fs.existsSync(bundled), 'the bundled copy is there, unused');

const request = tlslocal.Local.open('npm-registry');
request.set('fromJs', 'set in JavaScript');
assert.equal(helper.get('npm-registry', 'fromJs'), 'set in JavaScript');
assert.equal(helper.set('npm-registry', 'fromC', 'set in C'), 0);
assert.equal(request.get('fromC'), 'set in C');
console.log(`require('tlslocal') with ${system} already loaded` +
  `${mode === 'explicit' ? ' and named by TLSLOCAL_LIBRARY' : ''}: used it; ` +
  'one named local shared with C both ways: OK');
JS
npm_node registry.js "$work/libnpm-registry-helper.so" "$system_library" loaded
(cd "$app" && env -u LD_LIBRARY_PATH -u LD_PRELOAD -u NODE_PATH \
  TLSLOCAL_LIBRARY="$app/node_modules/tlslocal/libtlslocal.so.1" \
  "$NODE" registry.js "$work/libnpm-registry-helper.so" "$system_library" refused)
(cd "$app" && env -u LD_LIBRARY_PATH -u LD_PRELOAD -u NODE_PATH \
  TLSLOCAL_LIBRARY="$system_library" \
  "$NODE" registry.js "$work/libnpm-registry-helper.so" "$system_library" explicit)
npm_node registry.js "$work/libnpm-registry-helper.so" "$system_library" after
