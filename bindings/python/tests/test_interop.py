# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python and C sharing context: named locals (tl_local_open), C-owned locals handed to Python
(tlslocal.wrap), and the per-thread visibility rules across the language boundary."""

import ctypes
import gc
import threading
import unittest
import weakref

import tlslocal
from support import helper, in_thread, needs_helper




@needs_helper
class NamedLocals(unittest.TestCase):
    def test_request_id_set_in_python_read_by_c_logger(self):
        ctx = tlslocal.open("request")
        self.assertEqual(helper.log_line("no request yet"), "[-] no request yet")
        ctx.request_id = "req-42"
        self.assertEqual(helper.log_line("handling"), "[req-42] handling")

        def worker(i):
            self.assertEqual(helper.log_line("start"), "[-] start")  # not the main thread's
            tlslocal.open("request").request_id = f"req-{i}"
            return helper.log_line("done")

        self.assertEqual([in_thread(worker, i) for i in range(3)],
                         ["[req-0] done", "[req-1] done", "[req-2] done"])
        self.assertEqual(helper.log_line("still"), "[req-42] still")
        del ctx.request_id
        self.assertEqual(helper.log_line("after"), "[-] after")

    def test_open_twice_shares_everything(self):
        first = tlslocal.open("tlslocal-test-shared")
        second = tlslocal.open("tlslocal-test-shared")
        self.assertIsNot(first, second)
        self.assertEqual(tlslocal.address(first), tlslocal.address(second))
        thing = object()
        first.thing = thing
        first.number = 7
        self.assertIs(second.thing, thing)  # Python objects too, through either object
        self.assertEqual(second.number, 7)
        self.assertEqual(helper.describe(second, "number"), "x|7")

    def test_python_side_lives_while_the_name_is_registered(self):
        class Thing:
            pass

        thing = Thing()
        ref = weakref.ref(thing)
        tlslocal.open("tlslocal-test-kept").thing = thing
        tlslocal.open("tlslocal-test-kept").number = 1
        del thing
        gc.collect()
        self.assertIs(tlslocal.open("tlslocal-test-kept").thing, ref())
        tlslocal.unregister("tlslocal-test-kept")
        gc.collect()
        self.assertIsNone(ref())
        reopened = tlslocal.open("tlslocal-test-kept")
        self.assertFalse(hasattr(reopened, "thing"))
        self.assertFalse(hasattr(reopened, "number"))  # a new local under that name
        tlslocal.unregister("tlslocal-test-kept")

    def test_open_with_subclass(self):
        class Context(tlslocal.local):
            def __init__(self, service):
                self.service = service

        ctx = tlslocal.open("tlslocal-test-subclass", Context, "billing")
        self.assertEqual(ctx.service, "billing")
        self.assertEqual(helper.describe(ctx, "service"), "s|'billing'")
        self.assertEqual(in_thread(lambda: (ctx.service, helper.describe(ctx, "service"))),
                         ("billing", "s|'billing'"))
        with self.assertRaises(TypeError):
            tlslocal.open("tlslocal-test-subclass", tlslocal.local, "argument")
        tlslocal.unregister("tlslocal-test-subclass")


@needs_helper
class WrappedLocals(unittest.TestCase):
    def test_wrap_a_local_made_by_c(self):
        handle = helper.new_local()
        wrapped = tlslocal.wrap(handle)
        self.assertEqual(tlslocal.address(wrapped), handle)
        wrapped.user = "ada"
        self.assertEqual(helper.describe(handle, "user"), "s|'ada'")
        helper.set_text(handle, "from_c", "(1, 'two')")
        self.assertEqual(wrapped.from_c, (1, "two"))
        self.assertEqual(helper.keys(handle), ["user", "from_c"])
        self.assertEqual(list(wrapped.__dict__), ["user", "from_c"])
        helper.unref(handle)  # C lets go; the Python object keeps its own reference
        self.assertEqual(wrapped.user, "ada")
        self.assertEqual(tlslocal.wrap(ctypes.c_void_p(tlslocal.address(wrapped))).user, "ada")

    def test_c_initializer_runs_for_python_threads(self):
        handle = helper.new_local_with_init()
        wrapped = tlslocal.wrap(handle)
        helper.unref(handle)
        self.assertEqual(wrapped.from_c_init, "set by C")
        self.assertEqual(in_thread(lambda: wrapped.from_c_init), "set by C")
        self.assertEqual(in_thread(lambda: sorted(wrapped.__dict__)), ["from_c_init"])

    def test_wrap_with_subclass_replays_init(self):
        class Session(tlslocal.local):
            def __init__(self, user):
                self.user = user

        handle = helper.new_local()
        session = tlslocal.wrap(handle, Session, "grace")
        helper.unref(handle)
        self.assertEqual(session.user, "grace")
        # C alone, first in a thread: no __init__ has run there yet
        self.assertEqual(in_thread(lambda: helper.describe(session, "user")), None)
        self.assertEqual(in_thread(lambda: (session.user, helper.describe(session, "user"))),
                         ("grace", "s|'grace'"))

    def test_threads_wrapping_and_dropping_one_local(self):
        # Python objects over one C pointer come and go on many threads at once: each new one must
        # find a live store or make its own, never one whose C reference is being dropped.
        from support import settled_stats
        before = settled_stats()["locals"]
        handle = helper.new_local()
        errors = []

        def worker(i):
            try:
                for n in range(300):
                    wrapped = tlslocal.wrap(handle)
                    wrapped.n = (i, n)
                    if wrapped.n != (i, n) or helper.describe(handle, "n") != f"(xx)|({i}, {n})":
                        errors.append((i, n))
                    del wrapped
                    if n % 50 == 0:
                        gc.collect()
            except BaseException as error:  # reported below
                errors.append(repr(error))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        helper.unref(handle)
        gc.collect()
        self.assertEqual(settled_stats()["locals"], before)

    def test_wrap_rejects_what_is_not_a_local(self):
        not_a_local = ctypes.create_string_buffer(64)
        with self.assertRaises(tlslocal.Error) as caught:
            tlslocal.wrap(ctypes.addressof(not_a_local))
        self.assertEqual(caught.exception.name, "TL_ERR_INVALID_ARGUMENT")
        with self.assertRaises(TypeError):
            tlslocal.wrap(0)
        with self.assertRaises(TypeError):
            tlslocal.wrap("0x1234")
        with self.assertRaises(TypeError):
            tlslocal.address(object())

    def test_python_objects_of_a_foreign_local_go_with_the_last_python_object(self):
        class Thing:
            pass

        handle = helper.new_local()
        first, second = tlslocal.wrap(handle), tlslocal.wrap(handle)
        thing = Thing()
        ref = weakref.ref(thing)
        first.thing = thing
        first.number = 5
        del thing
        self.assertIs(second.thing, ref())
        del first, second
        gc.collect()
        self.assertIsNone(ref())  # C still has its dictionary; the Python object is gone
        self.assertTrue(helper.describe(handle, "thing").startswith("p|"))
        again = tlslocal.wrap(handle)
        self.assertFalse(hasattr(again, "thing"))  # its marker reads as absent
        self.assertEqual(again.number, 5)  # GVariant values live in C
        helper.unref(handle)


@needs_helper
class Visibility(unittest.TestCase):
    def test_c_thread_sees_nothing_of_python_threads(self):
        data = tlslocal.local()
        data.x = 1
        self.assertEqual(helper.describe(data, "x"), "x|1")
        self.assertIsNone(helper.describe_in_new_thread(data, "x"))

    def test_each_python_thread_has_its_c_dictionary(self):
        data = tlslocal.local()
        barrier = threading.Barrier(4)

        def worker(i):
            data.x = f"thread-{i}"
            barrier.wait()  # all four have set x before anyone reads
            return helper.describe(data, "x"), helper.keys(data)

        results = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, worker(i)))
                   for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(results, {i: (f"s|'thread-{i}'", ["x"]) for i in range(4)})
        self.assertIsNone(helper.describe(data, "x"))


class Thing:
    """A value without a GVariant form: it lives on the Python side only."""


def _things_from_c_threads(data, threads, calls):
    """Each call of threads new C threads sets data.thing to a new Thing: @return weakrefs to
    them all."""
    refs = []

    def keep(call):
        data.thing = Thing()
        refs.append(weakref.ref(data.thing))

    helper.call_in_new_threads(keep, threads=threads, calls=calls)
    return refs


@needs_helper
class CThreadCalls(unittest.TestCase):
    """A C thread that calls into Python several times gets a new Python thread state each call
    (CPython's rule; a threading.local starts empty in each). A local follows the OS thread, as its
    C side does: each call sees what the last one left, the same objects."""

    def test_each_call_sees_what_the_last_left(self):
        inits, firsts, errors = [], {}, []

        class Session(tlslocal.local):
            def __init__(self):
                inits.append(threading.get_ident())
                self.calls = 0

        data, session = tlslocal.local(), Session()
        calls = 6

        def callback(call):
            try:
                me = threading.get_ident()
                session.calls += 1
                if call == 0:
                    data.number = 0
                    data.items = []
                    data.thing = Thing()
                    firsts[me] = (data.items, data.thing, data.__dict__)
                data.number += 1
                data.items.append(call)
                items, thing, view = firsts[me]
                seen = (data.items is items, data.thing is thing, data.__dict__ is view,
                        data.items, data.number, session.calls,
                        helper.describe(data, "number"), helper.describe(data, "items"))
                expected = (True, True, True, list(range(call + 1)), call + 1, call + 1,
                            f"x|{call + 1}", "av|[]")  # C's copy: items as last assigned
                if seen != expected:
                    errors.append((call, seen))
            except BaseException as error:  # reported below
                errors.append((call, repr(error)))

        for _ in range(5):
            del inits[:]
            firsts.clear()
            helper.call_in_new_threads(callback, threads=4, calls=calls)
            self.assertEqual(errors, [])
            self.assertEqual(len(firsts), 4)
            self.assertEqual(sorted(inits), sorted(firsts))  # __init__ once per C thread
        self.assertEqual((session.calls, hasattr(data, "number")), (0, False))  # main's own

    def test_objects_released_once_the_thread_is_gone(self):
        data = tlslocal.local()
        refs = _things_from_c_threads(data, threads=4, calls=1)
        self.assertEqual(len(refs), 4)
        # Those threads have exited; the binding finds them gone as more C threads call in.
        for _ in range(100):
            if all(ref() is None for ref in refs):
                break
            helper.call_in_new_threads(lambda call: tlslocal.local(), threads=2, calls=1)
        self.assertEqual([ref() for ref in refs], [None] * 4)

    def test_objects_released_with_the_local(self):
        data = tlslocal.local()
        refs = _things_from_c_threads(data, threads=3, calls=2)
        del data
        gc.collect()
        self.assertEqual([ref() for ref in refs], [None] * 6)

    def test_cycle_through_a_local_collected(self):
        """A C thread's values that refer back to their local form a cycle gc collects, kept by
        nothing else, as a threading.local's do: the thread is not yet found gone."""
        data = tlslocal.local()
        local_ref = weakref.ref(data)
        refs = []

        def keep(call):
            thing = Thing()
            thing.local = data
            data.thing = thing
            data.again = data
            refs.append(weakref.ref(thing))

        helper.call_in_new_threads(keep, threads=2, calls=2)
        del data
        gc.collect()
        self.assertIsNone(local_ref())
        self.assertEqual([ref() for ref in refs], [None] * 4)

    def test_thread_clear_starts_the_thread_afresh(self):
        """tl_thread_clear() frees the calling thread's dictionaries as its exit would: its Python
        side goes too, and its next call runs __init__ again."""
        inits, seen = [], []

        class Session(tlslocal.local):
            def __init__(self):
                inits.append(threading.get_ident())

        session = Session()

        def callback(call):
            if call == 0:
                session.thing = Thing()
                session.number = 7
            elif call == 1:
                seen.append((hasattr(session, "thing"), getattr(session, "number", None)))
                helper.thread_clear()
                seen.append((hasattr(session, "thing"), getattr(session, "number", None)))
            else:
                seen.append((hasattr(session, "thing"), getattr(session, "number", None)))

        helper.call_in_new_threads(callback, threads=1, calls=3)
        self.assertEqual(seen, [(True, 7), (False, None), (False, None)])
        self.assertEqual(len(inits), 3)  # the main thread; the C thread's first call; after the clear


if __name__ == "__main__":
    unittest.main()
