#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson's `node` test: make sure koffi is installed into DIR/node_modules (setup.sh), then run
# `node --test` on the test files given, with DIR/node_modules on NODE_PATH.
# Usage: run-tests.sh DIR NODE FILE...
set -eu
into=$1
node=$2
shift 2
cd "$(dirname "$0")/.."
NODE=$node exec sh ./setup.sh --into "$into" -- "$node" --test "$@"
