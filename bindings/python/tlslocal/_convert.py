# SPDX-License-Identifier: LGPL-2.1-or-later
"""Marshalling between Python objects and TlValue references (GVariant-backed or native pointers).

to_value(obj) -> new TlValue reference (an int), or None when obj has no GVariant form.
from_value(vp) -> the Python object for a TlValue (borrowed; the caller keeps its reference).

The mapping (README.md, "Value mapping", is the reference for users):

  Python                          GVariant
  None                            "mv" nothing            (any maybe reads back as None / value)
  bool                            "b"                     (checked before int)
  int in [-2**63, 2**63)          "x"
  int in [2**63, 2**64)           "t"
  other int                       (no form: kept on the Python side)
  float                           "d"
  str                             "s"  (no form if it holds NUL or a lone surrogate)
  bytes                           "ay"
  tuple                           "(...)" of its items; () is the unit "()"
  list                            "aT" when every item has the one type T, else "av" ([] is "av")
  dict with str keys              "a{sv}" (values boxed)
  ctypes.c_void_p                 "p", a native pointer value with no destroy function
  anything else, or a container holding anything else, or nested deeper than MAX_DEPTH: no form.

Read back from C: "b" bool; "y" "n" "q" "i" "u" "x" "t" "h" int; "d" float; "s" "o" "g" str;
"ay" bytes; arrays list; dictionaries ("a{..}") dict, keys converted too; tuples tuple; "v"
unboxed; maybes None or their value; a dict entry outside a dictionary a (key, value) tuple; "p"
ctypes.c_void_p.
"""

import atexit
import ctypes

from ._ffi import NULL_DESTROY, Error, lib

__all__ = ["to_value", "converter", "known_converter", "no_form", "c_string", "from_value",
           "release", "new_marker", "local_get", "local_keys", "MARKER", "MAX_DEPTH", "IMMORTAL",
           "NONE", "TRUE", "FALSE", "EMPTY_BYTES", "SMALL_INT_MIN", "SMALL_INT_MAX", "SMALL_INTS",
           "INT64_MIN", "INT64_MAX", "UINT64_MAX"]

INT64_MIN, INT64_MAX, UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
# Deeper containers stay on the Python side: GVariant limits type strings to 128 levels and the
# recursion here should stay far from Python's own limit.
MAX_DEPTH = 64

_VALUE = ctypes.c_void_p
_unref = lib.tl_value_unref
_type = lib.tl_value_type


# The address every "Python object" marker points to: the pointer value stored in C for a value that
# has no GVariant form. C sees a "p" value; the object itself stays on the Python side.
_MARKER_TARGET = ctypes.create_string_buffer(b"tlslocal: a Python object, held by Python")
MARKER_ADDRESS = ctypes.addressof(_MARKER_TARGET)


def new_marker():
    return lib.tl_value_new_pointer(MARKER_ADDRESS, NULL_DESTROY)


# Values made once and never released ("immortal", like CPython's small ints): storing them costs
# no TlValue allocation and no reference counting. IMMORTAL holds their addresses.
NONE = lib.tl_value_new_maybe(b"v", None)
TRUE = lib.tl_value_new_bool(1)
FALSE = lib.tl_value_new_bool(0)
SMALL_INT_MIN, SMALL_INT_MAX = -5, 256
SMALL_INTS = [lib.tl_value_new_int64(i) for i in range(SMALL_INT_MIN, SMALL_INT_MAX + 1)]
EMPTY_STR = lib.tl_value_new_string(b"")
EMPTY_BYTES = lib.tl_value_new_bytes(None, 0)
EMPTY_TUPLE = lib.tl_value_new_tuple(None, 0)
IMMORTAL = frozenset([NONE, TRUE, FALSE, EMPTY_STR, EMPTY_BYTES, EMPTY_TUPLE, *SMALL_INTS])


def release(vp, _immortal=IMMORTAL, _unref=_unref):
    """Drop a reference taken by to_value() or tl_value_ref() (immortal values take none)."""
    if vp is not None and vp not in _immortal:
        _unref(vp)


# ---- Python -> TlValue -------------------------------------------------------------------------

_new_int64 = lib.tl_value_new_int64
_new_uint64 = lib.tl_value_new_uint64
_new_double = lib.tl_value_new_double
_new_string = lib.tl_value_new_string
_new_bytes = lib.tl_value_new_bytes


def _from_bool(obj):
    return TRUE if obj else FALSE


