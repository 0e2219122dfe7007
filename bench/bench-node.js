#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
'use strict';
// bench-node: get and set on the Node binding's Local (the Map-like methods and the `view` Proxy),
// of scalars, a small object, an array, bytes and a 20-key nested object, against what JavaScript
// code would use instead: a plain object, a Map, AsyncLocalStorage (the per-async-context store,
// Node's nearest thing to a thread-local; here read with getStore().x inside one run()), and a Map
// that copies values in and out with structuredClone (what a store with tlslocal's copy semantics
// costs in pure JavaScript). All in one run, interleaved.
//
// Every (operation, implementation) pair is timed in every round, the starting pair rotated each
// round; each reports the median of its rounds. Statements are unrolled ten times per loop
// iteration, and results are summed into a sink, so the JIT cannot drop them.
//
//   TLSLOCAL_LIBRARY=build/libtlslocal/libtlslocal.so.1 node bench/bench-node.js [--quick] [--csv PATH]
//
// The CSV has bench/run-all.py's schema: section,case,impl,median,p25,p75,min,max,unit,rounds.
//
// Copyright the libtlslocal authors.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AsyncLocalStorage } = require('node:async_hooks');
const { Local, version, libraryPath } = require(path.join(__dirname, '..', 'bindings', 'node'));

const UNROLL = 10;
let sink = 0;

// One implementation: how to read and write key k of its store.
function implementations() {
  const local = new Local();
  const view = new Local().view;
  // Another Local's write moves the thread's change counter, so the next read of the two above asks
  // C again rather than their caches (a write of their own would not).
  const other = new Local();
  const bump = (u) => other.set('n', u);
  const plain = {};
  const map = new Map();
  const als = new AsyncLocalStorage();
  const alsStore = {};
  const cloned = new Map();
  return [
    { name: 'tlslocal get/set', get: (k) => local.get(k), set: (k, v) => local.set(k, v), bump },
    { name: 'tlslocal view', get: (k) => view[k], set: (k, v) => { view[k] = v; }, bump },
    { name: 'plain object', get: (k) => plain[k], set: (k, v) => { plain[k] = v; } },
    { name: 'Map', get: (k) => map.get(k), set: (k, v) => map.set(k, v) },
    {
      name: 'structuredClone',
      get: (k) => structuredClone(cloned.get(k)),
      set: (k, v) => cloned.set(k, structuredClone(v)),
    },
    {
      name: 'AsyncLocalStorage',
      get: (k) => als.getStore()[k],
      set: (k, v) => { als.getStore()[k] = v; },
      wrap: (fn) => als.run(alsStore, fn),
    },
  ];
}

// A request context of 20 keys, nested: strings, numbers, booleans, null, arrays of one type and of
// mixed types, and objects in objects.
const OBJ20 = {
  requestId: 'req-0001-7f3a9c', userId: 123456, user: 'alice@example.com', admin: false,
  score: 0.75, roles: ['admin', 'user', 'auditor'], tags: ['a', 'b', 'c', 'd'],
  counts: [1, 2, 3, 4, 5, 6, 7, 8],
  headers: { host: 'example.com', 'user-agent': 'bench/1.0', accept: '*/*',
    'content-type': 'application/json' },
  geo: { lat: 52.52, lon: 13.405, city: 'Berlin', country: 'DE' },
  session: { id: 'sess-42', started: 1700000000000, expires: 1700003600000,
    flags: [true, false, true] },
  trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true },
  locale: 'en-US', timezone: 'Europe/Berlin', retries: 0, deadline: 1700000005000, parent: null,
  mixed: [1, 'two', 3.5, true, null], path: '/api/v1/items/42', method: 'GET',
};

// Each operation builds, for one implementation, a function doing `n` x UNROLL operations.
const OPERATIONS = [
  {
    label: 'get int',
    setup: (impl) => impl.set('x', 12345),
    run: (impl, n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) s += impl.get('x');
      }
      sink += s;
    },
  },
  {
    label: 'get str',
    setup: (impl) => impl.set('s', 'request-001'),
    run: (impl, n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) s += impl.get('s').length;
      }
      sink += s;
    },
  },
  {
    label: 'set int',
    setup: () => {},
    run: (impl, n) => {
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) impl.set('x', 1000000 + u);
      }
    },
  },
  // A read right after the thread's own write of the same key (compare with 'set int').
  {
    label: 'set then get',
    setup: () => {},
    run: (impl, n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) {
          impl.set('x', 2000000 + u);
          s += impl.get('x');
        }
      }
      sink += s;
    },
  },
  {
    label: 'set str',
    setup: () => {},
    run: (impl, n) => {
      const strings = Array.from({ length: UNROLL }, (_, u) => `request-00${u}`);
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) impl.set('s', strings[u]);
      }
    },
  },
  // Containers: a small request context (a{sv} holding an "as") and an array of ints ("ax"); the
  // other implementations only store a reference to them.
  {
    label: 'set obj',
    setup: () => {},
    run: (impl, n) => {
      const roles = ['admin', 'user'];
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) impl.set('o', { id: u, user: 'alice', roles });
      }
    },
  },
  {
    label: 'set arr',
    setup: () => {},
    run: (impl, n) => {
      const items = [1, 2, 3, 4, 5, 6, 7, 8];
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) impl.set('a', items);
      }
    },
  },
  {
    label: 'set obj20',
    setup: () => {},
    run: (impl, n) => {
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) impl.set('o20', OBJ20);
      }
    },
  },
  {
    label: 'get obj20',
    setup: (impl) => impl.set('o20', OBJ20),
    run: (impl, n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) s += impl.get('o20').userId;
      }
      sink += s;
    },
  },
  // The same read when the binding cannot answer from its cache: after another Local's write (the
  // tlslocal columns include that write, about a 'set int').
  {
    label: 'get obj20 cold',
    setup: (impl) => impl.set('o20', OBJ20),
    run: (impl, n) => {
      let s = 0;
      const bump = impl.bump || (() => {});
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) {
          bump(u);
          s += impl.get('o20').userId;
        }
      }
      sink += s;
    },
  },
  {
    label: 'get bytes',
    setup: (impl) => impl.set('b', new Uint8Array(64).fill(7)),
    run: (impl, n) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        for (let u = 0; u < UNROLL; u++) s += impl.get('b').length;
      }
      sink += s;
    },
  },
];

