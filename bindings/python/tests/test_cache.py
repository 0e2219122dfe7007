# SPDX-License-Identifier: LGPL-2.1-or-later
"""The binding's per-thread read cache against C's dictionary.

A read finds its value in a cache that the binding trusts while the thread's change counter
(tl_thread_change_counter) stands where the binding's own writes left it. Here: a read after C code,
a destroy function, an initializer, tl_local_apply() or tl_thread_clear() changed something sees
C's value; what Python wrote and C did not touch keeps its identity; and a read after only Python's
own writes (to any local of the thread) makes no C call."""

import gc
import unittest
import weakref

import tlslocal
from tlslocal import _convert, _dict
from support import helper, in_thread, needs_helper


class Thing:
    pass




class CountCalls:
    """Counts the C reads the binding makes (tl_local_peek, tl_local_get) inside the block. White
    box on purpose: that reads make no C call is the cache's whole point."""

    def __enter__(self):
        self.count = 0
        self._peek, self._get = _dict._peek, _convert.local_get

        def peek(*args):
            self.count += 1
            return self._peek(*args)

        def get(*args):
            self.count += 1
            return self._get(*args)

        _dict._peek, _convert.local_get = peek, get
        return self

    def __exit__(self, *exc):
        _dict._peek, _convert.local_get = self._peek, self._get


class PythonOnly(unittest.TestCase):
    def test_reads_after_python_writes_make_no_c_call(self):
        def body():
            data, other = tlslocal.local(), tlslocal.local()
            # A thread's first write to a local creates its C dictionary, a change the counter
            # cannot tell from C code's: the thread's caches start over then.
            data.first, other.first = 1, 1
            with CountCalls() as calls:
                items, thing = [1], Thing()
                data.n, data.s, data.f, data.b = 10 ** 6, "text", 1.5, b"raw"
                data.items, data.thing, data.none, data.small = items, thing, None, 7
                other.y = 10 ** 7
                for i in range(3):
                    self.assertEqual((data.n, data.s, data.f), (10 ** 6, "text", 1.5))
                    self.assertEqual(data.b, b"raw")
                    self.assertIs(data.items, items)
                    self.assertIs(data.thing, thing)
                    self.assertEqual((data.none, data.small, other.y), (None, 7, 10 ** 7 + i))
                    other.y += 1  # a write to another local of the thread keeps data's cache
                    data.s = "again"
                    data.s = "text"
                self.assertFalse(hasattr(data, "missing"))
                self.assertFalse(hasattr(data, "missing"))  # absence is cached too
            return calls.count

        self.assertLessEqual(in_thread(body), 1)  # "missing", the first time

    def test_replacing_python_objects_makes_no_c_call(self):
        def body():
            data, other = tlslocal.local(), tlslocal.local()
            data.first, data.thing = 1, Thing()
            other.first = 1  # a new epoch: data's cache dates from the one before
            things = [Thing() for _ in range(5)]
            with CountCalls() as calls:
                for thing in things:
                    data.thing = thing  # C keeps its marker: only the Python side changes
            c_type = helper.c_type(data, "thing") if helper is not None else None
            return calls.count, data.thing is things[-1], c_type

        count, same, c_type = in_thread(body)
        self.assertLessEqual(count, 1)  # the first, to catch up with the new epoch
        self.assertTrue(same)
        if helper is not None:
            self.assertEqual(c_type, "p")

    def test_first_write_in_a_thread_keeps_identity(self):
        # The first write creates the thread's C dictionary: the counter moves twice, and the
        # binding checks with C before it trusts its cache.
        def body():
            data = tlslocal.local()
            number, text = int("1000007"), "".join(["fresh ", "string"])
            data.number = number
            data.text = text
            return data.number is number, data.text is text

        self.assertEqual(in_thread(body), (True, True))

    def test_floats_that_do_not_equal_themselves(self):
        import math

        def body():
            data = tlslocal.local()
            data.nan = math.nan  # the first write: checked against C by its bits
            data.zero = -0.0
            return data.nan, data.zero

        nan, zero = in_thread(body)
        self.assertTrue(math.isnan(nan))
        self.assertEqual(math.copysign(1, zero), -1)


