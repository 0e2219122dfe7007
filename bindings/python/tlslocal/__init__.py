"""tlslocal: threading.local backed by libtlslocal, so C code in the same process sees the values.

    import tlslocal

    ctx = tlslocal.open("request")     # the named local C code opens with tl_local_open("request")
    ctx.request_id = "req-42"          # C: tl_local_get(local, "request_id", &v) -> "req-42"

    class Counters(tlslocal.local):    # exactly like a threading.local subclass
        def __init__(self, start=0):   # runs again in each thread, on its first use
            self.hits = start

Values with a GVariant form (None, bool, int within 64 bits, float, str, bytes, and tuples, lists
and str-keyed dicts of these) are stored in the C library; any other object is kept on the Python
side, and C sees an opaque pointer value under its key. README.md has the whole mapping and its
edges.
"""

import ctypes as _ctypes
import os as _os
import sys
import threading
import weakref

from . import _convert
from . import _ffi
from ._ffi import Error, LIBRARY_PATH, error_for as _error_for, fast as _fast, lib

__all__ = ["local", "open", "wrap", "address", "unregister", "Error", "version", "stats",
           "LIBRARY_PATH"]
__version__ = "1.0.0"

_TL_ERR_NOT_FOUND = -3

# The hot path's C functions and helpers, bound once. The _fast ones return a status that the caller
# checks (see _ffi.FAST_PROTOTYPES for what each takes).
_peek = _fast.peek
_set = _fast.set
_set_object = _fast.set_object
_set_int64 = _fast.set_int64
_set_int64_int32 = _fast.set_int64_int32
_set_uint64 = _fast.set_uint64
_set_double = _fast.set_double
_set_string = _fast.set_string
_set_take = _fast.set_take
_new_bytes = lib.tl_value_new_bytes
_delete_key = _fast.delete
_unref = lib.tl_value_unref
_c_void_p = _ctypes.c_void_p
_pointer_arg = _ffi.pointer_arg
_IMMORTAL = _convert.IMMORTAL
_to_value = _convert.to_value
_known_converter = _convert.known_converter  # type -> converter, or None; _NO_FORM: no form
_NO_FORM = _convert.no_form
_from_value = _convert.from_value
_new_marker = _convert.new_marker
_object_getattribute = object.__getattribute__
_object_setattr = object.__setattr__
_object_delattr = object.__delattr__
_object_init = object.__init__
_get_ident = threading.get_ident
_is_finalizing = sys.is_finalizing
_MISSING = object()
_ABSENT = object()  # in a cache: C's dictionary has no such key
_INT64_MIN, _INT64_MAX, _UINT64_MAX = _convert.INT64_MIN, _convert.INT64_MAX, _convert.UINT64_MAX

# Values made once (_convert.IMMORTAL), as pointer arguments for _set_object. The hot path tests
# -6 < value < 257 with literals and indexes a list: cheaper than globals and a dict.
assert (_convert.SMALL_INT_MIN, _convert.SMALL_INT_MAX) == (-5, 256)
_SMALL_INT_LIST = [_pointer_arg(vp) for vp in _convert.SMALL_INTS]  # [value + 5]
_TRUE, _FALSE, _NONE = (_pointer_arg(vp) for vp in (_convert.TRUE, _convert.FALSE, _convert.NONE))
_EMPTY_BYTES = _pointer_arg(_convert.EMPTY_BYTES)

# Entry kinds (see _ThreadState). An entry holds a reference to its vp iff kind <= _MARKER.
_OWNED, _MARKER, _BORROWED, _PYTHON_ONLY = 0, 1, 2, 3


def _release_entry(entry):
    if entry[3] <= _MARKER:
        _unref(entry[0])


# attribute name -> its C key (bytes), for names seen before that the hot path may store: neither
# local's nor object's attributes (_BASE_NAMES), which go through the class.
_KEYS = {}
_KEYS_MAX = 4096


def _key(name):
    """The C key for a dictionary key, or None when C cannot hold it (not a str, a NUL inside, a
    lone surrogate): such keys live on the Python side only."""
    if type(name) is str:
        data = _KEYS.get(name)
        if data is not None:
            return data
    elif not isinstance(name, str):
        return None
    try:
        data = name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if 0 in data:  # an int needle is a memchr; b"\0" costs an exception inside
        return None
    if len(_KEYS) < _KEYS_MAX and name not in _BASE_NAMES:
        _KEYS[name] = data
    return data


