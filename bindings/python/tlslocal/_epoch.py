# SPDX-License-Identifier: LGPL-2.1-or-later
"""The change counter: when a thread state's cache of C's dictionary holds without asking C.

Each C thread has a counter (tl_thread_change_counter) that every change to any of its dictionaries
moves by one. An epoch is a stretch of one thread's history in which the binding accounted for
every change; a cache filled under the thread's current epoch is exact while the counter stands
where the epoch expects it. The caches themselves live in _dict.ThreadState (st.cache, st.t, st.p).
"""

from _thread import _local as _thread_local  # the C one, whatever threading.local becomes

from ._ffi import lib
from ._foreign import foreign_thread

__all__ = ["Epoch", "per_thread", "sync", "moved_on"]


class Epoch:
    """A stretch of one thread's history during which every change to the thread's dictionaries was
    a write of this binding that it accounted for. c reads the thread's change counter
    (tl_thread_change_counter); known is the counter's value as of the last change accounted for.
    While c.value == known, a cache filled under this epoch is exact. Once anything else changes a
    dictionary of the thread, the counter passes known for good: it only grows, and a write of ours
    adds one to both (every successful C write moves the counter by exactly one), so the gap an
    unaccounted change opened never closes, and the epoch is over: sync starts a new one. A
    state still on an old epoch empties its cache when it joins the current one (sync on a read,
    moved_on after a change of its own): no cache filled under an ended epoch is trusted again."""

    __slots__ = ("c", "known")

    def __init__(self, c):
        self.c = c
        self.known = c.value


class _PerThread:
    """One Python thread's link to its C thread: the change counter and the current epoch; foreign
    the thread's _foreign.ForeignThread if Python did not start it, else None."""

    __slots__ = ("c", "epoch", "foreign")

    def __init__(self, foreign):
        # The counter is only valid on (and until the exit of) this thread; so is this object, held
        # by a threading.local that the interpreter clears before the thread exits, or by the
        # thread's ForeignThread, released once the thread is gone.
        self.c = lib.tl_thread_change_counter().contents
        self.epoch = Epoch(self.c)
        self.foreign = foreign


_PER_THREAD = _thread_local()


def per_thread():
    """The calling thread's _PerThread, made on its first use (a C thread's: on its first call)."""
    try:
        return _PER_THREAD.p
    except AttributeError:
        foreign = foreign_thread()
        if foreign is None:
            p = _PerThread(None)
        else:
            p = foreign.p
            if p is None:
                p = foreign.p = _PerThread(foreign)
        _PER_THREAD.p = p
        return p


def sync(st):
    """Make st.cache exact: afterwards st.t's counter equals its known (unless Python code run by a
    collection meanwhile changed something: callers check again before they fill the cache)."""
    t = st.t
    if t.c.value == t.known:
        return
    p = st.p
    t = p.epoch
    if t.c.value != t.known:
        t = p.epoch = Epoch(t.c)
    if st.t is not t:
        stale = st.cache
        st.cache = {}
        st.t = t
        del stale  # last: dropping objects may run finalizers that use this state


def moved_on(st):
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
