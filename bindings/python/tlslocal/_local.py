# SPDX-License-Identifier: LGPL-2.1-or-later
"""tlslocal.local, its attribute protocol, and the other ways to reach a C local from Python (open,
wrap, address, unregister)."""

import ctypes
from _thread import _local as _thread_local  # the C threading.local (see _stores)

from ._accelerator import load as load_speedups

from ._convert import (EMPTY_BYTES, FALSE, INT64_MAX, INT64_MIN, NONE, SMALL_INT_MAX, SMALL_INT_MIN,
                       SMALL_INTS, TRUE, UINT64_MAX, known_converter, no_form)
from ._dict import (ABSENT, KEYS, MISSING, ThreadState, delete, key, read, store, store_at,
                    store_without_form, unhold, written)
from ._epoch import Epoch
from ._ffi import error_for, fast, lib, pointer_arg
from ._lookup import (BASE_NAMES, NOT_DEFINED, class_info, is_data_descriptor, no_attribute,
                      read_only, set_base, subclass_attr)
from ._stores import forget_named, open_named, store_for
from ._view import view

__all__ = ["local", "open", "wrap", "address", "unregister", "ACCELERATED"]

_object_getattribute = object.__getattribute__
_object_init = object.__init__
_thread_local_new = _thread_local.__new__

# The C setters of the attribute write (see _ffi.FAST_PROTOTYPES for what each takes): each returns
# a status that the caller checks.
_set_object = fast.set_object
_set_int64 = fast.set_int64
_set_int64_int32 = fast.set_int64_int32
_set_uint64 = fast.set_uint64
_set_double = fast.set_double
_set_string = fast.set_string
_set_take = fast.set_take
_new_bytes = lib.tl_value_new_bytes
# Values made once (_convert.IMMORTAL), as pointer arguments for _set_object. __setattr__ tests
# the small ints' range with literals.
assert (SMALL_INT_MIN, SMALL_INT_MAX) == (-5, 256)
_SMALL_INT_ARGS = [pointer_arg(vp) for vp in SMALL_INTS]  # [value + 5]
_TRUE, _FALSE, _NONE, _EMPTY_BYTES = (pointer_arg(vp) for vp in (TRUE, FALSE, NONE, EMPTY_BYTES))


class _Impl(_thread_local):
    """What a local object holds: shared slots, and per thread (a threading.local attribute) st,
    the store's ThreadState for this thread, set on the object's first use in the thread."""

    __slots__ = ("handle", "store", "args", "kw")