# ---- per thread: the change counter, and what the caches can trust -------------------------------

class _Epoch:
    """A stretch of one thread's history during which every change to the thread's dictionaries was
    a write of this binding that it accounted for. c reads the thread's change counter
    (tl_thread_change_counter); known is the counter's value as of the last change accounted for.
    While c.value == known, a cache filled under this epoch is exact. Once anything else changes a
    dictionary of the thread, the counter passes known for good: it only grows, and a write of ours
    adds one to both (every successful C write moves the counter by exactly one), so the gap an
    unaccounted change opened never closes, and the epoch is over: _sync starts a new one. A
    state still on an old epoch empties its cache when it joins the current one (_sync on a read,
    _moved_on after a change of its own): no cache filled under an ended epoch is trusted again."""

    __slots__ = ("c", "known")

    def __init__(self, c):
        self.c = c
        self.known = c.value


class _PerThread:
    """One Python thread's link to its C thread: the change counter and the current epoch."""

    __slots__ = ("c", "epoch")

    def __init__(self):
        # The counter is only valid on (and until the exit of) this thread; so is this object, held
        # by a threading.local that the interpreter clears before the thread exits.
        self.c = lib.tl_thread_change_counter().contents
        self.epoch = _Epoch(self.c)


_PER_THREAD = threading.local()


def _per_thread():
    try:
        return _PER_THREAD.p
    except AttributeError:
        p = _PER_THREAD.p = _PerThread()
        return p


class _ThreadState:
    """One thread's Python side of one C local.

    cache maps keys to what C's dictionary holds under them (the Python object, or _ABSENT), exact
    while the thread's change counter equals t.known: a read that finds its key there makes no C
    call. It holds only what C was seen to hold, or what a write accounted for by the counter put
    there; dropping any of it is always safe (see _sync).

    held maps keys to entries [vp, obj, kb, kind] that survive the cache: vp the TlValue C held for
    the key when we looked, with a reference of ours (kind _OWNED or _MARKER; _BORROWED: an immortal
    value, no reference; _PYTHON_ONLY: vp None, a key C cannot hold), obj the Python object it
    stands for, kb the key as bytes. While tl_local_peek still answers vp, obj is the value: our
    reference keeps vp's address from being reused by another value. Held: objects without a
    GVariant form (C holds a marker pointer value for them), containers and instances of subclasses
    (their identity matters: obj.items.append(1)), and everything read from C. Plain ints, floats,
    strings, bytes, bools and None that Python wrote are cached only: after C changes anything in
    the thread, they are read again from C, equal but perhaps not the same object."""

    __slots__ = ("t", "cache", "held", "p", "h", "hp", "view", "ident", "__weakref__")

    def __init__(self, handle):
        p = _per_thread()
        self.p = p
        self.t = p.epoch
        self.cache = {}
        self.held = {}
        self.h = handle
        self.hp = _pointer_arg(handle)
        self.view = None
        self.ident = _get_ident()

    def clear(self):
        self.cache = {}
        held = self.held
        while held:
            _release_entry(held.popitem()[1])

    def __del__(self, _is_finalizing=_is_finalizing):
        # At interpreter exit the process is ending: leave the references (and ctypes) alone.
        if not _is_finalizing():
            self.clear()
            if self.view is not None:
                self.view._alive = False


def _sync(st):
    """Make st.cache exact: afterwards st.t's counter equals its known (unless Python code run by a
    collection meanwhile changed something: callers check again before they fill the cache)."""
    t = st.t
    if t.c.value == t.known:
        return
    p = st.p
    t = p.epoch
    if t.c.value != t.known:
        t = p.epoch = _Epoch(t.c)
    if st.t is not t:
        stale = st.cache
        st.cache = {}
        st.t = t
        del stale  # last: dropping objects may run finalizers that use this state


class _Store:
    """The Python side of one C local (TlLocal *): one C reference, and per thread a _ThreadState
    held by a threading.local, so a thread's Python objects go when the thread ends. Shared by
    every Python object over that C local (see _store_for). Its C reference is dropped by a
    weakref callback, not __del__: callbacks run once every weak reference is cleared, so
    _store_for() cannot hand out a store whose reference is being dropped (as __del__ would
    briefly resurrect it)."""

    __slots__ = ("handle", "owned", "threads", "__weakref__")

    def __init__(self, handle, owned):
        self.handle = handle
        self.owned = owned  # made by tlslocal.local(): nobody else holds it
        self.threads = threading.local()

    def state(self):
        threads = self.threads
        try:
            return threads.st
        except AttributeError:
            st = threads.st = _ThreadState(self.handle)
            return st


