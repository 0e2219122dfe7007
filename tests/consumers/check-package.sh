#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The package tests (suite 'package'): libtlslocal taken in the ways a C user takes in a library.
#   check-package.sh ASPECT SOURCE_ROOT STAGE_DIR
#   pkgconfig   tlslocal.pc with no GLib .pc in reach: --cflags --libs work, a user of tlslocal.h
#               builds and runs; tlslocal-glib.pc needs GLib's, and with it a tlslocal-glib.h user
#               builds and runs; --static --libs names libffi, GLib and pthread
#   static      examples/thread-counters.c linked against libtlslocal.a through `pkg-config
#               --static` runs and needs no libtlslocal.so; the shared library beside it keeps its
#               SONAME, symbol versions and NODELETE
#   cmake       CMake users of a moved copy of the install: find_package(tlslocal 1.0 CONFIG
#               REQUIRED), tlslocal::tlslocal shared and static, tlslocal::glib, versions refused
#               (2.0, 1.1, 0.9), tlslocal::tlslocal without GLib's development files
#   subproject  a parent meson project (meson-subproject/) with dependency('tlslocal', fallback:
#               'libtlslocal') and tlslocal-glib, --wrap-mode=forcefallback, shared; and static,
#               found through a wrap file's [provide]: it builds the library alone, registers no
#               test of it, and writes nothing into the source tree
# pkgconfig, static and cmake share STAGE_DIR/prefix: the library built as a packager would (its
# own build, STAGE_DIR/build: -Ddefault_library=both -Dtests=false) and installed there; it is
# brought up to date, one test at a time, by each test that uses it.
set -eu
aspect=$1
source_root=$(cd "$2" && pwd)
stage=$3
here=$source_root/tests/consumers
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*"
  exit 1
}

# Up to date STAGE_DIR/prefix; sets prefix, libdir and pcdir.
stage_install() {
  mkdir -p "$stage"
  (
    flock 9
    if [ ! -f "$stage/build/build.ninja" ]; then
      rm -rf "$stage/build" "$stage/prefix"
      meson setup "$stage/build" "$source_root" --prefix "$stage/prefix" \
        -Ddefault_library=both -Dtests=false >"$stage/setup.log" 2>&1 ||
        { cat "$stage/setup.log"; exit 1; }
    fi
    meson install -C "$stage/build" >"$stage/install.log" 2>&1 ||
      { cat "$stage/install.log"; exit 1; }
  ) 9>"$stage/.lock"
  prefix=$stage/prefix
  pcdir=$(dirname "$(find "$prefix" -name tlslocal.pc | head -n 1)")
  libdir=$(dirname "$pcdir")
  [ -f "$pcdir/tlslocal-glib.pc" ] || fail "tlslocal-glib.pc was not installed"
}

