# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python side of each C local (TlLocal *): one Store per C local, shared by every Python object
over it, and the names tlslocal.open() keeps."""

import atexit
import os
import sys
import weakref
# The C threading.local and lock, not threading's names looked up at call time: a program may set
# threading.local = tlslocal.local, and a Store whose per-thread part were a tlslocal.local would
# make a Store again, under the _STORES_LOCK it holds.
from _thread import _local as _thread_local
from _thread import allocate_lock

from ._dict import ThreadState
from ._epoch import per_thread
from ._ffi import lib

__all__ = ["Store", "store_for", "open_named", "forget_named"]


class Store:
    """The Python side of one C local (TlLocal *): one C reference, and per thread a ThreadState
    held by a threading.local, so a thread's Python objects go when the thread ends (a C thread's,
    which has a new Python thread state at each call, kept in foreign from call to call). Shared by
    every Python object over that C local (see store_for). Its C reference is dropped by a
    weakref callback, not __del__: callbacks run once every weak reference is cleared, so
    store_for() cannot hand out a store whose reference is being dropped (as __del__ would
    briefly resurrect it)."""

    __slots__ = ("handle", "owned", "threads", "foreign", "__weakref__")

    def __init__(self, handle, owned):
        self.handle = handle
        self.owned = owned  # made by tlslocal.local(): nobody else holds it
        self.threads = _thread_local()
        self.foreign = {}  # C threads' ThreadStates, kept from call to call (_foreign), by thread id

    def state(self):
        threads = self.threads
        try:
            return threads.st
        except AttributeError:
            foreign = per_thread().foreign
            if foreign is None:
                st = threads.st = ThreadState(self.handle)
                return st
            # A C thread's: the state its last call left (_foreign), or a new one kept for the next.
            st = self.foreign.get(foreign.tid)
            if st is None:
                st = self.foreign[foreign.tid] = ThreadState(self.handle)
                foreign.stores.add(self)
            threads.st = st
            return st


def _drop_local(handle, _is_finalizing=sys.is_finalizing, _unref=lib.tl_local_unref):
    if not _is_finalizing():  # at interpreter exit, leave ctypes and the C local alone
        _unref(handle)


_STORES = weakref.WeakValueDictionary()  # C address -> Store
_NAMED = {}  # name -> Store of tlslocal.open(name): kept, as C's registry keeps the local
_STORES_LOCK = allocate_lock()


def _after_fork_in_child():
    global _STORES_LOCK
    _STORES_LOCK = allocate_lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def store_for(handle, owned=False):
    """The Store for handle, a new C reference that this call takes over."""
    with _STORES_LOCK:
        store = _STORES.get(handle)
        if store is not None:
            lib.tl_local_unref(handle)  # the store holds its own
            return store
        store = _STORES[handle] = Store(handle, owned)
        weakref.finalize(store, _drop_local, handle).atexit = False
        return store


def open_named(name):
    """The Store of tl_local_open(name), kept until forget_named(name) or interpreter exit."""
    store = store_for(lib.tl_local_open(name.encode("utf-8")))
    with _STORES_LOCK:
        if _keeping_names:
            _NAMED[name] = store
    return store


_keeping_names = True


def _let_names_go():
    """At interpreter exit (atexit): keep the named locals' Stores no longer, so that each goes,
    with its main thread's values, when the last Python object over it does, as any local does.
    Kept here, they would outlive every module and be finalized only once builtins are gone."""
    global _keeping_names
    with _STORES_LOCK:
        _keeping_names = False
        stores = list(_NAMED.values())
        _NAMED.clear()
    del stores  # outside the lock: it may hold the last Python references


atexit.register(_let_names_go)


def forget_named(name):
    """tl_local_unregister(name), after letting go of the Store open_named() kept."""
    with _STORES_LOCK:
        store = _NAMED.pop(name, None)
    del store  # outside the lock: it may be the last Python reference
    lib.tl_local_unregister(name.encode("utf-8"))
