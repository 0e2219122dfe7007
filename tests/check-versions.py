#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One version everywhere: meson.build's project version is NEWS.md's newest release, the generated
tlslocal-version.h's TL_VERSION_*, the Python, Node and Debian packages' versions, the bindings'
ABI_MAJOR and the library's SONAME; the version script's newest node is
TLSLOCAL_<major>.<minor at most>.

    check-versions.py VERSION SOURCE_ROOT VERSION_HEADER LIBRARY
"""
import json
import os
import re
import subprocess
import sys

version, source_root, version_header, library = sys.argv[1:5]
major, minor, micro = (int(part) for part in version.split("."))
problems = []


def read(*path):
    with open(os.path.join(source_root, *path), encoding="utf-8") as f:
        return f.read()


def expect(what, found, wanted):
    if found != wanted:
        problems.append(f"{what} is {found!r}, meson.build says {wanted!r}")


news = re.findall(r"^## (\d+\.\d+\.\d+) \(([^)]*)\)\n+(\S[^\n]*)", read("NEWS.md"), re.M)
if not news:
    problems.append("NEWS.md has no '## X.Y.Z (DATE)' release heading followed by its changelog line")
else:
    expect("NEWS.md's newest release", news[0][0], version)
    for release, date, _line in news:
        if date != "unreleased" and not re.fullmatch(r"\d{4}-\d\d-\d\d", date):
            problems.append(f"NEWS.md {release}: date {date!r} is neither YYYY-MM-DD nor unreleased")

with open(version_header, encoding="utf-8") as f:
    header = dict(re.findall(r"#define (TL_VERSION_\w+) (\S+)", f.read()))
expect("TL_VERSION_STRING", header.get("TL_VERSION_STRING"), f'"{version}"')
for name, value in (("MAJOR", major), ("MINOR", minor), ("MICRO", micro)):
    expect(f"TL_VERSION_{name}", header.get(f"TL_VERSION_{name}"), str(value))

# debian/changelog's newest entry (a native package: the version alone, no Debian revision).
changelog = re.match(r"\S+ \(([^)]+)\)", read("debian", "changelog"))
expect("debian/changelog's newest version", changelog and changelog.group(1), version)

expect("bindings/node/package.json version", json.loads(read("bindings", "node", "package.json"))
       .get("version"), version)
pyproject = re.search(r'^version\s*=\s*"([^"]+)"', read("bindings", "python", "pyproject.toml"), re.M)
expect("bindings/python/pyproject.toml version", pyproject and pyproject.group(1), version)
init = re.search(r'^__version__\s*=\s*"([^"]+)"', read("bindings", "python", "tlslocal",
                                                        "__init__.py"), re.M)
expect("tlslocal.__version__", init and init.group(1), version)
for path, pattern in ((("bindings", "python", "tlslocal", "_ffi.py"), r"ABI_MAJOR, MIN_MINOR, MIN_MICRO = (\d+)"),
                      (("bindings", "node", "_ffi.js"), r"const ABI_MAJOR = (\d+);")):
    found = re.search(pattern, read(*path))
    expect(f"{'/'.join(path)} ABI_MAJOR", found and int(found.group(1)), major)

nodes = re.findall(r"^(TLSLOCAL_(\d+)\.(\d+))\s*\{", read("libtlslocal", "tlslocal.map"), re.M)
if not nodes:
    problems.append("libtlslocal/tlslocal.map has no TLSLOCAL_x.y node")
for node, node_major, node_minor in nodes:
    if int(node_major) != major or int(node_minor) > minor:
        problems.append(f"tlslocal.map node {node} does not belong to version {version}")

dynamic = subprocess.run(["readelf", "-d", library], capture_output=True, text=True,
                         check=True).stdout
soname = re.search(r"\(SONAME\).*\[(.*)\]", dynamic)
expect("the library's SONAME", soname and soname.group(1), f"libtlslocal.so.{major}")

for problem in problems:
    print(problem)
print(f"version {version}: {len(problems)} problems")
sys.exit(1 if problems else 0)
