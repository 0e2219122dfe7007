#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every function a binding binds has the header's arity and argument kinds, and every function of
tlslocal.h is bound, so no binding can call the library with a wrong signature.

    check-binding-prototypes.py HEADER python PACKAGE_PARENT_DIR
    check-binding-prototypes.py HEADER node NODE_EXECUTABLE PATH/TO/_ffi.js
    check-binding-prototypes.py HEADER table NAME COMMAND [ARG...]

TLSLOCAL_LIBRARY names the library the binding loads (both bindings load it at import).

The header is parsed into name -> (result kind, [argument kinds]). A kind is what decides how a value
travels in a call: "void", "pointer" (any T *, function pointers, strings), "int8".."uint64" by
width and sign ("int" is int32, an enum is int32, size_t is uint32 or uint64 as on this machine),
"double". The Python table (tlslocal/_ffi.py PROTOTYPES) is read from its ctypes types; the Node
table from what koffi itself parsed (tests/dump-node-prototypes.js), so a prototype string that koffi
reads differently from the header is caught too.

`table`: any other binding (C++, Rust, Go, Java). COMMAND prints the binding's own table as JSON:
    {"functions": {"tl_local_new": {"result": "pointer", "arguments": []}, ...},
     "not_bound": {"tl_value_visit": "why this binding leaves it out", ...}}
with kinds in the vocabulary above, read from the binding itself (its declarations parsed, or
reflection), never written by hand. A function whose entry is null instead of a prototype is one
the binding calls through tlslocal.h itself (C++, cgo): the compiler checks its signature, and
only its presence is compared. Every header function is bound or in not_bound, with a reason.

FAST_PROTOTYPES (Python's second, cheaper binding of a few functions): its C name must exist and its
result kind must match. Where it gives argtypes they are checked like PROTOTYPES, with one documented
substitution: a 64-bit integer passed as c_void_p on a 64-bit machine (the same register either way).
Where argtypes is None (deliberately untyped: ctypes converts c_void_p objects and bytes natively)
the table carries no arity to check; ctypes then passes exactly the arguments the caller gives, and
the binding's own tests exercise those call sites. tlslocal-glib.h (GVariant interop for C users) is
not bound by either binding and is not compared.
"""
import ctypes
import json
import os
import re
import subprocess
import sys

SIZE_T = f"uint{ctypes.sizeof(ctypes.c_size_t) * 8}"
C_BASE_KINDS = {
    "void": "void", "double": "double", "float": "float",
    "int": "int32", "signed int": "int32", "signed": "int32",
    "unsigned int": "uint32", "unsigned": "uint32",
    "int8_t": "int8", "uint8_t": "uint8", "int16_t": "int16", "uint16_t": "uint16",
    "int32_t": "int32", "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64",
    "size_t": SIZE_T,
    "long": f"int{ctypes.sizeof(ctypes.c_long) * 8}",
    "unsigned long": f"uint{ctypes.sizeof(ctypes.c_ulong) * 8}",
}
QUALIFIERS = {"const", "volatile", "struct", "enum", "TL_API"}


def strip_c(text):
    """The header without comments and preprocessor lines (continued ones included)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)


def split_params(params):
    parts, depth, current = [], 0, ""
    for char in params:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return [part.strip() for part in parts + [current] if part.strip()]


