"""Test the firmware from the source tree, exactly the files the MicroPython run uses."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
for path in (ROOT / "firmware", ROOT / "tests" / "firmware"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
