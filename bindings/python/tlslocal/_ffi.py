# SPDX-License-Identifier: LGPL-2.1-or-later
"""The one ctypes prototype table of libtlslocal, the loader, and the shared error check.

Everything that touches ctypes' declarations lives here: each C function of tlslocal.h is declared
once, in PROTOTYPES, with its restype, argtypes and error check, and bound at import. A symbol the
library lacks fails the import loudly (as clang's cindex.py does), so a stale library is caught at
once rather than at the first call.

Marshalling conventions (ctypes):
  - TlLocal * and TlValue * are c_void_p: Python ints (None for NULL), never dereferenced here.
  - Keys and strings are bytes (UTF-8); the caller encodes.
  - Functions returning a status are checked by _check_status: a negative status raises Error,
    carrying the code, its name and tl_last_error_message() read at once, on the same thread.
  - Functions returning a pointer are checked by _check_pointer (NULL raises Error with the last
    error), except tl_local_peek, whose NULL is the ordinary "no such key" answer.
  - FAST_PROTOTYPES binds a few of those functions a second time, for the attribute hot path, with
    cheaper marshalling and no error check (see there).

The library is loaded with ctypes.PyDLL: calls keep the GIL. Every libtlslocal call is short and
never waits for Python (the registry lock is never held while user code runs), and releasing and
retaking the GIL would add ~20 ns to calls that cost ~130-200 ns through ctypes (measured on the
hot path: tl_local_peek, tl_local_set). The one consequence: C code that the library runs on our
behalf (a C-owned local's initializer, a C pointer value's destroy function, an exit hook) runs
with the GIL held, so it must not block waiting for another Python thread.
"""

import ctypes
import os
import sys

__all__ = ["lib", "fast", "Error", "error_for", "LIBRARY_PATH", "LIBRARY_ORIGIN", "PROTOTYPES",
           "FAST_PROTOTYPES", "INT32_WIDENS", "pointer_arg",
           "SONAME", "NULL_DESTROY", "DESTROY_FUNC", "INIT_FUNC", "FOREACH_FUNC", "VISIT_FUNC",
           "EXIT_HOOK"]

SONAME = {"darwin": "libtlslocal.1.dylib", "win32": "libtlslocal-1.dll"}.get(sys.platform,
                                                                              "libtlslocal.so.1")
ABI_MAJOR, MIN_MINOR, MIN_MICRO = 1, 1, 0

_LOCAL = ctypes.c_void_p  # TlLocal *
_VALUE = ctypes.c_void_p  # TlValue *
_P = ctypes.c_void_p
_STR = ctypes.c_char_p
_INT = ctypes.c_int
_UINT = ctypes.c_uint
_SIZE = ctypes.c_size_t
_SIZE_P = ctypes.POINTER(ctypes.c_size_t)
_VALUE_P = ctypes.POINTER(_VALUE)
_STRV = ctypes.POINTER(ctypes.c_char_p)
_QUARK = ctypes.c_uint32  # TlQuark

# Callback types (tlslocal.h). Python callables wrapped in these must be kept alive by the caller
# for as long as C may call them.
DESTROY_FUNC = ctypes.CFUNCTYPE(None, _P)
INIT_FUNC = ctypes.CFUNCTYPE(_INT, _LOCAL, _P)
FOREACH_FUNC = ctypes.CFUNCTYPE(_INT, _STR, _VALUE, _P)
VISIT_FUNC = ctypes.CFUNCTYPE(_INT, ctypes.c_uint64, _STR, _VALUE, _P)
EXIT_HOOK = ctypes.CFUNCTYPE(None, _INT, ctypes.c_uint64, _VALUE, _P)
# A NULL function pointer: callback argtypes do not take None (INIT_FUNC() is NULL too).
NULL_DESTROY = DESTROY_FUNC()


class Error(Exception):
    """A libtlslocal call failed: code (negative TL_ERR_* value), name ("TL_ERR_NOT_FOUND") and
    message (the library's tl_last_error_message() for the failed call)."""

    def __init__(self, code, name, message):
        super().__init__(f"{name} ({code}): {message}")
        self.code = code
        self.name = name
        self.message = message


