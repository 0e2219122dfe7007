# SPDX-License-Identifier: LGPL-2.1-or-later
"""tlslocal.local against threading.local's documented behaviour: per-thread attributes,
subclasses, __init__ replay, slots, __dict__, cleanup at thread end and at the local's destruction,
gc, many threads. CPython's own tests (Lib/test/test_threading_local.py) run on tlslocal.local in
test_cpython_local.py."""

import gc
import sys
import threading
import time
import unittest
import weakref

import tlslocal
from support import (helper, in_thread, needs_helper, run_python, run_threads, settled_stats,
                     wait_for)


class Weak:
    pass


class PickleTests(unittest.TestCase):
    def test_cannot_be_pickled_or_copied(self):
        import copy
        import pickle
        data = tlslocal.local()
        data.x = 1
        self.assertRaises(TypeError, pickle.dumps, data)
        self.assertRaises(TypeError, copy.copy, data)


class BasicTests(unittest.TestCase):
    def test_get_set_delete(self):
        data = tlslocal.local()
        data.number = 42
        self.assertEqual(data.number, 42)
        data.number = "forty-two"
        self.assertEqual(data.number, "forty-two")
        del data.number
        self.assertFalse(hasattr(data, "number"))
        with self.assertRaises(AttributeError):
            del data.number

    def test_attribute_error_message(self):
        data = tlslocal.local()
        with self.assertRaises(AttributeError) as caught:
            data.missing
        self.assertEqual(str(caught.exception), "'local' object has no attribute 'missing'")
        self.assertEqual(caught.exception.name, "missing")
        self.assertIs(caught.exception.obj, data)

        class Custom(tlslocal.local):
            pass

        with self.assertRaises(AttributeError) as caught:
            Custom().color
        self.assertEqual(str(caught.exception), "'Custom' object has no attribute 'color'")
        self.assertEqual(getattr(Custom(), "color", "default"), "default")

    def test_threads_do_not_share(self):
        data = tlslocal.local()
        data.x = "main"

        def other():
            self.assertFalse(hasattr(data, "x"))
            data.x = "other"
            return data.x

        self.assertEqual(in_thread(other), "other")
        self.assertEqual(data.x, "main")

    def test_identity_kept(self):
        data = tlslocal.local()
        items = [1, 2]
        data.items = items
        self.assertIs(data.items, items)
        data.items.append(3)  # the same list: Python sees the change (C keeps the copy it got)
        self.assertEqual(data.items, [1, 2, 3])
        thing = object()
        data.thing = thing
        self.assertIs(data.thing, thing)

    def test_arguments(self):
        # CPython's test_arguments (issue 1522237)
        class MyLocal(tlslocal.local):
            def __init__(self, *args, **kwargs):
                pass

        MyLocal(a=1)
        MyLocal(1)
        with self.assertRaises(TypeError) as caught:
            tlslocal.local(a=1)
        self.assertEqual(str(caught.exception), "Initialization arguments are not supported")
        self.assertRaises(TypeError, tlslocal.local, 1)

        class NoInit(tlslocal.local):
            number = 2

        self.assertRaises(TypeError, NoInit, 1)

    def test_one_class(self):
        # CPython's _test_one_class, for the class and a subclass
        class LocalSubclass(tlslocal.local):
            """To test that subclasses behave properly."""

        for cls in (tlslocal.local, LocalSubclass):
            obj = cls()
            failed = ["not run"]
            e1, e2 = threading.Event(), threading.Event()

            def f1():
                obj.x = "foo"
                obj.y = "bar"
                del obj.y
                e1.set()
                e2.wait()

            def f2():
                try:
                    foo = obj.x
                except AttributeError:
                    failed[0] = ""
                else:
                    failed[0] = f"Incorrectly got value {foo!r} from class {cls!r}"

            t1 = threading.Thread(target=f1)
            t1.start()
            e1.wait()
            run_threads([f2])
            e2.set()
            t1.join()
            self.assertFalse(failed[0], failed[0])


