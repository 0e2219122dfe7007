# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python package's PEP 517 build backend (with PEP 660's editable install), standard library
only, so that `pip install bindings/python` works offline in a fresh venv: build isolation installs
nothing (`requires = []`), where setuptools would have to come from an index and then want `wheel`.
pyproject.toml names it through `backend-path`; it is no part of any wheel it builds.

The package is pure Python, so a wheel is a zip of tlslocal/*.py and its .dist-info, tagged
py3-none-any: it finds libtlslocal at import (tlslocal/_ffi.py). With the config setting
bundle-library=PATH (tools/build-wheel.sh; or `pip wheel --config-settings bundle-library=PATH`),
the wheel carries that file as tlslocal/libtlslocal.so.1 and is tagged for the platform it was built
on (py3-none-linux_x86_64): any CPython 3 can load it through ctypes, but only on that platform.

Metadata comes from pyproject.toml's [project] table, the one source of truth, read by a small
reader of the TOML this file uses (tomllib arrives only in Python 3.11): tables, and keys whose
values are basic strings, arrays of them (over several lines) or inline tables of them. Anything
else is refused by name rather than misread.

Wheels are reproducible: entries in a fixed order, dated SOURCE_DATE_EPOCH (default 1980-01-01).
"""

import base64
import csv
import gzip
import hashlib
import io
import json
import os
import re
import stat
import sys
import sysconfig
import tarfile
import time
import zipfile

__all__ = ["build_wheel", "build_sdist", "build_editable", "get_requires_for_build_wheel",
           "get_requires_for_build_sdist", "get_requires_for_build_editable",
           "prepare_metadata_for_build_wheel", "prepare_metadata_for_build_editable"]

# The source directory: pip runs the hooks there, but this module's place is the sure answer.
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "tlslocal"
SONAME = "libtlslocal.so.1"
BUNDLE_SETTING = "bundle-library"
# ELF e_machine values of the architectures a platform tag may name, by sysconfig's machine name.
ELF_MACHINES = {"x86_64": 62, "aarch64": 183, "i686": 3, "armv7l": 40, "ppc64le": 21,
                "s390x": 22, "riscv64": 243}


class BuildError(Exception):
    pass


# ---- pyproject.toml: the subset this project writes ----

_KEY = r'[A-Za-z0-9_-]+|"[^"\\]*"'
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_STRING_SPLIT = re.compile(r'("(?:[^"\\]|\\.)*")')


def _outside_strings(text):
    """text cut into (part, is_string) pieces, in order."""
    return [(part, i % 2 == 1) for i, part in enumerate(_STRING_SPLIT.split(text))]


def _strip_comment(line):
    """The line without its # comment (a # inside a string stays)."""
    out = []
    for part, is_string in _outside_strings(line):
        if not is_string and "#" in part:
            out.append(part[:part.index("#")])
            break
        out.append(part)
    return "".join(out).strip()


def _value(text, where):
    """A basic string, an array of basic strings, or an inline table of basic strings."""
    text = text.strip()
    if _STRING.fullmatch(text):
        return json.loads(text)  # TOML's basic-string escapes are JSON's, \U aside
    if text.startswith("[") and text.endswith("]"):
        items = [item.strip() for item in _split(text[1:-1])]
        return [_value(item, where) for item in items if item]
    if text.startswith("{") and text.endswith("}"):
        table = {}
        for item in _split(text[1:-1]):
            key, sep, value = item.partition("=")
            if not sep:
                raise BuildError(f"pyproject.toml: {where}: cannot read {item.strip()!r}")
            table[key.strip().strip('"')] = _value(value, where)
        return table
    raise BuildError(f"pyproject.toml: {where}: this backend reads strings, arrays and inline "
                     f"tables of strings only, not {text!r}")


def _split(text):
    """text split at the commas outside strings."""
    parts = [""]
    for part, is_string in _outside_strings(text):
        if is_string:
            parts[-1] += part
        else:
            pieces = part.split(",")
            parts[-1] += pieces[0]
            parts += pieces[1:]
    return parts


def read_pyproject(path):
    """pyproject.toml as nested dicts, for the subset described above."""
    document, table, pending, where = {}, None, None, ""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, raw in enumerate(lines, 1):
        line = _strip_comment(raw)
        if pending is not None:  # inside an array that spans lines
            pending[1].append(line)
            if line.endswith("]") and _balanced(" ".join(pending[1])):
                table[pending[0]] = _value(" ".join(pending[1]), where)
                pending = None
            continue
        if not line:
            continue
        where = f"line {number}"
        header = re.fullmatch(r"\[\s*((?:%s)(?:\s*\.\s*(?:%s))*)\s*\]" % (_KEY, _KEY), line)
        if header:
            table = document
            for name in re.findall(_KEY, header.group(1)):
                table = table.setdefault(name.strip('"'), {})
            continue
        pair = re.fullmatch(r"(%s)\s*=\s*(.+)" % _KEY, line)
        if not pair or table is None:
            raise BuildError(f"pyproject.toml: {where}: cannot read {raw.strip()!r}")
        key, value = pair.group(1).strip('"'), pair.group(2)
        if value.startswith("[") and not (value.endswith("]") and _balanced(value)):
            pending = (key, [value])
            continue
        table[key] = _value(value, where)
    if pending is not None:
        raise BuildError(f"pyproject.toml: the array {pending[0]} is never closed")
    return document


def _balanced(text):
    depth = 0
    for part in _STRING.split(text):
        depth += part.count("[") - part.count("]")
    return depth == 0


def project():
    """pyproject.toml's [project] table, checked for the fields the metadata needs."""
    table = read_pyproject(os.path.join(SOURCE_DIR, "pyproject.toml")).get("project", {})
    for field in ("name", "version", "description", "readme", "requires-python"):
        if not isinstance(table.get(field), str):
            raise BuildError(f"pyproject.toml: [project] {field} must be a string")
    if table.get("dynamic"):
        raise BuildError("pyproject.toml: this backend has no dynamic metadata")
    return table


# ---- metadata ----

def _distribution(table):
    """The name as file names carry it (PEP 427, PEP 503 normalised)."""
    return re.sub(r"[-_.]+", "_", table["name"]).lower()


def _dist_info(table):
    return f"{_distribution(table)}-{table['version']}.dist-info"


def _license_file():
    """COPYING: beside pyproject.toml in an sdist, two levels up in the source tree."""
    for candidate in (os.path.join(SOURCE_DIR, "COPYING"),
                      os.path.join(SOURCE_DIR, os.pardir, os.pardir, "COPYING")):
        if os.path.isfile(candidate):
            return candidate
    return None


def metadata(table):
    """METADATA (core metadata 2.1) as text."""
    lines = ["Metadata-Version: 2.1", f"Name: {table['name']}", f"Version: {table['version']}",
             f"Summary: {table['description']}"]
    license_ = table.get("license")
    if isinstance(license_, dict) and "text" in license_:
        lines.append(f"License: {license_['text']}")
    lines.append(f"Requires-Python: {table['requires-python']}")
    for classifier in table.get("classifiers", []):
        lines.append(f"Classifier: {classifier}")
    for label, url in table.get("urls", {}).items():
        lines.append(f"Project-URL: {label}, {url}")
    lines.append("Description-Content-Type: text/markdown")
    with open(os.path.join(SOURCE_DIR, table["readme"]), encoding="utf-8") as f:
        readme = f.read()
    return "\n".join(lines) + "\n\n" + readme


def _wheel_file(tag, purelib):
    return (f"Wheel-Version: 1.0\nGenerator: tlslocal_backend\n"
            f"Root-Is-Purelib: {'true' if purelib else 'false'}\nTag: {tag}\n")


def _package_sources():
    """tlslocal/*.py of the source tree: not _install.py, which `meson install` writes for its own
    layout, nor caches or a library someone copied in."""
    folder = os.path.join(SOURCE_DIR, PACKAGE)
    names = sorted(name for name in os.listdir(folder)
                   if name.endswith(".py") and name != "_install.py")
    if "__init__.py" not in names:
        raise BuildError(f"{folder} has no __init__.py")
    return [(f"{PACKAGE}/{name}", os.path.join(folder, name)) for name in names]


# ---- wheels ----

def _epoch():
    """SOURCE_DATE_EPOCH, not before 1980-01-01 (zip's first day), which is the default."""
    return max(int(os.environ.get("SOURCE_DATE_EPOCH", "0")), 315532800)


def _date_time():
    return time.gmtime(_epoch())[:6]


class _WheelWriter:
    """A wheel: each file added with its hash recorded; RECORD written last (PEP 376, PEP 427)."""

    def __init__(self, path, dist_info):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.dist_info = dist_info
        self.records = []

    def add(self, name, data, executable=False):
        info = zipfile.ZipInfo(name, date_time=_date_time())
        info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append((name, f"sha256={digest}", str(len(data))))

    def close(self):
        record = io.StringIO()
        writer = csv.writer(record, lineterminator="\n")
        writer.writerows(self.records)
        writer.writerow((f"{self.dist_info}/RECORD", "", ""))
        self.add(f"{self.dist_info}/RECORD", record.getvalue().encode())
        self.zip.close()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def platform_tag(library):
    """The platform tag of this machine (sysconfig's, as wheel tags write it: linux_x86_64), once
    the library is checked to be an ELF shared object for that machine: a wheel whose tag and
    library disagree would install where it cannot load."""
    platform = sysconfig.get_platform()
    tag = re.sub(r"[-.]", "_", platform)
    if not tag.startswith("linux_"):
        raise BuildError(f"a wheel bundling {SONAME} is made on Linux only, not on {platform}")
    machine = tag[len("linux_"):]
    with open(library, "rb") as f:
        header = f.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        raise BuildError(f"{library} is not an ELF file")
    order = "little" if header[5] == 1 else "big"
    e_type, e_machine = int.from_bytes(header[16:18], order), int.from_bytes(header[18:20], order)
    if e_type != 3:  # ET_DYN
        raise BuildError(f"{library} is not a shared library")
    if ELF_MACHINES.get(machine) != e_machine:
        raise BuildError(f"{library} is built for ELF machine {e_machine}, not for this "
                         f"platform's {machine}")
    return tag


def _build(wheel_directory, config_settings, editable=False):
    table = project()
    dist_info = _dist_info(table)
    library = (config_settings or {}).get(BUNDLE_SETTING)
    if library and editable:
        raise BuildError(f"{BUNDLE_SETTING} makes a wheel to install, not an editable install")
    if library:
        library = os.path.realpath(library)  # the file itself, never a symlink
        if not os.path.isfile(library):
            raise BuildError(f"{BUNDLE_SETTING}={library}: no such file")
        tag = f"py3-none-{platform_tag(library)}"
    else:
        tag = "py3-none-any"
    name = f"{_distribution(table)}-{table['version']}-{tag}.whl"
    os.makedirs(wheel_directory, exist_ok=True)
    path = os.path.join(wheel_directory, name)
    wheel = _WheelWriter(path, dist_info)
    try:
        if editable:
            # PEP 660's simplest form: a .pth line putting the source tree on sys.path.
            wheel.add(f"_{PACKAGE}_editable.pth", (SOURCE_DIR + "\n").encode())
        else:
            for arcname, source in _package_sources():
                wheel.add(arcname, _read(source))
            if library:
                wheel.add(f"{PACKAGE}/{SONAME}", _read(library), executable=True)
        wheel.add(f"{dist_info}/METADATA", metadata(table).encode("utf-8"))
        wheel.add(f"{dist_info}/WHEEL", _wheel_file(tag, purelib=not library).encode())
        license_file = _license_file()
        if license_file:
            wheel.add(f"{dist_info}/COPYING", _read(license_file))
        wheel.close()
    except BaseException:
        wheel.zip.close()
        os.unlink(path)
        raise
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, config_settings, editable=True)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    table = project()
    dist_info = _dist_info(table)
    folder = os.path.join(metadata_directory, dist_info)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "METADATA"), "w", encoding="utf-8", newline="\n") as f:
        f.write(metadata(table))
    return dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


# ---- sdist ----

def build_sdist(sdist_directory, config_settings=None):
    """NAME-VERSION.tar.gz: PKG-INFO, pyproject.toml, README.md, COPYING, this backend and the
    package's sources, so that pip can build a wheel from it as from the source tree."""
    table = project()
    base = f"{_distribution(table)}-{table['version']}"
    files = [("pyproject.toml", os.path.join(SOURCE_DIR, "pyproject.toml")),
             (table["readme"], os.path.join(SOURCE_DIR, table["readme"])),
             ("backend/tlslocal_backend.py", os.path.abspath(__file__))]
    license_file = _license_file()
    if license_file:
        files.append(("COPYING", license_file))
    files += _package_sources()
    os.makedirs(sdist_directory, exist_ok=True)
    name = base + ".tar.gz"
    path = os.path.join(sdist_directory, name)

    def add(tar, arcname, data):
        info = tarfile.TarInfo(f"{base}/{arcname}")
        info.size, info.mtime, info.mode = len(data), _epoch(), 0o644
        tar.addfile(info, io.BytesIO(data))

    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=_epoch()) as packed:
        with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            add(tar, "PKG-INFO", metadata(table).encode("utf-8"))
            for arcname, source in files:
                add(tar, arcname, _read(source))
    return name


if __name__ == "__main__":
    sys.exit(f"{__file__} is a build backend for pip (PEP 517); tools/build-wheel.sh drives it")
