#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-format: every C and C++ source is as clang-format (the .clang-format at the top) leaves it,
and no line passes 100 columns (clang-format does not reflow comments, so it cannot see theirs).

  check-format.py SOURCE_ROOT [CLANG_FORMAT]

Exits 77 (skipped) without clang-format 14, Debian 12's: other versions format some constructs
differently, and the style is fixed by that one.

Copyright the libtlslocal authors.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

COLUMNS = 100
# Folders of code that is not ours (npm's, meson subprojects') or built (build, build-asan, ...).
# Templates (*.h.in) match no pattern: clang-format would split their @NAME@ placeholders.
SKIP_PARTS = ("node_modules", "subprojects")
PATTERNS = ["libtlslocal/*.[ch]", "tests/**/*.[ch]", "tests/**/*.cc", "bench/*.[ch]", "bench/*.cc",
            "examples/**/*.[ch]", "bindings/**/*.[ch]", "bindings/**/*.cc",
            "bindings/**/*.hpp"]


def sources(root):
    found = set()
    for pattern in PATTERNS:
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            relative = os.path.relpath(path, root)
            if not any(part in SKIP_PARTS or part.startswith("build")
                       for part in relative.split(os.sep)[:-1]):
                found.add(relative)
    return sorted(found)


def main():
    root = sys.argv[1]
    clang_format = sys.argv[2] if len(sys.argv) > 2 else shutil.which("clang-format")
    if clang_format is None:
        print("skipped: clang-format not found")
        return 77
    version = subprocess.run([clang_format, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"version (\d+)", version)
    if match is None or match.group(1) != "14":
        print(f"skipped: the style is clang-format 14's; this is {version.strip()}")
        return 77
    files = sources(root)
    failures = 0
    for relative in files:
        path = os.path.join(root, relative)
        with open(path, encoding="utf-8") as source:
            original = source.read()
        formatted = subprocess.run([clang_format, "--style=file", "--assume-filename=" + path],
                                   input=original, capture_output=True, text=True, check=True).stdout
        if formatted != original:
            first = next(i for i, (a, b) in enumerate(zip(original.splitlines() + [""],
                                                          formatted.splitlines() + [""])) if a != b)
            print(f"{relative}:{first + 1}: not as clang-format leaves it "
                  f"(clang-format -i {relative})")
            failures += 1
        for number, line in enumerate(original.splitlines(), 1):
            if len(line) > COLUMNS:
                print(f"{relative}:{number}: {len(line)} columns, more than {COLUMNS}")
                failures += 1
    print(f"{len(files)} files checked, {failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