def _drop_local(handle, _is_finalizing=_is_finalizing, _unref=lib.tl_local_unref):
    if not _is_finalizing():  # at interpreter exit, leave ctypes and the C local alone
        _unref(handle)


_STORES = weakref.WeakValueDictionary()  # C address -> _Store
_NAMED = {}  # name -> _Store of tlslocal.open(name): kept, as C's registry keeps the local
_STORES_LOCK = threading.Lock()


def _after_fork_in_child():
    global _STORES_LOCK
    _STORES_LOCK = threading.Lock()  # another thread may have held it at the fork


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)


def _store_for(handle, owned=False):
    """The _Store for handle, a new C reference that this call takes over."""
    with _STORES_LOCK:
        store = _STORES.get(handle)
        if store is not None:
            lib.tl_local_unref(handle)  # the store holds its own
            return store
        store = _STORES[handle] = _Store(handle, owned)
        weakref.finalize(store, _drop_local, handle).atexit = False
        return store


class _Impl(threading.local):
    """What a local object holds: shared slots, and per thread (a threading.local attribute) st,
    the store's _ThreadState for this thread, set on the object's first use in the thread."""

    __slots__ = ("handle", "store", "args", "kw")


class local:
    """A thread-local namespace, like threading.local, whose values live in libtlslocal.

    Each thread sees its own attributes. Subclasses may define __init__, which runs again in each
    thread on its first use, with the arguments given at construction; class attributes are
    defaults; __slots__ are shared by all threads. tlslocal.address(obj) is the TlLocal * that C
    code can use with tl_local_get()."""

    __slots__ = ("_local__impl", "__weakref__")

    def __new__(cls, /, *args, **kw):
        if (args or kw) and cls.__init__ is _object_init:
            raise TypeError("Initialization arguments are not supported")
        return _attach(object.__new__(cls), _store_for(lib.tl_local_new(), owned=True), args, kw)

    def __reduce_ex__(self, protocol):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _class_info(cls)

    # The three methods below are the hot path: each line is measured (bench/bench-python.py).
    def __getattribute__(self, name):
        impl = _impl_of(self)
        try:
            st = impl.st
        except AttributeError:
            st = _first_use(self, impl)
        cls = type(self)
        if cls is not local:
            # _subclass_lookup(), inlined
            info = cls._local__info
            if info[0] is not cls or info[1] is not cls.__mro__:
                info = _class_info(cls)
            for namespace in info[2]:
                if name in namespace:
                    return _class_get(self, st, name, namespace[name])
        # The cache never holds a name of _BASE_NAMES.
        t = st.t
        if t.c.value == t.known:
            value = st.cache.get(name, _ABSENT)
            if value is not _ABSENT:
                return value
        if name in _BASE_NAMES:
            return _class_get(self, st, name, _BASE_NAMES[name])
        value = _read(st, name)
        if value is _MISSING:
            raise _no_attribute(self, name)
        return value

    def __setattr__(self, name, value):
        impl = _impl_of(self)
        try:
            st = impl.st
        except AttributeError:
            st = _first_use(self, impl)
        cls = type(self)
        if cls is not local:
            # _subclass_lookup(), inlined
            info = cls._local__info
            if info[0] is not cls or info[1] is not cls.__mro__:
                info = _class_info(cls)
            for namespace in info[2]:
                if name in namespace:
                    return _class_set(self, st, name, value, namespace[name])
        try:
            kb = _KEYS[name]  # never a name of _BASE_NAMES
        except KeyError:
            return _setattr_slow(self, st, name, value)
        # _store_at(), inlined for strings and ints: one C call, then the accounting. Literals,
        # not globals: each global costs a lookup on the hottest path.
        kind = type(value)
        if kind is str:  # first: strings have the least margin (docs/performance.md)
            # str's "in" is a memchr; bytes' "in" with a bytes needle costs ~200 ns more.
            if "\0" in value:
                return _store_at(st, name, kb, value)
            try:
                data = value.encode()
            except UnicodeEncodeError:  # a lone surrogate
                return _store_at(st, name, kb, value)
            status = _set_string(st.hp, kb, data)
        elif kind is int:
            if -6 < value < 257:
                status = _set_object(st.hp, kb, _SMALL_INT_LIST[value + 5])
            elif -2147483649 < value < 2147483648:
                status = _set_int64_int32(st.hp, kb, value)
            elif -9223372036854775809 < value < 9223372036854775808:
                status = _set_int64(st.h, kb, value)
            else:
                return _store_at(st, name, kb, value)
        elif _known_converter(kind) is _NO_FORM:
            return _store_python_object(st, name, kb, value)
        else:
            return _store_at(st, name, kb, value)
        if status:
            raise _error_for(status)
        # Account for our write without reading the counter (see _Epoch): it moved by one for it,
        # and anything else that moved it keeps it ahead of known until _sync starts a new epoch.
        st.t.known += 1
        st.cache[name] = value
        if st.held and name in st.held:
            _unhold(st.held, name)

    def __delattr__(self, name):
        impl = _impl_of(self)
        try:
            st = impl.st
        except AttributeError:
            st = _first_use(self, impl)
        if type(self) is not local:
            attr = _subclass_lookup(type(self), name)
            if attr is not _MISSING:
                return _class_del(self, st, name, attr)
        if name in _BASE_NAMES:
            return _class_del(self, st, name, _BASE_NAMES[name])
        if not _delete(st, name):
            raise _no_attribute(self, name)


