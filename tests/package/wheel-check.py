#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python packages, as a user installs them, with one interpreter (meson runs this once per
CPython the binding claims: tests/package/meson.build):

    wheel-check.py INTERPRETER BUILD_ROOT SOURCE_ROOT LIBRARY

1. tools/build-wheel.sh, run by INTERPRETER, makes the platform wheel: its name, tag, WHEEL,
   METADATA (against pyproject.toml, read by tomllib), RECORD's hashes, the library's bytes and
   executable mode are checked; the backend's sdist too.
2. In a fresh venv of INTERPRETER (pip offline, --no-index): the wheel installs; from / with no
   TLSLOCAL_LIBRARY, LD_LIBRARY_PATH or PYTHONPATH, `import tlslocal` maps exactly the venv's bundled
   copy and says so (LIBRARY_ORIGIN "bundled"); a local keeps one value per thread.
3. One registry per process: a C helper (tl-registry-helper.c) linked against a "system" copy of
   libtlslocal (`meson install --destdir`, through its pkg-config file) is loaded first; the wheel's
   tlslocal must then use that copy, not map its bundled one: one libtlslocal in /proc/self/maps,
   tl_version() resolved in that file for both, a named local shared both ways. TLSLOCAL_LIBRARY
   naming the bundled file changes nothing but a warning.
4. `pip install SOURCE_ROOT/bindings/python` (build isolation on: the in-tree backend), its sdist,
   and `pip install -e`: each installs offline and imports; `pip wheel --config-settings
   bundle-library=LIBRARY` makes the very bytes of step 1's wheel; the pure wheel is py3-none-any and
   finds no library by itself (the ImportError says what to do), and the source tree is left as it
   was. (pip imports the backend from the tree, so outside this test, where bytecode is written,
   backend/__pycache__ appears, as for any imported module; .gitignore has it.)
"""
import base64
import csv
import email.parser
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile

interpreter, build_root, source_root, library = sys.argv[1:5]
library = os.path.realpath(library)
package_source = os.path.join(source_root, "bindings", "python")
SONAME = "libtlslocal.so.1"
PIP = ["--disable-pip-version-check", "--no-input", "--no-index", "--no-cache-dir", "--quiet"]
started = time.monotonic()


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def step(message):
    print(f"[{time.monotonic() - started:5.1f} s] {message}", flush=True)


def user_env(**extra):
    """The environment of a user's shell: nothing that points at the build or source tree."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TLSLOCAL_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME",
                        "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def in_tree(command):
    """command, which runs the backend from the source tree, with no bytecode written there."""
    return run(command, env=user_env(PYTHONDONTWRITEBYTECODE="1"))


def run(command, cwd=None, env=None, check_ok=True):
    result = subprocess.run(command, cwd=cwd, env=env or user_env(), capture_output=True,
                            text=True, timeout=180)
    if check_ok and result.returncode != 0:
        shown = " ".join(word if len(word) < 80 else word[:60] + "..." for word in command)
        fail(f"{shown} exited {result.returncode}\n{result.stdout}{result.stderr}")
    return result


def project():
    """pyproject.toml's [project], read by tomllib (Python 3.11+) where this python has it: then the
    backend's own small reader is checked against it too."""
    sys.path.insert(0, os.path.join(package_source, "backend"))
    sys.dont_write_bytecode = True
    import tlslocal_backend
    path = os.path.join(package_source, "pyproject.toml")
    ours = tlslocal_backend.read_pyproject(path)
    try:
        import tomllib
    except ImportError:
        print(f"NOTE: Python {sys.version.split()[0]} has no tomllib: pyproject.toml is read by "
              f"the backend's reader alone")
        return ours["project"]
    with open(path, "rb") as f:
        document = tomllib.load(f)
    check(ours == document, f"the backend reads pyproject.toml as {ours}, tomllib as {document}")
    return document["project"]


PROJECT = project()
VERSION = PROJECT["version"]
PACKAGE_FILES = sorted(f"tlslocal/{name}" for name in os.listdir(os.path.join(package_source,
                                                                              "tlslocal"))
                       if name.endswith(".py") and name != "_install.py")
