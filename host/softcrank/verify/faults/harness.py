"""What every fault run shares: the fault caps and plan, the Ride on the virtual trainer
through the real link, and the checks on what the brake did (see faultrun.py for the method).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from softcrank_fw import protocol as P

from ...boardfiles import scenario_path
from ...frames import Commander, Frame, FrameError, parse
from ...sim.demo import DEMO_KEY
from ...sim.virtual_board import VirtualBoard
from ...trainer.link import Link
from ...trainer.therapist import caps_tag, with_patient

# 20 % cap, 30 min, 30 rpm, 250 N, 30 %/min ramp (20 % within 40 s), no warm-up, 1 min cool-down


FAULT_CAPS = [20, 30, 30, 250, 30, 0, 60, 250]
FAULT_GOALS = [25, 15, 25, 20]  # 25 min of work at 20 %
RATE_HZ = 50
SPEED = 10.0  # virtual time runs 10 x real time: a fault at 60 s comes 6 s after boot
TICK_MS = 10
RAMP_PM_PER_S = 30 * 10 / 60  # the caps' ramp, per mille of the brake's range a second
RESET_CODES = {"POWER_ON": 0, "WATCHDOG": 1, "EXCEPTION": 2, "INTERRUPTED": 4}  # softcrank_pico/resetlog.py


class FaultNotHandled(AssertionError):
    """The firmware did not do what docs/safety.md promises for this fault."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise FaultNotHandled(what)


@dataclass
class Result:
    """What one fault run measured."""

    fault: str
    onset_to_zero_ticks: int | None = None  # from the fault's onset to the brake at zero
    event_to_zero_ticks: int | None = None  # from the event that reports it: 0 by design
    records: int = 0  # records received
    lost: int = 0  # records missing from what arrived (gaps in rec numbers)
    reboots: int = 0
    notes: dict = field(default_factory=dict)


def signed(device: str, counter: int, caps, key: bytes = DEMO_KEY) -> list:
    """CAPS's fields: the values, the counter and the tag the trainer's key gives (the virtual
    trainer holds DEMO_KEY, as the demo's does)."""
    caps = with_patient(caps, 0)
    return caps + [counter, caps_tag(key, device, counter, caps)]


def scaled(speed: float) -> dict:
    """Link timings in virtual seconds made real (as tests/host/test_serial_link.py): a beat
    every 0.5 virtual s, lost after 9 virtual s of silence, answers within 6."""
    return dict(heartbeat_s=0.5 / speed, silence_s=9 / speed, answer_timeout_s=max(6 / speed, 0.1))