_impl_of = local.__dict__["_local__impl"].__get__
# What local and object define, for the lookup's class step. A snapshot: local's namespace is ours
# and object's cannot change. "__dict__" is there for local and slotted subclasses, whose
# namespaces lack it.
_BASE_NAMES = {**object.__dict__, **local.__dict__, "__dict__": None}


def _class_info(cls):
    """(cls, cls.__mro__, the namespaces of cls's mro but local's and object's), cached on cls.
    The namespaces are live mappingproxies, so attributes added to a class later are seen."""
    mro = cls.__mro__
    namespaces = tuple(klass.__dict__ for klass in mro if klass not in (local, object))
    info = (cls, mro, namespaces)
    type.__setattr__(cls, "_local__info", info)
    return info


def _subclass_lookup(cls, name):
    """What a subclass (not local or object) in cls's mro defines as name, or _MISSING."""
    info = cls._local__info
    if info[0] is not cls or info[1] is not cls.__mro__:  # a subclass of a subclass, or __bases__
        info = _class_info(cls)                            # changed, or __init_subclass__ skipped
    for namespace in info[2]:
        if name in namespace:
            return namespace[name]
    return _MISSING


_DATA_DESCRIPTOR_TYPES = {}  # type -> whether its instances are data descriptors


def _is_data_descriptor(attr):
    kind = type(attr)
    known = _DATA_DESCRIPTOR_TYPES.get(kind)
    if known is None:  # hasattr() on a type that lacks the name costs an exception: once per type
        known = hasattr(kind, "__set__") or hasattr(kind, "__delete__")
        _DATA_DESCRIPTOR_TYPES[kind] = known
    return known


def _class_get(self, st, name, attr):
    """Attribute lookup for a name the class defines, in object.__getattribute__'s order: data
    descriptors, then this thread's dictionary, then other class attributes."""
    if name == "__dict__":
        return _view(_impl_of(self).store, st)
    if not _is_data_descriptor(attr):
        value = _read(st, name)
        if value is not _MISSING:
            return value
    return _object_getattribute(self, name)


def _read_only(self, name):
    return AttributeError(f"{type(self).__name__!r} object attribute {name!r} is read-only")


def _class_set(self, st, name, value, attr):
    if name == "__dict__":
        raise _read_only(self, name)
    if _is_data_descriptor(attr):
        return _object_setattr(self, name, value)
    _store(st, name, value)


def _class_del(self, st, name, attr):
    if name == "__dict__":
        raise _read_only(self, name)
    if _is_data_descriptor(attr):
        return _object_delattr(self, name)
    if not _delete(st, name):
        _object_delattr(self, name)  # raises AttributeError, as for any class attribute


def _setattr_slow(self, st, name, value):
    """__setattr__ for a name not in _KEYS: one of local's or object's, or new, or one C cannot
    hold."""
    if name in _BASE_NAMES:
        return _class_set(self, st, name, value, _BASE_NAMES[name])
    _store(st, name, value)