def error_for(status):
    """The Error for status, with the calling thread's last error message. Call it right after the
    failed call, on the same thread: the next tl_* call may replace the message."""
    message = lib.tl_last_error_message().decode("utf-8", "replace")
    return Error(status, lib.tl_status_name(status).decode("ascii", "replace"), message)


def _check_status(result, func, arguments):
    if result < 0:
        raise error_for(result)
    return result


def _check_pointer(result, func, arguments):
    if result is None:
        raise error_for(lib.tl_last_error())
    return result


def _check_quark(result, func, arguments):
    if result == 0:
        raise error_for(lib.tl_last_error())
    return result


# (name, restype, argtypes, errcheck): every function of tlslocal.h, in the header's order.
PROTOTYPES = (
    ("tl_version", _STR, (), None),
    ("tl_version_check", _INT, (_UINT, _UINT, _UINT), None),
    ("tl_strerror", _STR, (_INT,), None),
    ("tl_status_name", _STR, (_INT,), None),
    ("tl_last_error_message", _STR, (), None),
    ("tl_last_error", _INT, (), None),
    # locals
    ("tl_local_new", _LOCAL, (), _check_pointer),
    ("tl_local_new_full", _LOCAL, (_UINT, INIT_FUNC, _P, DESTROY_FUNC), _check_pointer),
    # fn is a C function of any signature (TlCallback): a plain address.
    ("tl_local_new_with_args", _LOCAL, (_UINT, _P, _INT, _VALUE), _check_pointer),
    ("tl_local_open", _LOCAL, (_STR,), _check_pointer),
    ("tl_local_unregister", _INT, (_STR,), _check_status),
    ("tl_local_ref", _LOCAL, (_LOCAL,), _check_pointer),
    ("tl_local_unref", None, (_LOCAL,), None),
    ("tl_local_set", _INT, (_LOCAL, _STR, _VALUE), _check_status),
    ("tl_local_set_take", _INT, (_LOCAL, _STR, _VALUE), _check_status),
    ("tl_local_set_bool", _INT, (_LOCAL, _STR, ctypes.c_int), _check_status),
    ("tl_local_set_int64", _INT, (_LOCAL, _STR, ctypes.c_int64), _check_status),
    ("tl_local_set_uint64", _INT, (_LOCAL, _STR, ctypes.c_uint64), _check_status),
    ("tl_local_set_double", _INT, (_LOCAL, _STR, ctypes.c_double), _check_status),
    ("tl_local_set_string", _INT, (_LOCAL, _STR, _STR), _check_status),
    ("tl_local_get", _INT, (_LOCAL, _STR, _VALUE_P), _check_status),
    ("tl_local_peek", _VALUE, (_LOCAL, _STR), None),  # NULL: absent (the hot path's miss)
    ("tl_local_get_bool", _INT, (_LOCAL, _STR, ctypes.POINTER(_INT)), _check_status),
    ("tl_local_get_int64", _INT, (_LOCAL, _STR, ctypes.POINTER(ctypes.c_int64)), _check_status),
    ("tl_local_get_uint64", _INT, (_LOCAL, _STR, ctypes.POINTER(ctypes.c_uint64)), _check_status),
    ("tl_local_get_double", _INT, (_LOCAL, _STR, ctypes.POINTER(ctypes.c_double)), _check_status),
    ("tl_local_get_string", _INT, (_LOCAL, _STR, ctypes.POINTER(_STR)), _check_status),
    ("tl_local_get_scalar", _INT,
     (_LOCAL, _STR, ctypes.POINTER(_INT), ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(_STR)),
     _check_status),
    ("tl_local_delete", _INT, (_LOCAL, _STR), _check_status),
    ("tl_local_contains", _INT, (_LOCAL, _STR), _check_status),
    ("tl_local_size", _INT, (_LOCAL, _SIZE_P), _check_status),
    ("tl_local_clear", _INT, (_LOCAL,), _check_status),
    ("tl_local_keys", _INT, (_LOCAL, ctypes.POINTER(_STRV), _SIZE_P), _check_status),
    ("tl_local_foreach", _INT, (_LOCAL, FOREACH_FUNC, _P), _check_status),
    # quarks (TlQuark: uint32_t; 0 is never one, so tl_quark_from_string's 0 is its error)
    ("tl_quark_from_string", _QUARK, (_STR,), _check_quark),
    ("tl_quark_to_string", _STR, (_QUARK,), None),  # NULL: an unknown quark
    ("tl_local_peek_quark", _VALUE, (_LOCAL, _QUARK), None),  # NULL: absent, as tl_local_peek
    ("tl_local_get_quark", _INT, (_LOCAL, _QUARK, _VALUE_P), _check_status),
    ("tl_local_set_quark", _INT, (_LOCAL, _QUARK, _VALUE), _check_status),
    ("tl_local_delete_quark", _INT, (_LOCAL, _QUARK), _check_status),
    ("tl_local_set_exit_hook", _INT, (_LOCAL, EXIT_HOOK, _P, DESTROY_FUNC), _check_status),
    ("tl_local_visit", _INT, (_LOCAL, _STR, VISIT_FUNC, _P), _check_status),
    ("tl_local_snapshot", _INT, (_LOCAL, _VALUE_P), _check_status),
    ("tl_local_apply", _INT, (_LOCAL, _VALUE, _INT), _check_status),
    # values
    ("tl_value_new_bool", _VALUE, (_INT,), _check_pointer),
    ("tl_value_new_byte", _VALUE, (ctypes.c_uint8,), _check_pointer),
    ("tl_value_new_int16", _VALUE, (ctypes.c_int16,), _check_pointer),
    ("tl_value_new_uint16", _VALUE, (ctypes.c_uint16,), _check_pointer),
    ("tl_value_new_int32", _VALUE, (ctypes.c_int32,), _check_pointer),
    ("tl_value_new_uint32", _VALUE, (ctypes.c_uint32,), _check_pointer),
    ("tl_value_new_int64", _VALUE, (ctypes.c_int64,), _check_pointer),
    ("tl_value_new_uint64", _VALUE, (ctypes.c_uint64,), _check_pointer),
    ("tl_value_new_double", _VALUE, (ctypes.c_double,), _check_pointer),
    ("tl_value_new_handle", _VALUE, (ctypes.c_int32,), _check_pointer),
    ("tl_value_new_string", _VALUE, (_STR,), _check_pointer),
    ("tl_value_new_bytes", _VALUE, (_P, _SIZE), _check_pointer),
    ("tl_value_new_pointer", _VALUE, (_P, DESTROY_FUNC), _check_pointer),
    ("tl_value_new_tuple", _VALUE, (_VALUE_P, _SIZE), _check_pointer),
    ("tl_value_new_array", _VALUE, (_STR, _VALUE_P, _SIZE), _check_pointer),
    ("tl_value_new_maybe", _VALUE, (_STR, _VALUE), _check_pointer),
    ("tl_value_new_vardict", _VALUE, (_STRV, _VALUE_P, _SIZE), _check_pointer),
    ("tl_value_parse", _INT, (_STR, _STR, _VALUE_P), _check_status),
    ("tl_value_print", _P, (_VALUE, _INT), _check_pointer),  # a char * to tl_free()
    ("tl_value_serialize", _INT, (_VALUE, ctypes.POINTER(_P), _SIZE_P), _check_status),
    ("tl_value_deserialize", _INT, (_STR, _P, _SIZE, _VALUE_P), _check_status),
    ("tl_value_ref", _VALUE, (_VALUE,), _check_pointer),
    ("tl_value_unref", None, (_VALUE,), None),
    ("tl_value_type", _STR, (_VALUE,), None),
    ("tl_value_equal", _INT, (_VALUE, _VALUE), _check_status),
    ("tl_value_get_bool", _INT, (_VALUE, ctypes.POINTER(_INT)), _check_status),
    ("tl_value_get_byte", _INT, (_VALUE, ctypes.POINTER(ctypes.c_uint8)), _check_status),
    ("tl_value_get_int16", _INT, (_VALUE, ctypes.POINTER(ctypes.c_int16)), _check_status),
    ("tl_value_get_uint16", _INT, (_VALUE, ctypes.POINTER(ctypes.c_uint16)), _check_status),
    ("tl_value_get_int32", _INT, (_VALUE, ctypes.POINTER(ctypes.c_int32)), _check_status),
    ("tl_value_get_uint32", _INT, (_VALUE, ctypes.POINTER(ctypes.c_uint32)), _check_status),
    ("tl_value_get_int64", _INT, (_VALUE, ctypes.POINTER(ctypes.c_int64)), _check_status),
    ("tl_value_get_uint64", _INT, (_VALUE, ctypes.POINTER(ctypes.c_uint64)), _check_status),
    ("tl_value_get_double", _INT, (_VALUE, ctypes.POINTER(ctypes.c_double)), _check_status),
    ("tl_value_get_string", _INT, (_VALUE, ctypes.POINTER(_STR)), _check_status),
    ("tl_value_get_bytes", _INT, (_VALUE, ctypes.POINTER(_P), _SIZE_P), _check_status),
    ("tl_value_get_handle", _INT, (_VALUE, ctypes.POINTER(ctypes.c_int32)), _check_status),
    ("tl_value_get_pointer", _INT, (_VALUE, ctypes.POINTER(_P)), _check_status),
    ("tl_value_n_children", _INT, (_VALUE, _SIZE_P), _check_status),
    ("tl_value_get_child", _INT, (_VALUE, _SIZE, _VALUE_P), _check_status),
    ("tl_value_lookup", _INT, (_VALUE, _STR, _VALUE_P), _check_status),
    # introspection, threads, memory
    ("tl_stats_live_locals", _SIZE, (), None),
    ("tl_stats_live_dicts", _SIZE, (), None),
    ("tl_stats_live_threads", _SIZE, (), None),
    ("tl_stats_live_values", _SIZE, (), None),
    ("tl_thread_id", ctypes.c_uint64, (), None),
    ("tl_thread_change_counter", ctypes.POINTER(ctypes.c_uint64), (), None),
    ("tl_thread_clear", None, (), None),
    ("tl_free", None, (_P,), None),
    ("tl_strv_free", None, (_STRV,), None),
)


