'use strict';
// SPDX-License-Identifier: LGPL-2.1-or-later
// meson's node-types test (suite node): compile check.ts against index.d.ts under --strict, with
// each TypeScript that `setup.sh --typescript` installs (5 and the current major), without
// @types/node, with a lib that lacks Disposable (tsconfig.json) and with one that has it
// (tsconfig.esnext.json). check.ts holds what must compile and, after `// @ts-expect-error`, what
// must not: tsc fails on either going wrong.
//
// Exit 77 (meson: skipped) only when TypeScript is missing because npm cannot reach its registry.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PACKAGE = path.join(__dirname, '..', '..');
const COMPILERS = [
  { dir: 'typescript-5', major: 5 },
  { dir: 'typescript', major: 7 },
];
const CONFIGS = ['tsconfig.json', 'tsconfig.esnext.json'];

// Where setup.sh installed TypeScript: meson's test puts <build>/bindings/node/node_modules on
// NODE_PATH; by hand, setup.sh installs into the package's own node_modules.
const MODULE_DIRS = (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean)
  .concat(path.join(PACKAGE, 'node_modules'));

function tscOf(compiler) {
  const tscs = MODULE_DIRS.map((dir) => path.join(dir, compiler.dir, 'bin', 'tsc'));
  return tscs.find((tsc) => fs.existsSync(tsc)) || tscs[0];
}

const missing = COMPILERS.filter((compiler) => !fs.existsSync(tscOf(compiler)));
if (missing.length > 0) {
  const names = missing.map((compiler) => compiler.dir).join(', ');
  const ping = spawnSync('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=15000'],
    { cwd: PACKAGE, encoding: 'utf8', timeout: 60000 });
  if (ping.status !== 0) {
    const lines = (ping.stderr || ping.error?.message || '').trim().split('\n');
    const why = lines.find((line) => /FetchError|ETIMEDOUT|ENOTFOUND/.test(line)) || lines.pop();
    console.log(`SKIP: ${names} not installed, and npm cannot reach its registry (npm ping: ` +
      `${why})`);
    process.exit(77);
  }
  console.error(`FAIL: ${names} not installed though the npm registry answers: run ` +
    `bindings/node/setup.sh --typescript (meson's node-types test runs it first)`);
  process.exit(1);
}

let failed = 0;
for (const compiler of COMPILERS) {
  const tsc = tscOf(compiler);
  const version = spawnSync(process.execPath, [tsc, '--version'], { encoding: 'utf8' })
    .stdout.trim();
  if (!version.startsWith(`Version ${compiler.major}.`)) {
    console.error(`FAIL: ${compiler.dir} is ${version}, not TypeScript ${compiler.major}`);
    failed++;
    continue;
  }
  for (const config of CONFIGS) {
    const run = spawnSync(process.execPath, [tsc, '-p', config], {
      cwd: __dirname,
      encoding: 'utf8',
    });
    const ok = run.status === 0;
    console.log(`${ok ? 'ok' : 'FAIL'}: ${version}, ${config}`);
    if (!ok) {
      process.stdout.write(run.stdout + run.stderr);
      failed++;
    }
  }
}
process.exit(failed === 0 ? 0 : 1);
