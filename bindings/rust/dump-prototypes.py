#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Print tlslocal-sys's prototype table as JSON for tests/check-binding-prototypes.py's `table`
mode, read from the extern "C" block of tlslocal-sys/src/lib.rs (the binding's only declarations
of the C API; rustc checks every call against them).

    dump-prototypes.py [PATH/TO/tlslocal-sys/src/lib.rs]

Kinds: raw pointers, Option<callback> and the callback type aliases are "pointer"; c_int/i32 int32,
c_uint/u32 uint32, the fixed-width integers by width (and `pub type` aliases of them, such as
TlQuark), usize as size_t is on this machine, f64 double, no return type void."""
import ctypes
import json
import os
import re
import sys

USIZE = f"uint{ctypes.sizeof(ctypes.c_size_t) * 8}"
KINDS = {"c_int": "int32", "c_uint": "uint32", "i8": "int8", "u8": "uint8", "i16": "int16",
         "u16": "uint16", "i32": "int32", "u32": "uint32", "i64": "int64", "u64": "uint64",
         "usize": USIZE, "isize": USIZE.replace("u", ""), "f64": "double", "f32": "float",
         "c_char": "int8", "()": "void"}


def kind(rust_type, callbacks):
    rust_type = rust_type.strip()
    if rust_type.startswith("*") or rust_type.startswith("Option<") or rust_type in callbacks:
        return "pointer"
    if rust_type in KINDS:
        return KINDS[rust_type]
    raise SystemExit(f"dump-prototypes.py: unknown Rust type {rust_type!r}: teach it its kind")


def split_top(text):
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, "<": 1, ")": -1, ">": -1}.get(char, 0)
        current += char
    return [part.strip() for part in parts + [current] if part.strip()]


def main(path):
    with open(path, encoding="utf-8") as f:
        code = re.sub(r"//[^\n]*", "", f.read())
    callbacks = set(re.findall(r"pub type (\w+)\s*=\s*unsafe extern \"C\" fn", code))
    # Integer aliases (TlQuark = u32) travel as their base type.
    aliases = dict(re.findall(r"pub type (\w+)\s*=\s*(\w+)\s*;", code))
    KINDS.update({alias: KINDS[base] for alias, base in aliases.items() if base in KINDS})
    blocks = re.findall(r'extern "C" \{(.*?)\n\}', code, flags=re.S)
    if len(blocks) != 1:
        raise SystemExit(f"expected one extern \"C\" block in {path}, found {len(blocks)}")
    functions = {}
    for name, params, result in re.findall(
            r"pub fn (\w+)\s*\(((?:[^()]|\([^()]*\))*)\)\s*(?:->\s*([^;]+?))?\s*;", blocks[0]):
        if name in functions:
            raise SystemExit(f"{name} declared twice")
        # "*mut T" as a pointer to a pointer ("*mut *mut T") keeps its leading "*": still pointer.
        arguments = [kind(param.split(":", 1)[1], callbacks) for param in split_top(params)]
        functions[name] = {"result": kind(result or "()", callbacks), "arguments": arguments}
    json.dump({"functions": functions, "not_bound": {}}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "tlslocal-sys", "src", "lib.rs"))
