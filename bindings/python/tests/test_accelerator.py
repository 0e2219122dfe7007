# SPDX-License-Identifier: LGPL-2.1-or-later
"""Which path `import tlslocal` took (the compiled accelerator or the pure ctypes one), as the test
run expects (TLSLOCAL_TEST_ACCELERATED, set by meson), and what only the accelerated class has."""

import os
import subprocess
import sys
import threading
import unittest

import tlslocal
from tlslocal import _local

EXPECTED = os.environ.get("TLSLOCAL_TEST_ACCELERATED")


class Path(unittest.TestCase):
    @unittest.skipIf(EXPECTED is None, "TLSLOCAL_TEST_ACCELERATED not set: not run by meson")
    def test_the_expected_path(self):
        self.assertEqual(tlslocal.ACCELERATED, EXPECTED == "1")

    def test_pure_env_refuses_the_accelerator(self):
        env = dict(os.environ, TLSLOCAL_PURE_PYTHON="1")
        out = subprocess.run([sys.executable, "-c", "import tlslocal; print(tlslocal.ACCELERATED)"],
                             env=env, capture_output=True, text=True, check=True).stdout
        self.assertEqual(out.strip(), "False")

    def test_class_layout(self):
        # Either way tlslocal.local is a threading.local, and a subclass of the pure class.
        self.assertTrue(issubclass(tlslocal.local, _local._thread_local))
        self.assertTrue(issubclass(tlslocal.local, _local._pure_local))
        self.assertEqual(tlslocal.local.__name__, "local")
        self.assertEqual(tlslocal.local.__module__, "tlslocal")
        self.assertEqual(tlslocal.local is _local._pure_local, not tlslocal.ACCELERATED)


class BothClassesAtOnce(unittest.TestCase):
    """With the accelerator, the pure class stays usable beside it over the same library: what the
    benchmark relies on, and a check that the two paths agree on what they store."""

    def test_one_thread_each_class(self):
        for cls in (tlslocal.local, _local._pure_local):
            seen = []

            def body(cls=cls, seen=seen):
                obj = cls()
                for i in range(200):
                    obj.n, obj.s, obj.f, obj.b, obj.x = i, f"s{i}", i / 2, i % 2 == 0, None
                    obj.big = 2 ** 63 + i
                    seen.append((obj.n, obj.s, obj.f, obj.b, obj.x, obj.big))
                del obj.n
                seen.append(hasattr(obj, "n"))

            threads = [threading.Thread(target=body) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(seen.count(False), 4)
            rows = [row for row in seen if row is not False]
            self.assertEqual(len(rows), 800)
            for row in rows:
                i = row[0]
                self.assertEqual(row, (i, f"s{i}", i / 2, i % 2 == 0, None, 2 ** 63 + i))


if __name__ == "__main__":
    unittest.main()
