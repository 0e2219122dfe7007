#!/bin/sh
# meson's `node` test: make sure koffi is installed (setup.sh), then run `node --test` on the test
# files given. Usage: run-tests.sh NODE FILE...
set -eu
node=$1
shift
cd "$(dirname "$0")/.."
NODE=$node sh ./setup.sh
exec "$node" --test "$@"
