# SPDX-License-Identifier: LGPL-2.1-or-later
"""tlslocal.local as a drop-in for threading.local: the same code, with one import changed.

    TLSLOCAL_LIBRARY=build/libtlslocal/libtlslocal.so.1 PYTHONPATH=bindings/python \
        python3 examples/python/drop_in_local.py
"""
import threading

import tlslocal


class Connection(tlslocal.local):
    """Per-thread state built from the constructor's arguments, again in every thread."""

    def __init__(self, host, port):
        self.address = f"{host}:{port}"
        self.queries = 0


conn = Connection("db.local", 5432)
results = {}


def worker(name, n):
    for _ in range(n):
        conn.queries += 1          # this thread's own counter: no lock needed
    results[name] = (conn.address, conn.queries)


threads = [threading.Thread(target=worker, args=(f"worker-{i}", 100 * (i + 1))) for i in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()

for name, (address, queries) in sorted(results.items()):
    print(f"{name}: {address}, {queries} queries")
print(f"main thread: {conn.queries} queries (its own dict, initialised on first use)")
assert results == {"worker-0": ("db.local:5432", 100), "worker-1": ("db.local:5432", 200),
                   "worker-2": ("db.local:5432", 300)}
assert conn.queries == 0
