#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages' own test, on this machine: installs libtlslocal1, libtlslocal-dev and
# python3-tlslocal from DEB_DIR, runs their autopkgtest (debian/tests/consumers: C consumers through
# pkg-config and CMake, the Python module with /usr/bin/python3), and purges them again, also when
# the test fails: the window in which the system has its own libtlslocal.so.1 (which any test on
# this machine loading the SONAME would find) is that test's few seconds.
#   tools/deb-check.sh [DEB_DIR]      (default build-deb, where tools/build-deb.sh puts them)
# Needs root, or sudo. Refuses to run when one of the packages is installed already: purging it
# afterwards would remove what someone installed on purpose.
set -eu
source_root=$(cd "$(dirname "$0")/.." && pwd)
debs=${1:-$source_root/build-deb}
case "$debs" in /*) ;; *) debs=$PWD/$debs ;; esac
packages="python3-tlslocal libtlslocal-dev libtlslocal1"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

for package in $packages; do
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q ' installed$'; then
    echo "FAIL: $package is installed already; remove it first: sudo dpkg --purge $packages" >&2
    exit 1
  fi
done
set -- "$debs"/libtlslocal1_*.deb "$debs"/libtlslocal-dev_*.deb "$debs"/python3-tlslocal_*.deb
for deb; do
  [ -f "$deb" ] || {
    echo "FAIL: no $deb: run tools/build-deb.sh first" >&2
    exit 1
  }
done

# Whatever happens from here, the packages go, and nothing of them may stay behind.
purge() {
  status=$?
  trap - EXIT INT TERM
  # shellcheck disable=SC2086 # the list of names
  $sudo dpkg --purge $packages >/dev/null || status=1
  left=$(ls -d /usr/lib/*/libtlslocal* /usr/include/tlslocal /usr/lib/*/cmake/tlslocal \
    /usr/lib/python3/dist-packages/tlslocal 2>/dev/null || true)
  if [ -n "$left" ]; then
    echo "FAIL: left behind after the purge: $left" >&2
    status=1
  fi
  echo "== purged $packages: they were installed for $(($(date +%s) - installed_at)) s"
  exit $status
}
installed_at=$(date +%s)
trap purge EXIT
trap 'exit 1' INT TERM

echo "== installing $*"
# The test's own Depends (debian/tests/control) come along, as autopkgtest would install them. Other
# helpers' apt runs may hold dpkg's lock: wait for it rather than fail.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
  --no-install-recommends "$@" build-essential cmake pkgconf >/dev/null
(cd "$source_root" && debian/tests/consumers)