class SubclassTests(unittest.TestCase):
    def test_init_replayed_per_thread(self):
        calls = []

        class Config(tlslocal.local):
            def __init__(self, color, /, size=1, **extra):
                calls.append((threading.get_ident(), color, size, extra))
                self.color = color
                self.size = size

        config = Config("red", size=3, flag=True)
        self.assertEqual((config.color, config.size), ("red", 3))
        self.assertEqual(len(calls), 1)

        def other():
            seen = (config.color, config.size)  # __init__ ran on this first use
            config.color = "blue"
            return seen, config.color

        self.assertEqual(in_thread(other), (("red", 3), "blue"))
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[1][1:], ("red", 3, {"flag": True}))
        self.assertNotEqual(calls[0][0], calls[1][0])
        self.assertEqual(config.color, "red")
        self.assertEqual(len(calls), 2)  # not again in this thread

    def test_init_runs_on_set_and_delete_too(self):
        runs = []

        class Counted(tlslocal.local):
            def __init__(self):
                runs.append(1)
                self.x = 0

        counted = Counted()
        in_thread(lambda: setattr(counted, "y", 1))
        in_thread(lambda: delattr(counted, "x"))
        self.assertEqual(len(runs), 3)

    def test_failed_init_is_retried(self):
        attempts = []

        class Flaky(tlslocal.local):
            def __init__(self):
                attempts.append(1)
                self.partial = True
                if len(attempts) == 2:
                    raise RuntimeError("first try in the thread fails")
                self.ready = True

        flaky = Flaky()

        def other():
            with self.assertRaises(RuntimeError):
                flaky.ready
            return flaky.ready, sorted(flaky.__dict__)

        self.assertEqual(in_thread(other), (True, ["partial", "ready"]))
        self.assertEqual(len(attempts), 3)

    def test_thread_switch_inside_init(self):
        # CPython's test_derived (issue 3088): a thread switch inside __init__
        class Local(tlslocal.local):
            def __init__(self):
                time.sleep(0.01)

        local = Local()
        errors = []

        def f(i):
            local.x = i
            if local.x != i:
                errors.append((i, local.x))

        run_threads([lambda i=i: f(i) for i in range(10)])
        self.assertEqual(errors, [])

    def test_no_deadlock_when_init_waits_for_another_thread(self):
        # __init__ blocks until another thread has used the same local: a lock held around __init__
        # would deadlock here.
        other_used = threading.Event()
        in_init = threading.Event()

        class Local(tlslocal.local):
            def __init__(self):
                if threading.current_thread().name == "first":
                    in_init.set()
                    if not other_used.wait(10):
                        raise AssertionError("the other thread could not use the local")
                self.ready = True

        local = Local()

        def first():
            local.ready

        def second():
            in_init.wait(10)
            local.value = 1
            local.ready
            other_used.set()

        threads = [threading.Thread(target=first, name="first"),
                   threading.Thread(target=second, name="second")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
            self.assertFalse(thread.is_alive(), "deadlock")
        self.assertTrue(other_used.is_set())

    def test_class_attributes_and_methods_are_defaults(self):
        class MyLocal(tlslocal.local):
            number = 2

            def squared(self):
                return self.number ** 2

        data = MyLocal()
        self.assertEqual(data.number, 2)
        self.assertEqual(data.squared(), 4)
        data.number = 5
        self.assertEqual(data.squared(), 25)
        self.assertEqual(in_thread(lambda: data.squared()), 4)
        del data.number
        self.assertEqual(data.number, 2)
        with self.assertRaises(AttributeError):
            del data.number  # the class attribute is not this thread's to delete
        MyLocal.added_later = "default"
        self.assertEqual(data.added_later, "default")
        data.squared = "shadowed in this thread"
        self.assertEqual(data.squared, "shadowed in this thread")
        self.assertEqual(in_thread(lambda: data.squared()), 4)

    def test_data_descriptors_win(self):
        class WithProperty(tlslocal.local):
            @property
            def doubled(self):
                return self.base * 2

            @doubled.setter
            def doubled(self, value):
                self.base = value // 2

        data = WithProperty()
        data.doubled = 10
        self.assertEqual(data.base, 5)
        self.assertEqual(data.doubled, 10)
        self.assertNotIn("doubled", data.__dict__)
        with self.assertRaises(AttributeError):
            del data.doubled

    def test_getattr_hook(self):
        class Fallback(tlslocal.local):
            def __getattr__(self, name):
                return f"fallback:{name}"

        data = Fallback()
        self.assertEqual(data.anything, "fallback:anything")
        data.anything = 1
        self.assertEqual(data.anything, 1)

    def test_slots_are_shared(self):
        class MyLocal(tlslocal.local):
            __slots__ = ("number",)

        data = MyLocal()
        data.number = 42
        data.color = "red"

        def other():
            self.assertEqual(data.number, 42)
            self.assertFalse(hasattr(data, "color"))
            data.number = 11

        in_thread(other)
        self.assertEqual(data.number, 11)
        self.assertEqual(data.__dict__, {"color": "red"})
        del data.number
        self.assertFalse(hasattr(data, "number"))

    def test_mixin_and_deeper_subclass(self):
        class Mixin:
            greeting = "hello"

            def greet(self):
                return f"{self.greeting}, {self.name}"

        class Base(Mixin, tlslocal.local):
            def __init__(self, name):
                self.name = name

        class Derived(Base):
            greeting = "hi"

        data = Derived("main")
        self.assertEqual(data.greet(), "hi, main")
        self.assertEqual(in_thread(data.greet), "hi, main")
        self.assertIsInstance(data, tlslocal.local)


def _shapes(base):
    """A local class and subclasses of each shape over base (tlslocal.local or threading.local)."""
    from collections.abc import MutableMapping

    class Sub(base):
        pass

    class Slotted(base):
        __slots__ = ()

    class Deeper(Sub):
        def __init__(self):
            self.ready = True

    class Mapping(base, MutableMapping):  # an ABC mixin, as real code mixes them in
        __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = None

    return {"base": base, "subclass": Sub, "slotted": Slotted, "deeper": Deeper, "mixin": Mapping}


def _outcome(function, *args):
    try:
        function(*args)
    except Exception as error:  # the type is the outcome compared
        return type(error).__name__
    return "ok"


class ObjectSetattrTests(unittest.TestCase):
    def test_is_a_threading_local(self):
        self.assertTrue(issubclass(tlslocal.local, threading.local))
        self.assertIsInstance(_shapes(tlslocal.local)["deeper"](), threading.local)

    def test_object_setattr_and_delattr_as_on_threading_local(self):
        """object.__setattr__ and object.__delattr__ on locals of each shape do what they do on
        threading.local's, on this interpreter: TypeError on CPython 3.8-3.12 (before, a subclass
        took the write into an instance dictionary all threads shared, which no read saw). In
        four threads at once, many times; a value set that way is never an attribute."""
        ours, theirs = _shapes(tlslocal.local), _shapes(threading.local)
        errors = []

        def outcomes(classes):
            seen = []
            for shape, cls in classes.items():
                obj = cls()
                obj.kept = 1
                seen.append((shape,
                             _outcome(object.__setattr__, obj, "x", 1),
                             hasattr(obj, "x"),
                             _outcome(object.__delattr__, obj, "kept"),
                             _outcome(object.__delattr__, obj, "never")))
            return seen

        def worker():
            for _ in range(50):
                mine, expected = outcomes(ours), outcomes(theirs)
                if mine != expected:
                    errors.append((mine, expected))
                    return

        run_threads([worker] * 4)
        self.assertEqual(errors, [])
        shared = ours["subclass"]()
        _outcome(object.__setattr__, shared, "x", 1)
        self.assertFalse(hasattr(shared, "x"))
        self.assertFalse(in_thread(hasattr, shared, "x"))
        if sys.version_info < (3, 13):
            self.assertEqual({row[1] for row in outcomes(ours)}, {"TypeError"})


class DictTests(unittest.TestCase):
    def test_dict_attribute(self):
        # CPython's _test_dict_attribute, for the class and a subclass
        class LocalSubclass(tlslocal.local):
            pass

        for cls in (tlslocal.local, LocalSubclass):
            obj = cls()
            obj.x = 5
            self.assertEqual(obj.__dict__, {"x": 5})
            with self.assertRaises(AttributeError):
                obj.__dict__ = {}
            with self.assertRaises(AttributeError):
                del obj.__dict__

    def test_dict_is_this_threads_dict(self):
        data = tlslocal.local()
        data.a = 1
        d = data.__dict__
        self.assertIsInstance(d, dict)
        self.assertIs(data.__dict__, d)
        self.assertIs(vars(data), d)
        d["b"] = [2]
        self.assertEqual(data.b, [2])
        data.c = 3
        self.assertEqual(d["c"], 3)
        self.assertEqual(list(d), ["a", "b", "c"])
        self.assertEqual(dict(d), {"a": 1, "b": [2], "c": 3})
        self.assertEqual({**d}, {"a": 1, "b": [2], "c": 3})
        del d["a"]
        self.assertFalse(hasattr(data, "a"))
        self.assertEqual(d.setdefault("widgets", []), [])
        self.assertEqual(data.widgets, [])
        d.update({"u": 1}, v=2)
        self.assertEqual((data.u, data.v), (1, 2))
        self.assertEqual(d.pop("u"), 1)
        self.assertEqual(d.pop("u", "gone"), "gone")
        self.assertEqual(d.popitem(), ("v", 2))
        data.dir_visible = 1
        self.assertIn("dir_visible", dir(data))
        d.clear()
        self.assertEqual(len(d), 0)
        self.assertEqual(data.__dict__, {})
        self.assertEqual(in_thread(lambda: data.__dict__), {})
        self.assertIsNot(in_thread(lambda: data.__dict__), d)

    def test_dict_from_another_thread_is_read_only(self):
        data = tlslocal.local()
        data.x = 1
        d = data.__dict__

        def other():
            self.assertEqual(d["x"], 1)  # the owner's last contents
            with self.assertRaises(RuntimeError):
                d["x"] = 2

        in_thread(other)
        self.assertEqual(data.x, 1)

    def test_non_string_and_odd_keys(self):
        data = tlslocal.local()
        d = data.__dict__
        d[1] = "int key"
        setattr(data, "nul\0inside", "kept in Python")
        setattr(data, "surrogate\udc80", "kept in Python too")
        self.assertEqual(d[1], "int key")
        self.assertEqual(getattr(data, "nul\0inside"), "kept in Python")
        self.assertEqual(getattr(data, "surrogate\udc80"), "kept in Python too")
        self.assertEqual(len(d), 3)
        delattr(data, "nul\0inside")
        self.assertFalse(hasattr(data, "nul\0inside"))


class LifetimeTests(unittest.TestCase):
    def test_local_refs(self):
        # CPython's test_local_refs: a thread's values go when it ends
        for n in (20, 50, 100):
            local = tlslocal.local()
            weaklist = []

            def target():
                weak = Weak()
                local.weak = weak
                weaklist.append(weakref.ref(weak))

            for _ in range(n):
                run_threads([target])
            gc.collect()
            self.assertEqual(len(weaklist), n)
            self.assertEqual([w for w in weaklist if w() is not None], [])

    def test_thread_end_releases_values_python_and_c(self):
        before = settled_stats()["dicts"]
        local = tlslocal.local()
        refs = []
        ready, finish = threading.Barrier(9), threading.Event()

        def target(i):
            weak = Weak()
            local.object = weak
            local.number = i * 1000
            local.text = f"thread {i}"
            refs.append(weakref.ref(weak))
            ready.wait()
            finish.wait()

        threads = [threading.Thread(target=target, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        ready.wait()
        self.assertEqual(tlslocal.stats()["dicts"], before + 8)
        self.assertTrue(all(ref() is not None for ref in refs))
        finish.set()
        for thread in threads:
            thread.join()
        self.assertTrue(wait_for(lambda: all(ref() is None for ref in refs)))
        self.assertTrue(wait_for(lambda: tlslocal.stats()["dicts"] == before))

    def test_destroying_the_local_frees_every_thread(self):
        before = settled_stats()
        box = [tlslocal.local()]  # the threads use the local through box only
        refs = []
        ready, finish = threading.Barrier(5), threading.Event()

        def target():
            weak = Weak()
            box[0].object = weak
            box[0].number = 10 ** 6
            refs.append(weakref.ref(weak))
            del weak
            ready.wait()
            finish.wait()

        threads = [threading.Thread(target=target) for _ in range(4)]
        for thread in threads:
            thread.start()
        ready.wait()
        box[0].number = 7
        self.assertEqual(tlslocal.stats()["locals"], before["locals"] + 1)
        self.assertEqual(tlslocal.stats()["dicts"], before["dicts"] + 5)
        box.clear()
        gc.collect()
        # The threads still run, but their dictionaries and values are gone.
        self.assertEqual([ref for ref in refs if ref() is not None], [])
        self.assertEqual(tlslocal.stats()["locals"], before["locals"])
        self.assertEqual(tlslocal.stats()["dicts"], before["dicts"])
        finish.set()
        for thread in threads:
            thread.join()

    def test_cycle_collection(self):
        # CPython's test_cycle_collection
        class X:
            pass

        x = X()
        x.local = tlslocal.local()
        x.local.x = x
        wr = weakref.ref(x)
        del x
        gc.collect()
        self.assertIsNone(wr())

    def test_cycle_through_subclass_and_threads(self):
        before = tlslocal.stats()["locals"]

        class Node(tlslocal.local):
            def __init__(self):
                self.me = self

        node = Node()
        in_thread(getattr, node, "me")
        wr = weakref.ref(node)
        node.other = [node]
        del node
        gc.collect()
        self.assertIsNone(wr())
        self.assertEqual(tlslocal.stats()["locals"], before)

    def test_derived_cycle_dealloc(self):
        # CPython's test_derived_cycle_dealloc (issue 6990): a new local at a reused address is
        # empty
        class Local(tlslocal.local):
            pass

        locals_ = None
        passed = False
        e1, e2 = threading.Event(), threading.Event()

        def f():
            nonlocal passed
            cycle = [Local()]
            cycle.append(cycle)
            cycle[0].foo = "bar"
            del cycle
            gc.collect()
            e1.set()
            e2.wait()
            passed = all(not hasattr(local, "foo") for local in locals_)

        t = threading.Thread(target=f)
        t.start()
        e1.wait()
        locals_ = [Local() for _ in range(10)]
        e2.set()
        t.join()
        self.assertTrue(passed)

    def test_finalizers_writing_the_same_key_leak_nothing(self):
        # Finalizers run at any allocation (through gc) and here write the very key being set: each
        # TlValue reference must still be released exactly once.
        before = settled_stats()
        data = tlslocal.local()
        box = [data]
        writes = []

        class Reenter:
            def __init__(self):
                self.cycle = self  # freed by the collector, at some later allocation

            def __del__(self):
                for local in box:
                    writes.append(1)
                    local.x = 10 ** 6 + len(writes)
                    local.y = [len(writes), "text"]
                    local.z = Weak()

        threshold = gc.get_threshold()
        gc.set_threshold(1)
        try:
            for i in range(3000):
                data.x = Reenter()
                data.y = 10 ** 7 + i
                data.x = f"value {i}"
                del data.y
                if i % 100 == 0:
                    data.__dict__
        finally:
            gc.set_threshold(*threshold)
        gc.collect()
        self.assertGreater(len(writes), 1000)
        box.clear()
        del data, Reenter
        gc.collect()
        after = settled_stats()
        self.assertEqual(after["values"], before["values"])
        self.assertEqual(after["locals"], before["locals"])

    def test_many_locals(self):
        before = settled_stats()
        locals_ = [tlslocal.local() for _ in range(2000)]
        for i, local in enumerate(locals_):
            local.i = i
        self.assertEqual([local.i for local in locals_], list(range(2000)))
        del locals_, local
        gc.collect()
        self.assertEqual(tlslocal.stats()["locals"], before["locals"])
        self.assertEqual(tlslocal.stats()["dicts"], before["dicts"])


class ManyThreadsTests(unittest.TestCase):
    @needs_helper
    def test_many_threads(self):
        class Counter(tlslocal.local):
            def __init__(self, start):
                self.count = start
                self.trace = []

        counter = Counter(100)
        plain = tlslocal.local()
        n_threads, rounds = 48, 300
        barrier = threading.Barrier(n_threads)
        errors = []

        def worker(i):
            try:
                barrier.wait()
                for r in range(rounds):
                    counter.count += 1
                    counter.trace.append(r)
                    plain.last = (i, r)
                    plain.tag = f"worker-{i}"
                    if r % 50 == 0:
                        # C code on this thread sees this thread's values only
                        if helper.describe(plain, "tag") != f"s|'worker-{i}'":
                            errors.append(("C saw", i, helper.describe(plain, "tag")))
                        if helper.describe(counter, "count") != f"x|{100 + r + 1}":
                            errors.append(("C count", i, helper.describe(counter, "count")))
                    if r % 7 == 0:
                        del plain.tag
                if counter.count != 100 + rounds or counter.trace != list(range(rounds)):
                    errors.append(("count", i, counter.count))
                if plain.last != (i, rounds - 1):
                    errors.append(("last", i, plain.last))
            except BaseException as error:  # reported below
                errors.append(("exception", i, repr(error)))

        run_threads([lambda i=i: worker(i) for i in range(n_threads)], timeout=60)
        self.assertEqual(errors, [])
        self.assertEqual(counter.count, 100)
        self.assertFalse(hasattr(plain, "last"))


class DropInTests(unittest.TestCase):
    def test_threading_local_replaced_at_startup(self):
        """threading.local = tlslocal.local before anything else uses it, as a whole program swaps
        it (asyncio's policy then keeps its loops in a tlslocal.local subclass): making locals
        through either name, from many threads, finishes. The binding's own per-thread state once
        looked threading.local up at call time and deadlocked on its first local. Each run in a
        fresh interpreter, whose timeout fails a hang."""
        code = """
            import threading, tlslocal
            threading.local = tlslocal.local
            class Policy(threading.local):
                loop = None
            policy = Policy()
            made, barrier = [], threading.Barrier(8)
            def worker(i):
                barrier.wait()
                for n in range(50):
                    mine = threading.local()
                    mine.n = n
                    policy.loop = (i, n)
                    made.append(isinstance(mine, tlslocal.local) and mine.n == n
                                and policy.loop == (i, n))
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(len(made), all(made), policy.loop)
        """
        for _ in range(5):
            result = run_python(code, timeout=60)
            self.assertEqual((result.returncode, result.stderr), (0, ""))
            self.assertEqual(result.stdout, "400 True None\n")


if __name__ == "__main__":
    unittest.main()
