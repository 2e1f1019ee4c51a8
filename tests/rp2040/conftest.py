"""The emulated RP2040's tests: MicroPython's real rp2 build on rp2040js (host/softcrank/chipsim).

They need two files the project does not ship; without them every test here is skipped with
the instruction SKIP gives. Each test boots its own chip; emulated time runs three to five times
slower than real time on a shared two-core machine, so each keeps to a few emulated seconds.
"""

import os

import pytest

from chipenv import SKIP, have_files


def pytest_collection_modifyitems(config, items):
    if have_files():
        return
    skip = pytest.mark.skip(reason=SKIP)
    for item in items:
        if "tests/rp2040/" in str(item.fspath).replace(os.sep, "/") and "needs_chip" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_chip: needs SOFTCRANK_RP2_FIRMWARE and SOFTCRANK_RP2_BOOTROM")
