# SPDX-License-Identifier: LGPL-2.1-or-later
"""tlslocal-demo, step 4, the Python side: run by the demo as
    python3 demo-python.py HELPER LOCAL_NAME REQUEST_ID
with TLSLOCAL_LIBRARY and PYTHONPATH set. On its one thread it sets request_id in the named local,
lets the C helper (loaded with ctypes) read it and answer in `reply`, and reads that reply back.
Prints one tab-separated line for the demo: RESULT wrote c_read c_reply read_back, or ERROR why."""

import ctypes
import sys


def main(helper_path, local_name, request_id):
    try:
        import tlslocal
    except ImportError as error:
        return f"cannot import tlslocal: {error}"
    helper = ctypes.CDLL(helper_path)
    acknowledge = helper.tldemo_acknowledge
    acknowledge.restype = ctypes.c_int
    acknowledge.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                            ctypes.c_char_p, ctypes.c_size_t]

    ctx = tlslocal.open(local_name)  # the C local that tl_local_open(local_name) gives C
    ctx.request_id = request_id
    c_read, c_reply = ctypes.create_string_buffer(128), ctypes.create_string_buffer(128)
    status = acknowledge(local_name.encode(), c_read, len(c_read), c_reply, len(c_reply))
    if status != 0:
        return f"the C helper failed: status {status}"
    read_back = getattr(ctx, "reply", "(nothing)")
    print("RESULT", request_id, c_read.value.decode(), c_reply.value.decode(), read_back, sep="\t")
    return None


if __name__ == "__main__":
    why = main(*sys.argv[1:4])
    if why is not None:
        print("ERROR\t" + " ".join(str(why).split()))
        sys.exit(1)
