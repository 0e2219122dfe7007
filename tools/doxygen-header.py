#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Copy a public header with its plain comments turned into Doxygen comments, for the API reference.

    doxygen-header.py INPUT.h OUTPUT.h

The header documents every declaration in plain C comments (`/* ... @param ... @return ... */`),
which Doxygen ignores; the header itself stays as it is. In the copy:
  - a comment that starts a line and is directly followed by code (no blank line) documents that
    code: `/*` becomes `/**`;
  - a comment after code on the same line documents that code: `/*` becomes `/**<`;
  - the file's opening comment becomes the `@file` description;
  - section banners (`/* ---- ... ---- */`, followed by a blank line) stay plain comments;
  - GVariant's `<handle N>` is escaped, so Doxygen does not read it as an HTML tag.
"""
import re
import sys

COMMENT = re.compile(r"/\*.*?\*/", re.S)


def convert(text):
    out, position, first = [], 0, True
    for match in COMMENT.finditer(text):
        start, end = match.span()
        comment = match.group(0)
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        after = text[end:text.find("\n", end) if "\n" in text[end:] else len(text)]
        following = text[end:].split("\n", 2)
        next_line = following[1] if len(following) > 1 else ""
        out.append(text[position:start])
        position = end
        comment = comment.replace("<handle", "\\<handle")  # GVariant's <handle N>, not HTML
        if comment.startswith("/**") or comment.startswith("/*!") or after.strip():
            out.append(comment)  # already Doxygen, or code follows on the same line
        elif first and not before.strip():
            out.append("/** @file\n" + comment[2:])
        elif before.strip() and not before.strip().startswith("#"):
            out.append("/**<" + comment[2:])
        elif not before.strip() and next_line.strip() and not comment.startswith("/* ---"):
            out.append("/**" + comment[2:])
        else:
            out.append(comment)
        first = False
    out.append(text[position:])
    return "".join(out)


def main(argv):
    with open(argv[0], encoding="utf-8") as f:
        text = f.read()
    with open(argv[1], "w", encoding="utf-8") as f:
        f.write(convert(text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
