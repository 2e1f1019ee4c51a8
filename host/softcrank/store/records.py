"""The ride log's shared vocabulary: its constants, row types, the error, and row helpers.

The store's parts (patients, plans, auth, sessions, summaries) and the RideLog that composes
them (ridelog.py) all speak it.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, NamedTuple, TypeVar

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..frames import Frame

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


_Log = TypeVar("_Log", bound="Closing")


class Closing:
    """close() and `with` for both ride logs: what is pending is committed, then the
    connection closes (the file's or the clinic store's)."""

    @_locked
    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    def __enter__(self: _Log) -> _Log:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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


def _session(row: sqlite3.Row) -> dict:
    """A session as a dict; `end_state` None with `ended_at` set means the end was never seen."""
    return {"id": row["id"], "patient_id": row["patient_id"], "device_id": row["device_id"],
            "started_at": row["started_at"], "start_rec": row["start_rec"],
            "goals": {name: row[name] for name in GOAL_NAMES}, "caps": {name: row[name] for name in CAP_NAMES},
            "ended_at": row["ended_at"], "end_state": row["end_state"],
            "firmware": row["firmware"], "protocol": row["protocol"], "app_version": row["app_version"],
            "notes": row["notes"]}


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RideLogError("%s must be some text, got %r" % (what, value))
    return value.strip()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