def _no_attribute(self, name):
    error = AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    error.name, error.obj = name, self  # as Python 3.10+ sets them, for "Did you mean" hints
    return error


# ---- this thread's dictionary --------------------------------------------------------------

# Finalizers (run by any allocation of a tracked object, through the garbage collector, or by
# dropping an object's last reference) may use the same local and key between our steps. So:
#  - each held entry's reference is released exactly once, by whoever takes the entry out of held,
#    with _swap: the lookup and the store with no allocation, hence no Python code, in between;
#  - a write reads the change counter right after its C call, with no allocation in between, and
#    fills the cache only if the counter says nothing else happened;
#  - objects are dropped last, once the state is consistent.

def _swap(held, name, new):
    """held[name] = new (or removed, for None); release the entry it replaced."""
    old = held.get(name)
    if new is None:
        if old is None:
            return
        del held[name]
    else:
        held[name] = new
    if old is not None and old[3] <= _MARKER:
        _unref(old[0])


def _unhold(held, name):
    old = held.pop(name, None)
    if old is not None and old[3] <= _MARKER:
        _unref(old[0])


def _read(st, name):
    """This thread's value for name, or _MISSING. Refreshes the cache and held from C."""
    _sync(st)
    t = st.t
    known = t.known
    cache = st.cache
    value = cache.get(name, _MISSING)
    if value is not _MISSING:
        return _MISSING if value is _ABSENT else value
    held = st.held
    entry = held.get(name)
    if entry is not None:
        kb = entry[2]
        if kb is None:
            value = entry[1]
        else:
            vp = _peek(st.hp, kb)
            value = entry[1] if vp == entry[0] else _fetch(st, name, kb, vp)
    else:
        kb = _key(name)
        value = _MISSING if kb is None else _fetch(st, name, kb, _peek(st.hp, kb))
    # Cache it only if nothing changed meanwhile (a collection may run Python code at allocations).
    if t.c.value == known and st.t is t and st.cache is cache and name not in _BASE_NAMES:
        cache[name] = _ABSENT if value is _MISSING else value
    return value


def _fetch(st, name, kb, vp):
    """C holds vp (borrowed; None: nothing) under kb, not what held says: convert it, hold it."""
    # The peeked pointer is borrowed: take a reference through tl_local_get instead.
    if vp is not None:
        vp = _convert.local_get(st.h, kb)
    if vp is None:
        _swap(st.held, name, None)
        return _MISSING
    try:
        obj = _from_value(vp)
    except BaseException:
        _unref(vp)
        raise
    if obj is _convert.MARKER:
        # A marker whose Python object is not held here: stored through a Python side that is gone
        # (its thread state, or every Python object over a foreign local), or copied from another
        # thread by tl_local_apply(). Its object cannot be reached: the key reads as absent.
        _unref(vp)
        _swap(st.held, name, None)
        return _MISSING
    _swap(st.held, name, [vp, obj, kb, _OWNED])
    return obj


def _store(st, name, value):
    kb = _key(name)
    if kb is None:
        # A key C cannot hold lives here only; the cache may show it whatever the counter says.
        if name not in _BASE_NAMES:
            st.cache[name] = value
        _swap(st.held, name, [None, value, None, _PYTHON_ONLY])
        return
    _store_at(st, name, kb, value)


def _store_at(st, name, kb, value):
    """Store value under name, whose C key is kb."""
    kind = type(value)
    if kind is int:
        if -6 < value < 257:
            status = _set_object(st.hp, kb, _SMALL_INT_LIST[value + 5])
        elif _INT64_MIN <= value <= _INT64_MAX:
            status = _set_int64(st.h, kb, value)
        elif 0 <= value <= _UINT64_MAX:
            status = _set_uint64(st.h, kb, value)
        else:
            return _store_python_object(st, name, kb, value)
    elif kind is str:
        if "\0" in value:
            return _store_python_object(st, name, kb, value)
        try:
            data = value.encode()
        except UnicodeEncodeError:
            return _store_python_object(st, name, kb, value)
        status = _set_string(st.hp, kb, data)
    elif kind is float:
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
        # Anything else is held (containers, subclasses of the types above, pointers).
        vp = _to_value(value)
        if vp is None:
            return _store_python_object(st, name, kb, value)
        new = [vp, value, kb, _BORROWED if vp in _IMMORTAL else _OWNED]
        status = _set(st.h, kb, vp)
        if status:
            error = _error_for(status)
            _release_entry(new)
            raise error
        return _written(st, name, kb, value, new)
    if status:
        raise _error_for(status)
    _written(st, name, kb, value, None)


