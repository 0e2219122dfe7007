# SPDX-License-Identifier: LGPL-2.1-or-later
"""This thread's dictionary of one C local, from Python: reads, writes and deletes through the C
library, with the per-thread state (ThreadState) that caches what C holds and holds the Python
objects that must survive C's changes.

Finalizers (run by any allocation of a tracked object, through the garbage collector, or by
dropping an object's last reference) may use the same local and key between our steps. So:
 - each held entry's reference is released exactly once, by whoever takes the entry out of held,
   with _swap: the lookup and the store with no allocation, hence no Python code, in between;
 - a write accounts for itself (written(), or local.__setattr__'s own accounting) right after its
   C call, with no allocation in between, and fills the cache only if the counter says nothing
   else happened, or will say that something did;
 - objects are dropped last, once the state is consistent.
"""

import sys
import threading

from . import _convert
from ._convert import (IMMORTAL, MARKER, c_string, converter, from_value, known_converter,
                       new_marker, no_form)
from ._epoch import moved_on, per_thread, sync
from ._ffi import error_for, fast, lib, pointer_arg
from ._lookup import BASE_NAMES

__all__ = ["ThreadState", "MISSING", "ABSENT", "KEYS", "key", "read", "items", "store", "store_at",
           "store_without_form", "written", "unhold", "delete"]

MISSING = object()  # what read() answers for a key the thread does not have
ABSENT = object()  # in a cache: C's dictionary has no such key

_TL_ERR_NOT_FOUND = -3
# The types whose values Python wrote are cached only, not held (see ThreadState): exact types, as
# instances of subclasses are held.
_CACHED_ONLY = frozenset([str, int, float, bool, bytes, type(None)])

# Bound once (see _ffi.FAST_PROTOTYPES for what each takes): each returns a status that the caller
# checks.
_peek = fast.peek
_set = fast.set
_set_take = fast.set_take
_delete_key = fast.delete
_unref = lib.tl_value_unref
_get_ident = threading.get_ident


# ---- keys --------------------------------------------------------------------------------------

# attribute name -> its C key (bytes), for names seen before that the hot path may store: never a
# name of BASE_NAMES, which go through the class.
KEYS = {}
_KEYS_MAX = 4096


def key(name):
    """The C key for a dictionary key, or None when C cannot hold it (_convert.c_string): such keys
    live on the Python side only."""
    if type(name) is str:
        data = KEYS.get(name)
        if data is not None:
            return data
    data = c_string(name)
    if data is not None and len(KEYS) < _KEYS_MAX and name not in BASE_NAMES:
        KEYS[name] = data
    return data


# ---- per thread --------------------------------------------------------------------------------

# What a Held entry stands for. It holds a reference to its vp iff kind <= _MARKER.
_OWNED, _MARKER, _BORROWED, _PYTHON_ONLY = 0, 1, 2, 3


class _Held:
    """What a ThreadState holds for one key beyond its cache: vp the TlValue C held for the key when
    we looked, with a reference of ours (kind _OWNED or _MARKER; _BORROWED: an immortal value, no
    reference; _PYTHON_ONLY: vp None, a key C cannot hold), obj the Python object it stands for,
    kb the key as bytes (None for _PYTHON_ONLY)."""

    __slots__ = ("vp", "obj", "kb", "kind")

    def __init__(self, vp, obj, kb, kind):
        self.vp = vp
        self.obj = obj
        self.kb = kb
        self.kind = kind

    def release(self):
        if self.kind <= _MARKER:
            _unref(self.vp)


class ThreadState:
    """One thread's Python side of one C local.

    cache maps keys to what C's dictionary holds under them (the Python object, or ABSENT), exact
    while the thread's change counter equals t.known (t: an _epoch.Epoch, p: the thread's link to
    its counter): a read that finds its key there makes no C call. It holds only what C was seen to
    hold, or what a write accounted for by the counter put there; dropping any of it is always safe
    (see _epoch.sync).

    held maps keys to _Held entries that survive the cache. While tl_local_peek still answers an
    entry's vp, its obj is the value: our reference keeps vp's address from being reused by another
    value. Held: objects without a GVariant form (C holds a marker pointer value for them),
    containers and instances of subclasses (their identity matters: obj.items.append(1)), and
    everything read from C. Plain ints, floats, strings, bytes, bools and None that Python wrote
    are cached only: after C changes anything in the thread, they are read again from C, equal but
    perhaps not the same object.

    h is the TlLocal * (hp: as a pointer argument for the untyped fast calls); view the __dict__
    view, once made; ident the thread's."""

    __slots__ = ("t", "cache", "held", "p", "h", "hp", "view", "ident", "__weakref__")

    def __init__(self, handle):
        p = per_thread()
        self.p = p
        self.t = p.epoch
        self.cache = {}
        self.held = {}
        self.h = handle
        self.hp = pointer_arg(handle)
        self.view = None
        self.ident = _get_ident()

    def clear(self):
        self.cache = {}
        held = self.held
        while held:
            held.popitem()[1].release()

    def __del__(self, _is_finalizing=sys.is_finalizing):
        # At interpreter exit the process is ending: leave the references (and ctypes) alone.
        if not _is_finalizing():
            self.clear()
            self.view = None  # the view shows its last contents from now on (_view)


