# SPDX-License-Identifier: LGPL-2.1-or-later
"""The whole-program drop-in: threading.local = tlslocal.local at startup, before anything imports
it, then CPython's own asyncio tests from this interpreter's test package. asyncio keeps each
thread's event loop (its policy's _Local) and running loop (_RunningLoop, the pure-Python path) in
threading.local subclasses, which become tlslocal.local subclasses.

test_events and the cheap modules that go through the policy's thread-local state; test_tasks
(900 tests, ~16 s) is left out for time.

    python3 test_cpython_asyncio.py    (a script, not `-m unittest`: unittest imports asyncio on
                                        3.8, and multiprocessing's spawned children re-import it)
"""

import sys
import threading

import tlslocal

threading.local = tlslocal.local  # first: what imports it from now on gets tlslocal.local

import importlib.util  # noqa: E402 - after the swap, on purpose
import unittest  # noqa: E402

MODULES = ["test_events", "test_base_events", "test_futures", "test_locks", "test_queues",
           "test_runners", "test_unix_events", "test_threads"]


def main():
    try:
        import test.test_asyncio  # noqa: F401
    except ImportError:
        print(f"{sys.executable} ships no test.test_asyncio: skipped")
        return 77
    import asyncio.events
    swapped = [name for name, value in vars(asyncio.events).items()
               if isinstance(value, type) and issubclass(value, tlslocal.local)]
    swapped += [name for name, value in vars(asyncio.events.BaseDefaultEventLoopPolicy).items()
                if isinstance(value, type) and issubclass(value, tlslocal.local)]
    print("asyncio.events classes now over tlslocal.local:", ", ".join(swapped))
    if not swapped:
        print("asyncio was imported before threading.local was replaced: nothing tested")
        return 1
    names = [f"test.test_asyncio.{module}" for module in MODULES
             if importlib.util.find_spec(f"test.test_asyncio.{module}") is not None]
    print("modules:", ", ".join(names))
    if "test.test_asyncio.test_events" not in names:
        return 1
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
