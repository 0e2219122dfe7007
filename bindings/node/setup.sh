#!/bin/sh
# Install the binding's one dependency, koffi, from the npm registry into bindings/node/node_modules,
# unless it already loads. Idempotent; run by the node test (test/run-tests.sh) and by ./run.
#
# No lock file is written (--no-package-lock, and .npmrc's package-lock=false), and no install
# script runs (--ignore-scripts): koffi's prebuilt binary comes in its per-platform optional
# dependency (@koromix/koffi-linux-x64 and the like), so nothing is compiled.
set -eu
cd "$(dirname "$0")"
node=${NODE:-node}
if "$node" -e "require('koffi')" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "bindings/node/setup.sh: npm is missing (Debian: apt-get install npm)" >&2
  exit 1
fi
echo "== bindings/node: installing koffi from the npm registry" >&2
npm install --no-audit --no-fund --no-package-lock --ignore-scripts --omit=dev --loglevel=error >&2
"$node" -e "require('koffi')"
