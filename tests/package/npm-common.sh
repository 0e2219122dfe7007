# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
# Sourced by the npm-*.sh tests: pack the Node package with tools/build-npm.sh and install it, as a
# user would, into a fresh app directory outside the source tree, with koffi from the npm registry.
#   npm_app SOURCE_ROOT LIBRARY: sets $work (removed at exit), $tarball, $app
# Then run node in $app with npm_node, which clears every variable that could point the binding
# elsewhere (TLSLOCAL_LIBRARY, LD_LIBRARY_PATH, LD_PRELOAD, NODE_PATH).
node=${NODE:-node}
npm=${NPM:-npm}

npm_app() {
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tarball=$(NODE=$node NPM=$npm sh "$1/tools/build-npm.sh" "$2" "$work/out" | tail -n 1)
  echo "packed $tarball"
  app=$work/app
  mkdir "$app"
  echo '{ "name": "app", "version": "0.0.0", "private": true }' > "$app/package.json"
  if ! (cd "$app" && "$npm" install --no-audit --no-fund --no-package-lock --loglevel=error \
      "$tarball" >&2); then
    # Only a registry out of reach skips; any other failure of the install fails the test.
    if ! "$npm" ping >/dev/null 2>&1; then
      echo "SKIP: the npm registry is out of reach, so koffi cannot be installed"
      exit 77
    fi
    echo "npm install of $tarball failed"
    exit 1
  fi
}

npm_node() {
  (cd "$app" &&
    env -u TLSLOCAL_LIBRARY -u LD_LIBRARY_PATH -u LD_PRELOAD -u NODE_PATH "$node" "$@")
}
