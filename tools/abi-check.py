#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compare a built libtlslocal with the recorded ABI baseline (abi/libtlslocal.so.1.abi), or record it.

    abi-check.py LIBRARY BASELINE HEADER...            check (the meta suite's `abi` test)
    abi-check.py --update LIBRARY BASELINE HEADER...   record (tools/abi-update.sh)

Only the public headers' types count (abidw/abidiff --header-file for each HEADER). The check runs
`abidiff BASELINE LIBRARY` and reads its exit status bits:
  1, 2  abidiff failed or was misused                             -> fail
  8     an incompatible change: a symbol removed                  -> fail
  4     an ABI change. Run again with --no-added-syms: if changes  -> fail (a function's parameter,
        remain, an existing function or type changed                 return or type changed)
        if only added functions remain, each must be in a version -> pass, with a note to update the
        node the baseline lacks (TLSLOCAL_1.1, ...)                  baseline on purpose
A released version node is never edited, so adding a function to a node the baseline already has
fails too: put it in a new node of libtlslocal/tlslocal.map. (Before a release, when the node is
still open, record the addition with tools/abi-update.sh.)

Exit 77 (meson's "skipped") when abigail-tools are missing or LIBRARY has no debug info
(a -Dbuildtype=release build): abidw needs DWARF. .ci/run installs abigail-tools and tests a -g build.
"""
import re
import shutil
import subprocess
import sys

SKIP = 77
# No paths, build directories or source lines enter the baseline, so it changes only when the ABI
# does, not with the checkout's location or an edit of the sources; type ids are hashes, so an added
# type does not renumber every later one.
ABIDW_FLAGS = ["--drop-private-types", "--no-corpus-path", "--no-comp-dir-path", "--no-show-locs",
               "--type-id-style", "hash"]
UPDATE_HINT = ("Update the baseline on purpose: tools/abi-update.sh BUILD_DIR, and commit "
               "abi/libtlslocal.so.1.abi with the change.")


def has_debug_info(library):
    sections = subprocess.run(["readelf", "-S", "-W", library], capture_output=True, text=True,
                              check=True).stdout
    return ".debug_info" in sections


def abidiff(baseline, library, headers, *extra):
    command = ["abidiff", *extra, "--drop-private-types"]
    for header in headers:
        command += ["--header-file2", header]
    return subprocess.run(command + [baseline, library], capture_output=True, text=True)


def main(argv):
    update = argv[:1] == ["--update"]
    if update:
        argv = argv[1:]
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    library, baseline, headers = argv[0], argv[1], argv[2:]
    tool = "abidw" if update else "abidiff"
    if shutil.which(tool) is None:
        print(f"{tool} not found: install abigail-tools (Debian) to check the ABI")
        return 1 if update else SKIP
    if not has_debug_info(library):
        print(f"{library} has no debug info (abidw needs DWARF): build with -g "
              "(meson's default buildtype, debugoptimized, has it)")
        return 1 if update else SKIP

    if update:
        command = ["abidw", *ABIDW_FLAGS]
        for header in headers:
            command += ["--header-file", header]
        subprocess.run(command + ["--out-file", baseline, library], check=True)
        print(f"recorded the ABI of {library} in {baseline}")
        return 0

    result = abidiff(baseline, library, headers)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    status = result.returncode
    if status == 0:
        print("ABI: identical to the baseline")
        return 0
    if status & 3:
        print(f"ABI: abidiff failed (exit status {status})")
        return 1
    if status & 8:
        print("ABI: INCOMPATIBLE change (a removed symbol): libtlslocal.so.1's users would break. "
              "Put the symbol back; an ABI break needs a new SONAME (major version).")
        return 1
    changed = abidiff(baseline, library, headers, "--no-added-syms")
    if changed.returncode != 0:
        print("ABI: a function or type of the baseline CHANGED (see above): callers compiled "
              "against the old header, and the Python and Node bindings, would pass or read the "
              "wrong thing. Keep the old function as it was and add a new one instead.")
        return 1

    # Only additions. Each must be in a version node the baseline does not have yet.
    with open(baseline, encoding="utf-8") as f:
        released_nodes = set(re.findall(r"<elf-symbol [^>]*? version='([^']+)'", f.read()))
    added = re.findall(r"\{(\w+)@@?([\w.]+)\}", result.stdout)
    problems = [f"{name} is added to {node}, a version node the baseline already has: a released "
                "node is never edited, so put it in a new node (TLSLOCAL_1.1 { global: "
                f"{name}; }} TLSLOCAL_1.0;) in libtlslocal/tlslocal.map"
                for name, node in added if node in released_nodes]
    for problem in problems:
        print("ABI: " + problem)
    if problems:
        print("(If that node is not released yet, the addition is fine: " + UPDATE_HINT + ")")
        return 1
    print(f"ABI: compatible, {len(added)} function(s) added in new version nodes. " + UPDATE_HINT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
