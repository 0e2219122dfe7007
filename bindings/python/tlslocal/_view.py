# SPDX-License-Identifier: LGPL-2.1-or-later
"""obj.__dict__ of a local: this thread's dictionary, as a dict."""

import threading
import weakref

from . import _dict
from ._dict import MISSING

__all__ = ["view"]

_get_ident = threading.get_ident


def view(store, st):
    """obj.__dict__: the view of st (the calling thread's state of store), refreshed."""
    thread_dict = st.view
    if thread_dict is None:
        thread_dict = st.view = _ThreadDict(store, st)
    thread_dict._sync()
    return thread_dict


class _ThreadDict(dict):
    """obj.__dict__: this thread's dictionary, as a dict.

    Every method reads or writes the local itself, so C's changes show and writes reach C; the
    dict's own storage is refreshed on each use, for code that reads a dict at the C level. Bound
    to its thread: C only lets a thread change its own dictionary, so another thread may read the
    last refreshed contents but not change them."""

    __slots__ = ("_store", "_st", "_ident", "__weakref__")

    def __init__(self, store, st):
        super().__init__()
        self._store = weakref.ref(store)
        self._st = weakref.ref(st)
        self._ident = st.ident

    def _state(self):
        """The ThreadState if the calling thread may use this dict, else None."""
        if _get_ident() != self._ident:
            return None
        store, st = self._store(), self._st()
        if store is None or st is None or st.view is not self:  # a state lets go as it goes
            return None
        if getattr(store.threads, "st", None) is not st:
            return None  # a new thread that was given a dead one's ident
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
            items = _dict.items(st)
            dict.clear(self)
            dict.update(self, items)

    # reads
    def __getitem__(self, key):
        st = self._state()
        if st is None:
            return dict.__getitem__(self, key)
        value = _dict.read(st, key)
        if value is MISSING:
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
        return _dict.read(st, key) is not MISSING

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
        _dict.store(self._writable(), key, value)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        if not _dict.delete(self._writable(), key):
            raise KeyError(key)
        dict.pop(self, key, None)

    def setdefault(self, key, default=None):
        st = self._writable()
        value = _dict.read(st, key)
        if value is MISSING:
            self[key] = value = default
        return value

    def pop(self, key, default=MISSING):
        st = self._writable()
        value = _dict.read(st, key)
        if value is MISSING:
            if default is MISSING:
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


