"""The files a board is built from, found where the installed package keeps them.

The firmware packages (softcrank_fw, softcrank_sim, softcrank_pico) are installed beside
softcrank; the boot file and the pin map ride along inside this package (in a checkout they
are links to firmware/main.py and hardware/pinmap.json, which the wheel carries as files).
Everything is located with importlib.resources, so a wheel installed by pip or pipx finds
the same files a source checkout does.
"""

from __future__ import annotations

import pathlib
from importlib import resources

FIRMWARE_PACKAGES = ("softcrank_fw", "softcrank_sim", "softcrank_pico")


class BoardFilesMissing(RuntimeError):
    pass


def package_dir(package: str) -> pathlib.Path:
    """The folder of an installed firmware package (its .py files are copied onto a board)."""
    if package not in FIRMWARE_PACKAGES:
        raise ValueError("not a firmware package: %r" % package)
    try:
        folder = pathlib.Path(str(resources.files(package)))
    except ModuleNotFoundError as e:
        raise BoardFilesMissing("the firmware package %s is not installed: reinstall softcrank" % package) from e
    if not folder.is_dir():
        raise BoardFilesMissing("the firmware package %s is not a folder on disk (%s): install softcrank "
                                "unzipped" % (package, folder))
    return folder


def firmware_root() -> pathlib.Path:
    """The folder holding the firmware packages: the micropython process's MICROPYPATH."""
    return package_dir("softcrank_fw").parent


def _own(name: str) -> pathlib.Path:
    path = pathlib.Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        raise BoardFilesMissing("%s is missing from the softcrank package (%s): reinstall softcrank" % (name, path))
    return path


def main_py() -> pathlib.Path:
    """The boot file every board runs (firmware/main.py in the source tree)."""
    return _own("main.py")


def pinmap() -> pathlib.Path:
    """The reference build's pin map (hardware/pinmap.json in the source tree)."""
    return _own("pinmap.json")


def scenario_dir() -> pathlib.Path:
    return package_dir("softcrank_sim") / "scenarios"


def scenario_path(name: str) -> pathlib.Path:
    """A scenario bundled with the simulator (softcrank_sim/scenarios/NAME.json)."""
    return scenario_dir() / (name + ".json")


def bundled_scenarios() -> list[str]:
    return sorted(p.stem for p in scenario_dir().glob("*.json"))
