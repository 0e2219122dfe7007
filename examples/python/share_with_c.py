# SPDX-License-Identifier: LGPL-2.1-or-later
"""A request id set in Python, read by C code on the same thread through the C API: here the C
library is called through ctypes, as a C logging library linked into the process would read it.

    TLSLOCAL_LIBRARY=build/libtlslocal/libtlslocal.so.1 PYTHONPATH=bindings/python \
        python3 examples/python/share_with_c.py
"""
import ctypes
import os
import threading

import tlslocal

# The C side: what a C library would do with tl_local_open("request") and tl_local_peek.
c = ctypes.CDLL(os.environ.get("TLSLOCAL_LIBRARY", "libtlslocal.so.1"))
c.tl_local_open.restype = ctypes.c_void_p
c.tl_local_open.argtypes = [ctypes.c_char_p]
c.tl_local_peek.restype = ctypes.c_void_p
c.tl_local_peek.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
c.tl_value_get_string.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p)]
c.tl_local_unref.argtypes = [ctypes.c_void_p]


def c_log(message):
    """A C logger: prefixes the calling thread's request id, if Python set one."""
    local = c.tl_local_open(b"request")
    value, request_id = c.tl_local_peek(local, b"request_id"), ctypes.c_char_p(b"-")
    if value:
        c.tl_value_get_string(value, ctypes.byref(request_id))
    c.tl_local_unref(local)
    line = f"[{request_id.value.decode()}] {message}"
    print(line)
    return line


ctx = tlslocal.open("request")         # the same local C opens by name
lines = {}


def handle(request_id):
    ctx.request_id = request_id        # Python writes this thread's dict...
    lines[request_id] = c_log("handled")  # ...and C, on the same thread, reads it


threads = [threading.Thread(target=handle, args=(f"req-{i}",)) for i in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
main_line = c_log("main thread, no request")
tlslocal.unregister("request")

assert lines == {f"req-{i}": f"[req-{i}] handled" for i in range(3)}
assert main_line == "[-] main thread, no request"
