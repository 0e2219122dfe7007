#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson's `node` test: make sure koffi is installed (setup.sh), then run `node --test` on the test
# files given. Usage: run-tests.sh NODE FILE...
set -eu
node=$1
shift
cd "$(dirname "$0")/.."
NODE=$node sh ./setup.sh
exec "$node" --test "$@"