class local(_thread_local):
    """A thread-local namespace, like threading.local, whose values live in libtlslocal.

    Each thread sees its own attributes. Subclasses may define __init__, which runs again in each
    thread on its first use, with the arguments given at construction; class attributes are
    defaults; __slots__ are shared by all threads. tlslocal.address(obj) is the TlLocal * that C
    code can use with tl_local_get().

    A threading.local itself (the C _thread._local), whose attribute methods it replaces entirely:
    its own per-thread dictionary stays unused. What that base gives is how object.__setattr__ and
    object.__delattr__ treat it: as for threading.local, TypeError (CPython 3.8-3.12), rather than
    a write into the instance dictionary CPython gives every subclass without __slots__, a
    dictionary all threads would share and no read would see."""

    __module__ = "tlslocal"  # where users find it: repr() and help() say tlslocal.local
    __slots__ = ("_local__impl",)  # __weakref__: the base's

    def __new__(cls, /, *args, **kw):
        if (args or kw) and cls.__init__ is _object_init:
            raise TypeError("Initialization arguments are not supported")
        return _attach(_thread_local_new(cls), store_for(lib.tl_local_new(), owned=True), args, kw)

    def __reduce_ex__(self, protocol):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        class_info(cls)

    # The hot path (bench/bench-python.py), measured in instructions per access (valgrind
    # --tool=cachegrind, CPython 3.11): a Python call costs ~500 of the ~3,000 a read takes and of
    # the ~6,500-7,000 a write takes (most of which is the ctypes call). So what every access does
    # is written out here rather than called: finding this thread's state (in both methods), a
    # read's cache hit, and a write's typed C setter and accounting. The rest are calls, the
    # subclass step too: ~500 more per access on a subclass (a read: 4,340 -> 4,830), the price of
    # one lookup for reads, writes and deletes.
    def __getattribute__(self, name):
        impl = _impl_of(self)
        try:
            st = impl.st
        except AttributeError:
            st = _first_use(self, impl)
        cls = type(self)
        if cls is not _pure_local and cls is not local:  # local: the accelerated one
            attr = subclass_attr(cls, name)
            if attr is not NOT_DEFINED:
                return _class_get(self, st, name, attr)
        # The cache never holds a name of BASE_NAMES. A hit here is read()'s, without its calls.
        t = st.t
        if t.c.value == t.known:
            value = st.cache.get(name, ABSENT)
            if value is not ABSENT:
                return value
        if name in BASE_NAMES:
            return _class_get(self, st, name, BASE_NAMES[name])
        value = read(st, name)
        if value is MISSING:
            raise no_attribute(self, name)
        return value

    def __setattr__(self, name, value):
        impl = _impl_of(self)
        try:
            st = impl.st
        except AttributeError:
            st = _first_use(self, impl)
        cls = type(self)
        if cls is not _pure_local and cls is not local:  # local: the accelerated one
            attr = subclass_attr(cls, name)
            if attr is not NOT_DEFINED and _class_sets(self, name, value, attr):
                return
        try:
            kb = KEYS[name]  # never a name of BASE_NAMES
        except KeyError:
            kb = _setattr_slow(self, st, name, value)
            if kb is None:
                return
        # The plain types, each with C's typed setter: one C call, no TlValue made here. Anything
        # else, and what C cannot hold as given, is store_at()'s (_dict), as _convert maps it.
        # Literals, not names: on CPython 3.11 a global in a range test costs ~50 instructions.
        kind = type(value)
        if kind is str:  # first: strings have the least margin (docs/performance.md)
            # str's "in" is a memchr; bytes' "in" with a bytes needle costs ~200 ns more.
            if "\0" in value:
                return store_at(st, name, kb, value)
            try:
                data = value.encode()
            except UnicodeEncodeError:  # a lone surrogate
                return store_at(st, name, kb, value)
            status = _set_string(st.hp, kb, data)
        elif kind is int:
            if -6 < value < 257:  # _convert.SMALL_INTS
                status = _set_object(st.hp, kb, _SMALL_INT_ARGS[value + 5])
            elif -2147483649 < value < 2147483648:  # int32: see _ffi.INT32_WIDENS
                status = _set_int64_int32(st.hp, kb, value)
            elif INT64_MIN <= value <= INT64_MAX:
                status = _set_int64(st.h, kb, value)
            elif 0 <= value <= UINT64_MAX:
                status = _set_uint64(st.h, kb, value)
            else:
                return store_at(st, name, kb, value)
        elif known_converter(kind) is no_form:
            return store_without_form(st, name, kb, value)
        else:
            # The other plain types: their writes read the counter (written()), so that a value
            # written after C's changes reads back as the very object Python wrote.
            if kind is float:
                status = _set_double(st.h, kb, value)
            elif kind is bool:
                status = _set_object(st.hp, kb, _TRUE if value else _FALSE)
            elif value is None:
                status = _set_object(st.hp, kb, _NONE)
            elif kind is bytes:
                if value:
                    status = _set_take(st.h, kb, _new_bytes(value, len(value)))
                else:
                    status = _set_object(st.hp, kb, _EMPTY_BYTES)
            else:
                return store_at(st, name, kb, value)
            if status:
                raise error_for(status)
            return written(st, name, kb, value, None)
        if status:
            raise error_for(status)
        # A str or an int: accounted for without reading the counter (_epoch.Epoch), which moved
        # by one for this write; anything else that moved it keeps it ahead of known until sync()
        # starts a new epoch. The read costs ~500 instructions; without it, a str or int written
        # after C's changes reads back from C, equal but perhaps not the same object.
        st.t.known += 1
        st.cache[name] = value
        if st.held and name in st.held:
            unhold(st.held, name)

    def __delattr__(self, name):
        st = _state(self)
        cls = type(self)
        if cls is not _pure_local and cls is not local:  # local: the accelerated one
            attr = subclass_attr(cls, name)
            if attr is not NOT_DEFINED:
                return _class_del(self, st, name, attr)
        if name in BASE_NAMES:
            return _class_del(self, st, name, BASE_NAMES[name])
        if not delete(st, name):
            raise no_attribute(self, name)


