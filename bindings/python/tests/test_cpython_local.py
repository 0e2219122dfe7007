# SPDX-License-Identifier: LGPL-2.1-or-later
"""CPython's own Lib/test/test_threading_local.py, from this interpreter's test package, run
against tlslocal.local: every test of its BaseLocalTest (the tests CPython runs on both
_thread._local and _threading_local.local), with _local = tlslocal.local, and _threading_local's
docstring examples with local = tlslocal.local.

Every one applies. test_threading_local_clear_race (3.9+; a local created while a C thread's
temporary thread state is being cleared, gh-100892) names threading.local itself rather than
self._local: it runs with threading.local replaced by tlslocal.local, or it would test CPython's.

    python3 test_cpython_local.py    (exits 77, "skipped", where the interpreter ships no tests)
"""

import doctest
import sys
import threading
import unittest
from unittest import mock

import tlslocal

try:  # Debian's python3 ships it apart (libpython3.X-testsuite); pyenv's interpreters have it
    from test import test_threading_local as cpython
except ImportError:
    cpython = None


if cpython is not None:
    class CPythonLocalTest(unittest.TestCase, cpython.BaseLocalTest):
        _local = tlslocal.local

        if hasattr(cpython.BaseLocalTest, "test_threading_local_clear_race"):
            def test_threading_local_clear_race(self):
                with mock.patch.object(threading, "local", tlslocal.local):
                    super().test_threading_local_clear_race()


def load_tests(loader, tests, pattern):
    suite = doctest.DocTestSuite("_threading_local",
                                 setUp=lambda test: test.globs.update(local=tlslocal.local))
    if suite.countTestCases() != 1:
        raise AssertionError("_threading_local's docstring has no examples to run")
    tests.addTests(suite)
    return tests


if __name__ == "__main__":
    if cpython is None:
        print(f"{sys.executable} ships no test.test_threading_local: skipped")
        sys.exit(77)
    unittest.main(verbosity=2)