# The attribute hot path's second binding of a few functions above: separate function objects
# (lib[name] makes a new one) over the same C functions, as fast.<alias>. Measured per call
# (bench/bench-python.py's machine), what they avoid:
#  - no errcheck: it is a Python call per C call (~100 ns). The caller tests the status itself and
#    calls error_for() at once, before any other tl_* call.
#  - argtypes None where every argument is a pointer_arg() (handles, values) or bytes (keys,
#    strings): ctypes passes those as they are, while argtypes cost a from_param call per argument
#    (~25 ns for three), and a c_void_p object a conversion (~17 ns). A Python int must never be
#    passed to these, except to set_int64_int32 (see INT32_WIDENS).
#  - int64_t and uint64_t declared as c_void_p where a pointer has 64 bits: every 64-bit ABI passes
#    the two in the same register or stack slot, and c_void_p's from_param takes a Python int at C
#    speed, where c_int64's costs ~90 ns. But it keeps only the low 64 bits of any int, raising
#    nothing (ctypes' P_set masks): callers must check the range, [-2**63, 2**63) for int64 and
#    [0, 2**64) for uint64.
_INT64_ARG = _P if ctypes.sizeof(_P) == 8 else ctypes.c_int64
_UINT64_ARG = _P if ctypes.sizeof(_P) == 8 else ctypes.c_uint64

