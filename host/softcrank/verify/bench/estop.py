"""ESTOP's time from the key to the wire, with the link busy.

The key calls CommandQueue.submit (trainer/commands.py) directly, so the time is taken from
submit() to the moment the ESTOP frame is read off the host's side of the wire. The wire
(`Wire`) is a pseudo-terminal between the host's Link and the virtual trainer (the real
firmware on MicroPython) that copies both ways and notes every host frame as it passes,
like a logic analyser on the USB cable; it can swallow host frames of some types (the
trainer never hears them, so their command retries) and drop a share of the trainer's
telemetry (gaps, so the link keeps asking REPLAY).

Busy means all at once: the heartbeat (every 0.5 s), REPLAYs (1 telemetry record in
DROP_EVERY lost on the way), and a GOALS whose frames the wire swallows, so it is resent up
to 4 x 0.5 s. Before issue 14 an ESTOP waited behind all of them: up to 2 s behind the
retrying GOALS alone. The goal is at most 50 ms: a hand takes longer to leave the key.
"""

from __future__ import annotations

import os
import random
import select
import statistics
import threading
import time
import tty

import serial

from ...frames import FrameError, parse
from ...sim.virtual_board import VirtualBoard
from ...trainer.commands import CommandQueue
from ...trainer.link import Link
from . import Figure

GOAL_MS = 50
DROP_EVERY = 40  # 1 telemetry record in 40 does not arrive: the link asks REPLAY for it
BUSY_GOALS = (5, 15, 25, 20)  # a valid plan: the trainer would take it, had it heard it


class Wire:
    """A pseudo-terminal between a host (at `port`) and a board's port: see the module doc.
    `swallow`: host frame types the board never gets. `drop_every`: drop 1 in N T records."""

    def __init__(self, board_port: str, swallow=(), drop_every: int = 0) -> None:
        self.swallow, self.drop_every = set(swallow), drop_every
        self.sent: list[tuple[float, str, int]] = []  # (monotonic time, type, seq) of each host frame
        self._board = serial.serial_for_url(board_port, timeout=0)
        self._master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="softcrank-wire", daemon=True)
        self._thread.start()

    def frames(self, type_: str) -> list[tuple[float, str, int]]:
        with self._lock:
            return [f for f in self.sent if f[1] == type_]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._board.close()
        os.close(self._master)
        os.close(self._slave)

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self) -> None:
        from_host, from_board = b"", b""
        t_count = 0
        board_fd = self._board.fileno()
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master, board_fd], [], [], 0.05)
            if self._master in readable:
                try:
                    from_host += os.read(self._master, 4096)
                except OSError:
                    return
                now = time.monotonic()
                *lines, from_host = from_host.split(b"\n")
                for line in lines:
                    try:
                        frame = parse(line + b"\n")
                    except FrameError:
                        frame = None
                    if frame is not None:
                        with self._lock:
                            self.sent.append((now, frame.type, frame.seq))
                        if frame.type in self.swallow:
                            continue
                    self._board.write(line + b"\n")
            if board_fd in readable:
                from_board += self._board.read(4096)
                *lines, from_board = from_board.split(b"\n")
                out = []
                for line in lines:
                    if self.drop_every and line.startswith(b"$T,"):
                        t_count += 1
                        if t_count % self.drop_every == 0:
                            continue
                    out.append(line + b"\n")
                if out:
                    os.write(self._master, b"".join(out))


def estop_latencies(trials: int, urgent: bool = True, seed: int = 14) -> list[float]:
    """Milliseconds from submit(ESTOP) to the ESTOP frame on the wire, `trials` times, each with
    a swallowed GOALS retrying and heartbeats and REPLAYs going. `urgent=False` sends the
    ESTOP as an ordinary queued command, as before issue 14 (the comparison)."""
    rng = random.Random(seed)
    times = []
    with VirtualBoard(speed=1) as board, Wire(board.port, swallow=("GOALS",), drop_every=DROP_EVERY) as wire:
        with Link(wire.port) as link:
            link.command("RATE", 50)  # 50 telemetry records a second: gaps and REPLAYs come often
            queue = CommandQueue(lambda: link)
            try:
                for _ in range(trials):
                    busy = queue.submit(("GOALS", *BUSY_GOALS))
                    time.sleep(rng.uniform(0.05, 1.5))  # somewhere in its 4 x 0.5 s of resends
                    before = len(wire.frames("ESTOP"))
                    submitted = time.monotonic()
                    job = queue.submit(("ESTOP",)) if urgent else queue.submit(("ESTOP",), ("STOP",))
                    job.wait(10)
                    on_wire = wire.frames("ESTOP")[before:]
                    if not on_wire:
                        raise RuntimeError("the ESTOP never reached the wire: %s" % job.error)
                    times.append(1000 * (on_wire[0][0] - submitted))
                    busy.wait(10)
                    queue.submit(("STOP",)).wait(10)  # clear the e-stop for the next trial
            finally:
                queue.close()
    return times


def run(quick: bool) -> list[Figure]:
    urgent = estop_latencies(5 if quick else 40)
    queued = estop_latencies(2 if quick else 5, urgent=False)
    return [
        Figure("estop.to_wire_ms_median", "ESTOP, submit (the key) to the wire, link busy: median of %d" % len(urgent),
               round(statistics.median(urgent), 1), "ms", "%d ms" % GOAL_MS),
        Figure("estop.to_wire_ms_max", "ESTOP, submit (the key) to the wire, link busy: worst of %d" % len(urgent),
               round(max(urgent), 1), "ms", "%d ms" % GOAL_MS),
        Figure("estop.queued_ms_median", "the same ESTOP behind the retrying command, as before issue 14: median of %d"
               % len(queued), round(statistics.median(queued), 1), "ms", "(the comparison)"),
    ]
