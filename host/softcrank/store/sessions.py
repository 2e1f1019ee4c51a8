"""Sessions, their samples and events: started, recorded in batches, read back, ended.

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Iterable, Iterator

from softcrank import __version__ as _APP_VERSION
from softcrank_fw import protocol as P

from ..frames import Frame
from .plans import _checked_caps, _checked_goals
from .records import (_FETCH_ROWS, CAP_NAMES, GOAL_NAMES, Sample, Event, Gap, RideLogError, _SAMPLE_COLUMNS,
                      _EVENT_COLUMNS, _INSERT_SAMPLE, _INSERT_EVENT, _BUCKET_COLUMNS, _locked, _record_row, _insert,
                      _rec_at, _session, _text, _is_int)


NOTES_MAX = 2000  # a paragraph or two: notes, not a clinical record


class Sessions:
    @_locked
    def start_session(self, patient_id: int, device_id: str, start_rec: int, goals, caps,
                      firmware: str | None = None, protocol: int | None = None) -> int:
        """A new session from the device's START event; returns its id.

        `goals` and `caps` are what the device reported (its G and C frames, or their
        values): they are stored as in force at the start; `firmware` and `protocol` are its
        HELLO answer's versions, if known, and softcrank's own version goes with them."""
        device_id = _text(device_id, "the device id")
        if not _is_int(start_rec) or not 0 <= start_rec < P.REC_MODULO:
            raise RideLogError("start_rec must be a record number 0..%d, got %r" % (P.REC_MODULO - 1, start_rec))
        cap_values = _checked_caps(caps)
        goal_values = _checked_goals(goals, cap_values)
        with self._transaction("starting a session") as db:
            self._require_patient(db, patient_id)
            open_ = db.execute("SELECT id FROM sessions WHERE device_id = ? AND ended_at IS NULL",
                               (device_id,)).fetchone()
            if open_:
                raise RideLogError("device %s still has session %d open: end it first" % (device_id, open_[0]))
            columns = (("patient_id", "device_id", "started_at", "start_rec") + GOAL_NAMES + CAP_NAMES
                       + ("firmware", "protocol", "app_version", "sums_kept"))
            sql = "INSERT INTO sessions (%s) VALUES (%s)" % (", ".join(columns), ", ".join("?" * len(columns)))
            values = (patient_id, device_id, self._clock(), start_rec, *goal_values, *cap_values,
                      None if firmware is None else str(firmware), None if protocol is None else int(protocol),
                      _APP_VERSION, self._sums_version())
            return _insert(db, sql, values)

    @_locked
    def open_session(self, device_id: str) -> dict | None:
        """The device's unfinished session, if any: a restarted host carries on with it."""
        rows = self._read("SELECT * FROM sessions WHERE device_id = ? AND ended_at IS NULL", (device_id,))
        return _session(rows[0]) if rows else None

    @_locked
    def set_notes(self, session_id: int, notes: str) -> None:
        """The therapist's notes on a session (replacing the old ones; empty text clears them)."""
        if not isinstance(notes, str) or len(notes) > NOTES_MAX:
            raise RideLogError("notes must be text of at most %d characters, got %r" % (NOTES_MAX, str(notes)[:40]))
        with self._transaction("saving a session's notes") as db:
            if db.execute("UPDATE sessions SET notes = ?, notes_at = ? WHERE id = ?",
                          (notes.strip(), self._clock(), session_id)).rowcount != 1:
                raise RideLogError("no session %r" % (session_id,))

    @_locked
    def end_session(self, session_id: int, end_state: str | None) -> None:
        """Commit the pending records and close the session.

        `end_state` is the device's state letter at the end (D done, E e-stop, F fault...),
        or None when the end was never seen (the device rebooted, the session was abandoned)."""
        if end_state is not None and end_state not in P.STATES:
            raise RideLogError("end_state must be a state letter (%s) or None, got %r"
                               % (" ".join(P.STATES), end_state))
        if self.session(session_id)["ended_at"] is not None:
            raise RideLogError("session %d has already ended" % session_id)
        self.flush()
        with self._transaction("ending a session") as db:
            db.execute("UPDATE sessions SET ended_at = ?, end_state = ? WHERE id = ?",
                       (self._clock(), end_state, session_id))

    @_locked
    def sessions(self, patient_id: int | None = None) -> list[dict]:
        """Every session, or one patient's, oldest first."""
        if patient_id is None:
            rows = self._read("SELECT * FROM sessions ORDER BY id")
        else:
            self._require_patient(self._db, patient_id)
            rows = self._read("SELECT * FROM sessions WHERE patient_id = ? ORDER BY id", (patient_id,))
        return [_session(row) for row in rows]

    @_locked
    def session(self, session_id: int) -> dict:
        rows = self._read("SELECT * FROM sessions WHERE id = ?", (session_id,)) if _is_int(session_id) else []
        if not rows:
            raise RideLogError("there is no session %r" % (session_id,))
        return _session(rows[0])

    def _start_rec(self, session_id: int) -> int:
        if session_id not in self._start_recs:
            self._start_recs[session_id] = self.session(session_id)["start_rec"]
        return self._start_recs[session_id]

    # --- records ------------------------------------------------------------------------

    @_locked
    def add_records(self, session_id: int, frames: Iterable[Frame]) -> int:
        """Store T and E frames in a session; returns how many were given.

        Every frame is checked before any is kept. Records are committed once `batch_size`
        are pending or the oldest has waited `max_delay_s` (checked here: telemetry never
        stops, so this is called at least once a second), and on flush(), end_session() and
        close(). A record already stored is ignored, so a replay may overlap what is there.
        Records may be added to an ended session too: a replay can fill its gaps later."""
        start_rec = self._start_rec(session_id)
        rows = [_record_row(frame, session_id, start_rec) for frame in frames]
        if rows and not self.pending:
            self._pending_since = time.monotonic()
        for type_, row in rows:
            (self._samples if type_ == "T" else self._events).append(row)
        if self.pending >= self.batch_size or (
                self.pending and time.monotonic() - self._pending_since >= self.max_delay_s):
            self.flush()
        return len(rows)

    @property
    def pending(self) -> int:
        """Records added but not committed yet: what a crash now would lose."""
        return len(self._samples) + len(self._events)

    @_locked
    def flush(self) -> int:
        """Commit the pending records in one transaction; returns how many.

        If the commit fails, the records stay pending and the error is raised."""
        count = self.pending
        if count:
            with self._transaction("storing %d records" % count) as db:
                plans = self._sums_before(db, self._samples)  # the summary's sums, kept in step (sums.py)
                db.executemany(_INSERT_SAMPLE, self._samples)
                db.executemany(_INSERT_EVENT, self._events)
                self._sums_after(db, plans)
            self._samples, self._events = [], []
        return count

    @_locked
    def last_committed_rec(self, session_id: int) -> int | None:
        """The newest record of the session that is safely on disk (None if none): what the
        link may ACK. Records before it that are missing are listed by missing_recs()."""
        start_rec = self._start_rec(session_id)
        row = self._read("""SELECT MAX(pos) FROM (
                                SELECT MAX(pos) AS pos FROM samples WHERE session_id = ?1
                                UNION ALL SELECT MAX(pos) FROM events WHERE session_id = ?1)""", (session_id,))[0]
        return None if row[0] is None else _rec_at(start_rec, row[0])

    @_locked
    def missing_recs(self, session_id: int) -> list[Gap]:
        """The gaps between the session's first and last stored record, oldest first: what
        the link asks the device to REPLAY (or, if the ring overwrote them, lost for good)."""
        start_rec = self._start_rec(session_id)
        rows = self._read("""SELECT pos, next FROM (
                                 SELECT pos, LEAD(pos) OVER (ORDER BY pos) AS next FROM (
                                     SELECT pos FROM samples WHERE session_id = ?1
                                     UNION ALL SELECT pos FROM events WHERE session_id = ?1))
                             WHERE next > pos + 1 ORDER BY pos""", (session_id,))
        return [Gap(_rec_at(start_rec, pos + 1), _rec_at(start_rec, next_ - 1), next_ - pos - 1)
                for pos, next_ in rows]

    @_locked
    def samples(self, session_id: int, decimate_to: int | None = None) -> Iterator[Sample]:
        """The session's samples in record order, read lazily (a 2-hour ride at 50 Hz is
        360,000 of them).

        With `decimate_to`, at most that many points for a plot, grouped in SQL by record
        number: each point has the time, state, seconds left and flags of the first sample
        in its bucket, and the bucket's average cadence, forces and resistance."""
        self._start_rec(session_id)
        if decimate_to is None:
            sql = "SELECT %s FROM samples WHERE session_id = ? ORDER BY pos" % _SAMPLE_COLUMNS
            args: tuple = (session_id,)
        else:
            if not _is_int(decimate_to) or decimate_to < 1:
                raise RideLogError("decimate_to must be a positive integer, got %r" % (decimate_to,))
            lo, hi = self._read("""SELECT (SELECT MIN(pos) FROM samples WHERE session_id = ?1),
                                          (SELECT MAX(pos) FROM samples WHERE session_id = ?1)""", (session_id,))[0]
            if lo is None:
                return iter(())
            sql = ("SELECT MIN(pos), %s FROM samples WHERE session_id = ? GROUP BY ((pos - ?) * ?) / ? ORDER BY 1"
                   % _BUCKET_COLUMNS)
            args = (session_id, lo, decimate_to, hi - lo + 1)
        try:
            cursor = self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise RideLogError("reading samples of session %d: %s" % (session_id, exc)) from exc
        return self._fetch(cursor, 0 if decimate_to is None else 1)

    def _fetch(self, cursor: sqlite3.Cursor, skip: int) -> Iterator[Sample]:
        """The cursor's rows as Samples, a chunk at a time, each chunk read under the lock."""
        for rows in self._chunks(cursor):
            for row in rows:
                yield Sample._make(row[skip:])

    def _chunks(self, cursor: sqlite3.Cursor) -> Iterator[list[tuple]]:
        """The cursor's rows, up to _FETCH_ROWS at a time, each chunk read under the lock."""
        while True:
            with self._lock:
                try:
                    rows = cursor.fetchmany(_FETCH_ROWS)
                except sqlite3.Error as exc:
                    raise RideLogError("reading samples from %s: %s" % (self.path, exc)) from exc
            if not rows:
                return
            yield rows

    def sample_rows(self, session_id: int) -> Iterator[list[tuple]]:
        """The session's samples in record order as plain tuples (Sample's fields), a chunk of
        up to _FETCH_ROWS at a time, each read under the lock: for the exports, which go
        through every sample of a long ride and need no more than the values."""
        with self._lock:
            self._start_rec(session_id)
            try:
                cursor = self._db.cursor()
                cursor.row_factory = None  # plain tuples: no Row per sample
                cursor.execute("SELECT %s FROM samples WHERE session_id = ? ORDER BY pos" % _SAMPLE_COLUMNS,
                               (session_id,))
            except sqlite3.Error as exc:
                raise RideLogError("reading samples of session %d: %s" % (session_id, exc)) from exc
        yield from self._chunks(cursor)

    @_locked
    def events(self, session_id: int) -> list[Event]:
        """The session's events in record order."""
        self._start_rec(session_id)
        rows = self._read("SELECT %s FROM events WHERE session_id = ? ORDER BY pos" % _EVENT_COLUMNS, (session_id,))
        return [Event._make(row) for row in rows]