# needed FILE: the DT_NEEDED entries of FILE, one a line.
needed() {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

check_pkgconfig() {
  stage_install
  mkdir "$work/nothing"
  # Our .pc files alone: PKG_CONFIG_LIBDIR replaces the system's directories.
  if PKG_CONFIG_LIBDIR=$work/nothing:$pcdir PKG_CONFIG_PATH= pkg-config --exists glib-2.0; then
    fail "glib-2.0.pc is in reach: the check below would prove nothing"
  fi
  flags=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --cflags --libs tlslocal) ||
    fail "pkg-config --cflags --libs tlslocal needs more than tlslocal.pc"
  echo "without GLib's .pc: pkg-config --cflags --libs tlslocal: $flags"
  case " $flags " in *glib*) fail "tlslocal.pc gives GLib's flags: $flags" ;; esac
  # shellcheck disable=SC2086 # the flags are meant to split
  "$cc" -o "$work/consumer" "$here/consumer.c" $flags
  resolved=$(LD_LIBRARY_PATH=$libdir ldd "$work/consumer" | awk '/libtlslocal/ {print $3}')
  case "$resolved" in
    "$libdir"/*) ;;
    *) fail "the consumer resolved libtlslocal to '$resolved', not the staged copy" ;;
  esac
  LD_LIBRARY_PATH=$libdir "$work/consumer" || fail "the tlslocal.h consumer failed"

  if PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --cflags tlslocal-glib 2>/dev/null; then
    fail "tlslocal-glib.pc does not require glib-2.0"
  fi
  glib_flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs tlslocal-glib)
  echo "pkg-config --cflags --libs tlslocal-glib: $glib_flags"
  case " $glib_flags " in
    *" -ltlslocal "*"-lglib-2.0"* | *"-lglib-2.0"*" -ltlslocal "*) ;;
    *) fail "tlslocal-glib.pc does not give both -ltlslocal and -lglib-2.0" ;;
  esac
  # shellcheck disable=SC2086
  "$cc" -o "$work/consumer-glib" "$here/consumer-glib.c" $glib_flags
  LD_LIBRARY_PATH=$libdir "$work/consumer-glib" || fail "the tlslocal-glib.h consumer failed"

  static_libs=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --static --libs tlslocal)
  echo "without GLib's .pc: pkg-config --static --libs tlslocal: $static_libs"
  for flag in -ltlslocal -lffi -lglib-2.0; do
    case " $static_libs " in *" $flag "*) ;; *) fail "--static --libs lacks $flag" ;; esac
  done
  case " $static_libs " in
    *" -pthread "* | *" -lpthread "*) ;;
    *) fail "--static --libs lacks -pthread" ;;
  esac
}

check_static() {
  stage_install
  [ -f "$libdir/libtlslocal.a" ] || fail "libtlslocal.a was not installed"
  nm "$libdir/libtlslocal.a" | grep -q ' T tl_version$' || fail "libtlslocal.a lacks tl_version"
  # The shared library of the same build is still the versioned, pinned one.
  shared=$libdir/libtlslocal.so.1
  soname=$(readelf -d "$shared" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = libtlslocal.so.1 ] || fail "the shared library's SONAME is '$soname'"
  readelf --dyn-syms -W "$shared" | grep -q ' tl_version@@TLSLOCAL_1\.0$' ||
    fail "the shared library's tl_version is not at TLSLOCAL_1.0 (no version script?)"
  readelf -d "$shared" | grep -q 'FLAGS_1.*NODELETE' || fail "the shared library is not NODELETE"

  # A static link as a user makes one beside the shared library: the archive by name; the rest
  # from pkg-config --static, with no GLib .pc in reach (Libs.private needs none).
  libs=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= pkg-config --static --cflags --libs tlslocal)
  libs=$(echo "$libs" | sed 's/-ltlslocal/-l:libtlslocal.a/')
  echo "linking thread-counters.c with: $libs"
  # shellcheck disable=SC2086 # the flags are meant to split
  "$cc" -o "$work/static-consumer" "$source_root/examples/thread-counters.c" $libs ||
    fail "the static link failed"
  if needed "$work/static-consumer" | grep -q libtlslocal; then
    fail "the static consumer needs $(needed "$work/static-consumer" | grep libtlslocal)"
  fi
  for library in libglib-2.0 libffi; do
    needed "$work/static-consumer" | grep -q "^$library\.so" ||
      fail "the static consumer does not need $library: the archive's objects were not linked?"
  done
  if ldd "$work/static-consumer" | grep -q libtlslocal; then
    fail "ldd finds a libtlslocal in the static consumer"
  fi
  env -u LD_LIBRARY_PATH "$work/static-consumer" >"$work/out.txt" ||
    fail "the static consumer failed: $(cat "$work/out.txt")"
  grep -q 'folded in by exit hooks as the workers ended' "$work/out.txt" ||
    fail "the static consumer's output: $(cat "$work/out.txt")"
  echo "static consumer, NEEDED: $(needed "$work/static-consumer" | tr '\n' ' ')"
  echo "static consumer ran: OK"
}

# cmake_run NAME ARG...: configure (and, unless the name is probe*, build) the consumer project in
# $work/NAME against the moved prefix; its output in $work/NAME.log.
cmake_run() {
  name=$1
  shift
  cmake -S "$here/cmake" -B "$work/$name" -DCMAKE_PREFIX_PATH="$moved" -DCMAKE_C_COMPILER="$cc" \
    "$@" >"$work/$name.log" 2>&1 || return 1
  case "$name" in probe*) return 0 ;; esac
  cmake --build "$work/$name" >>"$work/$name.log" 2>&1
}

check_cmake() {
  stage_install
  # A copy at another path: the package must find everything from its own location.
  moved=$work/moved-prefix
  cp -a "$prefix" "$moved"
  moved_libdir=$moved${libdir#"$prefix"}
  config=$(find "$moved" -name tlslocalConfig.cmake)
  [ -n "$config" ] || fail "tlslocalConfig.cmake was not installed"
  [ -f "$(dirname "$config")/tlslocalConfigVersion.cmake" ] ||
    fail "tlslocalConfigVersion.cmake was not installed"

  cmake_run shared -DTLSLOCAL_CHECK=full ||
    fail "find_package(tlslocal 1.0 CONFIG REQUIRED COMPONENTS glib): $(cat "$work/shared.log")"
  for program in consumer consumer-glib; do
    resolved=$(ldd "$work/shared/$program" | awk '/libtlslocal/ {print $3}')
    case "$resolved" in
      "$moved_libdir"/*) ;;
      *) fail "CMake's $program resolved libtlslocal to '$resolved', not the moved copy" ;;
    esac
    env -u LD_LIBRARY_PATH "$work/shared/$program" || fail "CMake's $program failed"
  done

  cmake_run static -DTLSLOCAL_CHECK=full -Dtlslocal_USE_STATIC_LIBS=ON ||
    fail "tlslocal_USE_STATIC_LIBS=ON: $(cat "$work/static.log")"
  for program in consumer consumer-glib; do
    if needed "$work/static/$program" | grep -q libtlslocal; then
      fail "CMake's static $program needs libtlslocal.so"
    fi
    env -u LD_LIBRARY_PATH "$work/static/$program" || fail "CMake's static $program failed"
  done

  probes="1.1;1;1.1.0+EXACT;1.1+EXACT;1.0;2.0;1.2;0.9;1.0...<2.0;2.0...<3.0"
  cmake_run probe -DTLSLOCAL_PROBES="$probes" -DTLSLOCAL_CHECK=probe ||
    fail "the version probe: $(cat "$work/probe.log")"
  for expected in '1.1: found=1' '1: found=1' '1.1.0+EXACT: found=1' '1.1+EXACT: found=0' \
    '1.0: found=1' '2.0: found=0' '1.2: found=0' '0.9: found=0' '1.0...<2.0: found=1' \
    '2.0...<3.0: found=0'; do
    grep -qF "probe $expected" "$work/probe.log" ||
      fail "find_package(tlslocal ${expected%%:*}): not ${expected#*: }: $(cat "$work/probe.log")"
  done
  # Refused by the version file, which CMake names with the version it offers.
  grep -q 'requested version "2.0"' "$work/probe.log" &&
    grep -q 'tlslocalConfig.cmake, version: 1.1.0' "$work/probe.log" ||
    fail "CMake did not say why 2.0 was refused: $(cat "$work/probe.log")"
  echo "find_package versions: 1.1, 1, 1.1.0 EXACT, 1.0, 1.0...<2.0 accepted;" \
    "1.1 EXACT, 2.0, 1.2, 0.9, 2.0...<3.0 refused"

  # Without GLib's .pc in reach: tlslocal::tlslocal still works; COMPONENTS glib is refused.
  mkdir "$work/nothing"
  PKG_CONFIG_LIBDIR=$work/nothing PKG_CONFIG_PATH='' cmake_run noglib -DTLSLOCAL_CHECK=noglib ||
    fail "tlslocal::tlslocal without GLib's .pc: $(cat "$work/noglib.log")"
  env -u LD_LIBRARY_PATH "$work/noglib/consumer" || fail "the no-GLib consumer failed"
  if PKG_CONFIG_LIBDIR=$work/nothing PKG_CONFIG_PATH='' cmake_run needglib \
    -DTLSLOCAL_CHECK=needglib; then
    fail "COMPONENTS glib was found without GLib's .pc"
  fi
  grep -q 'component glib (tlslocal::glib) needs' "$work/needglib.log" ||
    fail "COMPONENTS glib without GLib: $(cat "$work/needglib.log")"
  echo "CMake consumers (shared, static, without GLib) ran: OK"
}

# subproject_build NAME MESON_OPTION...: the parent project in $work/NAME, built and tested.
subproject_build() {
  name=$1
  shift
  parent=$work/$name
  mkdir -p "$parent/subprojects"
  cp "$here/meson-subproject/meson.build" "$here/meson-subproject/meson_options.txt" \
    "$here/consumer.c" "$here/consumer-glib.c" "$parent/"
  ln -s "$source_root" "$parent/subprojects/libtlslocal"
  # The README's wrap file; its url is never fetched, as the directory is there.
  cat >"$parent/subprojects/libtlslocal.wrap" <<'WRAP'
[wrap-git]
url = https://example.org/libtlslocal.git
revision = v1.1.0
depth = 1

[provide]
dependency_names = tlslocal, tlslocal-glib
WRAP
  meson setup "$parent/build" "$parent" --wrap-mode=forcefallback "$@" >"$work/$name.log" 2>&1 ||
    fail "meson setup of the parent project: $(cat "$work/$name.log")"
  meson compile -C "$parent/build" >>"$work/$name.log" 2>&1 ||
    fail "meson compile of the parent project: $(cat "$work/$name.log")"
  meson test -C "$parent/build" --print-errorlogs >>"$work/$name.log" 2>&1 ||
    fail "the parent project's tests: $(cat "$work/$name.log")"
  grep -q "Executing subproject libtlslocal" "$work/$name.log" ||
    fail "libtlslocal was not built as a subproject: $(cat "$work/$name.log")"

  # From the subproject: the library target alone, and no test.
  meson introspect --targets "$parent/build" >"$work/$name-targets.json"
  meson introspect --tests "$parent/build" >"$work/$name-tests.json"
  python3 - "$work/$name-targets.json" "$work/$name-tests.json" "$1" <<'PY' ||
import json, sys
targets = json.load(open(sys.argv[1]))
tests = json.load(open(sys.argv[2]))
kind = "static library" if "static" in sys.argv[3] else "shared library"
ours = sorted((t["name"], t["type"]) for t in targets if t.get("subproject") == "libtlslocal")
assert ours == [("tlslocal", kind)], f"the subproject's targets: {ours}"
names = sorted(t["name"] for t in tests)
assert names == ["consumer", "consumer-glib"], f"tests registered: {names}"
print(f"subproject targets: {ours}; tests: {names}")
PY
    fail "the subproject built more than the library"
  if [ -n "$(find "$parent" -name node_modules)" ]; then
    fail "something was fetched: $(find "$parent" -name node_modules)"
  fi
}

check_subproject() {
  touch "$work/started"
  subproject_build shared -Ddefault_library=shared
  subproject_build static -Ddefault_library=static -Dthrough_wrap=true
  for program in consumer consumer-glib; do
    if needed "$work/static/build/$program" | grep -q libtlslocal; then
      fail "the static subproject's $program needs libtlslocal.so"
    fi
  done
  # Nothing written into the source tree (the subproject is a link to it); build directories and
  # .git aside.
  written=$(find "$source_root" \( -path "$source_root/build*" -o -path "$source_root/.git" \) \
    -prune -o -newer "$work/started" -print)
  [ -z "$written" ] || fail "written into the source tree: $written"
  echo "parent meson project with libtlslocal as its subproject (shared, static): OK"
}

case "$aspect" in
  pkgconfig) check_pkgconfig ;;
  static) check_static ;;
  cmake) check_cmake ;;
  subproject) check_subproject ;;
  *)
    echo "usage: check-package.sh pkgconfig|static|cmake|subproject SOURCE_ROOT STAGE_DIR" >&2
    exit 2
    ;;
esac
