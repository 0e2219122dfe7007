#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-go.sh MODULE_DIR GO ARG...: run the go command in the module, with meson's environment
# (GOCACHE, GOPATH and GOTMPDIR in the build directory, which this creates).
set -e
cd "$1"
shift
mkdir -p "$GOCACHE" "$GOPATH" "$GOTMPDIR"
exec "$@"