def _written(st, name, kb, value, new):
    """Account for the write of value under kb, just made: new is its held entry (None: a plain
    scalar, not held). No allocation of a tracked object between the C call and here."""
    t = st.t
    known = t.known + 1
    if t.c.value == known:
        t.known = known
        if name not in _BASE_NAMES:
            st.cache[name] = value
        if new is not None:
            _swap(st.held, name, new)
        elif name in st.held:
            _unhold(st.held, name)
    else:
        _written_with_others(st, name, kb, value, new)


def _moved_on(st):
    """After a change of ours (a write or a delete) that was not the only one since st.t.known:
    if it was the only one since the thread's current epoch began (st's cache was simply filled
    under an earlier epoch), move st to the current epoch with an empty cache, account for the
    change there and return True."""
    e = st.p.epoch
    now = e.c.value
    if e is st.t or now != e.known + 1:
        return False
    e.known = now
    stale = st.cache
    st.cache = {}
    st.t = e
    del stale  # may run finalizers: hence the check below
    return e.c.value == now


def _written_with_others(st, name, kb, value, new):
    """The counter moved by more than our write. Either st's cache dates from an earlier epoch
    (_moved_on), or something else changed a dictionary of the thread: the write created this
    local's dictionary, a destroy function run by the overwrite wrote, or C code changed something
    earlier. Then start a new epoch, and cache value only if C holds what we wrote."""
    if _moved_on(st):
        if name not in _BASE_NAMES:
            st.cache[name] = value
        if new is not None:
            _swap(st.held, name, new)
        elif name in st.held:
            _unhold(st.held, name)
        return
    _sync(st)
    t = st.t
    known = t.known
    if new is not None:
        # Sound: our reference keeps new's address from being reused.
        same = _peek(st.hp, kb) == new[0]
        _swap(st.held, name, new)
    else:
        if name in st.held:
            _unhold(st.held, name)
        same = _c_holds_equal(st, kb, value)
    if same and t.c.value == known and st.t is t and name not in _BASE_NAMES:
        st.cache[name] = value


def _c_holds_equal(st, kb, value):
    """Whether C holds under kb a value that reads back equal to the plain scalar value, of its
    type (floats: bit for bit, so NaN and -0.0 too)."""
    vp = _convert.local_get(st.h, kb)
    if vp is None:
        return False
    try:
        obj = _from_value(vp)
    finally:
        _unref(vp)
    if type(obj) is not type(value):
        return False
    return obj.hex() == value.hex() if type(value) is float else obj == value


def _store_python_object(st, name, kb, value):
    """Store an object without a GVariant form: C holds a marker under kb, we hold the object."""
    entry = st.held.get(name)
    if entry is not None and entry[3] == _MARKER:
        # If C still holds our marker for this key, only the Python side changes.
        t = st.t
        if t.c.value != t.known:
            _sync(st)  # join the thread's current epoch, so the next time the cache can answer
            entry = st.held.get(name)
            t = st.t
        # No allocation from here to the store: nothing can replace the entry meanwhile.
        if entry is not None and entry[3] == _MARKER and (
                (t.c.value == t.known and st.cache.get(name, _ABSENT) is entry[1])
                or _peek(st.hp, kb) == entry[0]):
            if name not in _BASE_NAMES:
                st.cache[name] = value  # C holds what the cache says, or the cache is stale
            entry[1] = value  # last: this may drop the old object's last reference
            return
    new = [_new_marker(), value, kb, _MARKER]
    status = _set(st.h, kb, new[0])
    if status:
        error = _error_for(status)
        _release_entry(new)
        raise error
    _written(st, name, kb, value, new)


