# SPDX-License-Identifier: LGPL-2.1-or-later
"""The interpreters meson runs the binding's tests with, one per minor version the package claims:
    python3 find-interpreters.py 3.8 3.9 ...
prints "VERSION<tab>PATH" for each version found and "missing<tab>VERSION" for each that is not,
then the interpreter running this script (the python3 meson found) if its version is not among
them.

Found through pyenv (its newest X.Y.Z build, from $PYENV_ROOT, `pyenv root` or ~/.pyenv), else as
pythonX.Y on PATH. A pyenv shim is not an interpreter (it fails unless pyenv selects that version),
so each candidate must run and report the version asked for.
"""

import os
import re
import subprocess
import sys


def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    try:
        return subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return os.path.expanduser("~/.pyenv")


def pyenv_candidates(root, version):
    """pythonX.Y of pyenv's X.Y.Z builds, newest first (no dev, free-threaded or debug builds)."""
    versions = os.path.join(root, "versions")
    try:
        names = os.listdir(versions)
    except OSError:
        return []
    builds = [name for name in names if re.fullmatch(re.escape(version) + r"\.\d+", name)]
    builds.sort(key=lambda name: int(name.rsplit(".", 1)[1]), reverse=True)
    return [os.path.join(versions, name, "bin", "python" + version) for name in builds]


def path_candidates(version):
    return [os.path.join(directory, "python" + version)
            for directory in os.environ.get("PATH", "").split(os.pathsep) if directory]


def runs_as(path, version):
    if not os.access(path, os.X_OK):
        return False
    try:
        result = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def main(claimed):
    root = pyenv_root()
    found = {}
    for version in claimed:
        for path in pyenv_candidates(root, version) + path_candidates(version):
            if runs_as(path, version):
                found[version] = path
                print(version, path, sep="\t")
                break
        else:
            print("missing", version, sep="\t")
    own = "%d.%d" % sys.version_info[:2]
    if own not in found:
        print(own, sys.executable, sep="\t")


if __name__ == "__main__":
    main(sys.argv[1:])