# (alias, C name, restype, argtypes)
FAST_PROTOTYPES = (
    ("peek", "tl_local_peek", _VALUE, None),                       # (handle, key)
    ("set", "tl_local_set", _INT, (_LOCAL, _STR, _VALUE)),          # value: an int
    ("set_object", "tl_local_set", _INT, None),                    # value: a c_void_p object
    ("set_int64", "tl_local_set_int64", _INT, (_LOCAL, _STR, _INT64_ARG)),
    # (pointer_arg, key, an int in [-2**31, 2**31)), when INT32_WIDENS; else set_int64's twin
    ("set_int64_int32", "tl_local_set_int64", _INT, None),
    ("set_uint64", "tl_local_set_uint64", _INT, (_LOCAL, _STR, _UINT64_ARG)),
    ("set_double", "tl_local_set_double", _INT, (_LOCAL, _STR, ctypes.c_double)),
    ("set_string", "tl_local_set_string", _INT, None),             # (handle, key, bytes)
    ("set_take", "tl_local_set_take", _INT, (_LOCAL, _STR, _VALUE)),  # steals, even on failure
    ("delete", "tl_local_delete", _INT, None),                     # (handle, key)
)


class _Fast:
    """fast.<alias>: the FAST_PROTOTYPES bindings."""