def _swap(held, name, new):
    """held[name] = new (or removed, for None); release the entry it replaced."""
    old = held.get(name)
    if new is None:
        if old is None:
            return
        del held[name]
    else:
        held[name] = new
    if old is not None:
        old.release()


def unhold(held, name):
    """Take name's entry out of held, and release it."""
    old = held.pop(name, None)
    if old is not None:
        old.release()


# ---- reads -------------------------------------------------------------------------------------

def read(st, name):
    """This thread's value for name, or MISSING. Refreshes the cache and held from C."""
    sync(st)
    t = st.t
    known = t.known
    cache = st.cache
    value = cache.get(name, MISSING)
    if value is not MISSING:
        return MISSING if value is ABSENT else value
    held = st.held
    entry = held.get(name)
    if entry is not None:
        kb = entry.kb
        if kb is None:
            value = entry.obj
        else:
            vp = _peek(st.hp, kb)
            value = entry.obj if vp == entry.vp else _fetch(st, name, kb, vp)
    else:
        kb = key(name)
        value = MISSING if kb is None else _fetch(st, name, kb, _peek(st.hp, kb))
    # Cache it only if nothing changed meanwhile (a collection may run Python code at allocations).
    if t.c.value == known and st.t is t and st.cache is cache and name not in BASE_NAMES:
        cache[name] = ABSENT if value is MISSING else value
    return value


def _fetch(st, name, kb, vp):
    """C holds vp (borrowed; None: nothing) under kb, not what held says: convert it, hold it."""
    # The peeked pointer is borrowed: take a reference through tl_local_get instead.
    if vp is not None:
        vp = _convert.local_get(st.h, kb)
    if vp is None:
        _swap(st.held, name, None)
        return MISSING
    try:
        obj = from_value(vp)
    except BaseException:
        _unref(vp)
        raise
    if obj is MARKER:
        # A marker whose Python object is not held here: stored through a Python side that is gone
        # (its thread state, or every Python object over a foreign local), or copied from another
        # thread by tl_local_apply(). Its object cannot be reached: the key reads as absent.
        _unref(vp)
        _swap(st.held, name, None)
        return MISSING
    _swap(st.held, name, _Held(vp, obj, kb, _OWNED))
    return obj


def items(st):
    """This thread's (key, value) pairs: C's keys in C's order, then keys C cannot hold."""
    c_keys = _convert.local_keys(st.h)
    pairs = []
    for name in c_keys:
        value = read(st, name)
        if value is not MISSING:
            pairs.append((name, value))
    known = set(c_keys)
    held = st.held
    for name, entry in held.copy().items():  # copy(): no Python code runs while it copies
        if entry.kind == _PYTHON_ONLY:
            pairs.append((name, entry.obj))
        elif name not in known and held.get(name) is entry:  # deleted by C since we looked
            _swap(held, name, None)
    return pairs


# ---- writes ------------------------------------------------------------------------------------

def store(st, name, value):
    """This thread's dictionary[name] = value, for any name: __dict__'s writes, and the names the
    attribute path leaves to it."""
    kb = key(name)
    if kb is None:
        # A key C cannot hold lives here only; the cache may show it whatever the counter says.
        if name not in BASE_NAMES:
            st.cache[name] = value
        _swap(st.held, name, _Held(None, value, None, _PYTHON_ONLY))
        return
    store_at(st, name, kb, value)


