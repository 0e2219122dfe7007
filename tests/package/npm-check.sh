#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The npm package (`./run npm`): tools/build-npm.sh packs exactly the package's files, the library
# and LICENSE, with the bundled binary's os/cpu/libc; `npm install` of the tarball into a fresh
# app gives a require('tlslocal') and an ESM import that load the bundled libtlslocal.so.1 and no
# other, with no environment variable, from a directory outside the source tree; a Local works in
# the main thread and in a worker_threads Worker.
#   npm-check.sh SOURCE_ROOT LIBRARY [NODE]
set -eu
source_root=$1
library=$2
NODE=${3:-${NODE:-node}}
. "$source_root/tests/package/npm-common.sh"
npm_app "$source_root" "$library"

# The tarball holds the files the package lists, nothing else (no test/, node_modules, .npmrc).
listing=$(tar -tzf "$tarball" | sort | tr '\n' ' ')
expected='package/LICENSE package/README.md package/_convert.js package/_ffi.js package/_gvariant.js'
expected="$expected package/index.d.ts package/index.js package/libtlslocal.so.1 package/package.json "
if [ "$listing" != "$expected" ]; then
  echo "the tarball holds: $listing"
  echo "expected:          $expected"
  exit 1
fi
installed=$app/node_modules/tlslocal
cmp "$source_root/COPYING" "$installed/LICENSE"
soname=$(readelf -d "$installed/libtlslocal.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libtlslocal.so.1 ] || { echo "the bundled library's SONAME is '$soname'"; exit 1; }
if readelf -S "$installed/libtlslocal.so.1" | grep -q '\.debug_'; then
  echo "the bundled library keeps its debug sections"
  exit 1
fi
echo "tarball contents: OK"

cat > "$app/check.js" <<'JS'
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const installed = path.join(__dirname, 'node_modules', 'tlslocal');
const bundled = path.join(installed, 'libtlslocal.so.1');
const committed = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const packed = require('tlslocal/package.json');
assert.equal(packed.version, committed.version);
assert.equal(packed.license, 'LGPL-2.1-or-later');
assert.deepEqual(packed.os, ['linux']);
assert.deepEqual(packed.cpu, [process.arch]);
assert.deepEqual(packed.libc, ['glibc']);
assert.ok(packed.files.includes('libtlslocal.so.1') && packed.files.includes('LICENSE'));
assert.equal(packed.scripts, undefined);
assert.equal(packed.devDependencies, undefined);
for (const field of ['repository', 'homepage', 'bugs']) {
  assert.deepEqual(packed[field], committed[field], `${field} is carried over`);
}

function mappedLibraries() {
  return [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .map((line) => line.split(/\s+/).slice(5).join(' '))
    .filter((file) => /\/libtlslocal\.so/.test(file)))];
}

const tlslocal = require('tlslocal');
assert.ok(require.resolve('tlslocal').startsWith(installed + path.sep));
assert.equal(tlslocal.libraryPath, bundled);
assert.deepEqual(mappedLibraries(), [fs.realpathSync(bundled)]);
assert.equal(tlslocal.version, packed.version);

const shared = tlslocal.Local.open('npm-check');
shared.set('thread', 'main');
const local = new tlslocal.Local();
local.set('n', 1).set('user', { id: 7, roles: ['admin'] });
assert.deepEqual(local.toObject(), { n: 1, user: { id: 7, roles: ['admin'] } });

const worker = new Worker(`
  const { parentPort } = require('node:worker_threads');
  const fs = require('node:fs');
  const tlslocal = require('tlslocal');
  const shared = tlslocal.Local.open('npm-check');
  const before = shared.get('thread'); // this thread's dictionary: empty
  shared.set('thread', 'worker');
  const local = new tlslocal.Local();
  local.set('n', 2);
  parentPort.postMessage({ libraryPath: tlslocal.libraryPath, before, after: shared.get('thread'),
    n: local.get('n'), threadId: tlslocal.threadId() });
`, { eval: true });
let answered = false;
worker.on('message', (result) => {
  answered = true;
  assert.equal(result.libraryPath, bundled);
  assert.equal(result.before, undefined);
  assert.equal(result.after, 'worker');
  assert.equal(result.n, 2);
  assert.notEqual(result.threadId, tlslocal.threadId());
  assert.equal(shared.get('thread'), 'main');
  assert.equal(local.get('n'), 1);
  assert.deepEqual(mappedLibraries(), [fs.realpathSync(bundled)]);
  console.log(`require('tlslocal') ${tlslocal.version} from ${installed}: ` +
    `${tlslocal.libraryPath}, main thread and Worker: OK`);
});
worker.on('error', (error) => { throw error; });
worker.on('exit', (code) => {
  assert.equal(code, 0);
  assert.ok(answered, 'the Worker did not answer');
});
JS
npm_node check.js "$source_root/bindings/node/package.json"

cat > "$app/check.mjs" <<'JS'
import assert from 'node:assert/strict';
import { realpathSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import tlslocal, { Local, libraryPath } from 'tlslocal';

const bundled = fileURLToPath(new URL('node_modules/tlslocal/libtlslocal.so.1', import.meta.url));
assert.equal(libraryPath, bundled);
assert.equal(tlslocal.Local, Local);
const mapped = new Set(readFileSync('/proc/self/maps', 'utf8').split('\n')
  .map((line) => line.split(/\s+/).slice(5).join(' '))
  .filter((file) => /\/libtlslocal\.so/.test(file)));
assert.deepEqual([...mapped], [realpathSync(bundled)]);
const local = new Local();
local.set('esm', true);
assert.equal(local.get('esm'), true);
console.log(`import from 'tlslocal': ${libraryPath}: OK`);
JS
npm_node check.mjs
