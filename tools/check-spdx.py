#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-spdx: every source file in the repository (C and C++, headers, Python, JavaScript and
TypeScript, Rust, Go, Java, shell, meson, CMake, the linker version script) names its license on an
SPDX-License-Identifier line among its first lines. Data (fuzz corpora, ABI dumps), documents and
JSON (which has no comments; package.json carries a "license" field instead) are not sources.

    check-spdx.py SOURCE_ROOT          list the files without one; exit 1 if any
    check-spdx.py --fix SOURCE_ROOT    add the line to them, in each file's own comment syntax
"""
import os
import subprocess
import sys

LICENSE = "LGPL-2.1-or-later"
TAG = "SPDX-License-Identifier: " + LICENSE
HEAD_LINES = 5  # the line follows a shebang, 'use strict' or an encoding line, never later

C_STYLE = ("/* ", " */")
HASH_STYLE = ("# ", "")
SLASH_STYLE = ("// ", "")
COMMENT_BY_SUFFIX = {
    ".c": C_STYLE, ".h": C_STYLE, ".cc": C_STYLE, ".cpp": C_STYLE, ".hpp": C_STYLE,
    ".map": C_STYLE, ".h.in": C_STYLE,
    ".py": HASH_STYLE, ".py.in": HASH_STYLE, ".sh": HASH_STYLE, ".toml": HASH_STYLE,
    ".cmake": HASH_STYLE, ".cmake.in": HASH_STYLE,
    ".js": SLASH_STYLE, ".mjs": SLASH_STYLE, ".cjs": SLASH_STYLE, ".ts": SLASH_STYLE,
    ".rs": SLASH_STYLE, ".go": SLASH_STYLE, ".java": SLASH_STYLE,
}
COMMENT_BY_NAME = {"meson.build": HASH_STYLE, "meson_options.txt": HASH_STYLE,
                   "meson.options": HASH_STYLE, "CMakeLists.txt": HASH_STYLE}


def comment_style(path):
    name = os.path.basename(path)
    if name in COMMENT_BY_NAME:
        return COMMENT_BY_NAME[name]
    for suffix in sorted(COMMENT_BY_SUFFIX, key=len, reverse=True):
        if name.endswith(suffix):
            return COMMENT_BY_SUFFIX[suffix]
    if "." not in name:  # an extensionless script (run, .ci/run, debian/rules) says what it is
        try:
            with open(path, "rb") as f:
                first = f.readline()
        except OSError:
            return None
        if first.startswith(b"#!"):
            return HASH_STYLE
    return None


def tracked_files(root):
    listed = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True)
    if listed.returncode == 0:
        return [p for p in listed.stdout.decode().split("\0") if p]
    # A release tarball has no .git: every file under the root, build folders aside.
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(("build", ".")) and d != "node_modules"]
        found += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    return found


def has_tag(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return any(TAG in f.readline() for _ in range(HEAD_LINES))


def add_tag(path, style):
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    line = style[0] + TAG + style[1] + "\n"
    at = 1 if lines and (lines[0].startswith("#!") or lines[0].strip() == "'use strict';") else 0
    lines.insert(at, line)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def main(argv):
    fix = "--fix" in argv
    root = [a for a in argv if a != "--fix"][0]
    missing = []
    for rel in sorted(tracked_files(root)):
        path = os.path.join(root, rel)
        style = comment_style(path)
        if style is None or not os.path.isfile(path) or has_tag(path):
            continue
        if fix:
            add_tag(path, style)
        else:
            missing.append(rel)
    for rel in missing:
        print(f"{rel}: no '{TAG}' line in its first {HEAD_LINES} lines")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
