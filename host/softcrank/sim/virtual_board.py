"""The virtual trainer: the real firmware on MicroPython, behind a pseudo-terminal.

A host opens the pseudo-terminal's path with pyserial exactly as it opens /dev/ttyACM0 on a
Pico. Behind it, like a Pico:

- a *flash* folder holds main.py, config.json and the firmware packages; the interpreter boots
  main.py from it at every (re)start, so files that `softcrank deploy` copies take effect;
- a Ctrl-C byte breaks into the REPL (the firmware's board raises KeyboardInterrupt, as a
  Pico's USB stack does), with the brake at zero; mpremote then drives that REPL;
- when the interpreter ends (machine.soft_reset(), a crash), the board reboots.

The interpreter's output goes through a non-blocking pipe, which a relay thread copies to the
pseudo-terminal: the USB cable and the host's USB stack. Like a host's, it takes only so much
that the program on the host has not read (HOST_BUFFER bytes, then the pipe's PIPE_BYTES),
and then stops taking; the board's model of the Pico's USB driver (softcrank_sim/usbcdc.py)
then sees its 256-byte FIFO fill, and a write into it waits up to 500 ms, as on a Pico. So a
host that stops reading does to the virtual trainer what it does to a Pico, within seconds.

For tests of a host's link, `unplug()` and `plug()` pull and reconnect the virtual USB cable
(see unplug). `key` puts a CAPS key (device.key) on a new flash, as `softcrank deploy` would:
the demo and tests use demo.DEMO_KEY, which is public and for the virtual trainer only. For the
safety suite (docs/safety.md), the board has the hardware a Pico has
around its firmware:

- a watchdog: the firmware feeds it through a pipe after each healthy tick (softcrank_sim/
  board.py); when the feeds stop for `watchdog_s` of real time (a hung loop), the board is
  reset: the interpreter is killed and booted again, the brake at zero, the BOOT event saying
  WATCHDOG. Each feed carries the brake level, so `brake_ppm` is the brake pin as the hardware
  sees it, and 0 from the moment of any reset;
- a power switch: `power_cut()` is a brownout: the interpreter dies at once, mid-tick, and boots
  again with the brake at zero.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import threading
import time
import tty

from ..boardfiles import image
from ..boardfiles.interpreter import micropython

HEAP = "192K"  # about what a Pico leaves for Python
_PENDING_MAX = 1024  # bytes the relay holds from the board, before the pipe backs up
HOST_BUFFER = 2048  # bytes the host's program has not read, before the relay stops sending
PIPE_BYTES = 4096  # the board's output pipe (the smallest Linux allows: one page)
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux; Python 3.10+ names it)
WATCHDOG_S = 2.0  # real time: the Pico's is 250 ms (softcrank_pico/ticker.py), but a shared PC can stall a process longer
CHIP_RESET = "chip_reset"  # the virtual chip's reset-reason register (softcrank_sim/resets.py)


def install_image(flash: pathlib.Path, config: dict | None = None) -> None:
    """Put the simulated board's firmware into a flash folder: main.py, the packages, config.json."""
    image.build(flash, "sim")
    (flash / "config.json").write_text(json.dumps(dict(config or {}, board="sim")) + "\n")


