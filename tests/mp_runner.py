"""Run the firmware test modules on the MicroPython interpreter, which has no pytest.

    micropython tests/mp_runner.py [test_module ...]

Imports each tests/firmware/test_*.py module, calls each of its test_* functions and prints
one line per test and a closing "N passed, N failed, N skipped" line. Exits 1 on any failure.
pytest runs this per module (tests/test_micropython.py), so one pytest command covers both
runtimes.
"""

import os
import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _here + "/firmware")
sys.path.insert(0, _here + "/../firmware")


def _modules(args):
    if args:
        return [a[:-3] if a.endswith(".py") else a for a in args]
    return sorted(f[:-3] for f in os.listdir(_here + "/firmware") if f.startswith("test_") and f.endswith(".py"))


def main(args):
    passed = failed = skipped = 0
    for name in _modules(args):
        module = __import__(name)
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            if not attr.startswith("test_") or not callable(fn):
                continue
            try:
                fn()
            except Exception as e:
                if type(e).__name__ == "SkipTest":
                    skipped += 1
                    print("SKIP", name, attr, e)
                    continue
                failed += 1
                print("FAIL", name, attr)
                sys.print_exception(e)
            else:
                passed += 1
                print("ok  ", name, attr)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


sys.exit(main(sys.argv[1:]))