@needs_helper
class CChanges(unittest.TestCase):
    def setUp(self):
        self.data = tlslocal.local()

    def test_c_writes_between_python_reads(self):
        data = self.data
        data.x = 10 ** 6
        self.assertEqual(data.x, 10 ** 6)
        self.assertEqual(data.x, 10 ** 6)  # cached
        helper.set_text(data, "x", "int64 7")
        self.assertEqual(data.x, 7)
        helper.set_text(data, "x", "'from C'")
        self.assertEqual(data.x, "from C")
        self.assertEqual(helper.delete(data, "x"), 0)
        self.assertFalse(hasattr(data, "x"))
        self.assertFalse(hasattr(data, "x"))
        helper.set_text(data, "x", "[1, 2]")
        self.assertEqual(data.x, [1, 2])
        data.x = "python again"
        self.assertEqual(data.x, "python again")
        self.assertEqual(helper.describe(data, "x"), "s|'python again'")

    def test_c_writes_elsewhere_keep_python_objects(self):
        data, other = self.data, tlslocal.local()
        items, thing, number = [1], Thing(), int("1000001")
        data.items, data.thing, data.number = items, thing, number
        helper.set_text(data, "from_c", "1")  # another key of the same local
        helper.set_text(other, "z", "2")  # another local of the same thread
        self.assertIs(data.items, items)
        self.assertIs(data.thing, thing)
        self.assertEqual(data.number, number)  # an int Python wrote: read again from C
        data.items.append(2)  # still the list Python holds
        helper.set_text(data, "from_c", "3")
        self.assertEqual(data.items, [1, 2])
        self.assertEqual(data.from_c, 3)
        self.assertEqual(other.z, 2)

    def test_c_reads_do_not_disturb_the_cache(self):
        data = self.data
        data.x = 10 ** 6
        data.x
        with CountCalls() as calls:
            self.assertEqual(helper.describe(data, "x"), "x|1000000")  # C reads, changes nothing
            self.assertEqual(data.x, 10 ** 6)
        self.assertEqual(calls.count, 0)

    def test_c_writes_in_another_thread_do_not_disturb(self):
        data = self.data
        data.x = 10 ** 6
        data.x

        def other():
            data.x = "other thread"
            helper.set_text(data, "x", "'C in the other thread'")
            return data.x

        self.assertEqual(in_thread(other), "C in the other thread")
        with CountCalls() as calls:
            self.assertEqual(data.x, 10 ** 6)
        self.assertEqual(calls.count, 0)

    def test_dict_view_sees_c_writes(self):
        data = self.data
        data.a = 1
        view = data.__dict__
        helper.set_text(data, "b", "2")
        self.assertEqual(view["b"], 2)
        self.assertEqual(dict(view), {"a": 1, "b": 2})
        helper.delete(data, "a")
        self.assertNotIn("a", view)
        self.assertFalse(hasattr(data, "a"))


@needs_helper
class DestroyFunctionsThatWrite(unittest.TestCase):
    """A C pointer value whose destroy function writes to a local, overwritten from Python: the
    write Python makes is then not the only change the counter sees."""

    def setUp(self):
        self.data = tlslocal.local()

    def test_writing_the_key_being_set(self):
        data = self.data
        values = [10 ** 6, 5, "text", 2.5, None, True, b"raw", [1, "a"], (1,), {"k": 1}, Thing(),
                  10 ** 30]
        for value in values:
            with self.subTest(value=value):
                helper.set_writing_pointer(data, "x", "x", 99)
                data.x  # Python holds the pointer value too: released by the overwrite below
                data.x = value  # the pointer value goes; its destroy function stores x = 99
                self.assertEqual(helper.describe(data, "x"), "x|99")
                self.assertEqual(data.x, 99)
                self.assertEqual(data.x, 99)

    def test_writing_another_key(self):
        data = self.data
        data.q = 10 ** 6
        data.q
        helper.set_writing_pointer(data, "p", "q", 42)
        data.p = 10 ** 7
        self.assertEqual(data.q, 42)
        self.assertEqual(data.p, 10 ** 7)

    def test_writing_another_local(self):
        data, other = self.data, tlslocal.local()
        other.r = 10 ** 6
        other.r
        helper.set_writing_pointer(data, "p", "r", 43, target_local=other)
        data.p = "replaced"
        self.assertEqual(other.r, 43)
        self.assertEqual(data.p, "replaced")

    def test_writing_when_python_deletes(self):
        data = self.data
        helper.set_writing_pointer(data, "p", "q", 44)
        data.q = 1
        data.q
        del data.p
        self.assertEqual(data.q, 44)
        self.assertFalse(hasattr(data, "p"))

    def test_released_by_python_after_c_replaced_it(self):
        # Python read the pointer value (and holds a reference), C replaced it, then Python's next
        # write of that key drops the last reference: the destroy function runs after the write.
        data = self.data
        helper.set_writing_pointer(data, "p", "q", 45)
        data.p
        helper.set_text(data, "p", "'from C'")
        data.q = 1
        data.p = 2
        self.assertEqual(data.q, 45)
        self.assertEqual(data.p, 2)