class Ride:
    """A session on the virtual trainer through the real link, every record kept in arrival
    order (after a reboot the trainer's record numbers start again: `boot_starts` marks where)."""

    def __init__(self, scenario: str | None = "steady", speed: float = SPEED, caps=FAULT_CAPS,
                 goals=FAULT_GOALS, start: bool = True) -> None:
        self.scenario = str(scenario_path(scenario)) if scenario else None
        self.speed, self.caps, self.goals, self.start_session = speed, caps, goals, start
        self.records: list[Frame] = []
        self.lost_reports: list = []
        self._cond = threading.Condition()
        self.board = VirtualBoard(scenario=self.scenario, speed=speed, key=DEMO_KEY)
        self.link: Link | None = None
        self.caps_frame: list = []  # the CAPS fields the trainer accepted at the start

    def __enter__(self) -> "Ride":
        self.board.start()
        try:
            self.link = Link(self.board.port, store=self._store, on_lost=self.lost_reports.append,
                             **scaled(self.speed)).open()
            self.link.command("RATE", RATE_HZ)
            info = self.link.info
            self.caps_frame = signed(info["H"]["device"], info["C"]["counter"] + 1, self.caps)
            self.link.command("CAPS", *self.caps_frame)
            self.link.command("GOALS", *self.goals)
            if self.start_session:
                self.link.command("START")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.board.stop()

    def _store(self, frames: list[Frame]) -> None:
        with self._cond:
            self.records.extend(frames)
            self._cond.notify_all()

    def wait(self, match, virtual_s: float, after: int = 0) -> tuple[int, Frame]:
        """The first record from index `after` on that satisfies `match`, waiting up to
        `virtual_s` of virtual time; FaultNotHandled if none comes."""
        deadline = time.monotonic() + virtual_s / self.speed + 2.0
        i = after
        with self._cond:
            while True:
                while i < len(self.records):
                    if match(self.records[i]):
                        return i, self.records[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FaultNotHandled("no record matched within %.0f virtual s" % virtual_s)
                self._cond.wait(left)

    def wait_event(self, name: str, virtual_s: float, after: int = 0) -> tuple[int, Frame]:
        try:
            return self.wait(lambda f: f.type == "E" and f["event"] == name, virtual_s, after)
        except FaultNotHandled:
            raise FaultNotHandled("no %s event within %.0f virtual s; events: %s"
                                  % (name, virtual_s, self.event_names())) from None

    def event_names(self) -> list[str]:
        return [f["event"] for f in list(self.records) if f.type == "E"]

    def samples(self, start: int = 0, stop: int | None = None) -> list[Frame]:
        return [f for f in self.records[start:stop] if f.type == "T"]

    def gaps(self) -> int:
        """Records missing from what arrived, within each boot."""
        missing, prev = 0, None
        for f in list(self.records):
            rec = f["rec"]
            if prev is not None and rec > prev:
                missing += rec - prev - 1
            prev = rec
        return missing


def _unloaded(ride: Ride, i: int, event: Frame, onset_s: float | None, until: int | None = None,
              on_before: bool = True) -> tuple[int | None, int]:
    """Check the brake was on before the event (unless `on_before` is False: a ramp-down that
    ends in the event) and zero from its tick until record `until` (or until the next sample);
    returns (onset-to-zero ticks, event-to-zero ticks)."""
    before = [f for f in ride.samples(0, i) if f["t_ms"] <= event["t_ms"]]
    check(not on_before or bool(before) and before[-1]["res_pm"] > 0,
          "the brake was not on before %s: nothing to show" % event["event"])
    ride.wait(lambda f: f.type == "T", 1.0, i + 1)
    after = ride.samples(i + 1, until)
    check(bool(after), "no sample after %s" % event["event"])
    first = after[0]
    check(first["t_ms"] - event["t_ms"] <= 1000 // RATE_HZ, "the first sample after %s is late" % event["event"])
    check(all(f["res_pm"] == 0 for f in after), "the brake was not zero after %s: %s"
          % (event["event"], [f["res_pm"] for f in after if f["res_pm"]][:5]))
    onset = None
    if onset_s is not None:
        onset = math.ceil((event["t_ms"] - (onset_s * 1000 - TICK_MS)) / TICK_MS)
        check(onset >= 0, "the %s event came before the fault's onset" % event["event"])
    return onset, 0


def _finish(ride: Ride, result: Result) -> Result:
    result.records = len(ride.records)
    result.lost = ride.gaps()
    result.reboots = len(ride.board.resets)
    check(result.lost == 0, "%d records missing" % result.lost)
    check("LOST" not in ride.event_names(), "the trainer's ring overwrote records before they were sent")
    return result


def _reboot(ride: Ride, after: int, cause: str, virtual_s: float) -> tuple[int, Frame]:
    """The BOOT event of the next boot, with the reset cause; then idle, brake zero."""
    i, boot = ride.wait_event("BOOT", virtual_s, after)
    check(boot["arg"] == RESET_CODES[cause], "BOOT says %d, expected %s" % (boot["arg"], cause))
    j, first = ride.wait(lambda f: f.type == "T", 5, i)
    check(first["state"] == "I" and first["res_pm"] == 0, "after the reset: state %s, brake %d"
          % (first["state"], first["res_pm"]))
    check(ride.board.brake_ppm == 0, "the brake pin is not at zero after the reset")
    return i, boot


def _last_before(ride: Ride, i: int) -> Frame:
    samples = ride.samples(0, i)
    check(bool(samples) and samples[-1]["res_pm"] > 0, "the brake was not on before the fault")
    return samples[-1]


def _start_raw(port, rate_hz: int) -> Commander:
    """Over a bare port (no Link: these runs must see every byte): handshake, then the rate,
    signed caps, the goals and START, without waiting for answers. Returns the commander, so
    later frames carry the next sequence numbers."""
    send = Commander()
    port.write(send("HELLO", P.PROTOCOL_VERSION))
    hello = _await(port, "H")
    counter = _await(port, "C")["counter"] + 1
    for command in (("RATE", rate_hz), ("CAPS", *signed(hello["device"], counter, FAULT_CAPS)),
                    ("GOALS", *FAULT_GOALS), ("START",)):
        port.write(send(*command))
    return send


def _await(port, type_: str) -> Frame:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = _frame(port.readline())
        if frame is not None and frame.type == type_:
            return frame
    raise FaultNotHandled("no %s frame from the trainer" % type_)


def _frame(line: bytes) -> Frame | None:
    try:
        return parse(line)
    except FrameError:
        return None