def _delete(st, name):
    """Delete name from this thread's dictionary. @return False if it had no such key."""
    held = st.held
    old = held.pop(name, None)
    try:
        kb = old[2] if old is not None else _key(name)
        if kb is None:
            if old is not None and name not in _BASE_NAMES:
                st.cache[name] = _ABSENT
            return old is not None
        status = _delete_key(st.hp, kb)
        if status == _TL_ERR_NOT_FOUND:
            return False
        if status:
            raise _error_for(status)
        t = st.t
        known = t.known + 1
        if t.c.value == known:
            t.known = known
            if name not in _BASE_NAMES:
                st.cache[name] = _ABSENT
        elif _moved_on(st) and name not in _BASE_NAMES:
            st.cache[name] = _ABSENT
        return True
    finally:
        if old is not None:
            _release_entry(old)


def _items(st):
    """This thread's (key, value) pairs: C's keys in C's order, then keys C cannot hold."""
    c_keys = _convert.local_keys(st.h)
    items = []
    for name in c_keys:
        value = _read(st, name)
        if value is not _MISSING:
            items.append((name, value))
    known = set(c_keys)
    held = st.held
    for name, entry in held.copy().items():  # copy(): no Python code runs while it copies
        if entry[3] == _PYTHON_ONLY:
            items.append((name, entry[1]))
        elif name not in known and held.get(name) is entry:  # deleted by C since we looked
            _swap(held, name, None)
    return items


# ---- first use in a thread, and __init__ replay ---------------------------------------------

def _attach(self, store, args, kw):
    """Make self an object over store, already initialized in the calling thread."""
    impl = _Impl()
    impl.handle = store.handle
    impl.store = store
    impl.args = args
    impl.kw = kw
    _object_setattr(self, "_local__impl", impl)
    impl.st = store.state()
    return self


def _first_use(self, impl):
    """This thread's first use of self: join the store's state for this thread, then run the
    subclass's __init__ with the construction arguments (no lock is held meanwhile: a thread
    switch inside __init__ is harmless, and __init__'s own accesses see the new state)."""
    store = impl.store
    st = impl.st = store.state()
    init = type(self).__init__
    if init is not _object_init:
        try:
            init(self, *impl.args, **impl.kw)
        except BaseException:
            # As threading.local does, drop what this thread has, so the next use runs __init__
            # again. Only for a local we made: a foreign local's values belong to C code too.
            del impl.st
            if store.owned:
                lib.tl_local_clear(store.handle)
                st.clear()
            raise
    return st


def _view(store, st):
    view = st.view
    if view is None:
        view = st.view = _ThreadDict(store, st)
    view._sync()
    return view


