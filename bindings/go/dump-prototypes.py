#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Go binding's table for tests/check-binding-prototypes.py's `table` mode:
    dump-prototypes.py BINDINGS_GO_DIR
prints {"functions": {name: null}, "not_bound": {name: reason}}. functions are the C.tl_* names
the package's own Go files use (the package directory, not its tests, internal/ or demo/): cgo
compiles each call against tlslocal.h, so only their presence is compared. not_bound comes from
the "not bound: NAME: reason" lines of the package's comments (unbound.go)."""
import glob
import json
import os
import re
import sys


def main(directory):
    functions, not_bound = {}, {}
    for path in sorted(glob.glob(os.path.join(directory, "*.go"))):
        if path.endswith("_test.go"):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        code = re.sub(r"//[^\n]*", " ", text)  # the calls, not the comments naming functions
        for name in re.findall(r"\bC\.(tl_\w+)\b", code):
            functions[name] = None
        for name, reason in re.findall(r"^// not bound: (tl_\w+): (.+)$", text, flags=re.M):
            not_bound[name] = reason
    json.dump({"functions": functions, "not_bound": not_bound}, sys.stdout, indent=1,
              sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
