#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages libtlslocal1, libtlslocal-dev and python3-tlslocal (debian/), built as a
# distribution would build them and checked by lintian:
#   tools/build-deb.sh [OUT_DIR]      (default build-deb; `./run deb` and ./run test call it)
# OUT_DIR is emptied, the tree's tracked files (with uncommitted changes) are copied to
# OUT_DIR/src, and `dpkg-buildpackage -us -uc -b` runs there, so the packages land in OUT_DIR. The
# build runs the C unit suites and examples (debian/rules) and fails on any change to the exported
# symbols that debian/libtlslocal1.symbols does not record. Then lintian, failing on any error or
# warning. tools/deb-check.sh tests the packages installed.
#
# Offline: the build runs in a network namespace of its own (unshare -n) where the system allows
# one, so a step that would download (koffi from npm) fails rather than quietly succeeding; and no
# node_modules may have appeared anywhere in the tree.
set -eu
source_root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$source_root/build-deb}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
started=$(date +%s)

rm -rf "$out"
mkdir -p "$out/src"
if git -C "$source_root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # The tracked files with their uncommitted changes (`git stash create` makes that commit without
  # touching the tree; it prints nothing for a clean tree): no build trees, no node_modules.
  commit=$(git -C "$source_root" stash create)
  git -C "$source_root" archive "${commit:-HEAD}" | tar -xf - -C "$out/src"
else # a release tarball's tree
  (cd "$source_root" && tar --exclude='./build*' --exclude=node_modules --exclude=__pycache__ \
    -cf - .) | tar -xf - -C "$out/src"
fi

# The package version is the project's: native, so no Debian revision. It also arms the symbols
# check: dpkg-gensymbols reports a vanished symbol only in a version after the one that added it.
project_version=$(meson introspect --projectinfo "$out/src/meson.build" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
package_version=$(dpkg-parsechangelog -l "$out/src/debian/changelog" -S Version)
if [ "$package_version" != "$project_version" ]; then
  echo "FAIL: debian/changelog is at $package_version, meson.build at $project_version: add a" \
    "debian/changelog entry for $project_version (dch -v $project_version)" >&2
  exit 1
fi

# A clean environment, as a build daemon's: the system's python3 (not pyenv's first on PATH) for
# meson's Python module, and no variable of the caller's build leaking in.
isolate=""
if unshare -n true 2>/dev/null; then
  isolate="unshare -n"
elif unshare -rn true 2>/dev/null; then
  isolate="unshare -rn"
else
  echo "== note: no network namespace here (unshare); building without network isolation" >&2
fi
# clean_env COMMAND...: COMMAND offline (where possible), in the clean environment.
clean_env() {
  $isolate env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$out/src" LC_ALL=C.UTF-8 \
    ${DEB_BUILD_OPTIONS:+DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS"} "$@"
}
# The source package too (native: the tree itself), before anything is built in the tree: only for
# lintian, which then checks debian/ itself (control, copyright, tests/control) besides the .debs.
(cd "$out" && clean_env dpkg-source --build src) >"$out/source.log" 2>&1 || {
  cat "$out/source.log"
  echo "FAIL: dpkg-source --build" >&2
  exit 1
}
echo "== dpkg-buildpackage in $out/src${isolate:+ (offline: $isolate)}"
(cd "$out/src" && clean_env dpkg-buildpackage -us -uc -b -Jauto) >"$out/build.log" 2>&1 || {
  grep -v '^\[[0-9]*/[0-9]*\] ' "$out/build.log" | tail -n 40 # not ninja's command lines
  echo "FAIL: dpkg-buildpackage (the whole log: $out/build.log)" >&2
  exit 1
}
fetched=$(find "$out/src" -name node_modules)
if [ -n "$fetched" ]; then
  echo "FAIL: the package build fetched from npm (it must not fetch anything): $fetched" >&2
  exit 1
fi

echo "== lintian"
lintian --fail-on error,warning --display-info "$out"/*.changes "$out"/*.dsc

echo "== built in $(($(date +%s) - started)) s:"
ls "$out"/*.deb
