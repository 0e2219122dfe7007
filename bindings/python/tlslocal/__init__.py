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

import os as _os
import sys
import threading
import weakref

from . import _convert
from ._ffi import Error, LIBRARY_PATH, lib

__all__ = ["local", "open", "wrap", "address", "unregister", "Error", "version", "stats",
           "LIBRARY_PATH"]
__version__ = "1.0.0"

_TL_ERR_NOT_FOUND = -3

# The hot path's C functions and helpers, bound once.
_peek = lib.tl_local_peek
_set = lib.tl_local_set
_unref = lib.tl_value_unref
_IMMORTAL = _convert.IMMORTAL
_CONVERTERS = _convert._CONVERTERS
_to_value = _convert.to_value
_new_marker = _convert.new_marker
_object_getattribute = object.__getattribute__
_object_setattr = object.__setattr__
_object_delattr = object.__delattr__
_object_init = object.__init__
_get_ident = threading.get_ident
_is_finalizing = sys.is_finalizing
_MISSING = object()

# Entry kinds (see _ThreadState). An entry holds a reference to its vp iff kind <= _MARKER.
_OWNED, _MARKER, _BORROWED, _PYTHON_ONLY = 0, 1, 2, 3


def _release_entry(entry):
    if entry[3] <= _MARKER:
        _unref(entry[0])


_KEYS = {}  # attribute name -> its C key (bytes), for names seen before
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
    if b"\0" in data:
        return None
    if len(_KEYS) < _KEYS_MAX:
        _KEYS[name] = data
    return data


class _ThreadState:
    """One thread's Python side of one C local.

    e maps each key this thread used to an entry (vp, obj, kb, kind): vp the TlValue C held for the
    key when we last looked (None for a key C cannot hold), obj the Python object it stands for, kb
    the key as bytes, kind one of _OWNED, _MARKER (a reference of ours), _BORROWED (an immortal
    value: no reference), _PYTHON_ONLY (no C value). C's dictionary is the truth: obj is returned
    only while tl_local_peek still answers vp for that key (our reference keeps vp's address from
    being reused by another value). Objects without a GVariant form live only here; C holds a
    marker pointer value for them."""

    __slots__ = ("e", "view", "ident")

    def __init__(self):
        self.e = {}
        self.view = None
        self.ident = _get_ident()

    def clear(self):
        entries = self.e
        while entries:
            _release_entry(entries.popitem()[1])

    def __del__(self, _is_finalizing=_is_finalizing):
        # At interpreter exit the process is ending: leave the references (and ctypes) alone.
        if not _is_finalizing():
            self.clear()
            if self.view is not None:
                self.view._alive = False


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
            st = threads.st = _ThreadState()
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
    """What a local object holds: shared slots, and per thread (threading.local attributes) t, the
    pair (entries, handle) that the hot path needs in one load, and st, the store's _ThreadState
    for this thread; both set on the object's first use in the thread."""

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
            entries, handle = impl.t
        except AttributeError:
            entries, handle = _first_use(self, impl)
        cls = type(self)
        if cls is not local:
            # _subclass_lookup(), inlined
            info = cls._local__info
            if info[0] is not cls or info[1] is not cls.__mro__:
                info = _class_info(cls)
            for namespace in info[2]:
                if name in namespace:
                    return _class_get(self, impl, name, namespace[name])
        if name in _BASE_NAMES:
            return _class_get(self, impl, name, _BASE_NAMES[name])
        entry = entries.get(name)
        # entry[2] is None for a key C cannot hold: peek(NULL) answers None, which is entry[0].
        if entry is not None and _peek(handle, entry[2]) == entry[0]:
            return entry[1]
        value = _read(handle, entries, name)
        if value is _MISSING:
            raise _no_attribute(self, name)
        return value

    def __setattr__(self, name, value):
        impl = _impl_of(self)
        try:
            entries, handle = impl.t
        except AttributeError:
            entries, handle = _first_use(self, impl)
        if type(self) is not local:
            attr = _subclass_lookup(type(self), name)
            if attr is not _MISSING:
                return _class_set(self, impl, name, value, attr)
        if name in _BASE_NAMES:
            return _class_set(self, impl, name, value, _BASE_NAMES[name])
        # _store(), inlined.
        old = entries.get(name)
        kb = old[2] if old is not None else _key(name)
        if kb is None:
            return _store(handle, entries, name, value)
        convert = _CONVERTERS.get(type(value))
        vp = convert(value) if convert is not None else _to_value(value)
        if vp is None:
            return _store_python_object(handle, entries, name, value, kb, old)
        new = (vp, value, kb, _BORROWED if vp in _IMMORTAL else _OWNED)
        try:
            _set(handle, kb, vp)
        except BaseException:
            _release_entry(new)
            raise
        # _swap(), inlined: no allocation between the lookup and the store.
        old = entries.get(name)
        entries[name] = new
        if old is not None and old[3] <= _MARKER:
            _unref(old[0])

    def __delattr__(self, name):
        impl = _impl_of(self)
        try:
            entries, handle = impl.t
        except AttributeError:
            entries, handle = _first_use(self, impl)
        if type(self) is not local:
            attr = _subclass_lookup(type(self), name)
            if attr is not _MISSING:
                return _class_del(self, impl, name, attr)
        if name in _BASE_NAMES:
            return _class_del(self, impl, name, _BASE_NAMES[name])
        if not _delete(handle, entries, name):
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