class Header:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            code = strip_c(f.read())
        # Function-pointer typedefs pass as pointers, enums as int, opaque structs only by pointer.
        self.typedefs = {name: "pointer" for name in
                         re.findall(r"typedef[^;{}]*?\(\s*\*\s*(\w+)\s*\)\s*\([^;]*\)\s*;", code)}
        self.typedefs.update({name: "int32" for name in
                              re.findall(r"typedef\s+enum\s*\w*\s*\{[^}]*\}\s*(\w+)\s*;", code)})
        self.opaque = set(re.findall(r"typedef\s+struct\s+\w+\s+(\w+)\s*;", code))
        # Integer aliases (TlQuark) travel as their base type.
        self.typedefs.update({name: C_BASE_KINDS[base] for base, name in
                              re.findall(r"typedef\s+(\w+)\s+(\w+)\s*;", code)
                              if base in C_BASE_KINDS})
        self.functions = {}
        for result, name, params in re.findall(
                r"\bTL_API\b([^;{}()]*?)\b(tl_\w+)\s*\(((?:[^()]|\([^()]*\))*)\)\s*;", code):
            params = split_params(params)
            if params == ["void"]:
                params = []
            self.functions[name] = (self.kind(result, name, is_result=True),
                                    [self.kind(param, name) for param in params])

    def kind(self, declaration, function, is_result=False):
        if "*" in declaration or "[" in declaration or "(" in declaration:
            return "pointer"
        words = [w for w in re.findall(r"\w+", declaration) if w not in QUALIFIERS]
        if not is_result and len(words) > 1:
            words = words[:-1]  # the parameter's name
        base = " ".join(words)
        if base in C_BASE_KINDS:
            return C_BASE_KINDS[base]
        if base in self.typedefs:
            return self.typedefs[base]
        if base in self.opaque:
            raise SystemExit(f"{function}: opaque type {base} passed by value")
        raise SystemExit(f"{function}: unknown type {declaration.strip()!r}: teach "
                         "check-binding-prototypes.py its kind")


def ctypes_kind(ctype):
    if ctype is None:
        return "void"
    if isinstance(ctype, type) and issubclass(ctype, (ctypes._Pointer, ctypes._CFuncPtr)):
        return "pointer"
    code = getattr(ctype, "_type_", None)
    if code in ("P", "z", "Z"):
        return "pointer"
    size = ctypes.sizeof(ctype)
    if code in ("f", "d", "g"):
        return {4: "float", 8: "double"}.get(size, f"float{size * 8}")
    if code == "?":
        return "bool"
    if isinstance(code, str) and code in "bBhHiIlLqQ":
        return ("int" if code.islower() else "uint") + str(size * 8)
    return f"unknown ctypes type {ctype!r}"


KOFFI_KINDS = {"Void": "void", "Pointer": "pointer", "String": "pointer", "String16": "pointer",
               "String32": "pointer", "Callback": "pointer", "Float32": "float",
               "Float64": "double", "Bool": "bool"}


def koffi_kind(type_info):
    primitive = type_info["primitive"]
    if primitive in KOFFI_KINDS:
        return KOFFI_KINDS[primitive]
    match = re.fullmatch(r"(U?)Int(\d+)(?:[LB]E)?", primitive)
    if match:
        return ("uint" if match.group(1) else "int") + match.group(2)
    return f"unknown koffi type {type_info['name']} ({primitive})"


def compare(where, name, expected, result, arguments, problems):
    want_result, want_args = expected
    if result != want_result:
        problems.append(f"{where} {name}: returns {result}, the header says {want_result}")
    if len(arguments) != len(want_args):
        problems.append(f"{where} {name}: {len(arguments)} arguments, the header has "
                        f"{len(want_args)} ({', '.join(want_args) or 'none'})")
        return
    for index, (got, want) in enumerate(zip(arguments, want_args)):
        if got != want:
            problems.append(f"{where} {name}: argument {index + 1} is {got}, the header says {want}")


