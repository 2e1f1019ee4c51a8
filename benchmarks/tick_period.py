"""Does the control tick keep its 100 Hz period when the host stops reading?

Runs the virtual trainer in real time (speed 1), reads its telemetry for a while, then stops
reading for 10 s so the pseudo-terminal and the pipe behind it fill up, then reads again.
The firmware measures its own tick periods by the wall clock and reports them with STATS.
Prints the figures; asserts nothing (this machine is shared and noisy).

    python benchmarks/tick_period.py [--json]
"""

import json
import sys
import time

import serial

from softcrank.frames import Commander, FrameError, await_frame, parse
from softcrank.virtual_board import VirtualBoard
from softcrank_fw import protocol as P


def stats(port, send, read=True):
    """Ask for STATS; returns the S frame's fields (reading and dropping telemetry on the way)."""
    seq = send.seq
    port.write(send("STATS"))
    frame = await_frame(port, lambda f: f.type == "S" or (f.type == "N" and f["ref"] == seq), 30)
    if frame is None or frame.type != "S":
        raise RuntimeError("STATS not answered: %s" % (frame and frame["code"]))
    return frame.fields


def read_for(port, send, seconds):
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        try:
            frame = parse(port.readline())
        except FrameError:
            continue
        if frame.type in ("T", "E"):
            last = frame["rec"]
            if last % 10 == 0:
                port.write(send("ACK", last))


def main():
    rows = []
    with VirtualBoard(speed=1) as board:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = Commander()
            port.write(send("HELLO", P.PROTOCOL_VERSION))
            read_for(port, send, 2)
            port.write(send("RATE", 50))  # the most telemetry the firmware sends
            stats(port, send)  # start measuring from here
            read_for(port, send, 10)
            rows.append(("host reading, 50 Hz telemetry", stats(port, send)))
            time.sleep(10)  # the host stops reading: 10 s of frames pile up, then writes are refused
            rows.append(("host not reading for 10 s", stats(port, send)))
    if "--json" in sys.argv:
        print(json.dumps({name: fields for name, fields in rows}, indent=1))
        return
    print("%-32s %8s %14s %12s %10s" % ("", "ticks", "period max ms", "late ticks", "heap free"))
    for name, f in rows:
        print("%-32s %8d %14.2f %12d %10d" % (name, f["ticks"], f["period_max_us"] / 1000, f["late"], f["heap_free"]))
    print("(nominal period 10 ms; a tick counts as late past 15 ms)")


if __name__ == "__main__":
    main()