fast = _Fast()


def pointer_arg(address):
    """A pointer argument made once, for the untyped fast calls: ctypes passes the object (a
    CArgObject, what byref() makes) as it is, where a c_void_p object costs a conversion per call."""
    return ctypes.c_void_p.from_param(address)


# Why the library in use was chosen: LIBRARY_ORIGIN is one of these (README.md, "Installing").
ALREADY_LOADED = "already loaded"  # mapped before this import, by the program or a C extension
EXPLICIT = "TLSLOCAL_LIBRARY"
BUNDLED = "bundled"                # tlslocal/libtlslocal.so.1, as the platform wheel carries it
MESON_INSTALL = "meson install"    # the libdir `meson install` recorded relative to the package
DYNAMIC_LINKER = "dynamic linker"  # the SONAME through LD_LIBRARY_PATH, ld.so.cache, the defaults


def _already_loaded():
    """The handle of a libtlslocal this process has mapped already, or None. dlopen() of the SONAME
    with RTLD_NOLOAD maps nothing: glibc answers with a library whose SONAME matches, whatever path
    loaded it. One registry per process needs this: a second copy beside it (the bundled one, say)
    would hold its own registry, and C would never see what Python sets."""
    no_load = getattr(os, "RTLD_NOLOAD", None)
    if no_load is None:
        return None
    try:
        return ctypes.PyDLL(SONAME, mode=no_load)
    except OSError:
        return None


def _same_library(handle, name):
    """Whether name (a path or a name) is the library behind handle: glibc's RTLD_NOLOAD matches a
    path to a mapped library by file identity, so a symlink or a second path to it counts."""
    try:
        return ctypes.CDLL(name, mode=os.RTLD_NOLOAD)._handle == handle._handle
    except OSError:
        return False


def _candidates():
    """The files to map when none is mapped yet, in order: next to the package (a copy inside it,
    as the platform wheel carries, then the libdir `meson install` recorded relative to it); the
    SONAME, through the dynamic linker's own search."""
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, SONAME), BUNDLED
    try:
        from . import _install  # written by `meson install`; absent in a source tree and a wheel
    except ImportError:
        pass
    else:
        installed = os.path.join(here, _install.LIBDIR_FROM_PACKAGE, SONAME)
        yield os.path.normpath(installed), MESON_INSTALL
    yield SONAME, DYNAMIC_LINKER


