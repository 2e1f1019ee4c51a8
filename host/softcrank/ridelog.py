"""The ride log: patients, their caps, and every session's telemetry and events, in SQLite.

SQLite because a ride log is one file a clinic can copy and back up, transactions mean a
crash never leaves half a write, and the standard library has it.

Durability, and what the device's ring has to do with it. The device keeps its newest 3072
records (61 s at 50 Hz, 5.1 min at 10 Hz) and resends them on `REPLAY`; the host `ACK`s what
it has stored. So the log commits records in small batches (BATCH_SIZE) and the link ACKs
only `last_committed_rec()`: a host killed mid-ride loses at most the uncommitted batch, and
those records are still in the device's ring, to be fetched again with `REPLAY` (inserts are
idempotent, so a replay that overlaps what is stored does no harm).

Record numbers wrap at 2**30. Each stored record also gets `pos`, its distance from the
session's START record, `rec_diff(rec, start_rec)`: ordering and gap finding use `pos`, so
they are right across the wrap. This assumes a session never spans more than 2**29 records
(124 days at 50 Hz; the duration cap is 90 minutes).

Schema versions live in `PRAGMA user_version`; MIGRATIONS is the schema's history, applied
in one transaction from the file's version up. A file from a newer softcrank, a file that is
not SQLite, or another program's SQLite database is refused and left exactly as it was.
Column lists come from the protocol's tables (one definition of a T or E record); the
migrations themselves are frozen text, and tests/host/test_ridelog.py fails if the protocol
gains a field that no migration stores.

A RideLog may be shared between threads (the link stores records from its reader thread and
asks what is committed from another): one lock serialises its methods. Other processes may
open the same file too; WAL lets them read while a ride is being written.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple

from softcrank.frames import Frame
from softcrank_fw import protocol as P
from softcrank_fw.limits import CAP_LIMITS, GOAL_LIMITS, MIN_WORK_S, Caps, Goals
from softcrank_fw.ring import rec_diff

__all__ = [
    "RideLog", "RideLogError", "Sample", "Event", "Gap", "default_path",
    "BATCH_SIZE", "SCHEMA_VERSION", "SIDES",
]

# Records per commit. At the fastest telemetry rate (50 Hz) that is one commit a second, in
# step with the link's once-a-second ACK; each commit costs one fsync of the WAL (a few ms),
# so under 1 % of a second. A host killed mid-ride loses at most 49 records (1 s at 50 Hz),
# and the device's ring still holds the last 3072 (61 s at 50 Hz), so REPLAY brings them back.
BATCH_SIZE = 50
# ... or sooner, once the oldest pending record has waited this long: at 1-10 Hz a batch takes
# 5-50 s to fill, and the link's once-a-second ACK should still move every second.
MAX_DELAY_S = 1.0
# A plan's sessions a week: rehab cycling is prescribed 2-5 times a week; twice a day is the most
# any plan asks, and without a plan adherence is measured against 3.
SESSIONS_PER_WEEK_MAX = 14
DEFAULT_SESSIONS_PER_WEEK = 3
_FETCH_ROWS = 1000  # samples() reads this many rows at a time, holding the lock only meanwhile

APPLICATION_ID = 0x53434B31  # "SCK1" in PRAGMA application_id: this file is a softcrank ride log
_SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database
_BUSY_TIMEOUT_S = 5.0  # wait this long for another process's write to finish

SAMPLE_FIELDS = tuple(name for name, _ in P.DEVICE_MESSAGES["T"])
EVENT_FIELDS = tuple(name for name, _ in P.DEVICE_MESSAGES["E"])
CAP_NAMES = tuple(name for name, _ in P.CAPS_FIELDS if name != "patient")  # the limits: a row's patient_id says whose
GOAL_NAMES = tuple(name for name, _ in P.GOALS_FIELDS)
SIDES = ("left", "right", "both", "none")
assert SAMPLE_FIELDS[0] == EVENT_FIELDS[0] == "rec"



class Sample(NamedTuple):
    """A stored T record. The fields are the protocol's (checked below); this adds their types."""

    rec: int
    t_ms: int
    state: str
    cad_drpm: int
    force_l_dn: int
    force_r_dn: int
    res_pm: int
    left_s: int
    flags: int


