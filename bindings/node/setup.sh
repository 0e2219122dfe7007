#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install from the npm registry into bindings/node/node_modules, unless already there: koffi, the
# binding's one dependency; or, with --typescript, the devDependencies the type test compiles with
# (TypeScript 5 and the current major, package.json). Idempotent; run by the node tests
# (test/run-tests.sh, and meson's node-koffi and node-typescript steps) and by ./run.
#
# No lock file is written (--no-package-lock, and .npmrc's package-lock=false), and no install
# script runs (--ignore-scripts): koffi's prebuilt binary comes in its per-platform optional
# dependency (@koromix/koffi-linux-x64 and the like), as does TypeScript 7's compiler
# (@typescript/typescript-linux-x64...), so nothing is compiled.
set -eu
cd "$(dirname "$0")"
node=${NODE:-node}
case "${1:-}" in
  '')
    what=koffi
    check() { "$node" -e "require('koffi')"; }
    include=--omit=dev
    ;;
  --typescript)
    what='koffi and TypeScript'
    check() {
      "$node" -e "require('koffi')" &&
        "$node" node_modules/typescript/bin/tsc --version &&
        "$node" node_modules/typescript-5/bin/tsc --version
    }
    include=--include=dev
    ;;
  *)
    echo "usage: setup.sh [--typescript]" >&2
    exit 2
    ;;
esac
if check >/dev/null 2>&1; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "bindings/node/setup.sh: npm is missing (Debian: apt-get install npm)" >&2
  exit 1
fi
echo "== bindings/node: installing $what from the npm registry" >&2
npm install --no-audit --no-fund --no-package-lock --ignore-scripts "$include" --loglevel=error >&2
check >/dev/null
