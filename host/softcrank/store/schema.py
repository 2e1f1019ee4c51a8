"""The ride log's schema, as its history: one migration per version, applied in order.

Append only: a released step is never edited (tests/host/test_ridelog.py checks the
protocol gains no field that no migration stores).
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from .records import APPLICATION_ID

# --- The schema's history. Append only: a released step is never edited. -------------------

_V1 = (
    """CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
        affected_side TEXT NOT NULL CHECK (affected_side IN ('left', 'right', 'both', 'none')),
        notes TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL)""",
    """CREATE TABLE caps_history (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients (id),
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL,
        max_res_pct INTEGER NOT NULL, max_dur_min INTEGER NOT NULL, max_cad_rpm INTEGER NOT NULL,
        spasm_n INTEGER NOT NULL, ramp_pct_min INTEGER NOT NULL, warmup_s INTEGER NOT NULL,
        cooldown_s INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX caps_history_by_patient ON caps_history (patient_id, id)",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients (id),
        device_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        start_rec INTEGER NOT NULL CHECK (start_rec BETWEEN 0 AND 1073741823),
        dur_min INTEGER NOT NULL, cad_lo_rpm INTEGER NOT NULL, cad_hi_rpm INTEGER NOT NULL,
        res_pct INTEGER NOT NULL,
        max_res_pct INTEGER NOT NULL, max_dur_min INTEGER NOT NULL, max_cad_rpm INTEGER NOT NULL,
        spasm_n INTEGER NOT NULL, ramp_pct_min INTEGER NOT NULL, warmup_s INTEGER NOT NULL,
        cooldown_s INTEGER NOT NULL,
        ended_at TEXT,
        end_state TEXT)""",
    "CREATE INDEX sessions_by_patient ON sessions (patient_id, id)",
    """CREATE TABLE samples (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        rec INTEGER NOT NULL,
        pos INTEGER NOT NULL,
        t_ms INTEGER NOT NULL, state TEXT NOT NULL, cad_drpm INTEGER NOT NULL,
        force_l_dn INTEGER NOT NULL, force_r_dn INTEGER NOT NULL, res_pm INTEGER NOT NULL,
        left_s INTEGER NOT NULL, flags INTEGER NOT NULL,
        PRIMARY KEY (session_id, rec))""",
    "CREATE INDEX samples_by_pos ON samples (session_id, pos)",
    """CREATE TABLE events (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        rec INTEGER NOT NULL,
        pos INTEGER NOT NULL,
        t_ms INTEGER NOT NULL, state TEXT NOT NULL, event TEXT NOT NULL, arg INTEGER NOT NULL,
        PRIMARY KEY (session_id, rec))""",
    "CREATE INDEX events_by_pos ON events (session_id, pos)",
    "PRAGMA application_id = %d" % APPLICATION_ID,
)


def _v1(db: sqlite3.Connection, now: str) -> None:
    """The first schema: patients, the caps audit trail, sessions, samples and events."""
    for statement in _V1:
        db.execute(statement)


def _v2(db: sqlite3.Connection, now: str) -> None:
    """At most one unfinished session per device, so a restarted host resumes the right one.

    Older files may hold several; all but the newest are closed now, with no end state
    (the ride log never saw how they ended)."""
    db.execute("""UPDATE sessions SET ended_at = ?, end_state = NULL
                  WHERE ended_at IS NULL AND id NOT IN
                      (SELECT MAX(id) FROM sessions WHERE ended_at IS NULL GROUP BY device_id)""",
               (now,))
    db.execute("CREATE UNIQUE INDEX one_open_session_per_device ON sessions (device_id) "
               "WHERE ended_at IS NULL")


_V3 = (
    # The therapist's PIN: never the PIN itself, only what scrypt makes of it (therapist.py).
    """CREATE TABLE therapist_pin (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        salt BLOB NOT NULL, n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL,
        verifier BLOB NOT NULL,
        set_at TEXT NOT NULL)""",
    # Each trainer's CAPS key, wrapped under the key the PIN derives: useless without the PIN.
    """CREATE TABLE device_keys (
        device_id TEXT PRIMARY KEY,
        nonce BLOB NOT NULL, wrapped BLOB NOT NULL, mac BLOB NOT NULL,
        last_counter INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL)""",
    # Who tried what, when, and how it ended: wrong PINs, caps sent and refused, keys written.
    """CREATE TABLE auth_audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        patient_id INTEGER REFERENCES patients (id),
        device_id TEXT,
        detail TEXT NOT NULL DEFAULT '')""",
)


def _v3(db: sqlite3.Connection, now: str) -> None:
    """Therapist-only caps: the PIN's hash, the wrapped per-trainer keys and the audit trail."""
    for statement in _V3:
        db.execute(statement)


def _v4(db: sqlite3.Connection, now: str) -> None:
    """The therapist's session plan per patient (work time, cadence band, resistance, sessions a
    week), kept as a history like the caps: the app sends it as GOALS before a ride, and
    Progress measures adherence against it."""
    db.execute("""CREATE TABLE plans (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients (id),
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL,
        dur_min INTEGER NOT NULL, cad_lo_rpm INTEGER NOT NULL, cad_hi_rpm INTEGER NOT NULL,
        res_pct INTEGER NOT NULL,
        sessions_per_week INTEGER NOT NULL CHECK (sessions_per_week BETWEEN 1 AND 14))""")
    db.execute("CREATE INDEX plans_by_patient ON plans (patient_id, id)")


def _v5(db: sqlite3.Connection, now: str) -> None:
    """A cache of each ended session's summary: a 2-hour 50 Hz session takes seconds to
    summarize, and Review and Progress show every session's figures. An entry holds the
    fingerprint of the records it was computed from (see summary_fingerprint), so a replay that
    fills a gap later makes it stale, never wrong."""
    db.execute("""CREATE TABLE summaries (
        session_id INTEGER PRIMARY KEY REFERENCES sessions (id),
        fingerprint TEXT NOT NULL,
        summary TEXT NOT NULL)""")


def _v6(db: sqlite3.Connection, now: str) -> None:
    """What recorded each session: the trainer's firmware and protocol versions from its HELLO
    answer, and softcrank's own version. The exports carry them, so a file says which code made
    its figures. Empty for sessions recorded before (nobody knows now)."""
    for statement in ("ALTER TABLE sessions ADD COLUMN firmware TEXT",
                      "ALTER TABLE sessions ADD COLUMN protocol INTEGER",
                      "ALTER TABLE sessions ADD COLUMN app_version TEXT"):
        db.execute(statement)


def _v7(db: sqlite3.Connection, now: str) -> None:
    """Protocol 3: a spasm threshold per leg. `spasm_n` becomes the left pedal's; the right's
    starts as the same value, which is what every older entry meant (one threshold for both)."""
    for table in ("caps_history", "sessions"):
        db.execute("ALTER TABLE %s ADD COLUMN spasm_r_n INTEGER NOT NULL DEFAULT 250" % table)
        db.execute("UPDATE %s SET spasm_r_n = spasm_n" % table)


def _v8(db: sqlite3.Connection, now: str) -> None:
    """A therapist's notes on each session (Review writes them, the report prints them): free
    text, empty for every session recorded before."""
    db.execute("ALTER TABLE sessions ADD COLUMN notes TEXT NOT NULL DEFAULT ''")


MIGRATIONS: tuple[Callable[[sqlite3.Connection, str], None], ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8)