class Event(NamedTuple):
    """A stored E record."""

    rec: int
    t_ms: int
    state: str
    event: str
    arg: int


assert Sample._fields == SAMPLE_FIELDS and Event._fields == EVENT_FIELDS, "the protocol changed: update these"


class Gap(NamedTuple):
    """Records missing from a session, inclusive; `last < first` when the gap spans the wrap."""

    first: int
    last: int
    length: int  # how many records


class RideLogError(Exception):
    """The ride log refused an operation or cannot use its file; nothing was changed."""


def default_path(platform: str = sys.platform, environ: Mapping[str, str] = os.environ,
                 home: Path | None = None) -> Path:
    """Where the ride log lives unless --db says otherwise: the platform's user data folder."""
    home = home if home is not None else Path.home()
    if platform == "win32":
        base = Path(environ["APPDATA"]) if environ.get("APPDATA") else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:  # the XDG base directory spec: a relative XDG_DATA_HOME is to be ignored
        xdg = environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share"
    return base / "softcrank" / "ridelog.sqlite"


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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
    """Protocol 3: a spasm threshold per leg. `spasm_n` becomes the left pedal's; the right's
    starts as the same value, which is what every older entry meant (one threshold for both)."""
    for table in ("caps_history", "sessions"):
        db.execute("ALTER TABLE %s ADD COLUMN spasm_r_n INTEGER NOT NULL DEFAULT 250" % table)
        db.execute("UPDATE %s SET spasm_r_n = spasm_n" % table)


MIGRATIONS: tuple[Callable[[sqlite3.Connection, str], None], ...] = (_v1, _v2, _v3, _v4, _v5, _v6)
SCHEMA_VERSION = len(MIGRATIONS)

_SAMPLE_COLUMNS = ", ".join(SAMPLE_FIELDS)
_EVENT_COLUMNS = ", ".join(EVENT_FIELDS)
_INSERT_SAMPLE = "INSERT OR IGNORE INTO samples (session_id, pos, %s) VALUES (%s)" % (
    _SAMPLE_COLUMNS, ", ".join("?" * (len(SAMPLE_FIELDS) + 2)))
_INSERT_EVENT = "INSERT OR IGNORE INTO events (session_id, pos, %s) VALUES (%s)" % (
    _EVENT_COLUMNS, ", ".join("?" * (len(EVENT_FIELDS) + 2)))
# A decimated point: the first sample of its bucket (SQLite takes bare columns from the row
# MIN() picked), with cadence, forces and resistance averaged over the bucket.
_AVERAGED = ("cad_drpm", "force_l_dn", "force_r_dn", "res_pm")
_BUCKET_COLUMNS = ", ".join(
    "CAST(ROUND(AVG(%s)) AS INTEGER)" % name if name in _AVERAGED else name for name in SAMPLE_FIELDS)


