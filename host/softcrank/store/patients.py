"""The ride log's patients: a name or pseudonym, the affected side, notes.

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.
"""

from __future__ import annotations

import sqlite3

from .records import SIDES, RideLogError, _locked, _insert, _text, _is_int


class Patients:
    @_locked
    def add_patient(self, name: str, affected_side: str, notes: str = "") -> int:
        """A new patient (a name or a pseudonym, unique ignoring case); returns the id."""
        name = _text(name, "the patient's name")
        if affected_side not in SIDES:
            raise RideLogError("the affected side must be one of %s, got %r" % (", ".join(SIDES), affected_side))
        if not isinstance(notes, str):
            raise RideLogError("notes must be text, got %r" % (notes,))
        with self._transaction("adding a patient") as db:
            if db.execute("SELECT 1 FROM patients WHERE name = ?", (name,)).fetchone():
                raise RideLogError("there is already a patient named %r" % name)
            return _insert(db, "INSERT INTO patients (name, affected_side, notes, created_at) VALUES (?, ?, ?, ?)",
                           (name, affected_side, notes, self._clock()))

    @_locked
    def patients(self) -> list[dict]:
        return [dict(row) for row in self._read("SELECT * FROM patients ORDER BY name")]

    @_locked
    def patient(self, patient_id: int) -> dict:
        """One patient by id; RideLogError if there is none."""
        self._require_patient(self._db, patient_id)

    def _require_patient(self, db: sqlite3.Connection, patient_id: int) -> None:
        known = _is_int(patient_id) and db.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if not known:
            raise RideLogError("there is no patient %r" % (patient_id,))
