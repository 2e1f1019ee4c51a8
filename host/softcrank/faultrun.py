"""Fault injection end to end: the real firmware on the virtual trainer, driven through the real
host link, with one fault from a scenario file (or from the host side), and a check of what the
firmware did about it against what docs/safety.md promises.

Each `run_*` function rides one session, injects its fault, raises FaultNotHandled if any
promise is broken, and returns its figures (a Result). The safety suite
(tests/host/test_safety_faults.py) runs each once and asserts on the figures as well;
`softcrank safety` runs them all and prints the table (safety.py), from RUNS.

How the figures are measured. Every record the trainer makes reaches `Ride.records` through
the link (telemetry at 50 Hz: a sample every 2 ticks). A fault's onset is the scenario's
`at_s`, on the rider's clock; the controller's `t_ms` runs one tick behind it (the rider has
already stepped 10 ms when the first tick runs), so the onset in `t_ms` is `at_s * 1000 - 10`.
*Onset to zero* is then the ticks from the onset to the event whose tick put the brake to zero
(detection included: a stale load cell is only known to be stale after 500 ms); *event to
zero* is checked to be 0: the first sample at or after the event reads 0 and none is above 0
until the fault is over.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import serial

from softcrank_fw import protocol as P
from softcrank_fw.control import (HOST_HOLD_MS, HOST_RAMPDOWN_PCT_S, HOST_TIMEOUT_MS, OVERSPEED_PAUSE_MS,
                                  SPASM_REST_MS)
from softcrank_fw.force import STALE_MS, STUCK_READINGS

from .demo import DEMO_KEY
from .frames import Commander, Frame, FrameError, parse
from .interpreter import scenario_path
from .link import CommandRefused, Link
from .therapist import caps_tag
from .virtual_board import VirtualBoard

# 20 % cap, 30 min, 30 rpm, 250 N, 30 %/min ramp (20 % within 40 s), no warm-up, 1 min cool-down
FAULT_CAPS = [20, 30, 30, 250, 30, 0, 60]
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
    return list(caps) + [counter, caps_tag(key, device, counter, caps)]


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


# ----- faults the rider's world injects (scenario files) ------------------------------------

def run_estop() -> Result:
    """E-stop pressed at 60 s, released at 70 s: brake zero in the tick, state e-stop until the
    host's STOP after the release, then idle."""
    with Ride("estop") as ride:
        i, ev = ride.wait_event("ESTOP", 90)
        check(ev["arg"] == 0, "ESTOP should come from the input (arg 0)")
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 69_000, 30, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        check(all(f["state"] == "E" for f in ride.samples(i + 1, j)), "left the e-stop state by itself")
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 71_000, 30, j)
        ride.link.command("STOP")
        k, _ = ride.wait_event("CLEAR", 5, i)
        ride.wait(lambda f: f.type == "T" and f["state"] == "I", 5, k)
        return _finish(ride, Result("e-stop input", onset, zero))


def run_host_estop() -> Result:
    """The host's ESTOP command mid-work: brake zero before the answer."""
    with Ride("steady") as ride:
        ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        ride.link.command("ESTOP")
        i, ev = ride.wait_event("ESTOP", 5)
        check(ev["arg"] == 1, "ESTOP should come from the host (arg 1)")
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 2000, 10, i)
        _, zero = _unloaded(ride, i, ev, None, j)
        return _finish(ride, Result("e-stop from the host", None, zero))


