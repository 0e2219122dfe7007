#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install from the npm registry, unless already there: koffi, the binding's one dependency; or, with
# --typescript, the devDependencies the type test compiles with too (TypeScript 5 and the current
# major, package.json).
#   setup.sh [--typescript] [--into DIR] [-- COMMAND ARG...]
# Into DIR/node_modules (meson's tests, the demo and the benchmarks: <build>/bindings/node, found
# through NODE_PATH), or without --into into bindings/node/node_modules, for working on the package
# by hand (`npm test` there). With a COMMAND, then run it with DIR/node_modules on NODE_PATH, even
# when the install failed: the command (a test) says what is missing. Idempotent, and one install
# at a time per DIR (flock), so tests started together do not race. Run by meson's Node tests, the
# demo's test, the benchmarks' node-koffi step and ./run.
#
# No lock file is written (--no-package-lock, and .npmrc's package-lock=false), and no install
# script runs (--ignore-scripts): koffi's prebuilt binary comes in its per-platform optional
# dependency (@koromix/koffi-linux-x64 and the like), as does TypeScript 7's compiler
# (@typescript/typescript-linux-x64...), so nothing is compiled.
set -eu
package_dir=$(cd "$(dirname "$0")" && pwd)
node=${NODE:-node}
what=koffi
include=--omit=dev
typescript=
into=$package_dir
while [ $# -gt 0 ]; do
  case "$1" in
    --typescript)
      what='koffi and TypeScript'
      include=--include=dev
      typescript=--typescript
      shift
      ;;
    --into)
      into=$2
      shift 2
      ;;
    --)
      shift
      break
      ;;
    *)
      echo "usage: setup.sh [--typescript] [--into DIR] [-- COMMAND ARG...]" >&2
      exit 2
      ;;
  esac
done
mkdir -p "$into/node_modules"
into=$(cd "$into" && pwd)

check() {
  (cd "$into" && "$node" -e "require('koffi')") || return 1
  [ "$include" = --omit=dev ] && return 0
  "$node" "$into/node_modules/typescript/bin/tsc" --version &&
    "$node" "$into/node_modules/typescript-5/bin/tsc" --version
}

install_modules() {
  if check >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "bindings/node/setup.sh: npm is missing (Debian: apt-get install npm)" >&2
    return 1
  fi
  echo "== bindings/node: installing $what from the npm registry into $into/node_modules" >&2
  # Elsewhere than the package, npm installs what a copy of its package.json names.
  [ "$into" = "$package_dir" ] || cp "$package_dir/package.json" "$into/package.json"
  # (set -e does not reach into a function called with ||: each failure returns by hand.)
  (cd "$into" && npm install --no-audit --no-fund --no-package-lock --ignore-scripts "$include" \
    --loglevel=error) >&2 || { echo "bindings/node/setup.sh: npm install failed" >&2; return 1; }
  check >/dev/null 2>&1 || {
    echo "bindings/node/setup.sh: $what installed into $into but does not load" >&2
    return 1
  }
}

# One npm at a time in DIR: the Node tests, the demo's and the type test start together.
status=0
if [ -z "${TLSLOCAL_SETUP_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
  # shellcheck disable=SC2086 # $typescript is empty or one word
  TLSLOCAL_SETUP_LOCKED=1 flock "$into/node_modules/.tlslocal-setup.lock" sh "$0" $typescript --into "$into" ||
    status=$?
else
  install_modules || status=$?
fi
if [ $# -eq 0 ]; then
  exit $status
fi
NODE_PATH="$into/node_modules${NODE_PATH:+:$NODE_PATH}" exec "$@"
