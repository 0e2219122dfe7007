# SPDX-License-Identifier: LGPL-2.1-or-later
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

ACCELERATED tells whether the compiled accelerator (tlslocal._speedups) serves attribute access;
TLSLOCAL_PURE_PYTHON=1 in the environment keeps the portable ctypes path.
"""

from ._ffi import Error, LIBRARY_ORIGIN, LIBRARY_PATH, lib
from ._local import ACCELERATED, address, local, open, unregister, wrap

__all__ = ["local", "open", "wrap", "address", "unregister", "Error", "version", "stats",
           "LIBRARY_PATH", "LIBRARY_ORIGIN", "ACCELERATED"]
__version__ = "1.1.0"


def version():
    """The loaded C library's version string, e.g. "1.0.0"."""
    return lib.tl_version().decode("ascii")


def stats():
    """libtlslocal's process-wide live counts: locals, dicts, threads, values."""
    return {"locals": lib.tl_stats_live_locals(), "dicts": lib.tl_stats_live_dicts(),
            "threads": lib.tl_stats_live_threads(), "values": lib.tl_stats_live_values()}
