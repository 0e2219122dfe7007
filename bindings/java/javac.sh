#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# javac.sh STAMP CLASSES_DIR JAVAC [ARG...]: compile afresh into CLASSES_DIR (emptied first, so a
# removed source leaves no stale class behind), then touch STAMP, the file meson tracks.
set -e
stamp=$1
classes=$2
shift 2
rm -rf "$classes"
mkdir -p "$classes"
"$@"
touch "$stamp"
