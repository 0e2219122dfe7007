#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The library exports exactly the functions its public headers declare, each versioned TLSLOCAL_1.0
(or a later node), and nothing else: no GLib or libffi symbol, no internal _tl_ helper."""
import re
import subprocess
import sys

library, headers = sys.argv[1], sys.argv[2:]

declared = set()
for header in headers:
    with open(header, encoding="utf-8") as f:
        declared |= set(re.findall(r"\bTL_API\b[^;]*?\b(tl_\w+)\s*\(", f.read(), re.S))

dynsyms = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions", library],
                         check=True, capture_output=True, text=True).stdout
exported, problems = {}, []
for line in dynsyms.splitlines():
    fields = line.split()
    if len(fields) < 3:
        continue
    kind, name = fields[1], fields[2]
    if kind == "A":  # the version node itself, e.g. TLSLOCAL_1.0
        if not re.fullmatch(r"TLSLOCAL_\d+\.\d+", name):
            problems.append(f"unexpected absolute symbol {name}")
        continue
    base, _, version = name.partition("@@")
    if not re.fullmatch(r"TLSLOCAL_\d+\.\d+", version):
        problems.append(f"{name}: not versioned with a TLSLOCAL_x.y node")
    exported[base] = version

for name in sorted(set(exported) - declared):
    problems.append(f"exported but not declared in a public header: {name}")
for name in sorted(declared - set(exported)):
    problems.append(f"declared but not exported: {name}")

if len(declared) < 40:
    problems.append(f"only {len(declared)} declarations found: header parsing is broken")
for problem in problems:
    print(problem)
print(f"{len(exported)} exported, {len(declared)} declared, {len(problems)} problems")
sys.exit(1 if problems else 0)