_impl_of = local.__dict__["_local__impl"].__get__
_impl_set = local.__dict__["_local__impl"].__set__
# The class above, whose methods are the pure path. Its hot path tests for it, and for the
# accelerated local below, whose C methods call these: neither takes the subclass step.
_pure_local = local

# With the compiled accelerator (_accelerator), tlslocal.local is this class's subclass with C
# attribute methods: LocalBase (a _thread._local) comes first in its mro, so CPython calls its C
# slots directly, for local and every subclass, and they hand what they do not do themselves to
# the methods above. The pure class stays usable beside it (bench-python.py measures both).
_speedups = load_speedups()
if _speedups is not None:
    class local(_speedups.LocalBase, _pure_local):  # noqa: F811 - replaces the pure class
        __doc__ = _pure_local.__doc__
        __module__ = "tlslocal"
        __slots__ = ()

    _speedups.install(
        {name: ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for name in (
            "tl_local_set", "tl_local_set_int64", "tl_local_set_uint64", "tl_local_set_double",
            "tl_local_set_string", "tl_thread_change_counter")},
        _pure_local, ThreadState, Epoch, ABSENT, KEYS, error_for, unhold, written,
        SMALL_INTS, TRUE, FALSE, NONE)
ACCELERATED = _speedups is not None
set_base(local)
for _cls in {local, _pure_local}:
    class_info(_cls)  # after set_base: none of their namespaces is a subclass's


# ---- names the class defines: object.__getattribute__'s order ---------------------------------

def _class_get(self, st, name, attr):
    """Attribute lookup for a name the class defines, in object.__getattribute__'s order: data
    descriptors, then this thread's dictionary, then other class attributes."""
    if name == "__dict__":
        return view(_impl_of(self).store, st)
    if not is_data_descriptor(attr):
        value = read(st, name)
        if value is not MISSING:
            return value
    return _object_getattribute(self, name)


# Descriptors are called directly, as object.__setattr__ would: that refuses a local (see local).

def _class_sets(self, name, value, attr):
    """Whether the class attribute attr takes the write of name (a data descriptor sets it; __dict__
    cannot be set): else it goes to this thread's dictionary."""
    if name == "__dict__":
        raise read_only(self, name)
    if is_data_descriptor(attr):
        type(attr).__set__(attr, self, value)
        return True
    return False


def _class_del(self, st, name, attr):
    if name == "__dict__":
        raise read_only(self, name)
    if is_data_descriptor(attr):
        return type(attr).__delete__(attr, self)
    if not delete(st, name):
        raise no_attribute(self, name)  # a class attribute, which no instance can delete


def _setattr_slow(self, st, name, value):
    """__setattr__ for a name not in KEYS: the C key to store it under, or None when this did the
    write (a name of BASE_NAMES, which the cache must not hold, or a key C cannot hold)."""
    if name in BASE_NAMES:
        cls = type(self)
        # The base classes' attribute decides, unless a subclass's comes first in the mro (one
        # that __setattr__ found does not take the write).
        if cls is _pure_local or cls is local or subclass_attr(cls, name) is NOT_DEFINED:
            if _class_sets(self, name, value, BASE_NAMES[name]):
                return None
        store(st, name, value)
        return None
    kb = key(name)
    if kb is None:
        store(st, name, value)
    return kb


