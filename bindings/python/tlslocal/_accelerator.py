# SPDX-License-Identifier: LGPL-2.1-or-later
"""The compiled accelerator, tlslocal._speedups: found when meson built it, refused with
TLSLOCAL_PURE_PYTHON=1 (any value but "" and "0"), which keeps the portable ctypes path.

meson builds it per interpreter; `meson install` puts it in the package (platlib, beside the pure
files on Debian and in a virtualenv). A build tree has it in <build>/bindings/python/tlslocal/, a
directory without a package of its own: with <build>/bindings/python on PYTHONPATH (the tests, the
benchmark), that directory joins the package's path. A directory holding an __init__.py never does:
that is another installed copy of the package, not ours to mix with.
"""

import importlib
import os
import sys

__all__ = ["PURE_ENV", "API", "load"]

PURE_ENV = "TLSLOCAL_PURE_PYTHON"
API = 1  # _speedups.API that this package's install() call matches


def _build_tree_dirs(package_path):
    for entry in sys.path:
        directory = os.path.join(entry or os.curdir, "tlslocal")
        if (directory not in package_path and os.path.isdir(directory)
                and not os.path.exists(os.path.join(directory, "__init__.py"))):
            yield directory


def load():
    """The _speedups module to use, or None: refused by TLSLOCAL_PURE_PYTHON, not built for this
    interpreter, or built for another version of this package (API)."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    package = sys.modules[__package__]
    try:
        module = importlib.import_module("._speedups", __package__)
    except ImportError:
        extra = list(_build_tree_dirs(package.__path__))
        if not extra:
            return None
        package.__path__.extend(extra)
        try:
            module = importlib.import_module("._speedups", __package__)
        except ImportError:
            return None
    return module if getattr(module, "API", None) == API else None
