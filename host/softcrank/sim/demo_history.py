"""Past sessions for `softcrank demo`, ridden for real on the virtual trainer.

Review and Progress need sessions to show on a first run. None is made up: each is a whole
session of the real firmware on MicroPython with a virtual rider (softcrank.sim.demo's pipe, as
fast as the interpreter runs: about 3 s for a 10-minute session), and every record it sends
is stored in the demo's ride log as it arrives, with the caps and goals the firmware reported.

Why SPEED = 60 and not 0 (as fast as possible): at speed 0 the firmware runs ahead of a busy
host by up to a pipe's worth of records (about 2 virtual minutes), so on a loaded laptop it
sees the host fall silent and pauses with "laptop not answering": real behaviour, but not a
rider's. At 60 times real time a 10-minute session takes 10 s, in the background.

Only the dates are staged: session k is dated HISTORY[k].days_ago days back (the time of day
is now's), so the weekly adherence view has weeks to show. The figures themselves (cadence,
forces, resistance, events) are what the firmware sent.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, NamedTuple

from ..boardfiles import scenario_path
from ..clinical.summary import END_EVENTS
from ..frames import Frame
from ..store.ridelog import RideLog
from .demo import run_demo

SPEED = 60
# The past sessions ride on interpreters of their own, while the demo's live virtual trainer
# reports the same device name: they are stored under that name plus this, so the ride log's
# one open session per device (and the recorder's resuming of it) never mixes the two.
HISTORY_DEVICE = "-past"
DEMO_PATIENT = "Demo rider"
DEMO_SIDE = "right"
DEMO_NOTES = "A virtual rider: right foot drop, the right leg tires first."
DEMO_BY = "demo"
# Shorter warm-up and cool-down than the defaults (2 min each), so a past session rides in ~3 s.
DEMO_CAPS = {"max_res_pct": 20, "max_dur_min": 15, "max_cad_rpm": 30, "spasm_n": 250, "ramp_pct_min": 5,
             "warmup_s": 120, "cooldown_s": 120, "spasm_r_n": 250}
DEMO_PLAN = {"dur_min": 6, "cad_lo_rpm": 15, "cad_hi_rpm": 25, "res_pct": 10}
DEMO_SESSIONS_PER_WEEK = 3


class Past(NamedTuple):
    days_ago: int
    scenario: str  # a bundled scenario
    seed: int
    work_min: int


# Two weeks of a plan being built up: longer work as the weeks go by, one session with spasms.
HISTORY = (
    Past(13, "steady", 11, 4),
    Past(11, "steady", 12, 4),
    Past(8, "demo", 7, 5),
    Past(4, "spasms", 3, 5),
    Past(1, "demo", 8, 6),
)


class Stopped(Exception):
    """ride_history was asked to stop (the app is closing)."""


class Tape:
    """Stores what the firmware sends into one session of the ride log, from START to its end."""

    def __init__(self, log: RideLog, patient_id: int, stop: threading.Event) -> None:
        self.log, self.patient_id, self.stop = log, patient_id, stop
        self.info: dict[str, Frame] = {}
        self.session_id: int | None = None
        self.ended = False

    def __call__(self, frame: Frame) -> None:
        if self.stop.is_set():
            raise Stopped("the demo is closing")
        if frame.type in ("H", "C", "G"):
            self.info[frame.type] = frame
            return
        if frame.type not in ("T", "E") or self.ended:
            return
        if self.session_id is None:
            if frame.type != "E" or frame["event"] != "START":
                return
            self.session_id = self.log.start_session(self.patient_id, self.info["H"]["device"] + HISTORY_DEVICE,
                                                     frame["rec"], self.info["G"], self.info["C"])
        self.log.add_records(self.session_id, [frame])
        if frame.type == "E" and frame["event"] in END_EVENTS:
            self.log.end_session(self.session_id, frame["state"])
            self.ended = True


def dated(days_ago: int, now: datetime | None = None) -> Callable[[], str]:
    """A ride-log clock running from `days_ago` days before now, at the real pace."""
    base = (now or datetime.now(timezone.utc)) - timedelta(days=days_ago)
    began = time.monotonic()

    def clock() -> str:
        return (base + timedelta(seconds=time.monotonic() - began)).isoformat(timespec="milliseconds")
    return clock


def demo_patient(path) -> int:
    """The demo patient with the demo caps and plan (added if the log has none); returns the id."""
    with RideLog(path, clock=dated(HISTORY[0].days_ago + 1)) as log:
        for patient in log.patients():
            if patient["name"] == DEMO_PATIENT:
                return patient["id"]
        pid = log.add_patient(DEMO_PATIENT, DEMO_SIDE, DEMO_NOTES)
        log.set_caps(pid, DEMO_CAPS, DEMO_BY, "demo: a gentle start")
        log.set_plan(pid, DEMO_PLAN, DEMO_SESSIONS_PER_WEEK, DEMO_BY)
        return pid


def ride_history(path, patient_id: int, history=HISTORY, speed: float = SPEED,
                 on_session: Callable[[int], object] | None = None,
                 stop: threading.Event | None = None) -> list[int]:
    """Ride each past session on the virtual trainer into the ride log at `path`, oldest
    first; `on_session(session_id)` after each one. Returns the new sessions' ids. Setting
    `stop` ends it soon (the session being ridden stays in the log, ended, its end not seen)."""
    ids = []
    stop = stop or threading.Event()
    caps = [DEMO_CAPS[name] for name in ("max_res_pct", "max_dur_min", "max_cad_rpm", "spasm_n", "ramp_pct_min",
                                         "warmup_s", "cooldown_s", "spasm_r_n")]
    for past in history:
        if stop.is_set():
            break
        with RideLog(path, clock=dated(past.days_ago)) as log:
            tape = Tape(log, patient_id, stop)
            try:
                run_demo(work_min=past.work_min, speed=speed, seed=past.seed, scenario=str(scenario_path(past.scenario)),
                         every_s=3600, out=io.StringIO(), caps=caps, tap=tape)
            except Stopped:
                pass
            if tape.session_id is None:
                continue
            if not tape.ended:  # stopped before its end: the log says the end was not seen
                log.end_session(tape.session_id, None)
        if stop.is_set():
            break
        ids.append(tape.session_id)
        if on_session is not None:
            on_session(tape.session_id)
    return ids
