# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared by the Python binding's tests: the C helper (tl-pyhelper.c), loaded with ctypes, and
small utilities. The helper stands for C code in the same process: it reads and writes the calling
thread's dictionaries with tlslocal.h alone."""

import ctypes
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import tlslocal

HELPER_PATH = os.environ.get("TLSLOCAL_TEST_HELPER")


class _Helper:
    """The C helper's functions, taking tlslocal.local objects or raw TlLocal * addresses."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        P, S, I = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        table = {
            "helper_describe": (P, [P, S]),
            "helper_set_text": (I, [P, S, S, S]),
            "helper_set_pointer": (I, [P, S, P]),
            "helper_pointers_destroyed": (I, []),
            "helper_delete": (I, [P, S]),
            "helper_keys": (P, [P]),
            "helper_log_line": (P, [S]),
            "helper_new_local": (P, []),
            "helper_new_local_with_init": (P, []),
            "helper_unref": (None, [P]),
            "helper_describe_in_new_thread": (P, [P, S]),
            "helper_call_in_new_threads": (I, [ctypes.c_void_p, I, I]),
            "helper_free": (None, [P]),
            "helper_set_writing_pointer": (I, [P, S, P, S, ctypes.c_int64]),
            "helper_thread_clear": (None, []),
            "helper_apply_text": (I, [P, S, I]),
        }
        for name, (restype, argtypes) in table.items():
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
        self.lib = lib

    @staticmethod
    def _handle(local):
        return tlslocal.address(local) if isinstance(local, tlslocal.local) else local

    def _string(self, pointer):
        if pointer is None:
            return None
        try:
            return ctypes.string_at(pointer).decode("utf-8")
        finally:
            self.lib.helper_free(pointer)

    def describe(self, local, key):
        """"TYPE|TEXT" of key as C code in this thread reads it, or None if absent."""
        return self._string(self.lib.helper_describe(self._handle(local), key.encode()))

    def c_type(self, local, key):
        description = self.describe(local, key)
        return None if description is None else description.split("|", 1)[0]

    def describe_in_new_thread(self, local, key):
        return self._string(self.lib.helper_describe_in_new_thread(self._handle(local),
                                                                   key.encode()))

    def set_text(self, local, key, text, type_string=None):
        status = self.lib.helper_set_text(self._handle(local), key.encode(),
                                          None if type_string is None else type_string.encode(),
                                          text.encode())
        if status != 0:
            raise AssertionError(f"helper_set_text({key!r}, {text!r}) returned {status}")

    def set_pointer(self, local, key, pointer):
        assert self.lib.helper_set_pointer(self._handle(local), key.encode(), pointer) == 0

    def set_writing_pointer(self, local, key, target, value, target_local=None):
        """A C pointer value under key whose destroy function stores target = value (int64) in
        target_local (default: the same local), on the thread that releases it."""
        target_local = local if target_local is None else target_local
        status = self.lib.helper_set_writing_pointer(self._handle(local), key.encode(),
                                                     self._handle(target_local), target.encode(),
                                                     value)
        assert status == 0, status

    def thread_clear(self):
        self.lib.helper_thread_clear()

    def apply_text(self, local, text, replace=False):
        """tl_local_apply() of the "a{sv}" that text parses to (TL_APPLY_REPLACE if replace)."""
        status = self.lib.helper_apply_text(self._handle(local), text.encode(), int(replace))
        assert status == 0, status

    def pointers_destroyed(self):
        return self.lib.helper_pointers_destroyed()

    def delete(self, local, key):
        return self.lib.helper_delete(self._handle(local), key.encode())

    def keys(self, local):
        joined = self._string(self.lib.helper_keys(self._handle(local)))
        return joined.split(",") if joined else []

    def log_line(self, message):
        return self._string(self.lib.helper_log_line(message.encode()))

    CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int)

    def call_in_new_threads(self, function, threads=1, calls=2):
        """function(0), function(1), ... function(calls - 1) on each of threads new C threads,
        running at once; each call a separate one from C (a new Python thread state)."""
        callback = self.CALLBACK(function)
        status = self.lib.helper_call_in_new_threads(ctypes.cast(callback, ctypes.c_void_p),
                                                     threads, calls)
        assert status == 0, status

    def new_local(self):
        return self.lib.helper_new_local()

    def new_local_with_init(self):
        return self.lib.helper_new_local_with_init()

    def unref(self, handle):
        self.lib.helper_unref(handle)


helper = _Helper(HELPER_PATH) if HELPER_PATH else None


def needs_helper(test):
    reason = "TLSLOCAL_TEST_HELPER is not set (meson test sets it)"
    return unittest.skipIf(helper is None, reason)(test)


def run_threads(targets, timeout=30):
    """Run each target on its own new thread and join them all; a thread still running after
    timeout seconds fails the test."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        if thread.is_alive():
            raise AssertionError("a thread is stuck (deadlock?)")


def in_thread(function, *args):
    """function(*args) on a new thread; its result or exception."""
    result = {}

    def target():
        try:
            result["value"] = function(*args)
        except BaseException as error:  # handed to the caller
            result["error"] = error

    run_threads([target])
    if "error" in result:
        raise result["error"]
    return result.get("value")


def wait_for(predicate, timeout=10.0):
    """Poll predicate until it is true: a thread's C-side cleanup runs as its OS thread exits, just
    after join() has returned."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.005)
    return True


def settled_stats(timeout=10.0):
    """tlslocal.stats() once threads that earlier tests joined have finished their C-side exit."""
    deadline = time.monotonic() + timeout
    previous = tlslocal.stats()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        gc.collect()
        current = tlslocal.stats()
        if current == previous:
            return current
        previous = current
    return previous


def run_python(code, timeout=30, env=None):
    """Run code in a fresh interpreter with this environment; return CompletedProcess."""
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
