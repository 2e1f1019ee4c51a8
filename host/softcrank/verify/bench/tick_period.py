"""Does the control tick keep its 100 Hz period whatever the host does? (issue 13)

Runs the real firmware on the virtual trainer, whose USB port is modelled on MicroPython's rp2
CDC driver (softcrank_sim/usbcdc.py: a 256-byte FIFO; a write into a full one waits up to
500 ms) and whose host side takes only a few KB the program on the host has not read
(host/softcrank/virtual_board.py). A session is started; once the brake is loaded the host
misbehaves in one of three ways:

- "stop": stops reading for 30 s (its heartbeat goes on: the app is alive, its reader stuck);
- "freeze": freezes 2.5 s of every 8 s, for 2 minutes (a busy laptop: no heartbeat then
  either, but never for the 3 s that would count as a lost host);
- "flood": sends PING frames as fast as the port takes them for 30 s, reading meanwhile.

The scenario puts an extensor spasm and then an e-stop (or a load-cell fault) inside the
misbehaviour. Afterwards the host reads everything back and asks STATS: the firmware reports
its longest tick period and its late ticks (over LATE_US) by its own hardware clock (the
virtual trainer's: exactly 10 ms a tick unless something held the tick). Each cause's event
is timed against its onset, in ticks (faultrun.py's convention: the onset in t_ms is
at_s x 1000 - 10).

With ticks="loop" the firmware runs its tick in the main loop, as before issue 13: the same
host stalls it for 500 ms at a time. (benchmarks/tick_period.py runs this on its own.)
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time

import serial

from softcrank_fw import protocol as P

from ...sim.demo import DEMO_KEY
from ...frames import Commander, FrameError, parse
from ...sim.virtual_board import VirtualBoard

NOMINAL_US = 10_000  # loop.TICK_US
LATE_US = 12_000  # loop.LATE_US: a tick counts as late past this
START_S = 40  # the host starts misbehaving at this virtual time, the brake loaded by then
BEHAVIOURS = {"stop": 30, "freeze": 120, "flood": 30}  # virtual seconds each lasts
FREEZE_EVERY_S, FREEZE_S = 8, 2.5
# Causes, in virtual seconds from boot: inside a freeze too ([40, 42.5), [48, 50.5), [56, 58.5)...)
SCENARIOS = {
    "spasm+estop": {"events": [{"at_s": 49, "spasm": {"side": "left", "force_n": 500, "duration_s": 1}},
                               {"at_s": 65, "estop": True}]},
    "fault": {"events": [{"at_s": 57, "fault": {"side": "right", "kind": "rail"}}]},
}
CAUSE_EVENTS = {"spasm": "SPASM", "estop": "ESTOP", "fault": "FAULT"}
# 20 % cap, 30 min, 30 rpm, 250 N, 30 %/min ramp, no warm-up, 1 min cool-down (faultrun.py's)
CAPS = [20, 30, 30, 250, 30, 0, 60, 250]  # protocol 3: eight limits (signed adds the patient)
GOALS = [25, 15, 25, 20]


class Host:
    """The program on the host end of the pseudo-terminal, reading (or not) by hand."""

    def __init__(self, port, speed: float):
        self.port = port
        self.beat_s = 0.5 / speed  # a PING every 0.5 virtual s, as the app's heartbeat
        self._beat = 0.0
        self.send = Commander()
        self.records: dict[int, object] = {}
        self.answers: dict[int, object] = {}
        self.other: list = []
        self.t_ms = 0  # the newest record's time: the board's virtual clock as the host sees it

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.take(self.port.readline())

    def heartbeat(self) -> None:
        """A PING if one is due: a host that is alive, even while it does not read."""
        now = time.monotonic()
        if now - self._beat >= self.beat_s:
            self._beat = now
            try:
                self.port.write(self.send("PING"))
            except serial.SerialTimeoutException:
                pass

    def take(self, line: bytes) -> None:
        self.heartbeat()
        if not line:
            return
        try:
            frame = parse(line)
        except FrameError:
            return
        if frame.type in ("T", "E"):
            self.records[frame["rec"]] = frame
            self.t_ms = max(self.t_ms, frame["t_ms"])
        elif frame.type in ("A", "N"):
            self.answers[frame["ref"]] = frame
        else:
            self.other.append(frame)

    def command(self, type_: str, *values, timeout_s: float = 10):
        seq = self.send.seq
        self.port.write(self.send(type_, *values))
        end = time.monotonic() + timeout_s
        while seq not in self.answers and time.monotonic() < end:
            self.take(self.port.readline())
        answer = self.answers.get(seq)
        if answer is None or answer.type != "A":
            raise RuntimeError("%s not accepted: %s" % (type_, answer and answer.fields))
        return answer

    def until(self, match, timeout_s: float):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            before = len(self.records)
            self.take(self.port.readline())
            if len(self.records) != before and match(self):
                return
        raise RuntimeError("timed out waiting on the trainer (board time %d ms)" % self.t_ms)

    def stats(self) -> dict:
        for _ in range(5):  # an answer written while the port was full may be cut: ask again
            try:
                self.command("STATS", timeout_s=5)
            except RuntimeError:
                continue
            for frame in reversed(self.other):
                if frame.type == "S":
                    self.other.clear()
                    return dict(frame.fields)
        raise RuntimeError("STATS not answered")


def measure(behaviour: str, scenario: str = "spasm+estop", ticks: str = "timer", speed: float = 10.0) -> dict:
    """Ride one session on the virtual trainer with the host misbehaving; returns the STATS
    over the misbehaviour and each cause's ticks from onset to its event."""
    if behaviour not in BEHAVIOURS:
        raise ValueError("behaviour must be one of %s, not %r" % (", ".join(BEHAVIOURS), behaviour))
    doc = dict({"format": 1, "name": "stall-" + scenario, "rider": {"cadence_rpm": 20}}, **SCENARIOS[scenario])
    fd, path = tempfile.mkstemp(prefix="softcrank-stall-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    try:
        with VirtualBoard(scenario=path, speed=speed, key=DEMO_KEY, ticks=ticks) as board:
            with serial.serial_for_url(board.port, baudrate=115200, timeout=0.05, write_timeout=0.5) as port:
                return _ride(Host(port, speed), behaviour, doc, speed)
    finally:
        os.remove(path)


def _ride(host: Host, behaviour: str, doc: dict, speed: float) -> dict:
    from ..faultrun import signed

    host.command("HELLO", P.PROTOCOL_VERSION)
    device = next(f for f in host.other if f.type == "H")["device"]
    counter = next(f for f in host.other if f.type == "C")["counter"]
    host.command("CAPS", *signed(device, counter + 1, CAPS, DEMO_KEY))
    host.command("GOALS", *GOALS)
    host.command("START")
    host.until(lambda h: h.t_ms >= START_S * 1000 - 1000, (START_S + 20) / speed + 10)
    host.stats()  # from here on
    length = BEHAVIOURS[behaviour]
    t0 = time.monotonic()
    if behaviour == "stop":
        while time.monotonic() - t0 < length / speed:  # alive (the heartbeat goes on), not reading
            host.heartbeat()
            time.sleep(host.beat_s / 4)
    elif behaviour == "freeze":
        while time.monotonic() - t0 < length / speed:
            time.sleep(FREEZE_S / speed)
            host.read((FREEZE_EVERY_S - FREEZE_S) / speed)
    else:
        ping = host.send("PING")
        while time.monotonic() - t0 < length / speed:
            try:
                host.port.write(ping * 16)
            except serial.SerialTimeoutException:
                pass
            host.take(host.port.readline())
    last = max(e["at_s"] for e in doc["events"]) * 1000
    host.until(lambda h: h.t_ms >= max(last + 2000, (START_S + length) * 1000), 30 + 60 / speed)
    stats = host.stats()
    return {"behaviour": behaviour, "stats": stats, "causes": _causes(host, doc),
            "records": len(host.records), "lost": _gaps(host)}


def _causes(host: Host, doc: dict) -> dict:
    """Each cause's ticks from its onset to its event (None: no event)."""
    events = [f for _, f in sorted(host.records.items()) if f.type == "E"]
    out = {}
    for ev in doc["events"]:
        cause = next(k for k in CAUSE_EVENTS if k in ev)
        onset_ms = ev["at_s"] * 1000 - 10
        hit = [f for f in events if f["event"] == CAUSE_EVENTS[cause] and f["t_ms"] >= onset_ms - 10]
        out[cause] = math.ceil((hit[0]["t_ms"] - onset_ms) / 10) if hit else None
    return out


def _gaps(host: Host) -> int:
    recs = sorted(host.records)
    return sum(b - a - 1 for a, b in zip(recs, recs[1:]) if b > a + 1)


def run_all(speed: float = 10.0, ticks: str = "timer") -> list[dict]:
    out = []
    for behaviour in BEHAVIOURS:
        for scenario in SCENARIOS:
            out.append(dict(measure(behaviour, scenario, ticks, speed), scenario=scenario, ticks=ticks))
    return out


def main(argv: list[str]) -> int:
    results = run_all(ticks="loop" if "--loop" in argv else "timer")
    if "--json" in argv:
        print(json.dumps(results, indent=1))
        return 0
    print("%-8s %-12s %8s %14s %10s %s" % ("host", "causes", "ticks", "period max ms", "late", "cause -> event, ticks"))
    for r in results:
        f = r["stats"]
        print("%-8s %-12s %8d %14.2f %10d %s" % (r["behaviour"], r["scenario"], f["ticks"], f["period_max_us"] / 1000,
                                                f["late"], r["causes"]))
    print("(nominal period 10 ms; a tick counts as late past 12 ms)")
    return 0