def check_python(header, package_parent, problems):
    sys.path.insert(0, package_parent)
    from tlslocal import _ffi  # loads TLSLOCAL_LIBRARY and binds every prototype

    bound = set()
    for name, restype, argtypes, _errcheck in _ffi.PROTOTYPES:
        if name not in header.functions:
            problems.append(f"python PROTOTYPES {name}: not declared in tlslocal.h")
            continue
        if name in bound:
            problems.append(f"python PROTOTYPES {name}: declared twice")
        bound.add(name)
        compare("python PROTOTYPES", name, header.functions[name], ctypes_kind(restype),
                [ctypes_kind(t) for t in argtypes], problems)
    for name in sorted(set(header.functions) - bound):
        problems.append(f"python PROTOTYPES: {name} of tlslocal.h is not bound")

    pointer_bits = ctypes.sizeof(ctypes.c_void_p) * 8
    untyped = []
    for alias, name, restype, argtypes in _ffi.FAST_PROTOTYPES:
        where = f"python FAST_PROTOTYPES {alias}"
        if name not in header.functions:
            problems.append(f"{where}: {name} is not declared in tlslocal.h")
            continue
        want_result, want_args = header.functions[name]
        if argtypes is None:
            untyped.append(alias)
            if ctypes_kind(restype) != want_result:
                problems.append(f"{where} {name}: returns {ctypes_kind(restype)}, the header says "
                                f"{want_result}")
            continue
        kinds = [ctypes_kind(t) for t in argtypes]
        # The documented fast-path substitution: a 64-bit integer as c_void_p, same register.
        kinds = [want if got == "pointer" and want in ("int64", "uint64") and pointer_bits == 64
                 else got for got, want in zip(kinds, want_args)] + kinds[len(want_args):]
        compare(where, name, (want_result, want_args), ctypes_kind(restype), kinds, problems)
    return (f"python: {len(bound)} PROTOTYPES, {len(_ffi.FAST_PROTOTYPES)} FAST_PROTOTYPES "
            f"({len(untyped)} untyped, arity not in the table: {', '.join(untyped)})")


def check_node(header, node, ffi_js, problems):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    modules = os.path.join(here, "..", "bindings", "node", "node_modules")
    env["NODE_PATH"] = os.pathsep.join(filter(None, [os.path.abspath(modules),
                                                     env.get("NODE_PATH")]))
    result = subprocess.run([node, os.path.join(here, "dump-node-prototypes.js"), ffi_js],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        problems.append(f"node: could not load the binding's table: {result.stderr.strip()}")
        return "node: not loaded"
    table = json.loads(result.stdout)
    for name, info in table.items():
        if name not in header.functions:
            problems.append(f"node PROTOTYPES {name}: not declared in tlslocal.h")
            continue
        compare("node PROTOTYPES", name, header.functions[name], koffi_kind(info["result"]),
                [koffi_kind(a) for a in info["arguments"]], problems)
    for name in sorted(set(header.functions) - set(table)):
        problems.append(f"node PROTOTYPES: {name} of tlslocal.h is not bound")
    return f"node: {len(table)} PROTOTYPES"


def check_table(header, name, command, problems):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        problems.append(f"{name}: could not read the binding's table: {result.stderr.strip()}")
        return f"{name}: not read"
    table = json.loads(result.stdout)
    functions, not_bound = table.get("functions", {}), table.get("not_bound", {})
    checked = 0
    for function, info in functions.items():
        if function not in header.functions:
            problems.append(f"{name} {function}: not declared in tlslocal.h")
            continue
        if info is None:  # called through tlslocal.h: the compiler checked it
            continue
        checked += 1
        compare(name, function, header.functions[function], info["result"], info["arguments"],
                problems)
    for function, reason in not_bound.items():
        if function not in header.functions:
            problems.append(f"{name} not_bound {function}: not declared in tlslocal.h")
        elif function in functions:
            problems.append(f"{name} not_bound {function}: bound all the same")
        elif not str(reason).strip():
            problems.append(f"{name} not_bound {function}: no reason given")
    for function in sorted(set(header.functions) - set(functions) - set(not_bound)):
        problems.append(f"{name}: {function} of tlslocal.h is neither bound nor in not_bound")
    return (f"{name}: {len(functions)} bound ({checked} prototypes compared), "
            f"{len(not_bound)} left out")


def main(argv):
    header = Header(argv[0])
    if len(header.functions) < 60:
        print(f"only {len(header.functions)} declarations parsed: the header parser is broken")
        return 1
    problems = []
    if argv[1] == "python":
        summary = check_python(header, argv[2], problems)
    elif argv[1] == "node":
        summary = check_node(header, argv[2], argv[3], problems)
    elif argv[1] == "table" and len(argv) >= 4:
        summary = check_table(header, argv[2], argv[3:], problems)
    else:
        print(__doc__)
        return 2
    for problem in problems:
        print(problem)
    print(f"tlslocal.h: {len(header.functions)} functions; {summary}; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