def _class_get(self, impl, name, attr):
    """Attribute lookup for a name the class defines, in object.__getattribute__'s order: data
    descriptors, then this thread's dictionary, then other class attributes."""
    if name == "__dict__":
        return _view(impl)
    if not _is_data_descriptor(attr):
        entries, handle = impl.t
        value = _read(handle, entries, name)
        if value is not _MISSING:
            return value
    return _object_getattribute(self, name)


def _read_only(self, name):
    return AttributeError(f"{type(self).__name__!r} object attribute {name!r} is read-only")


def _class_set(self, impl, name, value, attr):
    if name == "__dict__":
        raise _read_only(self, name)
    if _is_data_descriptor(attr):
        return _object_setattr(self, name, value)
    entries, handle = impl.t
    _store(handle, entries, name, value)


def _class_del(self, impl, name, attr):
    if name == "__dict__":
        raise _read_only(self, name)
    if _is_data_descriptor(attr):
        return _object_delattr(self, name)
    entries, handle = impl.t
    if not _delete(handle, entries, name):
        _object_delattr(self, name)  # raises AttributeError, as for any class attribute


def _no_attribute(self, name):
    error = AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    error.name, error.obj = name, self  # as Python 3.10+ sets them, for "Did you mean" hints
    return error


# ---- this thread's dictionary --------------------------------------------------------------

# Each entry's reference is released exactly once, by whoever takes that entry out of entries.
# Finalizers (run by any allocation, through the garbage collector) may use the same local and key
# between our steps, so an entry is replaced by _swap(): the lookup and the store with no
# allocation, hence no Python code, in between.

def _swap(entries, name, new):
    """entries[name] = new (or removed, for None); release the entry it replaced."""
    old = entries.get(name)
    if new is None:
        if old is None:
            return
        del entries[name]
    else:
        entries[name] = new
    if old is not None and old[3] <= _MARKER:
        _unref(old[0])


def _read(handle, entries, name):
    """This thread's value for name, or _MISSING. Refreshes entries from C."""
    entry = entries.get(name)
    if entry is not None:
        kb = entry[2]
        if kb is None:
            return entry[1]
        vp = _peek(handle, kb)
        if vp == entry[0]:
            return entry[1]
    else:
        kb = _key(name)
        if kb is None:
            return _MISSING
        vp = _peek(handle, kb)
    # C holds a value we have not seen (C code stored it, or we lost the Python side of ours), or
    # none. The peeked pointer is borrowed: take a reference through tl_local_get instead.
    if vp is not None:
        vp = _convert.local_get(handle, kb)
    if vp is None:
        _swap(entries, name, None)
        return _MISSING
    try:
        obj = _convert.from_value(vp)
    except BaseException:
        _unref(vp)
        raise
    if obj is _convert.MARKER:
        # A marker whose Python object is not held here: stored through a Python side that is gone
        # (its thread state, or every Python object over a foreign local), or copied from another
        # thread by tl_local_apply(). Its object cannot be reached: the key reads as absent.
        _unref(vp)
        _swap(entries, name, None)
        return _MISSING
    _swap(entries, name, (vp, obj, kb, _OWNED))
    return obj


def _store(handle, entries, name, value):
    old = entries.get(name)
    kb = old[2] if old is not None else _key(name)
    if kb is None:
        _swap(entries, name, (None, value, None, _PYTHON_ONLY))
        return
    vp = _to_value(value)
    if vp is None:
        return _store_python_object(handle, entries, name, value, kb, old)
    new = (vp, value, kb, _BORROWED if vp in _IMMORTAL else _OWNED)
    try:
        _set(handle, kb, vp)
    except BaseException:
        _release_entry(new)
        raise
    _swap(entries, name, new)


