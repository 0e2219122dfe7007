#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The C++ binding's table for check-binding-prototypes.py's `table` mode, read from tlslocal.hpp:
every tl_ function its code calls (null: the compiler checks each call against tlslocal.h), and
the functions its opening comment lists as not wrapped, each with the reason given there.

    dump-prototypes.py PATH/TO/tlslocal.hpp
"""
import json
import re
import sys


def main(path):
    with open(path, encoding="utf-8") as source:
        text = source.read()
    # The not-wrapped list: "//   tl_name: reason" lines of the opening comment, up to its end marker.
    head = text.split("// (end of the list)", 1)[0]
    not_bound = dict(re.findall(r"^//\s+(tl_\w+): (.+)$", head, flags=re.M))
    code = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    code = re.sub(r"//[^\n]*", " ", code)
    code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)  # no names inside string literals
    called = sorted(set(re.findall(r"\b(tl_\w+)\s*\(", code)))
    json.dump({"functions": {name: None for name in called}, "not_bound": not_bound}, sys.stdout,
              indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