DIST_INFO = f"tlslocal-{VERSION}.dist-info"


# ---- 1. the wheel itself ----

def check_wheel(path, bundled):
    platform = re.sub(r"[-.]", "_", sysconfig.get_platform())
    tag = f"py3-none-{platform}" if bundled else "py3-none-any"
    check(os.path.basename(path) == f"tlslocal-{VERSION}-{tag}.whl", f"wheel named {path}")
    check(platform.startswith("linux_"), f"platform tag {platform}")
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        expected = PACKAGE_FILES + ([f"tlslocal/{SONAME}"] if bundled else []) + [
            f"{DIST_INFO}/{name}" for name in ("METADATA", "WHEEL", "COPYING", "RECORD")]
        check(sorted(names) == sorted(expected), f"wheel holds {sorted(names)}")
        check(len(set(names)) == len(names), "a file twice in the wheel")

        records = list(csv.reader(io.StringIO(wheel.read(f"{DIST_INFO}/RECORD").decode())))
        check(sorted(r[0] for r in records) == sorted(names), "RECORD does not list every file")
        for name, digest, size in records:
            if name == f"{DIST_INFO}/RECORD":
                check(digest == "" and size == "", "RECORD lists a hash of itself")
                continue
            data = wheel.read(name)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            check(digest == f"sha256={want}" and size == str(len(data)), f"RECORD: {name}")

        parse = email.parser.Parser().parsestr
        meta = parse(wheel.read(f"{DIST_INFO}/WHEEL").decode())
        check(meta["Wheel-Version"] == "1.0", "Wheel-Version")
        check(meta["Root-Is-Purelib"] == ("false" if bundled else "true"), "Root-Is-Purelib")
        check(meta.get_all("Tag") == [tag], f"WHEEL Tag {meta.get_all('Tag')}")

        meta = parse(wheel.read(f"{DIST_INFO}/METADATA").decode())
        for field, value in (("Name", PROJECT["name"]), ("Version", VERSION),
                             ("Summary", PROJECT["description"]),
                             ("Requires-Python", PROJECT["requires-python"]),
                             ("License", PROJECT["license"]["text"])):
            check(meta[field] == value, f"METADATA {field}: {meta[field]!r}, not {value!r}")
        check(meta.get_all("Classifier") == PROJECT["classifiers"], "METADATA classifiers")
        with open(os.path.join(package_source, PROJECT["readme"]), encoding="utf-8") as f:
            check(meta.get_payload() == f.read(), "METADATA's description is not README.md")

        for name in PACKAGE_FILES:
            with open(os.path.join(package_source, name), "rb") as f:
                check(wheel.read(name) == f.read(), f"{name} differs from the source")
        if bundled:
            info = wheel.getinfo(f"tlslocal/{SONAME}")
            mode = info.external_attr >> 16
            check(stat.S_ISREG(mode) and mode & 0o111 == 0o111,
                  f"{SONAME} has mode {oct(mode)} in the zip")
            with open(library, "rb") as f:
                check(wheel.read(info) == f.read(), f"the bundled {SONAME} is not {library}")


def check_sdist(path):
    base = f"tlslocal-{VERSION}"
    with tarfile.open(path) as tar:
        names = sorted(tar.getnames())
        check(all(member.isfile() for member in tar.getmembers()), "sdist: not only files")
        pkg_info = email.parser.Parser().parsestr(tar.extractfile(f"{base}/PKG-INFO").read()
                                                  .decode())
    expected = sorted([f"{base}/{name}" for name in ("PKG-INFO", "pyproject.toml", "README.md",
                                                     "COPYING", "backend/tlslocal_backend.py")]
                      + [f"{base}/{name}" for name in PACKAGE_FILES])
    check(names == expected, f"sdist holds {names}")
    check(pkg_info["Version"] == VERSION, "sdist PKG-INFO Version")


# ---- 3. the staging "system" copy and the C helper linked against it ----

