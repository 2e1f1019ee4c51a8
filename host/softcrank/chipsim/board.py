"""The emulated RP2040 behind a pseudo-terminal: `softcrank sim --chip`.

ChipBoard starts harness.mjs (rp2040js running MicroPython's RPI_PICO firmware, the project's
files in its flash) and drives it in lock step, one WINDOW_US of emulated time at a time:

1. the world (world.py: the virtual trainer's rider or a recording) says what the sensors
   see in the window, feeling the brake the PWM registers drove at its start;
2. the harness runs the chip through the window, applying those pin events at their times,
   with the bytes the host wrote to the pseudo-terminal going in over the USB CDC;
3. what the firmware sent over USB goes to the pseudo-terminal.

A host that stops reading: the pseudo-terminal fills, then HOST_BUFFER bytes wait here, and
then the harness holds the CDC's IN transfers unanswered, as a USB host that does not poll
does; MicroPython's CDC driver then finds its buffer full, as on a Pico.

Every write of the brake's PWM level is kept in `writes` as (t_us, ppm, cost_us, first).
The firmware's loop writes it twice a tick (softcrank_fw/loop.py: after the control step, and
after the host's commands), so the writes with `first` set, the first after the ticker's wait,
are the control steps (and so is a write SAME_TICK_US after the one before: a tick that
started late, with no wait before it): their spacing is the chip's tick period, and cost_us the
time from the end of the wait to the brake (sensing and the control step: the tick's cost).
tick_figures() sums them up. `speed` paces emulated
time to at most that many times real time (0: as fast as it runs; it runs about as fast as
real time on a laptop, so 1 is the useful value).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import threading
import time
import tty

from . import fsimage
from .node import HARNESS, ChipSimError, node, rp2040js
from .world import PinWorld

WINDOW_US = 10_000  # emulated time per lock step: one control tick
HOST_BUFFER = 4096  # bytes a host's driver would hold for a program that does not read
SAME_TICK_US = 3_000  # the loop's second brake write follows its first by ~0.13 ms (host commands)
KEEP_WRITES = 100_000  # brake writes kept (about 17 minutes of ticks)
_FIRMWARE_HINT = ("MicroPython's RPI_PICO .uf2 for the release the project names, from MicroPython's "
                  "download page (micropython.org/download/RPI_PICO)")
_BOOTROM_HINT = ("the RP2040 B1 bootrom: b1.bin built from Raspberry Pi's pico-bootrom repository, or "
                 "the array in rp2040js's demo/bootrom.ts")


def check_files(firmware: str | os.PathLike, bootrom: str | os.PathLike) -> None:
    """Clear errors before anything starts: each file exists and looks like what it should be."""
    fw = pathlib.Path(firmware)
    if not fw.is_file():
        raise ChipSimError("--firmware %s: no such file; it is %s" % (fw, _FIRMWARE_HINT))
    head = fw.read_bytes()[:8]
    if head[:4] != b"UF2\n":
        raise ChipSimError("--firmware %s is not a UF2 file; it is %s" % (fw, _FIRMWARE_HINT))
    rom = pathlib.Path(bootrom)
    if not rom.is_file():
        raise ChipSimError("--bootrom %s: no such file; it is %s" % (rom, _BOOTROM_HINT))


def pin_map() -> tuple[dict[str, int], int]:
    """The pin map's GPIO numbers by name and edges_per_rev (hardware/pinmap.json, as deploy copies
    it; the firmware checks the rest when it boots: softcrank_pico/pins.py)."""
    path = fsimage.pinmap_file()
    try:
        doc = json.loads(path.read_text())
        return {name: pin["gpio"] for name, pin in doc["pins"].items()}, doc["edges_per_rev"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ChipSimError("cannot read the pin map %s: %s" % (path, e))


class ChipBoard:
    """Start with start(); the port path is `port`; stop() ends it. Pass a scenario file or a
    replay file as the virtual trainer takes them (softcrank_sim.main.source)."""

    def __init__(self, firmware: str | os.PathLike, bootrom: str | os.PathLike, scenario: str | None = None,
                 seed: int | None = None, speed: float = 1.0, replay: str | None = None,
                 files: dict[str, bytes] | None = None, world=None) -> None:
        """world: a rider or Replay to use instead of the scenario (tests: softcrank_sim.rider.Rider)."""
        check_files(firmware, bootrom)
        self._world_given = world
        self.firmware = str(firmware)
        self.bootrom = str(bootrom)
        self.speed = speed
        self._config = {"scenario": scenario, "seed": seed, "replay": replay}
        self._files = files
        self.port = ""
        self.t_us = 0  # emulated time
        self.brake_ppm = 0
        self.writes: list[tuple[int, int, int, int]] = []  # (t_us, ppm, cost_us, first) of each brake write
        self.usb = False  # the firmware's USB device is configured
        self.held = 0  # IN transfers held: the host is not reading
        self.watchdog_us = -1  # emulated time of a watchdog reset, or -1
        self.flash = (0, 0, 0)  # sectors erased, pages programmed, us of flash work
        self.busy_ppm = 0  # share of the last window the core executed (not sleeping)
        self.error = ""  # why the emulation stopped, if it did
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._estop: bool | None = None
        self._host_reading = threading.Event()
        self._host_reading.set()
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "ChipBoard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def press_estop(self, pressed: bool | None = True) -> None:
        """A hand on the e-stop from the next window on (None: the scenario's again)."""
        self._estop = pressed

    def host_reads(self, reading: bool) -> None:
        """False: the host keeps the port open and stops reading (a frozen program). The bytes
        wait here; past HOST_BUFFER of them the chip's USB IN transfers go unanswered."""
        if reading:
            self._host_reading.set()
        else:
            self._host_reading.clear()

    def tick_figures(self, since_us: int = 0, until_us: int | None = None) -> dict:
        """The control ticks between two emulated times: {"ticks", "period_max_us", "over_12ms",
        "cost_mean_us", "cost_max_us"} (periods between first writes; costs of first writes)."""
        with self._lock:
            writes = [w for w in self.writes if w[0] >= since_us and (until_us is None or w[0] < until_us)]
        # A tick that starts late has no wait before it (Ticker.wait sleeps only when early), so
        # a write more than SAME_TICK_US after the one before also starts a tick.
        firsts = [w for i, w in enumerate(writes) if w[3] or (i and w[0] - writes[i - 1][0] > SAME_TICK_US)]
        periods = [b[0] - a[0] for a, b in zip(firsts, firsts[1:])]
        costs = [w[2] for w in firsts if w[3] and w[2] >= 0]  # a late tick has no wait to count from
        return {"ticks": len(firsts), "period_max_us": max(periods, default=0),
                "over_12ms": sum(1 for p in periods if p > 12_000),
                "cost_mean_us": round(sum(costs) / len(costs)) if costs else 0, "cost_max_us": max(costs, default=0)}

    def start(self) -> str:
        from softcrank_sim.main import source

        binary, home = node(), rp2040js()
        world = self._world_given or source({k: v for k, v in self._config.items() if v is not None})
        gpio, edges = pin_map()
        if world.edges_per_rev != edges:
            raise ChipSimError("the scenario's edges_per_rev is %d; the Pico's pin map says %d"
                               % (world.edges_per_rev, edges))
        self._world = PinWorld(world, gpio)
        self._tmp = tempfile.TemporaryDirectory(prefix="softcrank-chip-")
        fs = pathlib.Path(self._tmp.name) / "fs.img"
        fs.write_bytes(fsimage.build(self._files))
        self._proc = subprocess.Popen([binary, str(HARNESS), str(home), self.firmware, self.bootrom, str(fs)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = json.loads(self._proc.stdout.readline() or '{"error": "node ended at start"}')
        if "error" in ready:
            self.stop()
            raise ChipSimError(ready["error"])
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="chip-board", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        proc = self._proc
        if proc and proc.poll() is None:
            try:
                proc.stdin.write('{"quit": 1}\n')
                proc.stdin.flush()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None

    def run_until(self, t_us: int, timeout_s: float = 600) -> None:
        """Wait until emulated time reaches t_us (tests: 'let the chip run 2 s')."""
        end = time.monotonic() + timeout_s
        while self.t_us < t_us and not self._stop.is_set() and not self.error:
            if time.monotonic() > end:
                raise TimeoutError("the emulated chip reached %d us of %d" % (self.t_us, t_us))
            time.sleep(0.02)
        if self.error:
            raise ChipSimError(self.error)

    # ----------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # the thread's end must be visible to the user and the tests
            self.error = "the emulated chip stopped: %s: %s" % (type(e).__name__, e)

    def _loop(self) -> None:
        proc = self._proc
        pending = b""  # firmware output the host has not taken
        events = self._world.start()
        real0 = time.monotonic()
        while not self._stop.is_set():
            if pending and self._host_reading.is_set():
                try:
                    pending = pending[os.write(self._master, pending):]
                except BlockingIOError:
                    pass
            host = b""
            try:
                host = os.read(self._master, 4096)
            except (BlockingIOError, OSError):
                pass
            self._world.estop_override = self._estop
            target = self.t_us + WINDOW_US
            events += self._world.window(self.t_us, WINDOW_US, self.brake_ppm)
            cmd = {"run": target, "ev": [list(e) for e in events], "in": host.hex(),
                   "hold": 1 if len(pending) >= HOST_BUFFER else 0}
            events = []
            proc.stdin.write(json.dumps(cmd) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise ChipSimError("the harness (node) ended")
            reply = json.loads(line)
            if "error" in reply:
                raise ChipSimError(reply["error"])
            out = bytes.fromhex(reply["out"])
            if out:
                pending += out
            with self._lock:
                self.t_us = reply["t"]
                self.brake_ppm = reply["brake"]
                self.writes.extend(tuple(w) for w in reply["w"])
                if len(self.writes) > KEEP_WRITES:
                    del self.writes[:len(self.writes) - KEEP_WRITES]
                self.usb = bool(reply["usb"])
                self.held = reply["held"]
                self.watchdog_us = reply["wdt"]
                self.flash = tuple(reply["flash"])
                self.busy_ppm = reply["busy"]
            if self.speed > 0:
                ahead = self.t_us / 1e6 / self.speed - (time.monotonic() - real0)
                if ahead > 0:
                    time.sleep(ahead)