def _store_python_object(handle, entries, name, value, kb, old):
    """Store an object without a GVariant form: C holds a marker under kb, we hold the object."""
    if old is not None and old[3] == _MARKER:
        # If C still holds our marker for this key, only the Python side changes: the new entry
        # takes over the old one's reference, provided nothing replaced that entry meanwhile.
        new = (old[0], value, kb, _MARKER)
        if _peek(handle, kb) == old[0] and entries.get(name) is old:
            entries[name] = new
            return
    new = (_new_marker(), value, kb, _MARKER)
    try:
        _set(handle, kb, new[0])
    except BaseException:
        _release_entry(new)
        raise
    _swap(entries, name, new)


def _delete(handle, entries, name):
    """Delete name from this thread's dictionary. @return False if it had no such key."""
    old = entries.pop(name, None)
    try:
        kb = old[2] if old is not None else _key(name)
        if kb is None:
            return old is not None
        try:
            lib.tl_local_delete(handle, kb)
        except Error as error:
            if error.code == _TL_ERR_NOT_FOUND:
                return False
            raise
        return True
    finally:
        if old is not None:
            _release_entry(old)


def _items(handle, entries):
    """This thread's (key, value) pairs: C's keys in C's order, then keys C cannot hold."""
    c_keys = _convert.local_keys(handle)
    items = []
    for name in c_keys:
        value = _read(handle, entries, name)
        if value is not _MISSING:
            items.append((name, value))
    known = set(c_keys)
    for name, entry in entries.copy().items():  # copy(): no Python code runs while it copies
        if entry[3] == _PYTHON_ONLY:
            items.append((name, entry[1]))
        elif name not in known and entries.get(name) is entry:  # deleted by C since we looked
            _swap(entries, name, None)
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
    st = store.state()
    impl.st = st
    impl.t = (st.e, store.handle)
    return self


def _first_use(self, impl):
    """This thread's first use of self: join the store's state for this thread, then run the
    subclass's __init__ with the construction arguments (no lock is held meanwhile: a thread
    switch inside __init__ is harmless, and __init__'s own accesses see the new state)."""
    store = impl.store
    st = store.state()
    impl.st = st
    impl.t = pair = (st.e, store.handle)
    init = type(self).__init__
    if init is not _object_init:
        try:
            init(self, *impl.args, **impl.kw)
        except BaseException:
            # As threading.local does, drop what this thread has, so the next use runs __init__
            # again. Only for a local we made: a foreign local's values belong to C code too.
            del impl.t
            del impl.st
            if store.owned:
                lib.tl_local_clear(store.handle)
                st.clear()
            raise
    return pair


def _view(impl):
    st = impl.st
    view = st.view
    if view is None:
        view = st.view = _ThreadDict(impl.store, st)
    view._sync()
    return view


class _ThreadDict(dict):
    """obj.__dict__: this thread's dictionary, as a dict.

    Every method reads or writes the local itself, so C's changes show and writes reach C; the
    dict's own storage is refreshed on each use, for code that reads a dict at the C level. Bound
    to its thread: C only lets a thread change its own dictionary, so another thread may read the
    last refreshed contents but not change them."""

    __slots__ = ("_store", "_entries", "_ident", "_alive", "__weakref__")

    def __init__(self, store, st):
        super().__init__()
        self._store = weakref.ref(store)
        self._entries = st.e
        self._ident = st.ident
        self._alive = True

    def _handle(self):
        """The C handle if the calling thread may use this dict, else None."""
        if not self._alive or _get_ident() != self._ident:
            return None
        store = self._store()
        return None if store is None else store.handle

    def _writable(self):
        handle = self._handle()
        if handle is None:
            raise RuntimeError("tlslocal: a local's __dict__ can only be changed in its own "
                               "thread, while the local and the thread live")
        return handle

    def _sync(self):
        handle = self._handle()
        if handle is not None:
            items = _items(handle, self._entries)
            dict.clear(self)
            dict.update(self, items)

    # reads
    def __getitem__(self, key):
        handle = self._handle()
        if handle is None:
            return dict.__getitem__(self, key)
        value = _read(handle, self._entries, key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        handle = self._handle()
        if handle is None:
            return dict.__contains__(self, key)
        return _read(handle, self._entries, key) is not _MISSING

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
        _store(self._writable(), self._entries, key, value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        if not _delete(self._writable(), self._entries, key):
            raise KeyError(key)
        dict.pop(self, key, None)

    def setdefault(self, key, default=None):
        handle = self._writable()
        value = _read(handle, self._entries, key)
        if value is _MISSING:
            self[key] = value = default
        return value

    def pop(self, key, default=_MISSING):
        handle = self._writable()
        value = _read(handle, self._entries, key)
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