def stage_system_copy(tmp):
    stage = os.path.join(tmp, "stage")
    run(["meson", "install", "-C", build_root, "--destdir", stage, "--no-rebuild", "--quiet"])
    found = [os.path.join(d, SONAME) for d, _, files in os.walk(stage) if SONAME in files]
    check(len(found) == 1, f"the staging install holds {found}")
    libdir = os.path.dirname(found[0])
    pc_files = [os.path.join(d, "tlslocal.pc") for d, _, files in os.walk(stage)
                if "tlslocal.pc" in files]
    check(len(pc_files) == 1, f"tlslocal.pc installed as {pc_files}")
    # The .pc relocated to the staging prefix, as a packager's install would have it.
    pc_dir = os.path.join(tmp, "pc")
    os.mkdir(pc_dir)
    with open(pc_files[0], encoding="utf-8") as f:
        text = f.read()
    prefix = re.search(r"^prefix=(.*)$", text, re.M).group(1)
    with open(os.path.join(pc_dir, "tlslocal.pc"), "w", encoding="utf-8") as f:
        f.write(re.sub(r"^prefix=.*$", lambda m: f"prefix={stage}{prefix}", text, flags=re.M))
    flags = run(["pkg-config", "--cflags", "--libs", "tlslocal"],
                env=user_env(PKG_CONFIG_PATH=pc_dir)).stdout.split()
    helper = os.path.join(tmp, "libtl-registry-helper.so")
    cc = os.environ.get("CC", "cc")
    run([cc, "-shared", "-fPIC", "-o", helper,
         os.path.join(source_root, "tests", "package", "tl-registry-helper.c")] + flags
        + [f"-Wl,-rpath,{libdir}"])
    return os.path.realpath(found[0]), helper


# ---- the probes, run by the venv's python from / ----

MAPPED = """
def mapped():
    return sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if os.path.basename(line.split()[-1]).startswith("libtlslocal")})
"""

BUNDLED_PROBE = """
import os, sys, threading
import tlslocal
""" + MAPPED + """
package = os.path.dirname(tlslocal.__file__)
bundled = os.path.join(package, "libtlslocal.so.1")
assert package.startswith(sys.prefix + os.sep), (package, sys.prefix)
assert tlslocal.LIBRARY_ORIGIN == "bundled", tlslocal.LIBRARY_ORIGIN
assert tlslocal.LIBRARY_PATH == bundled, tlslocal.LIBRARY_PATH
assert mapped() == [bundled], mapped()
assert tlslocal.version() == sys.argv[1], tlslocal.version()

state = tlslocal.local()
state.who = "main"
seen = {}
def work(n):
    assert not hasattr(state, "who")
    state.who = n
    seen[n] = state.who
threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
assert seen == {n: n for n in range(4)}, seen
assert state.who == "main"
print("bundled:", tlslocal.LIBRARY_PATH)
"""

REGISTRY_PROBE = """
import ctypes, os, sys, threading, warnings
helper = ctypes.CDLL(sys.argv[1])  # first: its libtlslocal.so.1 is the system's
helper.registry_helper_set.argtypes = (ctypes.c_char_p,) * 3
helper.registry_helper_get.argtypes = (ctypes.c_char_p,) * 3 + (ctypes.c_size_t,)
helper.registry_helper_library.restype = ctypes.c_char_p
""" + MAPPED + """
system = sys.argv[2]
assert mapped() == [system], mapped()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import tlslocal
bundled = os.path.join(os.path.dirname(tlslocal.__file__), "libtlslocal.so.1")
assert os.path.exists(bundled), bundled
assert tlslocal.LIBRARY_ORIGIN == "already loaded", tlslocal.LIBRARY_ORIGIN
assert os.path.realpath(tlslocal.LIBRARY_PATH) == system, tlslocal.LIBRARY_PATH
assert mapped() == [system], mapped()  # the bundled copy was never mapped
assert os.path.realpath(helper.registry_helper_library().decode()) == system
warned = [str(w.message) for w in caught]
if os.environ.get("TLSLOCAL_LIBRARY"):
    assert len(warned) == 1 and "is not the libtlslocal this process has loaded" in warned[0], warned
else:
    assert not warned, warned

def get(key):
    out = ctypes.create_string_buffer(64)
    n = helper.registry_helper_get(b"wheel-registry", key, out, len(out))
    return out.value.decode() if n >= 0 else n

shared = tlslocal.open("wheel-registry")
shared.from_python = "set in Python"
assert get(b"from_python") == "set in Python", get(b"from_python")
assert helper.registry_helper_set(b"wheel-registry", b"from_c", b"set in C") == 0
assert shared.from_c == "set in C"
other = {}
def in_another_thread():  # per thread, in both languages
    other["c"] = get(b"from_python")
    other["python"] = hasattr(shared, "from_c")
t = threading.Thread(target=in_another_thread)
t.start()
t.join()
assert other == {"c": -3, "python": False}, other  # -3: TL_ERR_NOT_FOUND
print("one registry:", tlslocal.LIBRARY_PATH, "shared with", sys.argv[1])
"""