def store_at(st, name, kb, value):
    """Store value under name, whose C key is kb, as _convert maps it. The attribute path sets the
    plain types with C's typed setters itself (local.__setattr__) and leaves the rest to this."""
    kind = type(value)
    function = known_converter(kind) or converter(kind)
    if function is no_form:
        return store_without_form(st, name, kb, value)
    vp = function(value)
    if vp is None:
        return store_without_form(st, name, kb, value)
    if kind in _CACHED_ONLY:
        new = None
        status = _set(st.h, kb, vp) if vp in IMMORTAL else _set_take(st.h, kb, vp)
    else:
        new = _Held(vp, value, kb, _BORROWED if vp in IMMORTAL else _OWNED)
        status = _set(st.h, kb, vp)
    if status:
        error = error_for(status)
        if new is not None:
            new.release()
        raise error
    written(st, name, kb, value, new)


def store_without_form(st, name, kb, value):
    """Store an object without a GVariant form: C holds a marker under kb, we hold the object."""
    entry = st.held.get(name)
    if entry is not None and entry.kind == _MARKER:
        # If C still holds our marker for this key, only the Python side changes.
        t = st.t
        if t.c.value != t.known:
            sync(st)  # join the thread's current epoch, so the next time the cache can answer
            entry = st.held.get(name)
            t = st.t
        # No allocation from here to the store: nothing can replace the entry meanwhile.
        if entry is not None and entry.kind == _MARKER and (
                (t.c.value == t.known and st.cache.get(name, ABSENT) is entry.obj)
                or _peek(st.hp, kb) == entry.vp):
            if name not in BASE_NAMES:
                st.cache[name] = value  # C holds what the cache says, or the cache is stale
            entry.obj = value  # last: this may drop the old object's last reference
            return
    new = _Held(new_marker(), value, kb, _MARKER)
    status = _set(st.h, kb, new.vp)
    if status:
        error = error_for(status)
        new.release()
        raise error
    written(st, name, kb, value, new)


def _accounted(st):
    """After a change of ours (a write or a delete), with no allocation of a tracked object since
    its C call: whether it was the only change since st's epoch's known, or since the thread's
    current epoch began (moved_on). Either way the epoch now counts it."""
    t = st.t
    known = t.known + 1
    if t.c.value == known:
        t.known = known
        return True
    return moved_on(st)


def written(st, name, kb, value, new):
    """Account for the write of value under kb, just made: new is its held entry (None: a plain
    scalar, not held). No allocation of a tracked object between the C call and here."""
    if not _accounted(st):
        return _written_with_others(st, name, kb, value, new)
    if name not in BASE_NAMES:
        st.cache[name] = value
    if new is not None:
        _swap(st.held, name, new)
    elif name in st.held:
        unhold(st.held, name)


def _written_with_others(st, name, kb, value, new):
    """The counter moved by more than our write: something else changed a dictionary of the thread
    (the local's C initializer, run by the thread's first write; a destroy function run by the
    overwrite; C code, earlier). Start a new epoch, and cache value only if C holds what we
    wrote."""
    sync(st)
    t = st.t
    known = t.known
    if new is not None:
        # Sound: our reference keeps new's address from being reused.
        same = _peek(st.hp, kb) == new.vp
        _swap(st.held, name, new)
    else:
        if name in st.held:
            unhold(st.held, name)
        same = _c_holds_equal(st, kb, value)
    if same and t.c.value == known and st.t is t and name not in BASE_NAMES:
        st.cache[name] = value


def _c_holds_equal(st, kb, value):
    """Whether C holds under kb a value that reads back equal to the plain scalar value, of its
    type (floats: bit for bit, so NaN and -0.0 too)."""
    vp = _convert.local_get(st.h, kb)
    if vp is None:
        return False
    try:
        obj = from_value(vp)
    finally:
        _unref(vp)
    if type(obj) is not type(value):
        return False
    return obj.hex() == value.hex() if type(value) is float else obj == value


def delete(st, name):
    """Delete name from this thread's dictionary. @return False if it had no such key."""
    held = st.held
    old = held.pop(name, None)
    try:
        kb = old.kb if old is not None else key(name)
        if kb is None:
            if old is not None and name not in BASE_NAMES:
                st.cache[name] = ABSENT
            return old is not None
        status = _delete_key(st.hp, kb)
        if status == _TL_ERR_NOT_FOUND:
            return False
        if status:
            raise error_for(status)
        if _accounted(st) and name not in BASE_NAMES:
            st.cache[name] = ABSENT
        return True
    finally:
        if old is not None:
            old.release()