def _locked(method):
    """Run a RideLog method under its lock: one thread at a time uses the connection."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


class RideLog:
    """The ride log in one SQLite file. Every refusal raises RideLogError before writing.

    `batch_size` and `max_delay_s` say when added records are committed (BATCH_SIZE,
    MAX_DELAY_S); `clock` gives the wall-clock timestamps (ISO-8601 UTC) it stores."""

    def __init__(self, path: str | os.PathLike | None = None, *, batch_size: int = BATCH_SIZE,
                 max_delay_s: float = MAX_DELAY_S, clock: Callable[[], str] = _utc_now) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise RideLogError("batch_size must be a positive integer, got %r" % (batch_size,))
        if not isinstance(max_delay_s, (int, float)) or not max_delay_s >= 0:
            raise RideLogError("max_delay_s must be a number of seconds >= 0, got %r" % (max_delay_s,))
        self.path = Path(path) if path is not None else default_path()
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._lock = threading.RLock()
        self._samples: list[tuple] = []  # rows not committed yet
        self._events: list[tuple] = []
        self._pending_since = 0.0  # time.monotonic() when the oldest pending record was added
        self._start_recs: dict[int, int] = {}
        self._db = _connect(self.path)
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # --- opening ----------------------------------------------------------------------

    def _migrate(self) -> None:
        if _version(self._db, self.path) == SCHEMA_VERSION:
            return
        with self._transaction("upgrading the ride log %s" % self.path) as db:
            version = _version(db, self.path)  # again, under the write lock: another process may have been first
            for migration in MIGRATIONS[version:]:
                migration(db, self._clock())
            db.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)

    @_locked
    def close(self) -> None:
        """Commit what is pending, then close the file."""
        try:
            self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> RideLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; any failure rolls it back and becomes a RideLogError."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise RideLogError("%s: %s" % (what, exc)) from exc
            raise

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise RideLogError("reading the ride log %s: %s" % (self.path, exc)) from exc

    # --- patients and their caps ------------------------------------------------------

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
        return dict(self._read("SELECT * FROM patients WHERE id = ?", (patient_id,))[0])

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
        """The patient's latest plan: {"goals": {...}, "sessions_per_week": n, "set_at", "set_by"};
        without one, the firmware's default goals under the current caps, 3 sessions a week."""
        self._require_patient(self._db, patient_id)
        rows = self._read("SELECT * FROM plans WHERE patient_id = ? ORDER BY id DESC LIMIT 1", (patient_id,))
        if rows:
            row = rows[0]
            return {"goals": {name: row[name] for name in GOAL_NAMES}, "sessions_per_week": row["sessions_per_week"],
                    "set_at": row["set_at"], "set_by": row["set_by"]}
        caps = Caps()
        caps.set(_values(self.current_caps(patient_id), CAP_NAMES, "caps"))
        return {"goals": dict(zip(GOAL_NAMES, Goals(caps).values)), "sessions_per_week": DEFAULT_SESSIONS_PER_WEEK,
                "set_at": None, "set_by": None}

    def _require_patient(self, db: sqlite3.Connection, patient_id: int) -> None:
        known = _is_int(patient_id) and db.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if not known:
            raise RideLogError("there is no patient %r" % (patient_id,))

    # --- the therapist's PIN, the trainers' keys, the audit trail (see therapist.py) ----

    @_locked
    def pin_record(self) -> dict | None:
        """The stored PIN verifier (salt, scrypt parameters, verifier), or None if no PIN is set."""
        rows = self._read("SELECT * FROM therapist_pin WHERE id = 1")
        return dict(rows[0]) if rows else None

    @_locked
    def store_pin(self, record: dict, rewrapped: dict[str, tuple[bytes, bytes, bytes]], action: str) -> None:
        """Set the PIN verifier and replace every wrapped key at once (a PIN change re-wraps all
        of them: a crash half-way must not leave keys wrapped under a PIN nobody knows)."""
        with self._transaction("storing the therapist PIN") as db:
            db.execute("INSERT OR REPLACE INTO therapist_pin (id, salt, n, r, p, verifier, set_at) "
                       "VALUES (1, ?, ?, ?, ?, ?, ?)",
                       (record["salt"], record["n"], record["r"], record["p"], record["verifier"], self._clock()))
            for device_id, (nonce, wrapped, mac) in rewrapped.items():
                db.execute("UPDATE device_keys SET nonce = ?, wrapped = ?, mac = ? WHERE device_id = ?",
                           (nonce, wrapped, mac, device_id))
            self._audit(db, action, "done", None, None, "%d trainer key(s) re-wrapped" % len(rewrapped))

    @_locked
    def device_keys(self) -> list[dict]:
        """Every trainer's wrapped key."""
        return [dict(row) for row in self._read("SELECT * FROM device_keys ORDER BY device_id")]

    @_locked
    def device_key(self, device_id: str) -> dict | None:
        rows = self._read("SELECT * FROM device_keys WHERE device_id = ?", (device_id,))
        return dict(rows[0]) if rows else None

    @_locked
    def store_device_key(self, device_id: str, nonce: bytes, wrapped: bytes, mac: bytes) -> None:
        """A trainer's new wrapped key (replacing its old one); its counter is kept."""
        device_id = _text(device_id, "the device id")
        with self._transaction("storing a trainer key") as db:
            db.execute("INSERT INTO device_keys (device_id, nonce, wrapped, mac, created_at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (device_id) DO UPDATE SET nonce = excluded.nonce, wrapped = excluded.wrapped, "
                       "mac = excluded.mac, created_at = excluded.created_at",
                       (device_id, nonce, wrapped, mac, self._clock()))
            self._audit(db, "key", "written to the trainer", None, device_id, "")

    @_locked
    def use_counter(self, device_id: str, counter: int) -> None:
        """Remember that a CAPS counter was used on this trainer, before it is sent: whatever
        the answer, the next CAPS uses a higher one."""
        with self._transaction("noting a CAPS counter") as db:
            db.execute("UPDATE device_keys SET last_counter = MAX(last_counter, ?) WHERE device_id = ?",
                       (counter, device_id))

    @_locked
    def audit(self, action: str, outcome: str, patient_id: int | None = None, device_id: str | None = None,
              detail: str = "") -> None:
        """One line in the audit trail. Never pass a PIN or a key here."""
        with self._transaction("writing the audit trail") as db:
            self._audit(db, action, outcome, patient_id, device_id, detail)

    def _audit(self, db, action, outcome, patient_id, device_id, detail) -> None:
        db.execute("INSERT INTO auth_audit (at, action, outcome, patient_id, device_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (self._clock(), action, outcome, patient_id if _is_int(patient_id) else None, device_id, detail))

    @_locked
    def audit_trail(self) -> list[dict]:
        """Every audit line, oldest first."""
        return [dict(row) for row in self._read("SELECT * FROM auth_audit ORDER BY id")]

    # --- sessions -----------------------------------------------------------------------

    @_locked
    def start_session(self, patient_id: int, device_id: str, start_rec: int, goals, caps) -> int:
        """A new session from the device's START event; returns its id.

        `goals` and `caps` are what the device reported (its G and C frames, or their
        values): they are stored as in force at the start."""
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
            columns = ("patient_id", "device_id", "started_at", "start_rec") + GOAL_NAMES + CAP_NAMES
            sql = "INSERT INTO sessions (%s) VALUES (%s)" % (", ".join(columns), ", ".join("?" * len(columns)))
            values = (patient_id, device_id, self._clock(), start_rec, *goal_values, *cap_values)
            return _insert(db, sql, values)

    @_locked
    def open_session(self, device_id: str) -> dict | None:
        """The device's unfinished session, if any: a restarted host carries on with it."""
        rows = self._read("SELECT * FROM sessions WHERE device_id = ? AND ended_at IS NULL", (device_id,))
        return _session(rows[0]) if rows else None

    @_locked
    def summary_fingerprint(self, session_id: int) -> str | None:
        """What a session's summary depends on: its end and how many records it holds, and up to
        where (read from the indexes, in milliseconds for hours of samples). None while the
        session is unfinished: its summary changes with every record."""
        row = self.session(session_id)
        if row["ended_at"] is None:
            return None
        counts = self._read("""SELECT (SELECT COUNT(*) || ':' || IFNULL(MAX(pos), '') FROM samples WHERE session_id = ?1),
                                      (SELECT COUNT(*) || ':' || IFNULL(MAX(pos), '') FROM events WHERE session_id = ?1)""",
                            (session_id,))[0]
        return "%s|%s|%s|%s" % (row["ended_at"], row["end_state"], counts[0], counts[1])

    @_locked
    def cached_summary(self, session_id: int, fingerprint: str) -> str | None:
        """The summary stored for this fingerprint (as its JSON text), or None."""
        rows = self._read("SELECT summary FROM summaries WHERE session_id = ? AND fingerprint = ?",
                          (session_id, fingerprint))
        return rows[0][0] if rows else None

    @_locked
    def cache_summary(self, session_id: int, fingerprint: str, text: str) -> None:
        """Keep a session's summary (JSON text) for its fingerprint, replacing an older one."""
        self.flush()
        with self._transaction("caching a summary") as db:
            db.execute("INSERT OR REPLACE INTO summaries (session_id, fingerprint, summary) VALUES (?, ?, ?)",
                       (session_id, fingerprint, text))

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
                db.executemany(_INSERT_SAMPLE, self._samples)
                db.executemany(_INSERT_EVENT, self._events)
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
            lo, hi = self._read("SELECT MIN(pos), MAX(pos) FROM samples WHERE session_id = ?", (session_id,))[0]
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
        while True:
            with self._lock:
                try:
                    rows = cursor.fetchmany(_FETCH_ROWS)
                except sqlite3.Error as exc:
                    raise RideLogError("reading samples from %s: %s" % (self.path, exc)) from exc
            if not rows:
                return
            for row in rows:
                yield Sample._make(row[skip:])

    @_locked
    def events(self, session_id: int) -> list[Event]:
        """The session's events in record order."""
        self._start_rec(session_id)
        rows = self._read("SELECT %s FROM events WHERE session_id = ? ORDER BY pos" % _EVENT_COLUMNS, (session_id,))
        return [Event._make(row) for row in rows]


# --- helpers ------------------------------------------------------------------------------

def _connect(path: Path) -> sqlite3.Connection:
    """Open the file and check it is a ride log this code can use, without writing to it."""
    if path.is_dir():
        raise RideLogError("%s is a folder, not a ride log file" % path)
    try:
        if path.exists():
            with open(path, "rb") as file:
                head = file.read(len(_SQLITE_MAGIC))
            if head and head != _SQLITE_MAGIC:
                raise RideLogError("%s is not a SQLite database, so not a ride log; it was left as it is" % path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RideLogError("cannot open the ride log %s: %s" % (path, exc)) from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
    except sqlite3.Error as exc:
        raise RideLogError("cannot open the ride log %s: %s" % (path, exc)) from exc
    db.row_factory = sqlite3.Row
    try:
        _check_identity(db, path)
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise RideLogError("%s: SQLite would not switch to WAL journaling" % path)
        db.execute("PRAGMA synchronous = FULL")  # a commit is on disk before the link ACKs it
        db.execute("PRAGMA foreign_keys = ON")
    except BaseException as exc:
        db.close()
        if isinstance(exc, sqlite3.Error):
            raise RideLogError("cannot use the ride log %s: %s" % (path, exc)) from exc
        raise
    return db


def _check_identity(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file, another program's database, or one from a newer softcrank."""
    try:
        version = _version(db, path)
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        objects = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise RideLogError("%s is damaged or not a SQLite database (%s); it was left as it is"
                           % (path, exc)) from exc
    if app_id != APPLICATION_ID and (app_id or version or objects):
        raise RideLogError("%s is a SQLite database but not a softcrank ride log; it was left as it is" % path)


def _version(db: sqlite3.Connection, path: Path) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RideLogError("%s was written by a newer softcrank (ride log version %d; this one knows up to %d): "
                           "upgrade softcrank to open it; the file was left as it is"
                           % (path, version, SCHEMA_VERSION))
    return version


def _record_row(frame: object, session_id: int, start_rec: int) -> tuple[str, tuple]:
    """('T' or 'E', the row to insert) for one frame, or RideLogError if it is not a record."""
    if not isinstance(frame, Frame) or frame.type not in ("T", "E"):
        raise RideLogError("only T and E frames are records, got %r" % (frame,))
    values: list = []
    for name, kind in P.DEVICE_MESSAGES[frame.type]:
        value = frame.fields.get(name)
        ok = _is_int(value) if kind == P.INT else isinstance(value, str) and value != ""
        if not ok:
            raise RideLogError("%s frame has a bad %s: %r" % (frame.type, name, value))
        values.append(value)
    rec = values[0]
    if not 0 <= rec < P.REC_MODULO:
        raise RideLogError("%s frame has a record number outside 0..%d: %d" % (frame.type, P.REC_MODULO - 1, rec))
    return frame.type, (session_id, rec_diff(rec, start_rec), *values)


def _insert(db: sqlite3.Connection, sql: str, values: tuple) -> int:
    """Run one INSERT; returns the new row's id."""
    rowid = db.execute(sql, values).lastrowid
    assert rowid is not None
    return rowid


def _rec_at(start_rec: int, pos: int) -> int:
    return (start_rec + pos) % P.REC_MODULO


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


def _session(row: sqlite3.Row) -> dict:
    """A session as a dict; `end_state` None with `ended_at` set means the end was never seen."""
    return {"id": row["id"], "patient_id": row["patient_id"], "device_id": row["device_id"],
            "started_at": row["started_at"], "start_rec": row["start_rec"],
            "goals": {name: row[name] for name in GOAL_NAMES}, "caps": {name: row[name] for name in CAP_NAMES},
            "ended_at": row["ended_at"], "end_state": row["end_state"]}


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RideLogError("%s must be some text, got %r" % (what, value))
    return value.strip()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
