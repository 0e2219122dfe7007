#!/bin/sh
# Install into a temporary prefix, then build and run a consumer through `pkg-config tlslocal` only,
# and check it loads the installed libtlslocal.so.1, not the build tree's.
set -eu
build_root=$1
source_root=$2
cc=${CC:-cc}
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

meson install -C "$build_root" --destdir "$staging" --no-rebuild --quiet
pc_file=$(find "$staging" -name tlslocal.pc | head -n 1)
[ -n "$pc_file" ] || { echo "tlslocal.pc was not installed"; exit 1; }
# Relocate the .pc to the staging prefix, as a packager's install would be; GLib's own .pc stays.
prefix=$(sed -n 's/^prefix=//p' "$pc_file")
mkdir "$staging/pc"
sed "s|^prefix=.*|prefix=$staging$prefix|" "$pc_file" > "$staging/pc/tlslocal.pc"
export PKG_CONFIG_PATH="$staging/pc"
flags=$(pkg-config --cflags --libs tlslocal)
echo "pkg-config --cflags --libs tlslocal: $flags"

# shellcheck disable=SC2086 # the flags are meant to split
"$cc" -o "$staging/consumer" "$source_root/examples/request-context.c" $flags -pthread
libdir=$(dirname "$(find "$staging" -name libtlslocal.so.1 | head -n 1)")
soname=$(readelf -d "$libdir/libtlslocal.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libtlslocal.so.1 ] || { echo "SONAME is '$soname'"; exit 1; }
resolved=$(LD_LIBRARY_PATH="$libdir" ldd "$staging/consumer" | awk '/libtlslocal/ {print $3}')
case "$resolved" in
  "$staging"/*) ;;
  *) echo "consumer resolved libtlslocal to '$resolved', not the installed copy"; exit 1 ;;
esac
LD_LIBRARY_PATH="$libdir" "$staging/consumer" > "$staging/out.txt"
grep -q 'req-2  linus' "$staging/out.txt"
grep -q 'alive after the workers ended: 0' "$staging/out.txt"
echo "installed consumer ran: OK"
