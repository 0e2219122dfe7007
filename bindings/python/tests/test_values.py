# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python <-> GVariant mapping, checked from both sides: what C code reads (tl_local_get through
the C helper) for each Python value, and what Python reads for each value C code stores."""

import ctypes
import math
import unittest
import weakref

import tlslocal
from support import helper, needs_helper


@needs_helper
class PythonToC(unittest.TestCase):
    def setUp(self):
        self.data = tlslocal.local()

    def c_reads(self, value):
        self.data.v = value
        self.assertIs(self.data.v, value)  # Python gets its own object back, whatever C holds
        return helper.describe(self.data, "v")

    def test_scalars(self):
        cases = [
            (True, "b|true"), (False, "b|false"),
            (0, "x|0"), (-5, "x|-5"), (256, "x|256"), (257, "x|257"),
            (-6, "x|-6"), (2 ** 31 - 1, "x|2147483647"), (2 ** 31, "x|2147483648"),
            (-(2 ** 31), "x|-2147483648"), (-(2 ** 31) - 1, "x|-2147483649"),
            (-(2 ** 63), "x|-9223372036854775808"),
            (2 ** 63 - 1, "x|9223372036854775807"),
            (2 ** 63, "t|9223372036854775808"), (2 ** 64 - 1, "t|18446744073709551615"),
            (1.5, "d|1.5"), (-0.0, "d|-0.0"), (1e300, "d|1.0000000000000001e+300"),
            ("", "s|''"), ("hé €", "s|'hé €'"), ("it's", 's|"it\'s"'),
            (b"", "ay|[]"), (b"abc", "ay|[0x61, 0x62, 0x63]"),
            (None, "mv|nothing"),
        ]
        for value, expected in cases:
            with self.subTest(value=value):
                self.assertEqual(self.c_reads(value), expected)

    def test_int64_marshalling_both_ways(self):
        # The attribute path passes ints in [-2**31, 2**31) untyped where libffi widens them
        # (_ffi.INT32_WIDENS), typed otherwise; both bindings must store the same value.
        from tlslocal import _ffi
        typed = _ffi.lib["tl_local_set_int64"]
        typed.restype = ctypes.c_int
        typed.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64)
        handle = tlslocal.address(self.data)
        for value in (-(2 ** 31), -70000, -1, 0, 1, 65537, 2 ** 31 - 1):
            with self.subTest(value=value):
                self.assertEqual(_ffi.fast.set_int64_int32(_ffi.pointer_arg(handle), b"a", value), 0)
                self.assertEqual(typed(handle, b"b", value), 0)
                self.assertEqual(helper.describe(self.data, "a"), f"x|{value}")
                self.assertEqual(helper.describe(self.data, "b"), f"x|{value}")

    def test_bool_is_not_int(self):
        for value, c_type in ((1, "x"), (True, "b"), (0, "x"), (False, "b")):
            self.c_reads(value)
            self.assertEqual(helper.c_type(self.data, "v"), c_type)

    def test_bytes_keep_nul(self):
        self.assertEqual(self.c_reads(b"a\0b\xff"), "ay|[0x61, 0x00, 0x62, 0xff]")
        helper.set_text(self.data, "w", "[byte 0x61, 0x00, 0x62, 0xff]", "ay")
        self.assertEqual(self.data.w, b"a\0b\xff")
        # GVariant's text form b'...' is a C string: its value carries the terminating NUL.
        helper.set_text(self.data, "w", "b'text'")
        self.assertEqual(self.data.w, b"text\0")

    def test_floats(self):
        for value in (math.inf, -math.inf, math.nan, 5e-324):
            with self.subTest(value=value):
                self.assertEqual(self.c_reads(value)[:2], "d|")

    def test_containers(self):
        cases = [
            ((), "()|()"),
            ((1, "a", None), "(xsmv)|(1, 'a', nothing)"),
            ([1, 2, 3], "ax|[1, 2, 3]"),
            (["a", "b"], "as|['a', 'b']"),
            ([1, "a"], "av|[<int64 1>, <'a'>]"),
            ([True, 1], "av|[<true>, <int64 1>]"),
            ([1, 2 ** 63], "av|[<int64 1>, <uint64 9223372036854775808>]"),
            ([], "av|[]"),
            ([[1], [2, 3]], "aax|[[1], [2, 3]]"),
            ([[1], ["a"]], "av|[<[int64 1]>, <['a']>]"),
            ([(1, "a"), (2, "b")], "a(xs)|[(1, 'a'), (2, 'b')]"),
            ([None, None], "amv|[nothing, nothing]"),
            ({}, "a{sv}|{}"),
            ({"a": 1, "b": [1.5]}, "a{sv}|{'a': <int64 1>, 'b': <[1.5]>}"),
            ({"nested": {"deeper": (b"x",)}}, "a{sv}|{'nested': <{'deeper': <([byte 0x78],)>}>}"),
        ]
        for value, expected in cases:
            with self.subTest(value=value):
                self.assertEqual(self.c_reads(value), expected)

    def test_container_copy_is_taken_at_assignment(self):
        items = [1, 2]
        self.data.items = items
        items.append(3)
        self.assertEqual(self.data.items, [1, 2, 3])  # Python: the same list
        self.assertEqual(helper.describe(self.data, "items"), "ax|[1, 2]")  # C: the copy
        self.data.items = items  # assigning again publishes the change
        self.assertEqual(helper.describe(self.data, "items"), "ax|[1, 2, 3]")

    def test_values_without_a_gvariant_form_stay_in_python(self):
        class Thing:
            pass

        cases = [
            2 ** 64, -(2 ** 63) - 1, 10 ** 30,  # beyond 64 bits
            "nul\0inside", "lone \udc80 surrogate",
            {1: "int key"}, {"ok": 1, 2: "mixed keys"}, {"bad\0key": 1},
            [1, Thing()], (Thing(),), {"a": [object()]},
            Thing(), object(), 1j, bytearray(b"x"), {1, 2}, frozenset(), range(3), len,
        ]
        deep = []
        for _ in range(100):
            deep = [deep]
        cases.append(deep)
        for value in cases:
            with self.subTest(value=repr(value)[:40]):
                description = self.c_reads(value)
                self.assertTrue(description.startswith("p|"), description)

    def test_python_objects_released_on_overwrite_and_delete(self):
        class Thing:
            pass

        thing = Thing()
        ref = weakref.ref(thing)
        self.data.thing = thing
        del thing
        self.assertIsNotNone(ref())
        self.data.thing = 1
        self.assertIsNone(ref())
        thing = Thing()
        ref = weakref.ref(thing)
        self.data.thing = thing
        del thing
        del self.data.thing
        self.assertIsNone(ref())

    def test_python_object_replacing_python_object(self):
        class Thing:
            pass

        first, second, third = Thing(), Thing(), Thing()
        ref = weakref.ref(first)
        self.data.thing = first
        marker = helper.describe(self.data, "thing")
        self.data.thing = second  # C's marker stays: only the Python side changes
        del first
        self.assertIsNone(ref())
        self.assertIs(self.data.thing, second)
        self.assertEqual(helper.describe(self.data, "thing"), marker)
        helper.set_text(self.data, "thing", "'C took the key'")
        self.data.thing = third  # C holds its own value now: a new marker goes in
        self.assertIs(self.data.thing, third)
        self.assertTrue(helper.describe(self.data, "thing").startswith("p|"))
        helper.set_text(self.data, "thing", "'C again'")
        self.assertEqual(self.data.thing, "C again")

    def test_subclasses_of_mapped_types(self):
        import enum

        class Color(enum.IntEnum):
            RED = 1000

        class Name(str):
            pass

        self.assertEqual(self.c_reads(Color.RED), "x|1000")
        self.assertEqual(self.c_reads(Name("n")), "s|'n'")

    def test_native_pointer(self):
        self.assertEqual(self.c_reads(ctypes.c_void_p(0x1234)), "p|0x1234")
        description = self.c_reads([ctypes.c_void_p(1)])  # a pointer cannot sit in a container
        self.assertTrue(description.startswith("p|"))
        self.assertNotEqual(description, "p|0x1")


@needs_helper
class CToPython(unittest.TestCase):
    def setUp(self):
        self.data = tlslocal.local()

    def python_reads(self, text, type_string=None):
        helper.set_text(self.data, "v", text, type_string)
        return self.data.v

    def test_scalars(self):
        cases = [
            ("true", "b", True), ("200", "y", 200), ("-300", "n", -300), ("60000", "q", 60000),
            ("-7", "i", -7), ("4000000000", "u", 4000000000), ("-9000000000", "x", -9000000000),
            ("18446744073709551615", "t", 2 ** 64 - 1), ("2.5", "d", 2.5),
            ("'hé'", "s", "hé"), ("'/org/example'", "o", "/org/example"),
            ("'a{sv}'", "g", "a{sv}"),
            ("[byte 0x62, 0x00]", "ay", b"b\0"), ("3", "h", 3), ("nothing", "mi", None),
        ]
        for text, type_string, expected in cases:
            with self.subTest(type=type_string):
                value = self.python_reads(text, type_string)
                self.assertEqual(value, expected)
                self.assertIs(type(value), type(expected))

    def test_containers(self):
        cases = [
            ("<5>", "v", 5),
            ("just 5", "mi", 5),
            ("(1, 'a', [true])", None, (1, "a", [True])),
            ("()", None, ()),
            ("@as []", None, []),
            ("['a', 'b']", None, ["a", "b"]),
            ("{'a': <1>, 'b': <'x'>}", None, {"a": 1, "b": "x"}),
            ("{1: 'one', 2: 'two'}", "a{is}", {1: "one", 2: "two"}),
            ("[[byte 0x61], []]", "aay", [b"a", b""]),
            ("{'k': <{'inner': <[1, 2]>}>}", None, {"k": {"inner": [1, 2]}}),
        ]
        for text, type_string, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(self.python_reads(text, type_string), expected)

    def test_round_trip_through_c(self):
        values = [None, True, 7, 2 ** 63 + 5, -1.25, "text", b"\0\1", (1, ("a", b"b")),
                  [1, 2], [1, "mixed", None], {"a": [1.5, 2.5], "b": {"c": None}}, {}, []]
        for value in values:
            with self.subTest(value=value):
                self.data.v = value
                text = helper.describe(self.data, "v").split("|", 1)
                # C stores the printed text back: a new value, so Python converts it
                helper.set_text(self.data, "v", text[1], text[0])
                self.assertEqual(self.data.v, value)

    def test_c_overwrites_and_deletes(self):
        self.data.x = "from python"
        helper.set_text(self.data, "x", "'from C'")
        self.assertEqual(self.data.x, "from C")
        self.data.x = 1
        self.assertEqual(self.data.x, 1)
        self.assertEqual(helper.delete(self.data, "x"), 0)
        self.assertFalse(hasattr(self.data, "x"))
        helper.set_text(self.data, "added_by_c", "42")
        self.assertEqual(self.data.__dict__, {"added_by_c": 42})

    def test_c_pointer_values(self):
        before = helper.pointers_destroyed()
        helper.set_pointer(self.data, "native", 0xBEEF)
        value = self.data.native
        self.assertIsInstance(value, ctypes.c_void_p)
        self.assertEqual(value.value, 0xBEEF)
        self.data.native = "replaced from Python"  # C's destroy function runs, no Python involved
        self.assertEqual(helper.pointers_destroyed(), before + 1)
        helper.set_pointer(self.data, "native", 0xF00D)
        self.data.native  # Python holds a reference now, too
        del self.data.native
        self.assertEqual(helper.pointers_destroyed(), before + 2)


class ErrorTests(unittest.TestCase):
    def test_error_carries_code_name_and_message(self):
        with self.assertRaises(tlslocal.Error) as caught:
            tlslocal.unregister("tlslocal-test: never registered")
        error = caught.exception
        self.assertEqual(error.code, -3)
        self.assertEqual(error.name, "TL_ERR_NOT_FOUND")
        self.assertIn("never registered", error.message)
        self.assertIn("TL_ERR_NOT_FOUND", str(error))

    def test_prototype_table_is_complete(self):
        from tlslocal import _ffi
        for name, restype, argtypes, errcheck in _ffi.PROTOTYPES:
            function = getattr(_ffi.lib, name)
            self.assertEqual(tuple(function.argtypes), tuple(argtypes), name)
            self.assertIs(function.restype, restype, name)

    def test_fast_prototypes_rebind_declared_functions(self):
        from tlslocal import _ffi
        declared = {row[0] for row in _ffi.PROTOTYPES}
        for alias, name, restype, argtypes in _ffi.FAST_PROTOTYPES:
            with self.subTest(alias=alias):
                self.assertIn(name, declared)
                function, declared_function = getattr(_ffi.fast, alias), getattr(_ffi.lib, name)
                self.assertIsNot(function, declared_function)  # its own marshalling
                self.assertEqual(ctypes.cast(function, ctypes.c_void_p).value,
                                 ctypes.cast(declared_function, ctypes.c_void_p).value)
                self.assertIs(function.restype, restype)

    def test_header_functions_all_declared(self):
        import os
        import re
        from tlslocal import _ffi
        header = os.path.join(os.path.dirname(__file__), "..", "..", "..", "libtlslocal", "tlslocal.h")
        with open(header, encoding="utf-8") as f:
            declared = set(re.findall(r"TL_API\s[^;(]*?\b(tl_\w+)\s*\(", f.read()))
        self.assertTrue(declared)
        self.assertEqual(declared - {row[0] for row in _ffi.PROTOTYPES}, set())

    def test_version(self):
        self.assertRegex(tlslocal.version(), r"^1\.\d+\.\d+$")


if __name__ == "__main__":
    unittest.main()