def _from_int(obj):
    if SMALL_INT_MIN <= obj <= SMALL_INT_MAX:
        return SMALL_INTS[obj - SMALL_INT_MIN]
    if INT64_MIN <= obj <= INT64_MAX:
        return _new_int64(obj)
    if 0 <= obj <= UINT64_MAX:
        return _new_uint64(obj)
    return None


def c_string(text):
    """text as a C string's UTF-8 bytes, or None when C cannot hold it: not a str, a NUL inside, a
    lone surrogate."""
    if not isinstance(text, str):
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if 0 in data:  # an int needle is a memchr; b"\0" costs an exception inside
        return None
    return data


def _from_str(obj):
    if not obj:
        return EMPTY_STR
    data = c_string(obj)
    return None if data is None else _new_string(data)


def _from_bytes(obj):
    if not obj:
        return EMPTY_BYTES
    return _new_bytes(obj, len(obj))


def _from_none(obj):
    return NONE


def _from_pointer(obj):
    return lib.tl_value_new_pointer(obj.value, NULL_DESTROY)


def _children(items, depth):
    """New references for items, or None (and nothing held) if one has no GVariant form."""
    children = []
    for item in items:
        vp = _to_value(item, depth)
        if vp is None:
            for child in children:
                release(child)
            return None
        children.append(vp)
    return children


def _from_tuple(obj, depth=0):
    if not obj:
        return EMPTY_TUPLE
    if depth >= MAX_DEPTH:
        return None
    children = _children(obj, depth + 1)
    if children is None:
        return None
    try:
        return lib.tl_value_new_tuple((_VALUE * len(children))(*children), len(children))
    finally:
        for child in children:
            release(child)


def _from_list(obj, depth=0):
    if depth >= MAX_DEPTH:
        return None
    children = _children(obj, depth + 1)
    if children is None:
        return None
    try:
        types = {_type(child) for child in children}
        element = types.pop() if len(types) == 1 else b"v"
        return lib.tl_value_new_array(element, (_VALUE * len(children))(*children), len(children))
    finally:
        for child in children:
            release(child)


def _from_dict(obj, depth=0):
    if depth >= MAX_DEPTH:
        return None
    keys = []
    for key in obj:
        data = c_string(key)
        if data is None:
            return None
        keys.append(data)
    children = _children(obj.values(), depth + 1)
    if children is None:
        return None
    try:
        n = len(children)
        return lib.tl_value_new_vardict((ctypes.c_char_p * n)(*keys), (_VALUE * n)(*children), n)
    finally:
        for child in children:
            release(child)


# type -> function(obj) giving a new reference or None: exact types first (one dict lookup on the
# hot path); subclasses are matched in _BASES order, bool before int since bool is an int. float
# maps straight to the ctypes function: no Python frame in between.
_CONVERTERS = {
    bool: _from_bool, int: _from_int, float: _new_double, str: _from_str, bytes: _from_bytes,
    type(None): _from_none, tuple: _from_tuple, list: _from_list, dict: _from_dict,
    ctypes.c_void_p: _from_pointer,
}
_BASES = (bool, int, float, str, bytes, tuple, list, dict, ctypes.c_void_p)
_BUILT_IN = frozenset(_CONVERTERS)
_cache_max = 256  # classes made on the fly must not grow the table without end


def _forget_classes():
    """At interpreter exit (atexit): let go of every class cached beyond the built-in types, and
    cache no more. A user's class reaches its module's globals, and through them its locals' values;
    held from here, they would outlive their module and be finalized only once builtins are gone,
    where threading.local's values go with their module."""
    global _cache_max
    _cache_max = 0
    for cls in [cls for cls in _CONVERTERS if cls not in _BUILT_IN]:
        del _CONVERTERS[cls]


atexit.register(_forget_classes)


def no_form(obj):
    """The converter of types without a GVariant form."""
    return None


# The converter for a type converter() has met, else None: a lookup without a Python frame, for the
# hot path. (A bound method: CPython 3.11 calls a method of an imported name without LOAD_METHOD.)
known_converter = _CONVERTERS.get


def converter(cls):
    """The converter for instances of cls (no_form: no GVariant form), cached for the next time
    (up to _cache_max types)."""
    function = _CONVERTERS.get(cls)
    if function is None:
        function = no_form
        for base in _BASES:
            if issubclass(cls, base):
                function = _CONVERTERS[base]
                break
        if len(_CONVERTERS) < _cache_max:
            _CONVERTERS[cls] = function
    return function


def _to_value(obj, depth):
    """to_value() for an item depth levels inside a container."""
    function = _CONVERTERS.get(type(obj)) or converter(type(obj))
    if function is None or function is _from_pointer:  # containers cannot hold pointer values
        return None
    if function is _from_tuple or function is _from_list or function is _from_dict:
        return function(obj, depth)
    return function(obj)