SOURCE_PROBE = """
import os, sys
import tlslocal
assert tlslocal.LIBRARY_ORIGIN == "TLSLOCAL_LIBRARY", tlslocal.LIBRARY_ORIGIN
assert os.path.dirname(tlslocal.__file__) == sys.argv[1], tlslocal.__file__
assert not os.path.exists(os.path.join(sys.argv[1], "libtlslocal.so.1"))
state = tlslocal.local()
state.x = 5
assert state.x == 5
print("installed from source:", tlslocal.__file__)
"""


def probe(venv_python, code, *args, **env):
    return run([venv_python, "-c", code] + list(args), cwd="/", env=user_env(**env))


def site_packages(venv_python, which="purelib"):
    """The venv's purelib (pure wheels go there) or platlib (Root-Is-Purelib: false)."""
    return run([venv_python, "-c", f"import sysconfig; print(sysconfig.get_paths()[{which!r}])"]
               ).stdout.strip()


def tree_state(root):
    """Every file under root, ignored ones too, with its size and time; and every folder (whose
    time changes with its files)."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            state[os.path.relpath(os.path.join(folder, name), root)] = "folder"
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            state[os.path.relpath(os.path.join(folder, name), root)] = (info.st_size,
                                                                        info.st_mtime_ns)
    return state


def check_untouched(before, what):
    after = tree_state(package_source)
    changed = sorted(path for path in set(before) | set(after)
                     if before.get(path) != after.get(path))
    check(not changed, f"{what} wrote into the source tree: {changed}")


def main():
    tmp = tempfile.mkdtemp(prefix="tlslocal-wheel-")
    try:
        version = run([interpreter, "-c", "import sys; print(sys.version.split()[0])"]
                      ).stdout.strip()
        step(f"CPython {version} ({interpreter})")
        before = tree_state(package_source)  # each check_untouched compares with this

        dist = os.path.join(tmp, "dist")
        wheel = run([os.path.join(source_root, "tools", "build-wheel.sh"), library, dist],
                    env=user_env(PYTHON=interpreter)).stdout.splitlines()[-1]
        check_untouched(before, "tools/build-wheel.sh")
        check_wheel(wheel, bundled=True)
        sdist = run([interpreter, "-c", "import sys; sys.path.insert(0, 'backend'); "
                     "import tlslocal_backend as b; print(b.build_sdist(sys.argv[1]))", dist],
                    cwd=package_source, env=user_env(PYTHONDONTWRITEBYTECODE="1")).stdout.strip()
        check_untouched(before, "build_sdist")
        check_sdist(os.path.join(dist, sdist))
        step(f"built and checked {os.path.basename(wheel)} and {sdist}")

        system_library, helper = stage_system_copy(tmp)
        step(f"staged the system copy {system_library} and the C helper linked against it")

        venv = os.path.join(tmp, "venv")
        run([interpreter, "-m", "venv", venv])
        python = os.path.join(venv, "bin", "python")
        pip = [python, "-m", "pip"]
        step(f"venv with {run(pip + ['--version']).stdout.split(' from ')[0]}")

        run(pip + ["install"] + PIP + [wheel])
        installed = os.path.join(site_packages(python, "platlib"), "tlslocal", SONAME)
        check(os.stat(installed).st_mode & 0o111 == 0o111, f"{installed} is not executable")
        print(probe(python, BUNDLED_PROBE, VERSION).stdout, end="")
        print(probe(python, REGISTRY_PROBE, helper, system_library).stdout, end="")
        probe(python, REGISTRY_PROBE, helper, system_library, TLSLOCAL_LIBRARY=installed)
        step("the platform wheel: bundled copy from /, one registry with the system copy")
        run(pip + ["uninstall", "--yes", "--quiet", "tlslocal"])
        check(not os.path.exists(os.path.dirname(installed)), "uninstall left the package")

        in_tree(pip + ["install"] + PIP + [package_source])
        check_untouched(before, "pip install")
        purelib = site_packages(python)
        with open(os.path.join(purelib, DIST_INFO, "WHEEL"), encoding="utf-8") as f:
            wheel_file = f.read()
        check("Tag: py3-none-any\n" in wheel_file and "Root-Is-Purelib: true\n" in wheel_file,
              f"pip install of the source tree made a wheel with {wheel_file!r}")
        package = os.path.join(purelib, "tlslocal")
        print(probe(python, SOURCE_PROBE, package, TLSLOCAL_LIBRARY=library).stdout, end="")
        alone = run([python, "-c", f"import ctypes; ctypes.CDLL({SONAME!r})"], cwd="/",
                    check_ok=False)
        if alone.returncode == 0:
            print(f"NOTE: a {SONAME} is installed system-wide: the not-found message is not checked")
        else:
            result = run([python, "-c", "import tlslocal"], cwd="/", check_ok=False)
            last = result.stderr.strip().splitlines()[-1]
            check(result.returncode != 0 and last.startswith(
                "ImportError: tlslocal: cannot find the libtlslocal C library. Tried: "), last)
            for hint in ("meson install", "LD_LIBRARY_PATH", "TLSLOCAL_LIBRARY", "GLib"):
                check(hint in last, f"the not-found message does not name {hint}: {last}")
        run(pip + ["uninstall", "--yes", "--quiet", "tlslocal"])
        step("pip install bindings/python: py3-none-any, imports, source tree untouched")

        # pip's own route to the platform wheel makes the same bytes (the wheel is reproducible).
        by_pip = os.path.join(tmp, "by-pip")
        in_tree(pip + ["wheel"] + PIP + ["--no-deps", "--wheel-dir", by_pip, "--config-settings",
                                         f"bundle-library={library}", package_source])
        check_untouched(before, "pip wheel")
        with open(wheel, "rb") as ours, open(os.path.join(by_pip, os.path.basename(wheel)),
                                               "rb") as pips:
            check(ours.read() == pips.read(), "pip wheel --config-settings made another wheel")
        step("pip wheel --config-settings bundle-library=...: the same wheel")

        run(pip + ["install"] + PIP + [os.path.join(dist, sdist)])
        probe(python, SOURCE_PROBE, package, TLSLOCAL_LIBRARY=library)
        run(pip + ["uninstall", "--yes", "--quiet", "tlslocal"])
        step("pip install of the sdist")

        in_tree(pip + ["install"] + PIP + ["--editable", package_source])
        check_untouched(before, "pip install --editable")
        where = probe(python, "import tlslocal; print(tlslocal.__file__)",
                      TLSLOCAL_LIBRARY=library, PYTHONDONTWRITEBYTECODE="1").stdout.strip()
        check(where == os.path.join(package_source, "tlslocal", "__init__.py"),
              f"the editable install imports {where}")
        run(pip + ["uninstall", "--yes", "--quiet", "tlslocal"])
        step("pip install --editable")
    finally:
        shutil.rmtree(tmp)
    print(f"CPython {version}: OK")


main()
