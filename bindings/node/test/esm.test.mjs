// SPDX-License-Identifier: LGPL-2.1-or-later
// ESM: every name the CommonJS module exports can be imported by name. Node finds them by reading
// index.js's `module.exports = {...}` (cjs-module-lexer), which stops at the first value that is
// not a plain name: libraryPath and MAX_DEPTH were lost that way. The first test compares what ESM
// sees with the CommonJS exports, so a new export cannot be left out; the static import below
// names each one (a missing name fails this file at link time).

import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as namespace from 'tlslocal';
import tlslocal, {
  Local,
  NativePointer,
  TlslocalError,
  stats,
  threadId,
  clearThread,
  version,
  libraryPath,
  MAX_DEPTH,
} from 'tlslocal';

const cjs = createRequire(import.meta.url)('tlslocal');

test('every CommonJS export is a named ESM export, with the same value', () => {
  const named = Object.keys(namespace).filter((name) => name !== 'default');
  assert.deepEqual(named.sort(), Object.keys(cjs).sort());
  for (const name of named) assert.equal(namespace[name], cjs[name], name);
  assert.equal(tlslocal, cjs, 'the default export is module.exports');
});

test('each export imported by name', () => {
  const imported = {
    Local, NativePointer, TlslocalError, stats, threadId, clearThread, version, libraryPath,
    MAX_DEPTH,
  };
  assert.deepEqual(Object.keys(imported).sort(), Object.keys(cjs).sort(),
    'the import list above names every export');
  for (const [name, value] of Object.entries(imported)) assert.equal(value, cjs[name], name);
  assert.match(version, /^\d+\.\d+\.\d+$/);
  assert.equal(typeof libraryPath, 'string');
  assert.equal(MAX_DEPTH, 64);
  const local = new Local();
  local.set('k', [1, 'two']);
  assert.deepEqual(local.get('k'), [1, 'two']);
  local.close();
});
