"""The virtual trainer: the real firmware on MicroPython, behind a pseudo-terminal.

A host opens the pseudo-terminal's path with pyserial exactly as it opens /dev/ttyACM0 on a
Pico. Behind it, like a Pico:

- a *flash* folder holds main.py, config.json and the firmware packages; the interpreter boots
  main.py from it at every (re)start, so files that `softcrank deploy` copies take effect;
- a Ctrl-C byte breaks into the REPL (the firmware's board raises KeyboardInterrupt, as a
  Pico's USB stack does), with the brake at zero; mpremote then drives that REPL;
- when the interpreter ends (machine.soft_reset(), a crash), the board reboots.

The interpreter's output goes through a non-blocking pipe, which a relay thread copies to the
pseudo-terminal. A frame of up to 4096 bytes goes into a pipe whole or not at all, so when
the host stops reading, the firmware's writes are refused at once (the link retries later)
and its control tick never waits: exactly how it must behave on a Pico's USB port.

For tests of a host's link, `unplug()` and `plug()` pull and reconnect the virtual USB cable
(see unplug). `key` puts a CAPS key (device.key) on a new flash, as `softcrank deploy` would:
the demo and tests use demo.DEMO_KEY, which is public and for the virtual trainer only.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import tempfile
import threading
import tty

from . import image
from .interpreter import micropython

HEAP = "192K"  # about what a Pico leaves for Python
_PENDING_MAX = 64 * 1024  # bytes held for a host that is not reading, before the pipe backs up


def install_image(flash: pathlib.Path, config: dict | None = None) -> None:
    """Put the simulated board's firmware into a flash folder: main.py, the packages, config.json."""
    image.build(flash, "sim")
    (flash / "config.json").write_text(json.dumps(dict(config or {}, board="sim")) + "\n")


class VirtualBoard:
    """Start with start(); the port path is `port`; stop() ends it and cleans up."""

    def __init__(self, scenario: str | None = None, seed: int | None = None, speed: float = 1.0,
                 flash: str | os.PathLike | None = None, replay: str | None = None,
                 key: bytes | None = None) -> None:
        self._own_flash = flash is None
        self._key = key
        self.flash = pathlib.Path(tempfile.mkdtemp(prefix="softcrank-flash-") if flash is None else flash)
        self.config = {"speed": speed}
        if seed is not None:
            self.config["seed"] = seed
        self._files = {"scenario": scenario, "replay": replay}
        self.port = ""
        self.boots = 0
        self._stop = threading.Event()
        self._unplugged = threading.Event()  # the cable is out: the relay drops every byte
        self._replug: threading.Timer | None = None
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1

    def __enter__(self) -> "VirtualBoard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> str:
        micropython()  # fail now, with the install hint, if the interpreter is missing
        self._prepare_flash()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: bytes pass as they are, as on USB
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="virtual-board", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._replug:
            self._replug.cancel()
        proc = self._proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._thread:
            self._thread.join(timeout=5)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self._own_flash:
            shutil.rmtree(self.flash, ignore_errors=True)

    # ----- the cable, for tests of a host's link ------------------------------------------

    def unplug(self, seconds: float | None = None) -> None:
        """Pull the USB cable: from now until plug() (or for `seconds` of real time), the relay
        drops every byte both ways. Nothing the host sends reaches the firmware, so it sees a
        silent host; what the firmware writes is taken and thrown away (as a Pico's USB stack
        drops output with no host attached), so the records sent meanwhile never arrive and only
        a REPLAY brings them back. Output the host had not read yet is dropped with it.

        The port itself stays open and raises nothing: the host notices only the silence. (A
        real cable pull also makes the device node vanish; pyserial then raises
        SerialException, which a host must handle as well.)"""
        if self._replug:
            self._replug.cancel()
        self._unplugged.set()
        if seconds is not None:
            self._replug = threading.Timer(seconds, self.plug)
            self._replug.daemon = True
            self._replug.start()

    def plug(self) -> None:
        """Put the cable back: bytes flow again both ways."""
        self._unplugged.clear()

    # ----------------------------------------------------------------------------------

    def _prepare_flash(self) -> None:
        """A new flash gets the firmware; one that has it keeps it (deployed files stay) and
        takes this run's options into its config.json."""
        self.flash.mkdir(parents=True, exist_ok=True)
        config = dict(self.config)
        for key, name in (("scenario", "scenario.json"), ("replay", "recording.txt")):
            if self._files[key]:
                shutil.copy(self._files[key], self.flash / name)
                config[key] = name
        if self._key is not None:
            (self.flash / "device.key").write_text(self._key.hex() + "\n")
        if not (self.flash / "main.py").exists():
            install_image(self.flash, config)
            return
        try:
            old = json.loads((self.flash / "config.json").read_text())
        except (OSError, ValueError):
            old = {"board": "sim"}
        (self.flash / "config.json").write_text(json.dumps(dict(old, **config)) + "\n")

    def _boot(self) -> tuple[subprocess.Popen, int, int]:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        flags = fcntl.fcntl(out_w, fcntl.F_GETFL)
        fcntl.fcntl(out_w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        env = dict(os.environ, MICROPYPATH=".frozen" + os.pathsep + str(self.flash))
        proc = subprocess.Popen([micropython(), "-X", "heapsize=" + HEAP, "-i", "main.py"],
                                stdin=in_r, stdout=out_w, stderr=out_w, cwd=self.flash, env=env)
        os.close(in_r)
        os.close(out_w)
        self.boots += 1
        return proc, in_w, out_r

    def _run(self) -> None:
        while not self._stop.is_set():
            self._proc, to_board, from_board = self._boot()
            try:
                self._relay(to_board, from_board)
            finally:
                os.close(to_board)
                os.close(from_board)
                if self._proc.poll() is None:
                    self._proc.kill()
                self._proc.wait()

    def _relay(self, to_board: int, from_board: int) -> None:
        """Copy bytes both ways until the interpreter ends (a reboot) or stop()."""
        pending = b""  # board output the host has not taken yet
        while not self._stop.is_set():
            cut = self._unplugged.is_set()
            if cut:
                pending = b""
            readers = [self._master] + ([from_board] if len(pending) < _PENDING_MAX else [])
            writers = [self._master] if pending else []
            try:
                readable, writable, _ = select.select(readers, writers, [], 0.1)
            except (OSError, ValueError):
                return
            if self._master in writable:
                try:
                    pending = pending[os.write(self._master, pending):]
                except BlockingIOError:
                    pass
            if from_board in readable:
                data = os.read(from_board, 4096)
                if not data:
                    return  # the interpreter ended: reboot
                if not cut:
                    pending += data
            if self._master in readable:
                try:
                    data = os.read(self._master, 4096)
                except (BlockingIOError, OSError):
                    data = b""
                if data and not cut:
                    try:
                        os.write(to_board, data)
                    except BrokenPipeError:
                        return
