"""The firmware type-checks against MicroPython's own stubs for the RP2040 (not CPython's).

mypy refuses a site-packages folder on MYPYPATH, so the stub packages' files are copied into
a temporary folder first; --custom-typeshed-dir then swaps CPython's standard library for
MicroPython's, so a CPython-only name (time.monotonic, dataclasses...) is an error here, as it
would be on the Pico. firmware/mypy.ini says what is checked.
"""

import importlib.metadata
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

FIRMWARE = pathlib.Path(__file__).resolve().parent.parent / "firmware"
STUBS = ("micropython-rp2-rpi-pico-stubs", "micropython-stdlib-stubs")


def copy_stubs(target: pathlib.Path) -> None:
    for name in STUBS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail("%s is not installed: pip install -e '.[dev]'" % name)
        for file in dist.files or ():
            if ".dist-info" in str(file) or file.suffix == ".pyc":
                continue
            source = pathlib.Path(dist.locate_file(file))
            if source.is_file():
                dest = target / file
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, dest)


def test_the_firmware_type_checks_against_the_rp2040_stubs(tmp_path):
    copy_stubs(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--custom-typeshed-dir", str(tmp_path),
         "--cache-dir", str(tmp_path / ".mypy_cache")],
        cwd=FIRMWARE, env=dict(os.environ, MYPYPATH=str(tmp_path)), capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success" in run.stdout
