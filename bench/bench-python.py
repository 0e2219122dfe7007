#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench-python: attribute get and set on tlslocal.local against CPython's threading.local (C), the
pure-Python _threading_local.local and a plain object (an instance of an empty class: the floor),
measured in one run. tlslocal is measured on both its paths, side by side: "tlslocal" is what
`import tlslocal` gives (the compiled accelerator, tlslocal._speedups, when it is importable), and
"tlslocal (ctypes)" the portable pure path, the class the accelerated one derives from (the same
class `import tlslocal` gives with TLSLOCAL_PURE_PYTHON=1). Without the accelerator only the
ctypes row is measured, and says so.

Every (operation, implementation) pair is timed in every round, round-robin with the starting pair
rotated each round, so drift in clock speed or machine load spreads over all of them; each reports
the median of its rounds. Statements are unrolled ten times per loop iteration so the loop itself
weighs little. Runs on a freshly created thread, as a worker would.

Operations:
  get            obj.x, an int the thread set earlier
  get str        obj.s, a str the thread set earlier
  set small int  obj.x = 1 (small ints, bools and None are made once: no value allocation)
  set int        obj.x = 10**6 + k, ten different ints (a new TlValue each time)
  set str        obj.s = "request-00k", ten different strings
  set object     obj.o = an object without a GVariant form (kept on the Python side)
  get/set sub    the same on a subclass (its class namespace is searched on every access)

  TLSLOCAL_LIBRARY=build/libtlslocal/libtlslocal.so.1 \\
      PYTHONPATH=build/bindings/python:bindings/python \\
      python3 bench/bench-python.py [--quick] [--rounds N] [--csv PATH]

(build/bindings/python holds the accelerator meson built for each interpreter.)

The CSV has bench/run-all.py's schema: section,case,impl,median,p25,p75,min,max,unit,rounds.

Copyright the libtlslocal authors.
"""

import argparse
import csv
import os
import platform
import statistics
import sys
import threading
import timeit
import _threading_local

import tlslocal
from tlslocal import _local


class Plain:
    """The floor: an ordinary object's attribute, shared by every thread."""


PURE = "tlslocal (ctypes)"
IMPLEMENTATIONS = ([("tlslocal", tlslocal.local)] if tlslocal.ACCELERATED else []) + [
    (PURE, _local._pure_local),
    ("threading", threading.local),
    ("_threading_local", _threading_local.local),
    ("plain object", Plain),
]
UNROLL = 10


def unrolled(template):
    return "; ".join(template.format(k=k) for k in range(UNROLL))


# (label, setup statement, measured statement, on a subclass?)
OPERATIONS = [
    ("get", "obj.x = 12345", unrolled("obj.x"), False),
    ("get str", "obj.s = 'request-001'", unrolled("obj.s"), False),
    ("set small int", "", unrolled("obj.x = 1"), False),
    ("set int", "", unrolled("obj.x = 100000{k}"), False),
    ("set str", "", unrolled("obj.s = 'request-00{k}'"), False),
    ("set object", "things = [Thing() for _ in range(10)]", unrolled("obj.o = things[{k}]"), False),
    ("get (subclass)", "obj.x = 12345", unrolled("obj.x"), True),
    ("set int (subclass)", "", unrolled("obj.x = 100000{k}"), True),
]


class Thing:
    pass


def make_timers():
    timers = {}
    for label, setup, statement, subclass in OPERATIONS:
        for name, cls in IMPLEMENTATIONS:
            if subclass:
                cls = type("Sub", (cls,), {})
            namespace = {"obj": cls(), "Thing": Thing}
            exec(setup, namespace)
            timers[label, name] = timeit.Timer(statement, globals=namespace)
    return timers


def calibrate(timer, target_seconds):
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target_seconds / 4:
            return max(1, int(number * target_seconds / elapsed))
        number *= 4


def measure(rounds, seconds_per_sample):
    timers = make_timers()
    keys = list(timers)
    numbers = {key: calibrate(timers[key], seconds_per_sample) for key in keys}
    samples = {key: [] for key in keys}
    for round_index in range(rounds):
        start = round_index % len(keys)
        for key in keys[start:] + keys[:start]:
            elapsed = timers[key].timeit(numbers[key])
            samples[key].append(elapsed / (numbers[key] * UNROLL) * 1e9)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--rounds", type=int, help="rounds (default 11, or 5 with --quick)")
    parser.add_argument("--csv", help="also write the medians to this CSV file")
    options = parser.parse_args()
    rounds = options.rounds or (5 if options.quick else 11)
    seconds = 0.01 if options.quick else 0.05

    result, failure = {}, []

    def work():
        try:
            result.update(measure(rounds, seconds))
        except BaseException as error:  # reported by the main thread, which then fails
            failure.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]

    medians = {key: statistics.median(values) for key, values in result.items()}
    print(f"bench-python: Python {platform.python_version()} ({sys.implementation.name}), "
          f"libtlslocal {tlslocal.version()} at {tlslocal.LIBRARY_PATH}, "
          f"accelerator {'in use' if tlslocal.ACCELERATED else 'not importable: ctypes path only'}, "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{rounds} rounds, median ns per operation")
    names = [name for name, _ in IMPLEMENTATIONS]
    ratios = [(f"{name.split()[-1].strip('()')}/{base}", name, base)
              for name in names[:names.index(PURE) + 1]
              for base in ("threading", "_threading_local")]
    header = (f"{'operation':<20}" + "".join(f"{name:>{len(name) + 2}}" for name in names)
              + "".join(f"{label:>{len(label) + 2}}" for label, _, _ in ratios))
    print(header)
    print("-" * len(header))
    for label, _, _, _ in OPERATIONS:
        print(f"{label:<20}" + "".join(f"{medians[label, name]:>{len(name) + 2}.1f}" for name in names)
              + "".join(f"{medians[label, name] / medians[label, base]:>{len(text) + 2}.2f}"
                        for text, name, base in ratios))
    if options.csv:
        with open(options.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["section", "case", "impl", "median", "p25", "p75", "min", "max",
                             "unit", "rounds"])
            for (label, name), values in result.items():
                quartiles = statistics.quantiles(values, n=4, method="inclusive")
                writer.writerow(["python", label, name, f"{medians[label, name]:.3f}",
                                 f"{quartiles[0]:.3f}", f"{quartiles[2]:.3f}", f"{min(values):.3f}",
                                 f"{max(values):.3f}", "ns/op", rounds])

if __name__ == "__main__":
    main()
