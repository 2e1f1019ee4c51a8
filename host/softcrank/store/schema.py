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


# A clinic-wide identity for every row that sync moves (store/sync.py, docs/clinic.md): 32 hex
# digits of randomness made where the row is made, so two laptops never make the same one.
_NEW_UID = "lower(hex(randomblob(16)))"
_SYNCED = ("patients", "plans", "caps_history", "auth_audit", "sessions")


def _v8(db: sqlite3.Connection, now: str) -> None:
    """Clinic sync: a `uid` on each row sync moves (patients, plans, caps, audit, sessions),
    made at creation by a trigger (so every part that inserts gets one unchanged) and filled in
    now for the rows already there; and `store_info`, this log's own uid, which names the
    laptop in the clinic store."""
    for table in _SYNCED:
        db.execute("ALTER TABLE %s ADD COLUMN uid TEXT" % table)
        db.execute("UPDATE %s SET uid = %s" % (table, _NEW_UID))
        db.execute("CREATE UNIQUE INDEX %s_by_uid ON %s (uid)" % (table, table))
        db.execute("CREATE TRIGGER %s_uid AFTER INSERT ON %s WHEN NEW.uid IS NULL BEGIN "
                   "UPDATE %s SET uid = %s WHERE rowid = NEW.rowid; END" % (table, table, table, _NEW_UID))
    db.execute("""CREATE TABLE store_info (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        uid TEXT NOT NULL,
        created_at TEXT NOT NULL)""")
    db.execute("INSERT INTO store_info (id, uid, created_at) VALUES (1, %s, ?)" % _NEW_UID, (now,))


def _v9(db: sqlite3.Connection, now: str) -> None:
    """The summary's sums, kept as samples are stored (sums.py): per block of record positions,
    as the JSON text of clinical/summary.py's Sums (WITHOUT ROWID: one b-tree, one page less to
    write a commit), and in sessions.sums_kept the version of the arithmetic while the blocks
    are complete. Sessions stored before have none (NULL): they are summarized from every
    sample, as before."""
    db.execute("ALTER TABLE sessions ADD COLUMN sums_kept INTEGER")
    db.execute("""CREATE TABLE sample_sums (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        block INTEGER NOT NULL,
        sums TEXT NOT NULL,
        PRIMARY KEY (session_id, block)) WITHOUT ROWID""")


def _v10(db: sqlite3.Connection, now: str) -> None:
    """Issue 19: standard cryptography, a key-encryption key that a copied ride log does not
    hold, and the trainer's caps accounted for (docs/security.md).

    - `therapist_pin.kind`: how the key-encryption key is made. 'legacy' (every PIN set
      before: scrypt alone, keys wrapped by the hand-written XOR pad and HMAC) until the next
      right PIN migrates it; 'keyring' (scrypt and a 256-bit secret in the operating system's
      credential store, found by `store_id`); 'passphrase' (no credential store: a passphrase
      and stronger scrypt); 'demo' (the demo's throw-away ride log).
    - `device_keys.wrap`: 1 the legacy wrapping, 2 AES-256-GCM (nonce, ciphertext and tag).
    - `trainer_caps`: every CAPS a trainer accepted from this laptop, with its counter and the
      tag the trainer keeps in its own caps history (capstore.digest): what the host compares
      the trainer's history with at every connect."""
    for statement in ("ALTER TABLE therapist_pin ADD COLUMN kind TEXT NOT NULL DEFAULT 'legacy'",
                      "ALTER TABLE therapist_pin ADD COLUMN store_id TEXT",
                      "ALTER TABLE device_keys ADD COLUMN wrap INTEGER NOT NULL DEFAULT 1",
                      """CREATE TABLE trainer_caps (
                          id INTEGER PRIMARY KEY,
                          device_id TEXT NOT NULL,
                          counter INTEGER NOT NULL,
                          patient_id INTEGER REFERENCES patients (id),
                          caps TEXT NOT NULL,
                          tag TEXT NOT NULL,
                          at TEXT NOT NULL,
                          UNIQUE (device_id, counter))"""):
        db.execute(statement)


def _v11(db: sqlite3.Connection, now: str) -> None:
    """A therapist's notes on each session (Review writes them, the report prints them): free
    text, empty for every session recorded before; `notes_at`, when they were last written
    (the ride log's clock), so that sync keeps the later of a laptop's and the clinic's."""
    db.execute("ALTER TABLE sessions ADD COLUMN notes TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE sessions ADD COLUMN notes_at TEXT")


MIGRATIONS: tuple[Callable[[sqlite3.Connection, str], None], ...] = (
    _v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11)
