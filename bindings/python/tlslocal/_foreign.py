# SPDX-License-Identifier: LGPL-2.1-or-later
"""C threads that call into Python: their Python side, kept from one call to the next.

CPython gives a thread it did not start (a C library's thread calling a ctypes callback, an
embedding's PyGILState_Ensure) a new thread state for each call, and threading.local state lives in
the thread state. A local lives in the OS thread instead, as its C side does: the per-thread
objects made in one call (the _epoch link to the change counter, each Store's ThreadState, which
__init__s ran) are kept under the thread's libtlslocal id and taken up again by the next call, so
it sees the very objects the last one left. Each Store keeps its own ThreadStates of C threads
(Store.foreign), as a threading.local keeps its per-thread dictionaries, so a cycle through a local
and one of its values stays collectable; the rest is kept here.

They go when the OS thread is found gone. Each such thread marks itself in a hidden visitable local
(its C dictionary there lives as long as the thread, or until it calls tl_thread_clear()); once as
many such threads have come since the last look as were alive at it, tl_local_visit() lists the
marked threads still there, and the others' Python sides are released, from whichever thread
looks. At interpreter exit (atexit) all are released, and calls from then on keep nothing.
"""

import atexit
import os
import threading
import weakref
from _thread import allocate_lock, get_ident

from ._ffi import INIT_FUNC, NULL_DESTROY, VISIT_FUNC, lib

__all__ = ["ForeignThread", "foreign_thread"]

_VISITABLE = 1  # TL_LOCAL_VISITABLE
_MARK = b"tlslocal.python"


class ForeignThread:
    """One C thread's Python side: tid its libtlslocal id, p its _epoch._PerThread (None until
    made), stores the Stores that keep a ThreadState of it (under tid), inited the _local._Impl of
    every object whose __init__ ran on it (all weakly held)."""

    __slots__ = ("tid", "p", "stores", "inited")

    def __init__(self, tid):
        self.tid = tid
        self.p = None
        self.stores = weakref.WeakSet()
        self.inited = weakref.WeakSet()

    def release(self):
        """Take this thread's states out of their Stores and drop them. Never under _LOCK: their
        objects' finalizers run here."""
        states = [store.foreign.pop(self.tid, None) for store in list(self.stores)]
        del states


_LOCK = allocate_lock()  # for _THREADS and the counts: never held while objects are dropped
_THREADS = {}  # libtlslocal thread id -> ForeignThread
_marks = None  # the hidden local, made at the first C thread's call
_keeping = True  # until interpreter exit
_since_look = 0  # threads marked since the last look
_alive_at_look = 0


def _started_by_python():
    """Whether the calling thread is one whose thread state lasts as long as it: the main thread
    or a threading.Thread (a _DummyThread stands for a thread Python did not start)."""
    thread = threading._active.get(get_ident())
    return thread is not None and not isinstance(thread, threading._DummyThread)


def foreign_thread():
    """The calling thread's ForeignThread, or None for a thread Python started (or after exit).
    Called once per thread state: at the start of each call from C."""
    global _marks, _since_look
    if not _keeping or _started_by_python():
        return None
    with _LOCK:
        if _marks is None:
            _marks = lib.tl_local_new_full(_VISITABLE, INIT_FUNC(), None, NULL_DESTROY)
    tid = lib.tl_thread_id()
    record = _THREADS.get(tid)
    if record is not None and lib.tl_local_contains(_marks, _MARK):
        return record
    # New, or its mark is gone (tl_thread_clear(): as its exit would, it starts afresh).
    lib.tl_local_set_int64(_marks, _MARK, 1)
    fresh = ForeignThread(tid)
    with _LOCK:
        old = _THREADS.get(tid)
        _THREADS[tid] = fresh
        _since_look += 1
        look = _since_look > _alive_at_look
    if old is not None:
        old.release()  # dropped here, outside the lock: finalizers may run
    if look:
        _release_gone()
    return fresh


def _release_gone():
    """Release the Python side of every marked thread no longer alive."""
    global _since_look, _alive_at_look
    with _LOCK:
        before = set(_THREADS)  # threads marked from now on are alive, whatever the visit says
        _since_look = 0
    alive = set()

    def seen(tid, key, value, payload):
        alive.add(tid)
        return 0

    lib.tl_local_visit(_marks, _MARK, VISIT_FUNC(seen), None)
    with _LOCK:
        gone = [_THREADS.pop(tid) for tid in before - alive if tid in _THREADS]
        _alive_at_look = len(alive)
    for record in gone:  # outside the lock: the objects of those threads go here
        record.release()


def _release_all():
    """At interpreter exit: release every C thread's Python side (a thread in a call keeps its
    own until the call ends) and keep nothing from now on, so that the values go while their
    finalizers can still run."""
    global _keeping
    with _LOCK:
        _keeping = False
        gone = list(_THREADS.values())
        _THREADS.clear()
    for record in gone:
        record.release()


atexit.register(_release_all)


def _after_fork_in_child():
    global _LOCK
    _LOCK = allocate_lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