function timed(impl, op, n) {
  const body = () => {
    const start = process.hrtime.bigint();
    op.run(impl, n);
    return Number(process.hrtime.bigint() - start);
  };
  return impl.wrap ? impl.wrap(body) : body();
}

function calibrate(impl, op, targetNs) {
  let n = 1;
  for (;;) {
    const elapsed = timed(impl, op, n);
    if (elapsed >= targetNs / 4) return Math.max(1, Math.floor((n * targetNs) / elapsed));
    n *= 4;
  }
}

function quantile(sorted, q) {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  if (below + 1 >= sorted.length) return sorted[sorted.length - 1];
  return sorted[below] + (sorted[below + 1] - sorted[below]) * (position - below);
}

function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const csvIndex = args.indexOf('--csv');
  const csvPath = csvIndex >= 0 ? args[csvIndex + 1] : null;
  const rounds = quick ? 5 : 11;
  const targetNs = quick ? 5e6 : 40e6;

  const impls = implementations();
  const pairs = [];
  for (const op of OPERATIONS) {
    for (const impl of impls) {
      const setup = () => op.setup(impl);
      if (impl.wrap) impl.wrap(setup);
      else setup();
      pairs.push({ op, impl, samples: [] });
    }
  }
  for (const pair of pairs) pair.n = calibrate(pair.impl, pair.op, targetNs);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[(round + i) % pairs.length];
      pair.samples.push(timed(pair.impl, pair.op, pair.n) / (pair.n * UNROLL));
    }
  }
  for (const pair of pairs) {
    const sorted = [...pair.samples].sort((a, b) => a - b);
    pair.median = quantile(sorted, 0.5);
    pair.p25 = quantile(sorted, 0.25);
    pair.p75 = quantile(sorted, 0.75);
    pair.min = sorted[0];
    pair.max = sorted[sorted.length - 1];
  }

  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`bench-node: Node ${process.version}, libtlslocal ${version} at ${libraryPath}, ` +
    `${os.cpus().length} CPUs, load average ${load}, ${rounds} rounds, median ns per operation`);
  const width = [16, ...impls.map((impl) => Math.max(impl.name.length + 2, 10))];
  console.log('operation'.padEnd(width[0]) + impls.map((impl, i) => impl.name.padStart(width[i + 1])).join(''));
  for (const op of OPERATIONS) {
    const row = pairs.filter((pair) => pair.op === op);
    console.log(op.label.padEnd(width[0]) + row.map((pair, i) => pair.median.toFixed(1).padStart(width[i + 1])).join(''));
  }
  console.log('Ratios against a plain object (the floor) and AsyncLocalStorage:');
  for (const op of OPERATIONS) {
    const row = Object.fromEntries(pairs.filter((pair) => pair.op === op).map((pair) => [pair.impl.name, pair.median]));
    console.log(`  ${op.label.padEnd(14)} get/set x${(row['tlslocal get/set'] / row['plain object']).toFixed(0)} plain, ` +
      `x${(row['tlslocal get/set'] / row.AsyncLocalStorage).toFixed(1)} ALS; ` +
      `view x${(row['tlslocal view'] / row['plain object']).toFixed(0)} plain, x${(row['tlslocal view'] / row.AsyncLocalStorage).toFixed(1)} ALS`);
  }
  const median = (label, impl) => pairs.find((p) => p.op.label === label && p.impl.name === impl).median;
  const ours = 'tlslocal get/set';
  console.log(`Read after own write: set then get / set int = ` +
    `${(median('set then get', ours) / median('set int', ours)).toFixed(2)}x (target <= 1.5x)`);
  for (const label of ['set obj20', 'get obj20', 'get obj20 cold']) {
    console.log(`${label}: x${(median(label, ours) / median(label, 'structuredClone')).toFixed(2)} ` +
      'structuredClone (target <= 3x)');
  }
  if (csvPath) {
    const lines = ['section,case,impl,median,p25,p75,min,max,unit,rounds'];
    for (const p of pairs) {
      lines.push(['node', p.op.label, p.impl.name, ...[p.median, p.p25, p.p75, p.min, p.max].map((x) => x.toFixed(3)),
        'ns/op', rounds].join(','));
    }
    fs.writeFileSync(csvPath, lines.join('\n') + '\n');
  }
  if (sink === 0.5) console.log(''); // keeps sink observable
}

main();
