"""`softcrank deploy`: copy the firmware onto a board with mpremote and restart it.

The steps, and why:
1. Find the board: a Pico running MicroPython shows up as USB 2E8A:0005; or --port.
2. Check the port is not held by another program (the app, a terminal): copying under a
   running session would be a surprise for the rider.
3. Break in (mpremote sends Ctrl-C: the firmware stops with the brake at zero), set the
   `maintenance` flag and restart. The board comes back with the firmware *not* running:
   an RP2040's watchdog cannot be stopped once started, and would reset the board in the
   middle of a copy.
4. Copy the image (compiled to .mpy, see image.py), the pin map and, for a Pico, config.json.
5. Clear the flag, restart, and check the new firmware answers the handshake.

The virtual trainer (`softcrank sim`) is deployed to the same way: there a restart ends the
interpreter, and the virtual board boots it again from its flash folder.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Callable

from softcrank_fw import FIRMWARE_VERSION
from softcrank_fw import protocol as P

from . import image
from .interpreter import firmware_root

PICO_USB = (0x2E8A, 0x0005)  # Raspberry Pi RP2040 running MicroPython
BOOT_TIMEOUT_S = 20.0


class DeployError(RuntimeError):
    pass


def find_port() -> str:
    """The one Pico running MicroPython on USB."""
    from serial.tools import list_ports

    found = [p.device for p in list_ports.comports() if (p.vid, p.pid) == PICO_USB]
    if not found:
        raise DeployError("no Pico running MicroPython found on USB: plug it in, or name its port with --port")
    if len(found) > 1:
        raise DeployError("several Picos found (%s): name one with --port" % ", ".join(found))
    return found[0]


def check_free(port: str) -> None:
    """Raise DeployError if the port does not exist or another program holds it."""
    import serial

    if "://" not in port and not os.path.exists(port):
        raise DeployError("no such port: %s" % port)
    try:
        serial.Serial(port, exclusive=True, timeout=0).close()
    except serial.SerialException as e:
        if "lock" in str(e).lower() or "busy" in str(e).lower():
            raise DeployError("%s is busy: another program (the softcrank app, a terminal) has it open; "
                              "close it and try again" % port) from e
        raise DeployError("cannot open %s: %s" % (port, e)) from e


def mpremote(port: str, *args: str, timeout: float = 60) -> str:
    """Run one mpremote command on the board; returns what it printed."""
    cmd = [sys.executable, "-m", "mpremote", "connect", port, "resume", *args]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise DeployError("no MicroPython REPL answered on %s (is it a Pico running MicroPython?)" % port) from e
    if run.returncode != 0:
        message = (run.stderr.strip() or run.stdout.strip()).splitlines()
        last = message[-1] if message else "mpremote failed"
        if "raw repl" in last.lower() or "could not enter" in last.lower():
            last = "no MicroPython REPL answered (is it a Pico running MicroPython?)"
        raise DeployError("%s: %s" % (port, last))
    return run.stdout


def _exec(port: str, code: str, timeout: float = 60) -> str:
    return mpremote(port, "exec", code, timeout=timeout)


def _restart_code(platform: str) -> str:
    # A Pico gets a hard reset (it also stops the watchdog); the unix port ends the interpreter,
    # which the virtual board boots again.
    return "import machine; machine.reset()" if platform == "rp2" else "import machine; machine.soft_reset()"


def _restart(port: str, platform: str, before: str) -> None:
    """Run `before`, then restart the board. The connection drops as it restarts: not an error."""
    try:
        _exec(port, before + "; " + _restart_code(platform), timeout=15)
    except DeployError:
        pass


def _wait_for_repl(port: str, want_maintenance: bool) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if "://" not in port and not os.path.exists(port):
            continue  # a Pico re-enumerating on USB
        try:
            out = _exec(port, "import os; print('maintenance' in os.listdir())", timeout=10)
        except DeployError as e:
            last = e
            continue
        if out.strip().endswith(str(want_maintenance)):
            return
    raise DeployError("the board did not come back after a restart%s" % (": %s" % last if last else ""))


def _handshake(port: str) -> dict:
    """Open the port as the app will, and ask the firmware who it is."""
    import serial

    from .frames import Commander, await_frame

    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            link = serial.serial_for_url(port, baudrate=115200, timeout=0.5)
        except serial.SerialException:
            time.sleep(0.5)  # a Pico still re-enumerating on USB
            continue
        with link:
            link.write(Commander()("HELLO", P.PROTOCOL_VERSION))
            hello = await_frame(link, lambda f: f.type == "H", 3)
            if hello is not None:
                return hello.fields
    raise DeployError("the new firmware did not answer the handshake")


def deploy(port: str | None = None, log: Callable[[str], object] = print) -> dict:
    """Deploy the firmware; returns the handshake of the firmware now running."""
    port = port or find_port()
    check_free(port)
    platform = _exec(port, "import sys; print(sys.platform)", timeout=15).strip().splitlines()[-1]
    board = "pico" if platform == "rp2" else "sim"
    log("%s: MicroPython on %s (%s board); stopping the firmware, brake at zero" % (port, platform, board))
    _restart(port, platform, "open('maintenance', 'w').close()")
    _wait_for_repl(port, want_maintenance=True)
    with tempfile.TemporaryDirectory(prefix="softcrank-image-") as tmp:
        target = pathlib.Path(tmp)
        files = image.build(target, board)
        if board == "pico":
            pinmap = firmware_root().parent / "hardware" / "pinmap.json"
            if not pinmap.exists():
                raise DeployError("hardware/pinmap.json not found: deploy from a source checkout")
            (target / "pinmap.json").write_bytes(pinmap.read_bytes())
            (target / "config.json").write_text(json.dumps({"board": "pico"}) + "\n")
            files += [target / "pinmap.json", target / "config.json"]
        packages = image.BOARD_PACKAGES[board]
        log("copying %d files (%s)" % (len(files), ", ".join(packages)))
        removal = "import os\nfor d in %r:\n try:\n  [os.remove(d+'/'+f) for f in os.listdir(d) if '.' in f]\n except OSError: pass" % (packages,)
        _exec(port, removal)
        # Options go before "cp" (mpremote's parser hands everything after the first path to the
        # next command), and the destination is ":." (the unix port says "" does not exist).
        args: list[str] = []
        for package in packages:
            args += ["fs", "-r", "cp", str(target / package), ":.", "+"]
        for path in sorted(target.glob("*.*")):
            args += ["fs", "cp", str(path), ":.", "+"]
        mpremote(port, *args[:-1], timeout=300)
    log("restarting")
    _restart(port, platform, "import os; os.remove('maintenance')")
    hello = _handshake(port)
    if hello["fw"] != FIRMWARE_VERSION:
        raise DeployError("the board answers with firmware %s, not %s" % (hello["fw"], FIRMWARE_VERSION))
    log("done: firmware %s (protocol %d) running on %s" % (hello["fw"], hello["proto"], port))
    return hello
