# SPDX-License-Identifier: LGPL-2.1-or-later
"""How the package finds libtlslocal: one the process has loaded already, $TLSLOCAL_LIBRARY, next
to the package (a copy inside it, or where `meson install` put it), the SONAME; and the ImportError
that says what to do otherwise. tests/package/wheel-check.py tests the same with installed wheels."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import tlslocal
from support import run_python

PACKAGE_DIR = os.path.dirname(tlslocal.__file__)
BUILT_LIBRARY = os.environ.get("TLSLOCAL_LIBRARY")
SONAME = "libtlslocal.so.1"
REPORT = ("import tlslocal; print(tlslocal.LIBRARY_PATH); print(tlslocal.version()); "
          "print(tlslocal.LIBRARY_ORIGIN)")


def clean_env(**extra):
    """The environment without anything that points at a libtlslocal."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TLSLOCAL_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env.update(extra)
    return env


def run_isolated(code, env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60)


def soname_is_installed():
    """Whether the dynamic linker finds a libtlslocal on its own (installed system-wide)."""
    return run_isolated(f"import ctypes; ctypes.CDLL({SONAME!r})", clean_env()).returncode == 0


@unittest.skipUnless(sys.platform.startswith("linux"), "ELF SONAME layout")
class LoaderTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tlslocal-loader-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def copy_package(self, into):
        target = os.path.join(into, "tlslocal")
        shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.in"))
        return target

    def test_explicit_path_that_does_not_load(self):
        missing = "/nonexistent/libtlslocal.so.1"
        result = run_python("import tlslocal", env={"TLSLOCAL_LIBRARY": missing})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"ImportError: tlslocal: cannot load TLSLOCAL_LIBRARY={missing!r}",
                      result.stderr)

    def test_explicit_library_that_is_not_libtlslocal(self):
        result = run_python("import tlslocal", env={"TLSLOCAL_LIBRARY": "libc.so.6"})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ImportError: tlslocal: libc.so.6 has no symbol tl_version", result.stderr)

    @unittest.skipIf(soname_is_installed(), "a libtlslocal is installed system-wide")
    def test_not_found_says_what_to_do(self):
        self.copy_package(self.tmp)
        result = run_isolated("import tlslocal", clean_env(PYTHONPATH=self.tmp))
        self.assertNotEqual(result.returncode, 0)
        message = result.stderr.strip().splitlines()[-1]
        self.assertTrue(
            message.startswith("ImportError: tlslocal: cannot find the libtlslocal C library"),
            message)
        for hint in ("meson install", "LD_LIBRARY_PATH", "TLSLOCAL_LIBRARY"):
            self.assertIn(hint, message)

    @unittest.skipUnless(BUILT_LIBRARY, "TLSLOCAL_LIBRARY names the built library")
    def test_copy_inside_the_package(self):
        package = self.copy_package(self.tmp)
        shutil.copy(BUILT_LIBRARY, os.path.join(package, SONAME))
        result = run_isolated(REPORT, clean_env(PYTHONPATH=self.tmp))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines()[0], os.path.join(package, SONAME))
        self.assertEqual(result.stdout.splitlines()[2], "bundled")

    @unittest.skipUnless(BUILT_LIBRARY, "TLSLOCAL_LIBRARY names the built library")
    def test_soname_through_the_dynamic_linker(self):
        self.copy_package(self.tmp)
        libdir = os.path.join(self.tmp, "lib")
        os.mkdir(libdir)
        shutil.copy(BUILT_LIBRARY, os.path.join(libdir, SONAME))
        result = run_isolated(REPORT, clean_env(PYTHONPATH=self.tmp, LD_LIBRARY_PATH=libdir))
        self.assertEqual(result.returncode, 0, result.stderr)
        # The file the search found, not the SONAME asked for.
        self.assertEqual(result.stdout.splitlines()[0], os.path.join(libdir, SONAME))
        self.assertEqual(result.stdout.splitlines()[2], "dynamic linker")

    @unittest.skipUnless(BUILT_LIBRARY, "TLSLOCAL_LIBRARY names the built library")
    def test_already_loaded_wins(self):
        """A libtlslocal mapped before the import (by a C extension, say) is the one used, even
        where TLSLOCAL_LIBRARY names another file: a second copy would be a second registry."""
        self.copy_package(self.tmp)
        loaded = os.path.join(self.tmp, SONAME)
        shutil.copy(BUILT_LIBRARY, loaded)
        code = ("import ctypes, sys, warnings; ctypes.CDLL(sys.argv[1])\n"
                "with warnings.catch_warnings(record=True) as caught:\n"
                "    warnings.simplefilter('always')\n"
                "    import tlslocal\n"
                "print(tlslocal.LIBRARY_PATH); print(tlslocal.LIBRARY_ORIGIN)\n"
                "print(len(caught)); [print(w.message) for w in caught]\n"
                "print(sorted({line.split()[-1] for line in open('/proc/self/maps')\n"
                "              if 'libtlslocal' in line}))")
        for explicit, warned in ((None, False), (loaded, False), (BUILT_LIBRARY, True)):
            env = clean_env(PYTHONPATH=self.tmp)
            if explicit:
                env["TLSLOCAL_LIBRARY"] = explicit
            result = subprocess.run([sys.executable, "-c", code, loaded], capture_output=True,
                                    text=True, env=env, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            lines = result.stdout.splitlines()
            self.assertEqual(lines[:2], [loaded, "already loaded"], explicit)
            self.assertEqual(lines[-1], repr([loaded]), "exactly one libtlslocal mapped")
            self.assertEqual(lines[2], "1" if warned else "0", lines)
            if warned:
                self.assertIn(f"TLSLOCAL_LIBRARY={BUILT_LIBRARY!r} is not the libtlslocal this "
                              f"process has loaded already ({loaded})", lines[3])

    @unittest.skipUnless(os.environ.get("TLSLOCAL_BUILD_ROOT") and shutil.which("meson"),
                         "needs the meson build directory")
    def test_meson_install_layout(self):
        """`meson install` into a staging directory: the installed package finds the installed
        library through _install.py, with no environment help."""
        destdir = os.path.join(self.tmp, "stage")
        subprocess.run([shutil.which("meson"), "install", "-C", os.environ["TLSLOCAL_BUILD_ROOT"],
                        "--destdir", destdir, "--no-rebuild", "--quiet"], check=True,
                       capture_output=True, timeout=120)
        inits = glob.glob(os.path.join(destdir, "**", "tlslocal", "__init__.py"), recursive=True)
        self.assertEqual(len(inits), 1, inits)
        package = os.path.dirname(inits[0])
        self.assertTrue(os.path.exists(os.path.join(package, "_install.py")))
        libraries = glob.glob(os.path.join(destdir, "**", SONAME), recursive=True)
        self.assertEqual(len(libraries), 1, libraries)
        result = run_isolated(REPORT, clean_env(PYTHONPATH=os.path.dirname(package)))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.path.realpath(result.stdout.split()[0]), os.path.realpath(libraries[0]))
        self.assertEqual(result.stdout.split()[1], tlslocal.version())
        self.assertEqual(result.stdout.splitlines()[2], "meson install")


if __name__ == "__main__":
    unittest.main()
