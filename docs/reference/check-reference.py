#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The generated API reference documents every function of tlslocal.h, and has its front page.

    check-reference.py HTML_DIR tlslocal.h
"""
import os
import re
import sys

html_dir, header = sys.argv[1], sys.argv[2]
with open(header, encoding="utf-8") as f:
    functions = re.findall(r"\bTL_API\b[^;]*?\b(tl_\w+)\s*\(", f.read(), re.S)
problems = []
page = os.path.join(html_dir, "tlslocal_8h.html")
if not os.path.exists(page):
    problems.append(f"{page} was not generated")
else:
    with open(page, encoding="utf-8") as f:
        reference = f.read()
    for name in functions:
        # Each function gets a detailed entry: <td class="memname">... name</td>.
        if not re.search(r'class="memname">[^\n]*\b' + name + r'\b', reference):
            problems.append(f"{name}: no entry in the reference")
if not os.path.exists(os.path.join(html_dir, "index.html")):
    problems.append("no front page (index.html)")
warnings = os.path.join(html_dir, "..", "doxygen-warnings.txt")
count = 0
if os.path.exists(warnings):
    with open(warnings, encoding="utf-8") as f:
        count = sum(1 for line in f if "warning:" in line)
for problem in problems:
    print(problem)
print(f"{len(functions)} functions, {len(problems)} problems; Doxygen warnings: {count} "
      f"(in {os.path.normpath(warnings)})")
sys.exit(1 if problems else 0)
