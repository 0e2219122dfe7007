#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One registry per process, the npm package's half: C code linked against a system-style install
# of libtlslocal (meson install --destdir; tests/package/tl-registry-helper.c, shared with the
# wheel's test, linked with an rpath to that install) is loaded into node first, so that install's libtlslocal.so.1 is mapped;
# then require('tlslocal') from an app with the packed tarball installed must use that very file,
# not map its bundled copy beside it: one libtlslocal in /proc/self/maps, tl_version() resolved in
# that one file, and a named local set from JavaScript seen by the C code and back. With the
# library already mapped, TLSLOCAL_LIBRARY naming another copy (the bundled one) is overridden with
# a warning, and naming the mapped one is taken. In the other order (the binding, then the C code), the C code's
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
"$cc" -shared -fPIC -o "$work/libtl-registry-helper.so" \
  "$source_root/tests/package/tl-registry-helper.c" -I"$(dirname "$header")" \
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
  const get = helper.func('int registry_helper_get(const char *name, const char *key, ' +
    'void *out, size_t size)');
  return {
    set: helper.func('int registry_helper_set(const char *name, const char *key, const char *text)'),
    get(name, key) {
      const out = Buffer.alloc(256);
      const length = get(name, key, out, out.length);
      return length < 0 ? null : out.toString('utf8', 0, length);
    },
    versionFile: helper.func('const char *registry_helper_library(void)'),
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

// TLSLOCAL_LIBRARY naming another copy (mode 'overridden': the bundled one) gives way to the
// mapped library, with a warning.
const warnings = [];
process.on('warning', (warning) => warnings.push(warning.message));
const tlslocal = require('tlslocal');
setImmediate(() => { // process warnings are emitted on a later tick
  if (mode === 'overridden') {
    assert.equal(warnings.length, 1, `one warning, not ${JSON.stringify(warnings)}`);
    assert.match(warnings[0], /TLSLOCAL_LIBRARY=.* is not the libtlslocal\.so\.1 this process has/);
    assert.ok(warnings[0].includes(systemLibrary), warnings[0]);
  } else {
    assert.deepEqual(warnings, []);
  }
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
    `${mode === 'loaded' ? '' : ` and TLSLOCAL_LIBRARY ${mode}`}: used it; ` +
    'one named local shared with C both ways: OK');
});
JS
npm_node registry.js "$work/libtl-registry-helper.so" "$system_library" loaded
(cd "$app" && env -u LD_LIBRARY_PATH -u LD_PRELOAD -u NODE_PATH \
  TLSLOCAL_LIBRARY="$app/node_modules/tlslocal/libtlslocal.so.1" \
  "$NODE" registry.js "$work/libtl-registry-helper.so" "$system_library" overridden)
(cd "$app" && env -u LD_LIBRARY_PATH -u LD_PRELOAD -u NODE_PATH \
  TLSLOCAL_LIBRARY="$system_library" \
  "$NODE" registry.js "$work/libtl-registry-helper.so" "$system_library" explicit)
npm_node registry.js "$work/libtl-registry-helper.so" "$system_library" after