@needs_helper
class InitializersApplyAndClear(unittest.TestCase):
    def test_c_initializer_runs_during_the_first_write(self):
        handle = helper.new_local_with_init()
        wrapped = tlslocal.wrap(handle)
        helper.unref(handle)

        def body():
            wrapped.x = 10 ** 6  # the thread's first access: C's initializer runs inside it
            return wrapped.x, wrapped.from_c_init, sorted(wrapped.__dict__)

        self.assertEqual(in_thread(body), (10 ** 6, "set by C", ["from_c_init", "x"]))

    def test_apply(self):
        data = tlslocal.local()
        thing = Thing()
        data.x, data.thing, data.kept = 1, thing, "kept"
        data.x, data.thing
        helper.apply_text(data, "{'x': <int64 5>, 'y': <'why'>}")
        self.assertEqual((data.x, data.y, data.kept), (5, "why", "kept"))
        self.assertIs(data.thing, thing)
        helper.apply_text(data, "{'x': <int64 6>}", replace=True)
        self.assertEqual(data.x, 6)
        self.assertFalse(hasattr(data, "thing"))  # C dropped its marker
        self.assertFalse(hasattr(data, "kept"))
        self.assertEqual(sorted(data.__dict__), ["x"])

    def test_thread_clear(self):
        data, other = tlslocal.local(), tlslocal.local()

        def body():
            thing = Thing()
            ref = weakref.ref(thing)
            data.x, data.thing, other.y = 10 ** 6, thing, "y"
            data.x, data.thing, other.y
            del thing
            helper.thread_clear()  # C frees every dictionary of this thread
            seen = [hasattr(data, "x"), hasattr(data, "thing"), hasattr(other, "y")]
            gc.collect()
            released = ref() is None
            data.x = 2  # and the thread can use the locals again
            return seen, released, data.x, helper.describe(data, "x")

        self.assertEqual(in_thread(body), ([False, False, False], True, 2, "x|2"))


@needs_helper
class RandomMix(unittest.TestCase):
    def test_python_and_c_changes_against_a_model(self):
        """Random writes, deletes and reads from Python and from C on three locals of one thread,
        with destroy functions that write; every read must agree with a plain dict model."""
        import random

        rng = random.Random(5)
        locals_ = [tlslocal.local() for _ in range(3)]
        model = [{} for _ in locals_]
        keys = ["a", "b", "c", "d"]
        things = [Thing() for _ in range(4)]
        python_values = [0, 7, 300, -(2 ** 40), 2 ** 63 + 1, 10 ** 30, 1.5, "s", "", b"b", None,
                         True, (1, "t"), [1, 2], {"k": 1}] + things
        c_values = [("int64 5", 5), ("'c'", "c"), ("[1, 2]", [1, 2]), ("true", True), ("2.5", 2.5)]
        for step in range(3000):
            i, key, action = rng.randrange(3), rng.choice(keys), rng.random()
            local, dictionary = locals_[i], model[i]
            if action < 0.35:
                value = rng.choice(python_values)
                setattr(local, key, value)
                dictionary[key] = value
            elif action < 0.5:
                text, value = rng.choice(c_values)
                helper.set_text(local, key, text)
                dictionary[key] = value
            elif action < 0.55:
                # A C pointer value whose destroy function stores d = step in some local, read by
                # Python (so Python holds it too), then overwritten from Python: the destroy
                # function runs inside that write.
                target = rng.randrange(3)
                helper.set_writing_pointer(local, key, "d", step, target_local=locals_[target])
                self.assertEqual(type(getattr(local, key)).__name__, "c_void_p")
                value = rng.choice(python_values)
                setattr(local, key, value)
                dictionary[key] = value
                model[target]["d"] = step
            elif action < 0.65:
                deleted = helper.delete(local, key) == 0
                self.assertEqual(deleted, key in dictionary, (step, key))
                dictionary.pop(key, None)
            elif action < 0.7:
                if key in dictionary:
                    delattr(local, key)
                    del dictionary[key]
                else:
                    self.assertRaises(AttributeError, delattr, local, key)
            elif key not in dictionary:
                self.assertFalse(hasattr(local, key), (step, i, key))
            else:
                value, expected = getattr(local, key), dictionary[key]
                self.assertEqual(value, expected, (step, i, key))
                self.assertIs(type(value), type(expected), (step, i, key))
                if isinstance(expected, (Thing, list, dict, tuple)) and any(
                        expected is v for v in python_values):
                    self.assertIs(value, expected, (step, i, key))  # Python's own object


if __name__ == "__main__":
    unittest.main()
