"""Does the control tick keep its 100 Hz period when the host stops reading?

Runs the virtual trainer in real time (speed 1) at 50 Hz telemetry, reads it for a while, then
stops reading for 90 s so the pseudo-terminal (20 KB), the relay's buffer (68 KB) and the
pipe behind it (64 KB) fill up: about 150 KB at ~2.5 KB/s takes some 60 s, and past that the
firmware's writes are refused and its link retries on later ticks. Then it reads the backlog
for 3 s (an answer written while the port was full is lost) and asks again. The firmware
measures its own tick periods by the wall clock and reports them with STATS.

(benchmarks/tick_period.py runs this on its own.)
"""

from __future__ import annotations

import time

import serial

from softcrank_fw import protocol as P

from ...frames import Commander, FrameError, await_frame, parse
from ...sim.virtual_board import VirtualBoard

NOMINAL_US = 10_000  # loop.TICK_US
LATE_US = 15_000  # loop.LATE_US: a tick counts as late past this


def stats(port, send, tries: int = 3) -> dict:
    """Ask for STATS; returns the S frame's fields (reading and dropping telemetry on the way).

    An answer the firmware could not write (the port full) is gone, so ask again, afresh."""
    frame = None
    for _ in range(tries):
        seq = send.seq
        port.write(send("STATS"))
        frame = await_frame(port, lambda f: f.type == "S" or (f.type == "N" and f["ref"] == seq), 10)
        if frame is not None and frame.type == "S":
            return frame.fields
    raise RuntimeError("STATS not answered: %s" % (frame and frame["code"]))


def read_for(port, send, seconds: float) -> None:
    """Read (and ACK now and then) like a host that keeps up."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            frame = parse(port.readline())
        except FrameError:
            continue
        if frame.type in ("T", "E") and frame["rec"] % 10 == 0:
            port.write(send("ACK", frame["rec"]))


def measure(read_s: float = 10, quiet_s: float = 90) -> dict:
    """{"reading": STATS fields, "not_reading": STATS fields} over the two stretches."""
    with VirtualBoard(speed=1) as board:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = Commander()
            port.write(send("HELLO", P.PROTOCOL_VERSION))
            read_for(port, send, min(2, read_s))
            port.write(send("RATE", 50))  # the most telemetry the firmware sends
            stats(port, send)  # start measuring from here
            read_for(port, send, read_s)
            reading = stats(port, send)
            time.sleep(quiet_s)  # the host stops reading
            read_for(port, send, 3)  # takes the backlog, so STATS's answer can get through
            not_reading = stats(port, send)
    return {"reading": reading, "not_reading": not_reading, "read_s": read_s, "quiet_s": quiet_s}


def main(argv: list[str]) -> int:
    import json

    result = measure()
    if "--json" in argv:
        print(json.dumps(result, indent=1))
        return 0
    print("%-32s %8s %14s %12s %10s" % ("", "ticks", "period max ms", "late ticks", "heap free"))
    for name, key in (("host reading, 50 Hz telemetry", "reading"),
                      ("host not reading for %.0f s" % result["quiet_s"], "not_reading")):
        f = result[key]
        print("%-32s %8d %14.2f %12d %10d" % (name, f["ticks"], f["period_max_us"] / 1000, f["late"], f["heap_free"]))
    print("(nominal period 10 ms; a tick counts as late past 15 ms)")
    return 0
