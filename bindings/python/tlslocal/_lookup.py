# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python's attribute lookup, as local's attribute methods replay it: which class attribute an
instance attribute meets, and whether that attribute wins over the thread's dictionary.

object.__getattribute__ looks at the class first: a data descriptor (property, slot, __class__)
wins; then the instance dictionary, which for a local is this thread's C dictionary; then any other
class attribute. local does the same with two class steps: the names local and its bases (the C
_thread._local, object) define (BASE_NAMES, a snapshot), and what subclasses define (their live namespaces, searched on each
access so that attributes added to a class later are seen).
"""

import atexit

__all__ = ["BASE_NAMES", "NOT_DEFINED", "set_base", "class_info", "subclass_attr",
           "is_data_descriptor", "no_attribute", "read_only"]

# What local and its bases define, filled by set_base(local). A snapshot: local's namespace is ours
# and the C classes' cannot change. "__dict__" is there for local and slotted subclasses, whose
# namespaces lack it. The thread caches never hold these names (_dict): their lookups go through
# the class first.
BASE_NAMES = {}
NOT_DEFINED = object()
_bases = (object,)


def set_base(cls):
    """Make cls (tlslocal.local, as soon as it exists) and its bases the classes of BASE_NAMES."""
    global _bases
    _bases = cls.__mro__
    for klass in reversed(_bases):
        BASE_NAMES.update(klass.__dict__)
    BASE_NAMES["__dict__"] = None


class _ClassInfo:
    """What the subclass step needs of a class, cached on it as _local__info: the class and its mro
    as of caching (a subclass inherits the attribute; assigning __bases__ makes a new mro), and the
    namespaces of that mro but local's and its bases', live mappingproxies, so that attributes added
    to a class later are seen."""

    __slots__ = ("cls", "mro", "namespaces")

    def __init__(self, cls):
        self.cls = cls
        self.mro = cls.__mro__
        self.namespaces = tuple(klass.__dict__ for klass in self.mro if klass not in _bases)


def class_info(cls):
    """Cache cls's _ClassInfo on cls, and return it."""
    info = _ClassInfo(cls)
    type.__setattr__(cls, "_local__info", info)
    return info


def subclass_attr(cls, name):
    """What a subclass (not local or its bases) in cls's mro defines as name, or NOT_DEFINED."""
    info = cls._local__info
    # Another class's (a subclass whose __init_subclass__ chain skipped ours), or an old mro.
    if info.cls is not cls or info.mro is not cls.__mro__:
        info = class_info(cls)
    for namespace in info.namespaces:
        if name in namespace:
            return namespace[name]
    return NOT_DEFINED


_DATA_DESCRIPTOR_TYPES = {}  # type -> whether its instances are data descriptors
_caching = True


def is_data_descriptor(attr):
    kind = type(attr)
    known = _DATA_DESCRIPTOR_TYPES.get(kind)
    if known is None:  # hasattr() on a type that lacks the name costs an exception: once per type
        known = hasattr(kind, "__set__") or hasattr(kind, "__delete__")
        if _caching:
            _DATA_DESCRIPTOR_TYPES[kind] = known
    return known


def _forget_classes():
    """At interpreter exit (atexit), as _convert's: a user's descriptor class must not keep its
    module's globals, and the locals' values they reach, alive past their module."""
    global _caching
    _caching = False
    _DATA_DESCRIPTOR_TYPES.clear()


atexit.register(_forget_classes)


def no_attribute(obj, name):
    error = AttributeError(f"{type(obj).__name__!r} object has no attribute {name!r}")
    error.name, error.obj = name, obj  # as Python 3.10+ sets them, for "Did you mean" hints
    return error


def read_only(obj, name):
    return AttributeError(f"{type(obj).__name__!r} object attribute {name!r} is read-only")