def to_value(obj):
    """A new TlValue reference for obj (immortal values excepted: see release()), or None when obj
    has no GVariant form."""
    function = _CONVERTERS.get(type(obj)) or converter(type(obj))
    return None if function is None else function(obj)


# ---- TlValue -> Python -------------------------------------------------------------------------

def _scalar_reader(c_type, getter):
    def read(vp):
        out = c_type()
        getter(vp, ctypes.byref(out))
        return out.value
    return read


def _read_bool(vp):
    out = ctypes.c_int()
    lib.tl_value_get_bool(vp, ctypes.byref(out))
    return bool(out.value)


def _read_string(vp):
    out = ctypes.c_char_p()
    lib.tl_value_get_string(vp, ctypes.byref(out))
    return out.value.decode("utf-8")


def _read_bytes(vp):
    data, size = ctypes.c_void_p(), ctypes.c_size_t()
    lib.tl_value_get_bytes(vp, ctypes.byref(data), ctypes.byref(size))
    return ctypes.string_at(data.value, size.value) if size.value else b""


class _Marker:
    def __repr__(self):
        return "<tlslocal: a Python object this thread no longer holds>"


# What from_value() gives for a marker: the Python object it stood for is not reachable from here.
MARKER = _Marker()


def _read_pointer(vp):
    out = ctypes.c_void_p()
    lib.tl_value_get_pointer(vp, ctypes.byref(out))
    return MARKER if out.value == MARKER_ADDRESS else ctypes.c_void_p(out.value)


_READERS = {
    b"b": _read_bool,
    b"y": _scalar_reader(ctypes.c_uint8, lib.tl_value_get_byte),
    b"n": _scalar_reader(ctypes.c_int16, lib.tl_value_get_int16),
    b"q": _scalar_reader(ctypes.c_uint16, lib.tl_value_get_uint16),
    b"i": _scalar_reader(ctypes.c_int32, lib.tl_value_get_int32),
    b"u": _scalar_reader(ctypes.c_uint32, lib.tl_value_get_uint32),
    b"x": _scalar_reader(ctypes.c_int64, lib.tl_value_get_int64),
    b"t": _scalar_reader(ctypes.c_uint64, lib.tl_value_get_uint64),
    b"d": _scalar_reader(ctypes.c_double, lib.tl_value_get_double),
    b"h": _scalar_reader(ctypes.c_int32, lib.tl_value_get_handle),
    b"s": _read_string, b"o": _read_string, b"g": _read_string,
    b"ay": _read_bytes,
    b"p": _read_pointer,
}


def _child_values(vp):
    n = ctypes.c_size_t()
    lib.tl_value_n_children(vp, ctypes.byref(n))
    out = _VALUE()
    for index in range(n.value):
        lib.tl_value_get_child(vp, index, ctypes.byref(out))
        child = out.value
        try:
            yield from_value(child)
        finally:
            _unref(child)


def from_value(vp):
    """The Python object for the TlValue vp (borrowed)."""
    type_string = _type(vp)
    reader = _READERS.get(type_string)
    if reader is not None:
        return reader(vp)
    first = type_string[:1]
    if first == b"a":
        if type_string[1:2] == b"{":
            return dict(_child_values(vp))
        return list(_child_values(vp))
    if first == b"(" or first == b"{":
        return tuple(_child_values(vp))
    if first == b"v":
        return next(_child_values(vp))
    if first == b"m":
        return next(_child_values(vp), None)
    raise TypeError(f"tlslocal: no Python form for a value of type {type_string.decode()!r}")


# ---- locals ------------------------------------------------------------------------------------

_TL_ERR_NOT_FOUND = -3


def local_get(handle, key):
    """tl_local_get: a new reference to the calling thread's value for key (bytes), or None."""
    out = _VALUE()
    try:
        lib.tl_local_get(handle, key, ctypes.byref(out))
    except Error as error:
        if error.code == _TL_ERR_NOT_FOUND:
            return None
        raise
    return out.value


def local_keys(handle):
    """tl_local_keys: the calling thread's keys, in the dictionary's order."""
    strv = ctypes.POINTER(ctypes.c_char_p)()
    n = ctypes.c_size_t()
    lib.tl_local_keys(handle, ctypes.byref(strv), ctypes.byref(n))
    try:
        return [strv[i].decode("utf-8") for i in range(n.value)]
    finally:
        lib.tl_strv_free(strv)
