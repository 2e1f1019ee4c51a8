"""Generated laptop ride logs for the clinic store's tests and `softcrank bench --only clinic`.

A laptop's log is made with RideLog's own calls (patients, caps, plans, sessions started and
ended), and its samples and events written in bulk by the same INSERT the recorder's batches
use, so a month of a clinic takes seconds rather than the hours of riding it stands for.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

from ..store.records import _INSERT_EVENT, _INSERT_SAMPLE
from ..store.ridelog import RideLog

CAPS = [40, 45, 60, 250, 5, 300, 180, 250]  # protocol 3: the right leg's threshold last
GOALS = [30, 40, 55, 20]
START = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc)


class Clock:
    """A settable clock for RideLog (ISO-8601 UTC, as RideLog stores)."""

    def __init__(self, when: datetime = START) -> None:
        self.when = when

    def __call__(self) -> str:
        return self.when.isoformat(timespec="milliseconds")


def samples_of(start_rec: int, count: int, hz: int, seed: int) -> list[tuple]:
    """`count` T records at `hz` after a START at `start_rec`: (pos, rec, t_ms, state, cad, L, R, res, left_s, flags)."""
    rng = random.Random(seed)
    period_ms = 1000 // hz
    rows = []
    for i in range(count):
        pos = i + 1
        cad = int(450 + 60 * math.sin(i / (hz * 30.0)) + rng.randint(-15, 15))
        rows.append((pos, (start_rec + pos) % (1 << 30), pos * period_ms, "W", cad, 900 + rng.randint(-80, 80),
                     1000 + rng.randint(-80, 80), 200, max(0, (count - i) // hz), 0))
    return rows


def add_session(log: RideLog, clock: Clock, patient_id: int, device: str, start_rec: int, count: int, hz: int,
                seed: int) -> int:
    """One ended session of `count` samples, a START and a DONE event; returns its id."""
    session = log.start_session(patient_id, device, start_rec, GOALS, CAPS)
    rows = samples_of(start_rec, count, hz, seed)
    with log._lock, log._transaction("generating a session") as db:
        db.executemany(_INSERT_SAMPLE, [(session,) + row for row in rows])
        db.executemany(_INSERT_EVENT, [(session, 0, start_rec, 0, "U", "START", 0),
                                       (session, count + 1, (start_rec + count + 1) % (1 << 30),
                                        (count + 1) * (1000 // hz), "D", "DONE", 0)])
        # Written past add_records, so past the summary's running sums (store/sums.py): say so,
        # and the session is summarized from its samples, as any writer without the sums must.
        db.execute("UPDATE sessions SET sums_kept = NULL WHERE id = ?", (session,))
    clock.when += timedelta(seconds=count // hz)
    log.end_session(session, "D")
    return session


def laptop_log(path, device: str, patients: list[str], sessions: int, samples: int, hz: int = 10,
               seed: int = 1, start: datetime = START, days: int = 28) -> dict[str, int]:
    """A laptop's ride log: the named patients (added here), caps and a plan for the first,
    and `sessions` sessions spread over `days` days among them. Returns {name: local id}."""
    clock = Clock(start)
    rng = random.Random(seed)
    with RideLog(path, clock=clock) as log:
        known = {p["name"]: p["id"] for p in log.patients()}
        for name in patients:
            if name not in known:
                known[name] = log.add_patient(name, rng.choice(("left", "right")))
        log.set_caps(known[patients[0]], CAPS, "therapist " + device, "generated")
        log.set_plan(known[patients[0]], GOALS, 3, "therapist " + device)
        log.audit("caps", "generated", known[patients[0]], device, "")
        for i in range(sessions):
            clock.when = start + timedelta(days=days * i / max(1, sessions), minutes=rng.randint(0, 59))
            add_session(log, clock, known[patients[i % len(patients)]], device, rng.randrange(1 << 29), samples, hz,
                        seed * 100_003 + i)
    return known
