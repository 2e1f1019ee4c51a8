"""Helpers of the app's tests: ride logs with real sessions, waiting for the app, apps."""

from __future__ import annotations

import gzip
import json
import pathlib
import time
from pathlib import Path
import threading
from datetime import date

from softcrank.app import SoftcrankApp
from softcrank.sim.demo_history import Tape
from softcrank.frames import Frame
from softcrank.store.ridelog import RideLog

DATA = pathlib.Path(__file__).parent / "data" / "rides.jsonl.gz"
TODAY = date(2026, 3, 20)  # Progress counts weeks up to this day in the snapshots
SESSION_DAYS = ("2026-03-03", "2026-03-10")  # when the two captured sessions are dated
SPEED = 10  # the virtual trainer's time scale in the flow tests: a stalled host pauses it after 1 s real
SHORT_CAPS = {"max_res_pct": 20, "max_dur_min": 5, "max_cad_rpm": 30, "spasm_n": 250, "ramp_pct_min": 10,
              "warmup_s": 60, "cooldown_s": 60, "spasm_r_n": 250}  # 1 min warm-up and cool-down: a session of a few minutes
PIN = "135790"  # the tests' therapist PIN
SIM_DEVICE = "sim-0001"  # the device name the virtual trainer reports (softcrank_sim.board.SimBoard)
SHORT_PLAN = {"dur_min": 1, "cad_lo_rpm": 15, "cad_hi_rpm": 25, "res_pct": 10}


def provision(log: RideLog, pin: str = PIN) -> None:
    """Set the PIN and keep the virtual trainer's CAPS key (demo.DEMO_KEY), as deploy would."""
    from softcrank.sim.demo import DEMO_KEY
    from softcrank.trainer.therapist import set_pin, unlock

    set_pin(log, pin)
    unlock(log, pin, "test: the virtual trainer's key").store_device_key(SIM_DEVICE, DEMO_KEY)


class FixedClock:
    """A ride-log clock that says what it is told: no wall clock in the snapshots."""

    def __init__(self, day: str) -> None:
        self.now = day + "T10:00:00.000+00:00"

    def __call__(self) -> str:
        return self.now


def captured() -> dict[int, list[Frame]]:
    """The frames of the captured rides (tests/host/app/capture_rides.py), by ride."""
    rides: dict[int, list[Frame]] = {}
    with gzip.open(DATA, "rt") as lines:
        for line in lines:
            number, type_, fields = json.loads(line)
            rides.setdefault(number, []).append(Frame(type_, 0, fields))
    return rides


def add_captured_sessions(log: RideLog, clock: FixedClock, patient_id: int) -> None:
    """Store the captured rides as sessions of the patient, dated SESSION_DAYS."""
    for day, frames in zip(SESSION_DAYS, captured().values()):
        clock.now = day + "T10:00:00.000+00:00"
        tape = Tape(log, patient_id, threading.Event())
        for frame in frames:
            tape(frame)


def make_app(log, **kw) -> SoftcrankApp:
    app = SoftcrankApp(log, **kw)
    app.find_trainers = lambda: []
    app.today = TODAY
    app.export_to = Path(log.path).parent / "exports"  # never the tester's own documents
    return app


async def until(pilot, condition, timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until condition() holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            ride = getattr(pilot.app, "ride", None)
            seen = "; trainer state %s, link %s, events: %s" % (
                ride.state, pilot.app.link_state, " | ".join(list(ride.events)[-6:])) if ride else ""
            raise AssertionError("timed out waiting for %s%s" % (what or condition, seen))
        await pilot.pause(0.05)
