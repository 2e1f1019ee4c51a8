"""Each patient's caps (with their history: who set them, when, why) and session plan.

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.
"""

from __future__ import annotations

import sqlite3
from typing import Mapping

from softcrank_fw.limits import CAP_LIMITS, GOAL_LIMITS, MIN_WORK_S, Caps, Goals

from ..frames import Frame
from .records import (SESSIONS_PER_WEEK_MAX, DEFAULT_SESSIONS_PER_WEEK, CAP_NAMES, GOAL_NAMES, RideLogError, _locked,
                      _insert, _text, _is_int)


class Plans:
    @_locked
    def set_caps(self, patient_id: int, values, set_by: str, reason: str = "") -> int:
        """Record new caps for a patient, with who set them and why; returns the entry's id.

        `values` is a mapping by CAPS field name or the seven values in protocol order.
        Caps the firmware would refuse are refused here, the same way (limits.Caps.set)."""
        caps = _checked_caps(values)
        set_by = _text(set_by, "who set the caps")
        if not isinstance(reason, str):
            raise RideLogError("the reason must be text, got %r" % (reason,))
        with self._transaction("recording caps") as db:
            self._require_patient(db, patient_id)
            return _insert(db, "INSERT INTO caps_history (patient_id, set_at, set_by, %s, reason) VALUES (%s)"
                           % (", ".join(CAP_NAMES), ", ".join("?" * (len(CAP_NAMES) + 4))),
                           (patient_id, self._clock(), set_by, *caps, reason))

    @_locked
    def caps_history(self, patient_id: int) -> list[dict]:
        """Every caps entry for a patient, oldest first: the audit trail."""
        self._require_patient(self._db, patient_id)
        rows = self._read("SELECT * FROM caps_history WHERE patient_id = ? ORDER BY id", (patient_id,))
        return [_caps_entry(row) for row in rows]

    @_locked
    def current_caps(self, patient_id: int) -> dict:
        """The patient's latest caps by name, or the firmware's defaults if none were set."""
        history = self.caps_history(patient_id)
        if history:
            return history[-1]["caps"]
        return dict(zip(CAP_NAMES, Caps().values))

    @_locked
    def set_plan(self, patient_id: int, goals, sessions_per_week: int, set_by: str) -> int:
        """Record a new session plan for a patient; returns the entry's id.

        `goals` are the GOALS fields (by name or in protocol order), checked against the
        patient's current caps exactly as the device would hold them; `sessions_per_week` is
        what adherence is measured against (1..SESSIONS_PER_WEEK_MAX)."""
        goals = _checked_goals(goals, _values(self.current_caps(patient_id), CAP_NAMES, "caps"))
        if not _is_int(sessions_per_week) or not 1 <= sessions_per_week <= SESSIONS_PER_WEEK_MAX:
            raise RideLogError("sessions a week must be 1..%d, got %r" % (SESSIONS_PER_WEEK_MAX, sessions_per_week))
        set_by = _text(set_by, "who set the plan")
        with self._transaction("recording a plan") as db:
            self._require_patient(db, patient_id)
            return _insert(db, "INSERT INTO plans (patient_id, set_at, set_by, %s, sessions_per_week) VALUES (%s)"
                           % (", ".join(GOAL_NAMES), ", ".join("?" * (len(GOAL_NAMES) + 4))),
                           (patient_id, self._clock(), set_by, *goals, sessions_per_week))

    @_locked
    def current_plan(self, patient_id: int) -> dict:
        """The patient's latest plan (by when it was set: a plan pulled from the clinic may be
        older than one set here, store/sync.py): {"goals": {...}, "sessions_per_week": n, "set_at", "set_by"};
        without one, the firmware's default goals under the current caps, 3 sessions a week."""
        self._require_patient(self._db, patient_id)
        rows = self._read("SELECT * FROM plans WHERE patient_id = ? ORDER BY set_at DESC, id DESC LIMIT 1", (patient_id,))
        if rows:
            row = rows[0]
            return {"goals": {name: row[name] for name in GOAL_NAMES}, "sessions_per_week": row["sessions_per_week"],
                    "set_at": row["set_at"], "set_by": row["set_by"]}
        caps = Caps()
        caps.set(_values(self.current_caps(patient_id), CAP_NAMES, "caps"))
        return {"goals": dict(zip(GOAL_NAMES, Goals(caps).values)), "sessions_per_week": DEFAULT_SESSIONS_PER_WEEK,
                "set_at": None, "set_by": None}


def _values(values, names: tuple[str, ...], what: str) -> list[int]:
    """A mapping by name (or a C/G Frame) or a sequence in protocol order, as a list of ints."""
    if isinstance(values, Frame):  # a C frame also carries the CAPS counter: not a cap
        values = {name: value for name, value in values.fields.items() if name in names}
    if isinstance(values, Mapping):
        if set(values) != set(names):
            raise RideLogError("%s need exactly %s, got %s" % (what, ", ".join(names), ", ".join(map(str, values))))
        values = [values[name] for name in names]
    else:
        values = list(values)
        if len(values) != len(names):
            raise RideLogError("%s need %d values (%s), got %d" % (what, len(names), ", ".join(names), len(values)))
    for name, value in zip(names, values):
        if not _is_int(value):
            raise RideLogError("%s: %s must be an integer, got %r" % (what, name, value))
    return values


def _checked_caps(values) -> list[int]:
    """The caps as a list, if the firmware would accept them; otherwise say why not."""
    caps = _values(values, CAP_NAMES, "caps")
    if Caps().set(caps):
        for name, value, (_, lo, hi) in zip(CAP_NAMES, caps, CAP_LIMITS):
            if not lo <= value <= hi:
                raise RideLogError("caps refused, nothing changed: %s must be %d..%d, got %d"
                                   % (name, lo, hi, value))
        raise RideLogError("caps refused, nothing changed: a %d s warm-up leaves under %d s of work in %d minutes"
                           % (caps[5], MIN_WORK_S, caps[1]))
    return caps


def _checked_goals(values, caps: list[int]) -> list[int]:
    """The goals as a list, if they are what the device would hold under these caps."""
    goals = _values(values, GOAL_NAMES, "goals")
    caps_obj = Caps()
    caps_obj.set(caps)
    held = Goals(caps_obj)
    if held.set(goals, caps_obj):
        for name, value, (_, lo, hi) in zip(GOAL_NAMES, goals, GOAL_LIMITS):
            if not lo <= value <= hi:
                raise RideLogError("goals refused: %s must be %d..%d, got %d" % (name, lo, hi, value))
        raise RideLogError("goals refused: the cadence band's low end is above its high end")
    if held.values != goals:
        raise RideLogError("goals %s exceed the caps (the device would hold %s): pass the goals the device reported"
                           % (goals, held.values))
    return goals


def _caps_entry(row: sqlite3.Row) -> dict:
    return {"id": row["id"], "patient_id": row["patient_id"], "set_at": row["set_at"], "set_by": row["set_by"],
            "caps": {name: row[name] for name in CAP_NAMES}, "reason": row["reason"]}