def run_spasm() -> Result:
    """A 500 N spasm at 60 s: brake zero in the tick, rest 10 s once the force is back below
    the threshold, then re-ramp from zero no faster than the ramp."""
    with Ride("spasm") as ride:
        i, ev = ride.wait_event("SPASM", 90)
        check(ev["arg"] == P.SPASM_FORCE_L, "the spasm should be the left pedal's force")
        j, end = ride.wait_event("REST_END", 30, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        rest_ms = end["t_ms"] - ev["t_ms"]
        check(SPASM_REST_MS <= rest_ms <= SPASM_REST_MS + 2000 + 500, "rested %d ms" % rest_ms)
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= end["t_ms"] + 10_000, 30, j)
        for f in ride.samples(j + 1):
            allowed = RAMP_PM_PER_S * (f["t_ms"] - end["t_ms"]) / 1000 + 1
            check(f["res_pm"] <= allowed, "re-ramped too fast: %d per mille after %d ms"
                  % (f["res_pm"], f["t_ms"] - end["t_ms"]))
        return _finish(ride, Result("spasm", onset, zero, notes={"rest_ms": rest_ms}))


LOAD_CELL_FAULTS = {  # kind: (side code, fault code, the most ticks detection may take, why)
    "stale": (10, 2, STALE_MS // TICK_MS + 2, "no reading for STALE_MS"),
    "rail": (20, 1, 3, "the next reading"),
    "stuck": (10, 3, STUCK_READINGS * 125 // 100 + 3, "STUCK_READINGS identical readings at 80 SPS"),
    "jump": (20, 4, 3, "the next reading"),
}


def run_load_cell(kind: str) -> Result:
    """A load-cell fault at 60 s: FAULT in the tick it is detected, brake zero there, and a
    new session refused until it is mended. "noisy" is caught as a spasm or a jump, whichever
    comes first; either unloads the brake."""
    with Ride("load-cell-" + kind) as ride:
        if kind == "noisy":
            i, ev = ride.wait(lambda f: f.type == "E" and f["event"] in ("SPASM", "FAULT"), 90)
            bound = 100  # +-300 N of noise passes the 250 N threshold in about 1 reading of 10: 1 s is ample
        else:
            side, code, bound, _ = LOAD_CELL_FAULTS[kind]
            i, ev = ride.wait_event("FAULT", 90)
            check(ev["arg"] == side + code, "FAULT %d, expected %d" % (ev["arg"], side + code))
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 3000, 10, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        check(onset <= bound, "%s took %d ticks to unload (at most %d)" % (kind, onset, bound))
        if ev["event"] == "FAULT":
            ride.link.command("STOP")  # clears the latch; the cell is still broken
            c, _ = ride.wait_event("CLEAR", 5, i)
            try:
                ride.link.command("START")
            except CommandRefused:
                pass  # refused: the cell reads implausibly (rail, jump) or not at all (stale)
            else:
                # A stuck cell reads fresh values, so START is taken; it is caught again within
                # the same detection time, the brake having risen only as far as the ramp allows.
                check(kind == "stuck", "a session started on a %s load cell" % kind)
                k, again = ride.wait_event("FAULT", bound / 100 + 2, c)
                top = max(f["res_pm"] for f in ride.samples(c, k) or [{"res_pm": 0}])
                check(top <= RAMP_PM_PER_S * bound / 100 + 1, "the brake rose to %d per mille on a stuck cell" % top)
        return _finish(ride, Result("load cell " + kind, onset, zero, notes={"event": ev["event"]}))


def run_overspeed() -> Result:
    """36 rpm against a 30 rpm cap from 60 s: OVERSPEED, resistance no longer rises, and the
    session pauses after OVERSPEED_PAUSE_MS with the brake at zero."""
    with Ride("overspeed") as ride:
        i, ev = ride.wait_event("OVERSPEED", 120)
        j, pause = ride.wait_event("PAUSE", OVERSPEED_PAUSE_MS / 1000 + 10, i)
        check(pause["arg"] == P.PAUSE_OVERSPEED, "paused for %d, not overspeed" % pause["arg"])
        held = ride.samples(i, j)
        check(all(b["res_pm"] <= a["res_pm"] for a, b in zip(held, held[1:])), "resistance rose while overspeeding")
        k, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= pause["t_ms"] + 2000, 10, j)
        took = pause["t_ms"] - ev["t_ms"]
        check(OVERSPEED_PAUSE_MS - TICK_MS <= took <= OVERSPEED_PAUSE_MS + TICK_MS, "paused %d ms after the overspeed" % took)
        _, zero = _unloaded(ride, j, pause, None, k)
        return _finish(ride, Result("overspeed", took // TICK_MS, zero, notes={"cadence_drpm": ev["arg"]}))


def run_duration_cap() -> Result:
    """A plan longer than the 1-minute cap: cool-down (COOLDOWN 1) when riding time reaches
    the cap, brake zero in that tick, then DONE."""
    with Ride("steady", caps=[20, 1, 30, 250, 30, 0, 20], goals=[90, 15, 25, 20]) as ride:
        s, start = ride.wait_event("START", 10)
        i, ev = ride.wait_event("COOLDOWN", 90, s)
        check(ev["arg"] == 1, "COOLDOWN should say the cap was reached (arg 1)")
        rode = ev["t_ms"] - start["t_ms"]
        check(60_000 <= rode <= 60_000 + TICK_MS, "cooled down after %d ms of riding" % rode)
        j, _ = ride.wait_event("DONE", 40, i)
        onset, zero = _unloaded(ride, i, ev, None, j)
        return _finish(ride, Result("duration cap", (rode - 60_000) // TICK_MS, zero))


def run_crank_bounce() -> Result:
    """A bouncing crank contact: cadence still right, no phantom reversal (spasm)."""
    with Ride("crank-bounce") as ride:
        i, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 60_000, 90)
        cadence = [f["cad_drpm"] for f in ride.samples(0, i) if f["t_ms"] >= 30_000]
        mean = sum(cadence) / len(cadence)
        check(170 <= mean <= 230, "cadence %.1f rpm with a bouncing contact (the rider pedals 20)" % (mean / 10))
        check("SPASM" not in ride.event_names(), "bounce read as a reversal")
        return _finish(ride, Result("crank bounce", notes={"mean_cadence_rpm": round(mean / 10, 1)}))


def run_crank_dead() -> Result:
    """A dead crank sensor from 50 s: cadence reads 0 (a known blind spot, docs/safety.md),
    resistance stays within the caps and the ramp, and a force spasm at 70 s still unloads."""
    with Ride("crank-dead") as ride:
        i, ev = ride.wait_event("SPASM", 100)
        check(ev["arg"] == P.SPASM_FORCE_R, "the spasm should be the right pedal's force")
        dead = [f for f in ride.samples(0, i) if f["t_ms"] >= 52_000]
        check(dead and all(f["cad_drpm"] == 0 for f in dead), "cadence did not read 0 with the sensor dead")
        check(all(f["res_pm"] <= FAULT_CAPS[0] * 10 for f in ride.samples()), "resistance above the cap")
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 3000, 10, i)
        onset, zero = _unloaded(ride, i, ev, 70, j)
        return _finish(ride, Result("crank sensor dead", onset, zero))


# ----- faults of the firmware and the board ---------------------------------------------------

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


def run_exception() -> Result:
    """An exception in the tick at 75 s (after the first minute): brake zero, reason recorded,
    the board resets itself (through the watchdog, as on a Pico) and comes back idle."""
    with Ride("exception") as ride:
        i, boot = _reboot(ride, 1, "EXCEPTION", 120)
        last = _last_before(ride, i)
        check([r[1] for r in ride.board.resets] == ["reset"], "resets: %s" % ride.board.resets)
        result = _finish(ride, Result("firmware exception", None, None))
        result.notes["last_sample_t_ms"] = last["t_ms"]
        return result


def run_hang() -> Result:
    """The loop hangs at 75 s: the watchdog resets the board within its 2 s (real time, as on
    a Pico), the brake at zero from the reset, BOOT says WATCHDOG."""
    with Ride("hang") as ride:
        i, boot = _reboot(ride, 1, "WATCHDOG", 120 + 10 * ride.speed)
        _last_before(ride, i)
        bites = ride.board.watchdog_resets()
        check(len(bites) == 1, "watchdog resets: %s" % ride.board.resets)
        waited = bites[0][2]
        check(ride.board.watchdog_s <= waited <= ride.board.watchdog_s + 0.5, "the watchdog bit %.2f s after the last feed" % waited)
        result = _finish(ride, Result("firmware hang (watchdog)", None, None))
        result.notes["watchdog_s"] = round(waited, 2)
        return result


def run_power_cut() -> Result:
    """A brownout mid-work: the board dies mid-tick and boots idle, brake zero, BOOT POWER_ON;
    the link reconnects by itself and reports the restart."""
    with Ride("steady") as ride:
        ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        n = len(ride.records)
        ride.board.power_cut()
        _reboot(ride, n, "POWER_ON", 30)
        check(any(lost.reason == "restart" for lost in ride.lost_reports), "the link did not report the restart")
        return _finish(ride, Result("brownout / reset mid-ride"))


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


def run_ctrl_c() -> Result:
    """A 0x03 byte mid-work (a stray one in the data, or mpremote's Ctrl-C) changes nothing:
    the session goes on, the brake loaded. Once the session has ended, Ctrl-C breaks in as
    mpremote and deploy need: brake zero, the watchdog stopped, the REPL up; no reset follows
    (someone is at the REPL)."""
    board = VirtualBoard(scenario=str(scenario_path("steady")), speed=SPEED, key=DEMO_KEY)
    board.start()
    try:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = _start_raw(port, RATE_HZ)
            deadline = time.monotonic() + 60 / SPEED + 5
            while time.monotonic() < deadline:
                port.write(send("PING"))
                frame = _frame(port.readline())
                if frame is not None and frame.type == "T" and frame["res_pm"] >= 100:
                    break
            else:
                raise FaultNotHandled("the brake never came on")
            check(board.brake_ppm > 0 and board.armed, "the brake pin and watchdog before Ctrl-C")
            port.write(b"\x03")
            riding, text = 0, b""
            deadline = time.monotonic() + 10 / SPEED  # 10 virtual seconds
            while time.monotonic() < deadline:
                port.write(send("PING"))
                line = port.readline()
                text += line
                frame = _frame(line)
                if frame is not None and frame.type == "T" and frame["state"] == "W" and frame["res_pm"] > 0:
                    riding += 1
            check(b"KeyboardInterrupt" not in text and b">>>" not in text, "a 0x03 mid-ride broke in: %r" % text[-200:])
            check(riding >= RATE_HZ and board.brake_ppm > 0 and board.armed and board.resets == [],
                  "the session did not go on after a 0x03: %d loaded samples, brake %d, armed %s, resets %s"
                  % (riding, board.brake_ppm, board.armed, board.resets))
            port.write(send("STOP"))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                frame = _frame(port.readline())
                if frame is not None and frame.type == "T" and frame["state"] == "D" and frame["res_pm"] == 0:
                    break
            else:
                raise FaultNotHandled("STOP did not end the session")
            port.write(b"\x03")
            text = b""
            deadline = time.monotonic() + 5
            while b">>>" not in text and time.monotonic() < deadline:
                text += port.read(4096)
            check(b"KeyboardInterrupt" in text and b">>>" in text, "no REPL after Ctrl-C: %r" % text[-200:])
            time.sleep(board.watchdog_s + 0.5)
            check(board.brake_ppm == 0 and not board.armed, "brake %d, watchdog armed %s after Ctrl-C"
                  % (board.brake_ppm, board.armed))
            check(board.resets == [], "the board reset under the REPL: %s" % board.resets)
        return Result("Ctrl-C", None, 0)
    finally:
        board.stop()


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


# ----- caps changed without authorisation -----------------------------------------------------

def run_unauthorised_caps() -> Result:
    """Mid-work, CAPS raising the cap to 100 %: with a forged tag, as a replay of the frame the
    trainer accepted at the start, and with an old counter: each refused (AUTH, STALE) with a
    CAPS_REFUSED event, the caps and the brake untouched."""
    raised = [100] + FAULT_CAPS[1:]
    with Ride("steady") as ride:
        i, _ = ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        device, counter = ride.link.info["H"]["device"], ride.caps_frame[len(FAULT_CAPS)]
        attempts = [
            ("AUTH", raised + [counter + 1, caps_tag(bytes(32), device, counter + 1, raised)]),  # another key
            ("AUTH", raised + [counter + 1, ride.caps_frame[-1]]),  # the start's tag on new values
            ("STALE", ride.caps_frame),  # the accepted frame, recorded and replayed
            ("STALE", signed(device, counter, raised)),  # a right tag but no newer counter
        ]
        for code, fields in attempts:
            try:
                ride.link.command("CAPS", *fields)
            except CommandRefused as e:
                check(e.code == code, "CAPS refused with %s, expected %s" % (e.code, code))
            else:
                raise FaultNotHandled("the trainer took unauthorised caps (%s expected)" % code)
        j, _ = ride.wait(lambda f: f.type == "T", 10, len(ride.records))
        k, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ride.records[j]["t_ms"] + 5000, 20, j)
        refused = [f["arg"] for f in ride.records[i:k] if f.type == "E" and f["event"] == "CAPS_REFUSED"]
        check(refused == [P.REFUSED_TAG, P.REFUSED_TAG, P.REFUSED_STALE, P.REFUSED_STALE],
              "CAPS_REFUSED events: %s" % refused)
        check("CAPS" not in [f["event"] for f in ride.records[i:k] if f.type == "E"], "the caps changed")
        check(all(f["res_pm"] <= FAULT_CAPS[0] * 10 for f in ride.samples(i, k)), "the brake passed the old cap")
        return _finish(ride, Result("unauthorised caps", notes={"refused": len(refused)}))


# ----- the link ---------------------------------------------------------------------------------

def run_cable_out(seconds: float = 30) -> Result:
    """The USB cable out for 30 s mid-work: the trainer stops resistance rising after 3 s
    (HOST_LOST), ramps it down and pauses after 10 s, brake zero; back in, the host fetches
    every record made meanwhile (REPLAY) and resumes."""
    with Ride("steady") as ride:
        i, _ = ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        ride.board.unplug(seconds / ride.speed)
        j, lost = ride.wait_event("HOST_LOST", seconds + 30, i)
        k, pause = ride.wait_event("PAUSE", seconds + 30, j)
        check(pause["arg"] == P.PAUSE_HOST_SILENT, "paused for %d" % pause["arg"])
        held = ride.samples(j, k)
        check(all(b["res_pm"] <= a["res_pm"] for a, b in zip(held, held[1:])), "resistance rose with the host gone")
        # held from 3 s of silence, ramped down at 20 %/s from 10 s, paused at zero
        brake = held[0]["res_pm"] if held else 0
        longest = HOST_TIMEOUT_MS - HOST_HOLD_MS + brake * 100 // HOST_RAMPDOWN_PCT_S + 2 * TICK_MS
        took = pause["t_ms"] - lost["t_ms"]
        check(HOST_TIMEOUT_MS - HOST_HOLD_MS <= took <= longest, "paused %d ms after HOST_LOST" % took)
        m, _ = ride.wait_event("HOST_BACK", seconds + 30, k)
        check(held[0]["res_pm"] > 0, "the brake was not on when the host was lost: nothing to show")
        _, zero = _unloaded(ride, k, pause, None, m, on_before=False)  # the ramp-down ends at zero
        deadline = time.monotonic() + 10
        while ride.link.state != "connected" and time.monotonic() < deadline:
            time.sleep(0.05)
        ride.link.command("RESUME")
        ride.wait_event("RESUME", 10, m)
        result = _finish(ride, Result("USB link cut %d s" % seconds, None, zero))
        result.notes["replayed"] = len(ride.records) - i
        result.notes["pause_after_host_lost_ms"] = took
        return result


def run_host_not_reading(seconds: float = 10, speed: float = 10) -> Result:
    """The host keeps sending its heartbeat (an ACK of the newest record it read) but reads
    nothing for 10 s of real time (a frozen reader thread), mid-work, at 10 Hz telemetry and 10 x
    real time: 100 virtual s, about 1,000 records and 55 KB, queued between the firmware and the
    host (a Pico's USB buffers hold a few hundred bytes; the virtual trainer's pseudo-terminal,
    relay and pipe about 150 KB, nearly the ring's size, so the firmware's refused-write path is
    shown by tests/firmware/test_link.py rather than here). The session goes on unchanged (no
    HOST_LOST, no pause, the brake as planned), and when the host reads again every record comes,
    in order."""
    board = VirtualBoard(scenario=str(scenario_path("steady")), speed=speed, key=DEMO_KEY)
    board.start()
    try:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = _start_raw(port, 10)
            records: list[Frame] = []

            def beat():
                port.write(send("ACK", records[-1]["rec"]) if records else send("PING"))

            _read_until(port, records, lambda f: f.type == "T" and f["res_pm"] >= 100, 60 / speed + 5, beat, speed)
            frozen_at = len(records)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:  # write, never read
                beat()
                time.sleep(0.5 / speed)
            t_resumed = time.monotonic()
            frozen_t = records[-1]["t_ms"]
            until = frozen_t + (seconds + 2) * speed * 1000
            last = _read_until(port, records, lambda f: f.type == "T" and f["t_ms"] >= until, 60, beat, speed)
        recs = [f["rec"] for f in records]
        check(recs == list(range(recs[0], recs[0] + len(recs))), "records missing or out of order")
        events = [f["event"] for f in records if f.type == "E"]
        check(not {"HOST_LOST", "PAUSE", "LOST", "FAULT"} & set(events), "events while not reading: %s" % events)
        check(all(f["state"] == "W" for f in records[frozen_at:] if f.type == "T"), "the session did not go on")
        check(last["res_pm"] > 0, "the brake is off")
        made = [f for f in records[frozen_at:] if f["t_ms"] <= frozen_t + seconds * speed * 1000]
        queued = sum(len(P.encode(f.type, 0, list(f.fields.values()))) for f in made)
        check(queued > 40_000, "only %d bytes queued while the host was not reading" % queued)
        result = Result("host not reading %d s" % seconds, records=len(records))
        result.notes["queued_kb"] = queued // 1000
        result.notes["caught_up_s"] = round(time.monotonic() - t_resumed, 1)
        return result
    finally:
        board.stop()


def _read_until(port, records: list, match, timeout: float, beat, speed: float) -> Frame:
    """Read frames, keeping the records, until one matches, calling beat() every half virtual
    second; FaultNotHandled after timeout."""
    deadline = time.monotonic() + timeout
    next_beat = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_beat:
            beat()
            next_beat = time.monotonic() + 0.5 / speed
        frame = _frame(port.readline())
        if frame is None:
            continue
        if frame.type in ("T", "E"):
            records.append(frame)
        if match(frame):
            return frame
    raise FaultNotHandled("no matching frame within %.0f s" % timeout)


RUNS = [  # (name, run), in the order of docs/safety.md's table
    ("e-stop input", run_estop),
    ("e-stop from the host", run_host_estop),
    ("spasm", run_spasm),
] + [("load cell " + kind, (lambda k=kind: run_load_cell(k))) for kind in ("stale", "rail", "stuck", "jump", "noisy")] + [
    ("overspeed", run_overspeed),
    ("duration cap", run_duration_cap),
    ("crank bounce", run_crank_bounce),
    ("crank sensor dead", run_crank_dead),
    ("firmware exception", run_exception),
    ("firmware hang (watchdog)", run_hang),
    ("brownout / reset mid-ride", run_power_cut),
    ("Ctrl-C", run_ctrl_c),
    ("USB link cut 30 s", run_cable_out),
    ("host not reading 10 s", run_host_not_reading),
    ("unauthorised caps", run_unauthorised_caps),
]


__all__ = ["FaultNotHandled", "Result", "Ride", "RUNS", "check", "scaled"]