# ---- first use in a thread, and __init__ replay ------------------------------------------------

def _attach(self, store_, args, kw):
    """Make self an object over store_, already initialized in the calling thread."""
    impl = _Impl()
    impl.handle = store_.handle
    impl.store = store_
    impl.args = args
    impl.kw = kw
    _impl_set(self, impl)
    st = impl.st = store_.state()
    foreign = st.p.foreign
    if foreign is not None and type(self).__init__ is not _object_init:
        foreign.inited.add(impl)  # its construction runs it here: not again at the next call
    return self


def _state(self):
    """The calling thread's ThreadState of self, joined on the first use."""
    impl = _impl_of(self)
    try:
        return impl.st
    except AttributeError:
        return _first_use(self, impl)


def _first_use(self, impl):
    """This thread's first use of self: join the store's state for this thread, then run the
    subclass's __init__ with the construction arguments (no lock is held meanwhile: a thread
    switch inside __init__ is harmless, and __init__'s own accesses see the new state)."""
    store_ = impl.store
    st = impl.st = store_.state()
    init = type(self).__init__
    if init is not _object_init:
        foreign = st.p.foreign
        if foreign is not None and impl in foreign.inited:
            return st  # a C thread whose earlier call ran it (_foreign)
        try:
            init(self, *impl.args, **impl.kw)
        except BaseException:
            # As threading.local does, drop what this thread has, so the next use runs __init__
            # again. Only for a local we made: a foreign local's values belong to C code too.
            del impl.st
            if store_.owned:
                lib.tl_local_clear(store_.handle)
                st.clear()
            raise
        if foreign is not None:
            foreign.inited.add(impl)
    return st


# ---- C-owned locals ----------------------------------------------------------------------------

def _instance(cls, store_, args, kw):
    if not (isinstance(cls, type) and issubclass(cls, _pure_local)):
        raise TypeError(f"cls must be tlslocal.local or a subclass of it, not {cls!r}")
    init = cls.__init__
    if (args or kw) and init is _object_init:
        raise TypeError("Initialization arguments are not supported")
    self = _attach(_thread_local_new(cls), store_, args, kw)
    if init is not _object_init:
        init(self, *args, **kw)
    return self


def open(name, cls=local, /, *args, **kw):  # noqa: A001 - the C name: tl_local_open
    """The process-wide local registered as name (tl_local_open(name)): what C code and every other
    Python caller that opens name see. Its Python side is kept until unregister(name), as C's
    registry keeps the local, or interpreter exit (then it goes with its objects). Returns a cls
    instance (a subclass's __init__ runs with args, now and in each thread's first use)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    return _instance(cls, open_named(name), args, kw)


def unregister(name):
    """tl_local_unregister(name): forget the name (objects already opened stay valid). Raises
    Error (code TL_ERR_NOT_FOUND) if no local is registered under name."""
    forget_named(name)


def wrap(handle, cls=local, /, *args, **kw):
    """An object over a TlLocal * that C code handed over (an int address or a ctypes pointer). It
    takes its own reference (tl_local_ref), so C may drop its own at any time. Objects over the
    same C local share their values, Python objects included, for as long as one of them lives."""
    if hasattr(handle, "value"):  # ctypes.c_void_p and the like
        handle = handle.value
    if not isinstance(handle, int) or not handle:
        raise TypeError("handle must be a non-NULL TlLocal * (an int address or a c_void_p)")
    return _instance(cls, store_for(lib.tl_local_ref(handle)), args, kw)


def address(obj):
    """The TlLocal * (an int) under obj, for C code: tl_local_get((TlLocal *) address, ...). Valid
    while obj (or another Python object over the same local) lives; C code that keeps it longer
    takes its own reference with tl_local_ref()."""
    if not isinstance(obj, _pure_local):
        raise TypeError(f"expected a tlslocal.local, not {type(obj).__name__}")
    return _impl_of(obj).handle
