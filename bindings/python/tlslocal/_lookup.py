"""Python's attribute lookup, as local's attribute methods replay it: which class attribute an
instance attribute meets, and whether that attribute wins over the thread's dictionary.

object.__getattribute__ looks at the class first: a data descriptor (property, slot, __class__)
wins; then the instance dictionary, which for a local is this thread's C dictionary; then any other
class attribute. local does the same with two class steps: the names local and object define
(BASE_NAMES, a snapshot), and what subclasses define (their live namespaces, searched on each
access so that attributes added to a class later are seen).
"""

__all__ = ["BASE_NAMES", "NOT_DEFINED", "set_base", "class_info", "subclass_attr",
           "is_data_descriptor", "no_attribute", "read_only"]

# What local and object define, filled by set_base(local). A snapshot: local's namespace is ours
# and object's cannot change. "__dict__" is there for local and slotted subclasses, whose
# namespaces lack it. The thread caches never hold these names (_dict): their lookups go through
# the class first.
BASE_NAMES = {}
NOT_DEFINED = object()
_bases = (object,)


def set_base(cls):
    """Make cls (tlslocal.local, as soon as it exists) with object the classes of BASE_NAMES."""
    global _bases
    _bases = (cls, object)
    BASE_NAMES.update(object.__dict__)
    BASE_NAMES.update(cls.__dict__)
    BASE_NAMES["__dict__"] = None


def class_info(cls):
    """(cls, cls.__mro__, the namespaces of cls's mro but local's and object's), cached on cls.
    The namespaces are live mappingproxies, so attributes added to a class later are seen."""
    mro = cls.__mro__
    info = (cls, mro, tuple(klass.__dict__ for klass in mro if klass not in _bases))
    type.__setattr__(cls, "_local__info", info)
    return info


def subclass_attr(cls, name):
    """What a subclass (not local or object) in cls's mro defines as name, or NOT_DEFINED."""
    info = cls._local__info
    if info[0] is not cls or info[1] is not cls.__mro__:  # a subclass of a subclass, or __bases__
        info = class_info(cls)                            # changed, or __init_subclass__ skipped
    for namespace in info[2]:
        if name in namespace:
            return namespace[name]
    return NOT_DEFINED


_DATA_DESCRIPTOR_TYPES = {}  # type -> whether its instances are data descriptors


def is_data_descriptor(attr):
    kind = type(attr)
    known = _DATA_DESCRIPTOR_TYPES.get(kind)
    if known is None:  # hasattr() on a type that lacks the name costs an exception: once per type
        known = hasattr(kind, "__set__") or hasattr(kind, "__delete__")
        _DATA_DESCRIPTOR_TYPES[kind] = known
    return known


def no_attribute(obj, name):
    error = AttributeError(f"{type(obj).__name__!r} object has no attribute {name!r}")
    error.name, error.obj = name, obj  # as Python 3.10+ sets them, for "Did you mean" hints
    return error


def read_only(obj, name):
    return AttributeError(f"{type(obj).__name__!r} object attribute {name!r} is read-only")
