"""The link: bytes per telemetry sample on the wire, the UART share, replay throughput.

Both over the real firmware on the virtual trainer's pseudo-terminal. A UART frames each byte
with a start and a stop bit, so 115200 baud carries 11520 bytes a second.
"""

from __future__ import annotations

import statistics
import threading
import time

import serial

from softcrank_fw import protocol as P

from ...frames import Commander, FrameError, parse
from ...sim.demo import DEMO_KEY
from ...sim.virtual_board import VirtualBoard
from ...trainer.link import Link
from ...trainer.therapist import caps_tag
from . import Figure

UART_BYTES_S = 115200 // 10  # 8 data bits + start + stop
RECORDS_PER_TICK = 4  # loop.RECORDS_PER_TICK: what the firmware sends at most each 10 ms tick
LIVE_SLACK_S = 0.1  # a record that arrives within this of the live lag is live: the backlog is done
RIDE_CAPS = [40, 35, 120, 250, 30, 5, 60, 250]
RIDE_GOALS = [20, 15, 25, 30]


def wire_bytes(seconds: float) -> list[int]:
    """Lengths on the wire (newline included) of the T frames of a loaded ride at 50 Hz."""
    speed = 10
    lengths: list[int] = []
    with VirtualBoard(speed=speed, key=DEMO_KEY) as board:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = Commander()
            frames = _command(port, send, "HELLO", P.PROTOCOL_VERSION)
            hello, caps = (next(f for f in frames if f.type == t) for t in "HC")
            counter = caps["counter"] + 1
            caps = RIDE_CAPS + [0]  # no patient named
            tag = caps_tag(DEMO_KEY, hello["device"], counter, caps)
            for command in (("CAPS", *caps, counter, tag), ("GOALS", *RIDE_GOALS), ("RATE", 50), ("START",)):
                _command(port, send, *command)
            end = time.monotonic() + seconds / speed
            beat = 0.0
            while time.monotonic() < end:
                line = port.readline()
                try:
                    frame = parse(line)
                except FrameError:
                    continue
                if frame.type == "T" and frame["state"] in "UW":
                    lengths.append(len(line))
                if frame.type == "T" and time.monotonic() > beat:  # the heartbeat: or it pauses after 10 s
                    port.write(send("ACK", frame["rec"]))
                    beat = time.monotonic() + 0.5 / speed
    if not lengths:
        raise RuntimeError("no telemetry from the virtual trainer")
    return lengths


def _command(port, send, type_, *values) -> list:
    """Send a command; returns the frames of its answer, up to its A. Refused: RuntimeError."""
    seq = send.seq
    port.write(send(type_, *values))
    frames = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            frame = parse(port.readline())
        except FrameError:
            continue
        if frame.type in "AN" and frame["ref"] == seq:
            if frame.type == "N":
                raise RuntimeError("the virtual trainer refused %s: %s" % (type_, frame["code"]))
            return frames
        if frame.type not in "TE":
            frames.append(frame)
    raise RuntimeError("the virtual trainer did not answer %s" % type_)


class Arrivals:
    """The sink: when each record arrived, and its time on the trainer's clock."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.t_ms: list[int] = []
        self.recs: list[int] = []
        self.lock = threading.Lock()

    def store(self, frames) -> None:
        now = time.monotonic()
        with self.lock:
            for f in frames:
                self.times.append(now)
                self.t_ms.append(f["t_ms"])
                self.recs.append(f["rec"])

    def lags(self, start: int = 0) -> list[float]:
        """How late each record arrived after it was made, in seconds (plus a constant: the two
        clocks' offset). The trainer runs in real time (speed 1), so live records all have
        about the same lag and replayed ones more."""
        with self.lock:
            return [t - ms / 1000 for t, ms in zip(self.times[start:], self.t_ms[start:])]


def replay_rate(unplugged_s: float) -> dict:
    """Unplug a trainer sending 50 Hz for `unplugged_s`, plug it back, and time the catch-up:
    records a second from the first one after the plug to the first that arrives as late as
    live ones do (within LIVE_SLACK_S), the trainer's own timestamps saying which is which."""
    sink = Arrivals()
    end = None
    with VirtualBoard(speed=1) as board:
        with Link(board.port, store=sink.store) as link:
            link.command("RATE", 50)
            time.sleep(2)
            live = min(sink.lags())  # the clocks' offset, plus the least latency
            board.unplug()
            time.sleep(unplugged_s)
            with sink.lock:
                before = len(sink.times)
            plugged = time.monotonic()
            board.plug()
            deadline = plugged + unplugged_s + 30  # reconnect (silence, back-off, handshake), catch up
            while end is None and time.monotonic() < deadline:
                time.sleep(0.5)
                lags = sink.lags(before)
                end = next((i for i, lag in enumerate(lags) if lag - live < LIVE_SLACK_S), None)
    with sink.lock:
        times, recs = sink.times[before:], list(sink.recs)
    if end is None or end < 2:
        raise RuntimeError("the replay did not catch up in time (%d records after the plug)" % len(times))
    return {"records": end, "seconds": times[end] - times[0], "reconnect_s": times[0] - plugged,
            "missing": len(set(range(min(recs), max(recs) + 1)) - set(recs))}


def run(quick: bool) -> list[Figure]:
    lengths = wire_bytes(20 if quick else 120)
    per_sample = statistics.mean(lengths)
    replay = replay_rate(4 if quick else 30)
    rate = replay["records"] / replay["seconds"]
    return [
        Figure("link.bytes_per_sample", "bytes per telemetry sample on the wire (mean of %d, max %d)"
               % (len(lengths), max(lengths)), round(per_sample, 1), "B"),
        Figure("link.uart_share_10hz_pct", "share of a 115200-baud UART at 10 Hz", round(100 * per_sample * 10 / UART_BYTES_S, 1),
               "%", "100 %"),
        Figure("link.uart_share_50hz_pct", "share of a 115200-baud UART at 50 Hz", round(100 * per_sample * 50 / UART_BYTES_S, 1),
               "%", "100 %"),
        Figure("link.uart_max_samples_s", "samples a second a 115200-baud UART could carry", round(UART_BYTES_S / per_sample),
               "/s"),
        Figure("link.replay_samples_s", "replay after a reconnect (%d records)" % replay["records"], round(rate), "/s",
               "%d/s (4 a tick)" % (RECORDS_PER_TICK * 100)),
        Figure("link.replay_ratio", "replay rate / the firmware's 4 records a tick", round(rate / (RECORDS_PER_TICK * 100), 2),
               "x", "1"),
        Figure("link.reconnect_s", "plug-in to the first replayed record", round(replay["reconnect_s"], 2), "s",
               "5 s back-off + handshake"),
        Figure("link.replay_missing", "records missing after the replay", replay["missing"], "", "0"),
    ]