class VirtualBoard:
    """Start with start(); the port path is `port`; stop() ends it and cleans up."""

    def __init__(self, scenario: str | None = None, seed: int | None = None, speed: float = 1.0,
                 flash: str | os.PathLike | None = None, replay: str | None = None,
                 key: bytes | None = None, watchdog_s: float = WATCHDOG_S, ticks: str | None = None) -> None:
        self._own_flash = flash is None
        self._key = key
        self.flash = pathlib.Path(tempfile.mkdtemp(prefix="softcrank-flash-") if flash is None else flash)
        self.config = {"speed": speed}
        if seed is not None:
            self.config["seed"] = seed
        if ticks is not None:  # "timer" (the default) or "loop": softcrank_sim/board.py
            self.config["ticks"] = ticks
        self._files = {"scenario": scenario, "replay": replay}
        self.port = ""
        self.boots = 0
        self.watchdog_s = watchdog_s
        self.resets: list[tuple[float, str, float]] = []  # (time.monotonic(), "watchdog" | "power" | "reset" | "ended", seconds since the last feed)
        self.brake_ppm = 0  # the brake pin, as the watchdog's feeds report it; 0 after any reset
        self.armed = False  # the watchdog is running (from the firmware's first tick)
        self.last_feed = 0.0  # time.monotonic() of the last feed
        self._power_cut = threading.Event()
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

    def power_cut(self) -> None:
        """A brownout: the interpreter dies now, wherever it is, and the board boots again
        (brake at zero, as every pin of a Pico is an input at reset; BOOT says POWER_ON)."""
        self._power_cut.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def watchdog_resets(self) -> list[tuple[float, str, float]]:
        return [r for r in self.resets if r[1] == "watchdog"]

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

    def _boot(self) -> tuple[subprocess.Popen, int, int, int]:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        wd_r, wd_w = os.pipe()
        flags = fcntl.fcntl(out_w, fcntl.F_GETFL)
        fcntl.fcntl(out_w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        try:
            fcntl.fcntl(out_w, _F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # not Linux: a larger pipe only delays the back-pressure
            pass
        env = dict(os.environ, MICROPYPATH=".frozen" + os.pathsep + str(self.flash),
                   SOFTCRANK_WATCHDOG_FD=str(wd_w))
        proc = subprocess.Popen([micropython(), "-X", "heapsize=" + HEAP, "-i", "main.py"],
                                stdin=in_r, stdout=out_w, stderr=out_w, cwd=self.flash, env=env,
                                pass_fds=(wd_w,))
        for fd in (in_r, out_w, wd_w):
            os.close(fd)
        self.boots += 1
        return proc, in_w, out_r, wd_r

    def _run(self) -> None:
        while not self._stop.is_set():
            self._proc, to_board, from_board, watchdog = self._boot()
            self.armed, self.brake_ppm = False, 0
            why = "ended"
            try:
                why = self._relay(to_board, from_board, watchdog)
            finally:
                for fd in (to_board, from_board, watchdog):
                    os.close(fd)
                if self._proc.poll() is None:
                    self._proc.kill()
                self._proc.wait()
                if self._power_cut.is_set():
                    self._power_cut.clear()
                    why = "power"
                self.brake_ppm, self.armed = 0, False  # a reset: every pin an input, the brake off
                if not self._stop.is_set():
                    self.resets.append((time.monotonic(), why, time.monotonic() - self.last_feed))

    def _host_unread(self) -> int:
        """Bytes waiting in the pseudo-terminal for the host's program to read."""
        try:
            return struct.unpack("i", fcntl.ioctl(self._slave, termios.TIOCINQ, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    def _watchdog(self, data: bytes) -> str | None:
        """Take the firmware's feeds ("w PPM"), stop ("s PPM") and reset ("r 0") lines;
        returns "reset" when the firmware asked for one."""
        for line in data.split(b"\n"):
            parts = line.split()
            if len(parts) != 2 or parts[0] not in (b"w", b"s", b"r") or not parts[1].isdigit():
                continue
            self.brake_ppm = int(parts[1])
            if parts[0] == b"r":
                return "reset"
            self.armed = parts[0] == b"w"
            self.last_feed = time.monotonic()
        return None

    def _bite(self) -> str:
        """The watchdog resets the board: the next boot reports WATCHDOG."""
        (self.flash / CHIP_RESET).write_text("watchdog\n")
        return "watchdog"

    def _relay(self, to_board: int, from_board: int, watchdog: int) -> str:
        """Copy bytes both ways until the interpreter ends (a reboot) or stop(); watch the
        watchdog's feeds. Returns why the board stopped: "ended", "watchdog" or "reset"."""
        pending = b""  # board output the host has not taken yet
        fed = [watchdog]  # until the firmware closes its end
        while not self._stop.is_set():
            if self.armed and time.monotonic() - self.last_feed > self.watchdog_s:
                return self._bite()
            cut = self._unplugged.is_set()
            if cut:
                pending = b""
            readers = [self._master] + fed + ([from_board] if len(pending) < _PENDING_MAX else [])
            writers = [self._master] if pending and self._host_unread() < HOST_BUFFER else []
            try:
                readable, writable, _ = select.select(readers, writers, [], 0.05)
            except (OSError, ValueError):
                return "ended"
            if watchdog in readable:
                data = os.read(watchdog, 4096)
                if not data:
                    fed = []
                elif self._watchdog(data) == "reset":
                    return "reset"
            if self._master in writable:
                try:
                    pending = pending[os.write(self._master, pending):]
                except BlockingIOError:
                    pass
            if from_board in readable:
                data = os.read(from_board, 4096)
                if not data:
                    return "ended"  # the interpreter ended: reboot
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
                        return "ended"
        return "ended"