def _load():
    """(handle, the name it was loaded by, LIBRARY_ORIGIN). An already-mapped libtlslocal comes
    first, even before $TLSLOCAL_LIBRARY: mapping another file beside it would split the process
    into two registries, which no one can want. A TLSLOCAL_LIBRARY naming another file is then
    overridden with a warning, never silently."""
    explicit = os.environ.get("TLSLOCAL_LIBRARY")
    loaded = _already_loaded()
    if loaded is not None:
        if explicit and not _same_library(loaded, explicit):
            import warnings
            warnings.warn(
                f"tlslocal: TLSLOCAL_LIBRARY={explicit!r} is not the libtlslocal this process has "
                f"loaded already ({_mapped_file(loaded) or SONAME}); using that one, as a second "
                f"copy would keep a second registry that C code never sees", RuntimeWarning)
        return loaded, _mapped_file(loaded) or SONAME, ALREADY_LOADED
    if explicit:
        try:
            return ctypes.PyDLL(explicit), explicit, EXPLICIT
        except OSError as error:
            raise ImportError(
                f"tlslocal: cannot load TLSLOCAL_LIBRARY={explicit!r}: {error}. Point "
                f"TLSLOCAL_LIBRARY at a built libtlslocal ({SONAME}), or unset it to search the "
                f"default places.") from None
    tried = []
    for candidate, origin in _candidates():
        if os.sep in candidate and not os.path.exists(candidate):
            tried.append(f"{candidate} (absent)")
            continue
        try:
            return ctypes.PyDLL(candidate), candidate, origin
        except OSError as error:
            tried.append(f"{candidate} ({error})")
    raise ImportError(
        "tlslocal: cannot find the libtlslocal C library. Tried: " + "; ".join(tried) + ". "
        f"Install it (`meson install` puts {SONAME} in the libdir; Debian: the libtlslocal1 "
        f"package; the platform wheel that tools/build-wheel.sh makes carries a copy), add its "
        f"directory to LD_LIBRARY_PATH, or set TLSLOCAL_LIBRARY to the library file's path. A "
        f"{SONAME} that is there but does not load lacks its own dependencies: GLib "
        f"(libglib-2.0.so.0) and libffi.")


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _mapped_file(handle):
    """The file the dynamic linker mapped for handle (dladdr() of its tl_version), or None where
    that cannot be asked (no dladdr, no such symbol)."""
    try:
        dladdr = ctypes.CDLL(None).dladdr  # in libc since glibc 2.34, and in libdl before
    except (AttributeError, OSError):
        try:
            dladdr = ctypes.CDLL("libdl.so.2").dladdr
        except (AttributeError, OSError):
            return None
    dladdr.argtypes = (ctypes.c_void_p, ctypes.POINTER(_DlInfo))
    dladdr.restype = ctypes.c_int
    try:
        symbol = ctypes.cast(handle["tl_version"], ctypes.c_void_p)
    except AttributeError:
        return None
    info = _DlInfo()
    if not dladdr(symbol, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.fsdecode(info.dli_fname)


def _bind(handle, where):
    for name, restype, argtypes, errcheck in PROTOTYPES:
        try:
            function = getattr(handle, name)
        except AttributeError:
            raise ImportError(f"tlslocal: {where} has no symbol {name}: it is not libtlslocal "
                              f"{ABI_MAJOR}.x, or it is older than this binding") from None
        function.restype = restype
        function.argtypes = argtypes
        if errcheck is not None:
            function.errcheck = errcheck
    return handle


def _bind_fast(handle):
    for alias, name, restype, argtypes in FAST_PROTOTYPES:
        function = handle[name]  # a new function object: lib.<name> keeps its own marshalling
        function.restype = restype
        if argtypes is not None:
            function.argtypes = argtypes
        setattr(fast, alias, function)


def _int32_widens(handle):
    """Whether a Python int passed without argtypes reaches an int64_t parameter whole. ctypes
    passes it as a C int; libffi then widens 32-bit arguments to the full 64-bit register or slot
    (sign-extended) on x86-64 and AArch64, which the C ABI itself does not promise. So ask the
    library rather than assume: each probe value must come back exactly, including the negative
    ones (unwidened, their upper 32 bits would be whatever the register held)."""
    if ctypes.sizeof(_P) != 8:
        return False
    new = handle["tl_value_new_int64"]  # untyped, as set_int64_int32 is
    new.restype = _VALUE
    out = ctypes.c_int64()
    for probe in (-1, -(2 ** 31), 2 ** 31 - 1, 0, -2, 1, -1):
        vp = new(probe)
        try:
            if lib.tl_value_get_int64(vp, ctypes.byref(out)) != 0 or out.value != probe:
                return False
        finally:
            lib.tl_value_unref(vp)
    return True


lib, _loaded_as, LIBRARY_ORIGIN = _load()
_bind(lib, _loaded_as)
# The file in use, as the dynamic linker names it (a search's result, not the SONAME asked for).
LIBRARY_PATH = _mapped_file(lib) or _loaded_as
_bind_fast(lib)
# INT32_WIDENS: fast.set_int64_int32 takes a Python int in [-2**31, 2**31) untyped (~55 ns less
# per call than set_int64). Callers check that range: ctypes truncates an untyped int to 32 bits
# without a word. Where ints do not widen, it is set_int64's twin with typed marshalling.
INT32_WIDENS = _int32_widens(lib)
if not INT32_WIDENS:
    fast.set_int64_int32 = lib["tl_local_set_int64"]
    fast.set_int64_int32.restype = _INT
    fast.set_int64_int32.argtypes = (_LOCAL, _STR, ctypes.c_int64)
if not lib.tl_version_check(ABI_MAJOR, MIN_MINOR, MIN_MICRO):
    raise ImportError(
        f"tlslocal: {LIBRARY_PATH} is libtlslocal {lib.tl_version().decode()}; this binding needs "
        f"{ABI_MAJOR}.x, at least {ABI_MAJOR}.{MIN_MINOR}.{MIN_MICRO}")