class _ThreadDict(dict):
    """obj.__dict__: this thread's dictionary, as a dict.

    Every method reads or writes the local itself, so C's changes show and writes reach C; the
    dict's own storage is refreshed on each use, for code that reads a dict at the C level. Bound
    to its thread: C only lets a thread change its own dictionary, so another thread may read the
    last refreshed contents but not change them."""

    __slots__ = ("_store", "_st", "_ident", "_alive", "__weakref__")

    def __init__(self, store, st):
        super().__init__()
        self._store = weakref.ref(store)
        self._st = weakref.ref(st)
        self._ident = st.ident
        self._alive = True

    def _state(self):
        """The _ThreadState if the calling thread may use this dict, else None."""
        if not self._alive or _get_ident() != self._ident:
            return None
        store, st = self._store(), self._st()
        if store is None or st is None or getattr(store.threads, "st", None) is not st:
            return None  # the last check: a new thread that was given a dead one's ident
        return st

    def _writable(self):
        st = self._state()
        if st is None:
            raise RuntimeError("tlslocal: a local's __dict__ can only be changed in its own "
                               "thread, while the local and the thread live")
        return st

    def _sync(self):
        st = self._state()
        if st is not None:
            items = _items(st)
            dict.clear(self)
            dict.update(self, items)

    # reads
    def __getitem__(self, key):
        st = self._state()
        if st is None:
            return dict.__getitem__(self, key)
        value = _read(st, key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        st = self._state()
        if st is None:
            return dict.__contains__(self, key)
        return _read(st, key) is not _MISSING

    def __iter__(self):
        self._sync()
        return iter(list(dict.keys(self)))

    def __reversed__(self):
        self._sync()
        return iter(list(dict.keys(self))[::-1])

    def __len__(self):
        self._sync()
        return dict.__len__(self)

    def keys(self):
        self._sync()
        return dict.keys(self)

    def values(self):
        self._sync()
        return dict.values(self)

    def items(self):
        self._sync()
        return dict.items(self)

    def copy(self):
        self._sync()
        return dict.copy(self)

    def __repr__(self):
        self._sync()
        return dict.__repr__(self)

    def __eq__(self, other):
        self._sync()
        return dict.__eq__(self, other)

    def __ne__(self, other):
        self._sync()
        return dict.__ne__(self, other)

    def __or__(self, other):
        return self.copy() | other

    def __ror__(self, other):
        return other | self.copy()

    __hash__ = None

    def __reduce__(self):
        return (dict, (self.copy(),))

    # writes
    def __setitem__(self, key, value):
        _store(self._writable(), key, value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        if not _delete(self._writable(), key):
            raise KeyError(key)
        dict.pop(self, key, None)

    def setdefault(self, key, default=None):
        st = self._writable()
        value = _read(st, key)
        if value is _MISSING:
            self[key] = value = default
        return value

    def pop(self, key, default=_MISSING):
        st = self._writable()
        value = _read(st, key)
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        del self[key]
        return value

    def popitem(self):
        self._writable()
        keys = list(self)
        if not keys:
            raise KeyError("popitem(): dictionary is empty")
        key = keys[-1]
        return key, self.pop(key)

    def clear(self):
        for key in list(self):
            self.pop(key, None)

    def update(self, other=(), /, **kw):
        self._writable()
        if hasattr(other, "keys"):
            for key in other.keys():
                self[key] = other[key]
        else:
            for key, value in other:
                self[key] = value
        for key, value in kw.items():
            self[key] = value

    def __ior__(self, other):
        self.update(other)
        return self


# ---- C-owned locals ------------------------------------------------------------------------

def _instance(cls, store, args, kw):
    if not (isinstance(cls, type) and issubclass(cls, local)):
        raise TypeError(f"cls must be tlslocal.local or a subclass of it, not {cls!r}")
    init = cls.__init__
    if (args or kw) and init is _object_init:
        raise TypeError("Initialization arguments are not supported")
    self = _attach(object.__new__(cls), store, args, kw)
    if init is not _object_init:
        init(self, *args, **kw)
    return self


def open(name, cls=local, /, *args, **kw):  # noqa: A001 - the C name: tl_local_open
    """The process-wide local registered as name (tl_local_open(name)): what C code and every other
    Python caller that opens name see. Its Python side is kept until unregister(name), as C's
    registry keeps the local. Returns a cls instance (a subclass's __init__ runs with args, now and
    in each thread's first use)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    store = _store_for(lib.tl_local_open(name.encode("utf-8")))
    with _STORES_LOCK:
        _NAMED[name] = store
    return _instance(cls, store, args, kw)


def unregister(name):
    """tl_local_unregister(name): forget the name (objects already opened stay valid). Raises
    Error (code TL_ERR_NOT_FOUND) if no local is registered under name."""
    with _STORES_LOCK:
        store = _NAMED.pop(name, None)
    del store  # outside the lock: it may be the last Python reference
    lib.tl_local_unregister(name.encode("utf-8"))


def wrap(handle, cls=local, /, *args, **kw):
    """An object over a TlLocal * that C code handed over (an int address or a ctypes pointer). It
    takes its own reference (tl_local_ref), so C may drop its own at any time. Objects over the
    same C local share their values, Python objects included, for as long as one of them lives."""
    if hasattr(handle, "value"):  # ctypes.c_void_p and the like
        handle = handle.value
    if not isinstance(handle, int) or not handle:
        raise TypeError("handle must be a non-NULL TlLocal * (an int address or a c_void_p)")
    return _instance(cls, _store_for(lib.tl_local_ref(handle)), args, kw)


def address(obj):
    """The TlLocal * (an int) under obj, for C code: tl_local_get((TlLocal *) address, ...). Valid
    while obj (or another Python object over the same local) lives; C code that keeps it longer
    takes its own reference with tl_local_ref()."""
    if not isinstance(obj, local):
        raise TypeError(f"expected a tlslocal.local, not {type(obj).__name__}")
    return _impl_of(obj).handle


def version():
    """The loaded C library's version string, e.g. "1.0.0"."""
    return lib.tl_version().decode("ascii")


def stats():
    """libtlslocal's process-wide live counts: locals, dicts, threads, values."""
    return {"locals": lib.tl_stats_live_locals(), "dicts": lib.tl_stats_live_dicts(),
            "threads": lib.tl_stats_live_threads(), "values": lib.tl_stats_live_values()}
