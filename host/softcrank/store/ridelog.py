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

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

# The store's vocabulary (records.py), for callers that take it from here with RideLog.
from .records import (BATCH_SIZE, MAX_DELAY_S, SESSIONS_PER_WEEK_MAX, DEFAULT_SESSIONS_PER_WEEK, APPLICATION_ID,
                      _SQLITE_MAGIC, _BUSY_TIMEOUT_S, SAMPLE_FIELDS, EVENT_FIELDS, CAP_NAMES, GOAL_NAMES, SIDES,
                      Sample, Event, Gap, RideLogError, default_path, _utc_now, _locked)  # noqa: F401
from .auth import Auth
from .patients import Patients
from .plans import Plans
from .schema import MIGRATIONS
from .sessions import Sessions
from .summaries import Summaries
from .sums import KeptSums

__all__ = [
    "RideLog", "RideLogError", "Sample", "Event", "Gap", "default_path",
    "BATCH_SIZE", "SCHEMA_VERSION", "SIDES",
]

SCHEMA_VERSION = len(MIGRATIONS)


class RideLog(Patients, Plans, Auth, Sessions, Summaries, KeptSums):
    """The ride log in one SQLite file. Every refusal raises RideLogError before writing.

    `batch_size` and `max_delay_s` say when added records are committed (BATCH_SIZE,
    MAX_DELAY_S); `clock` gives the wall-clock timestamps (ISO-8601 UTC) it stores.
    `keep_sums=False` stores samples without keeping the summary's sums (sums.py): the
    sessions it writes to then summarize from every sample, as before schema 9.
    `create=False` opens only an existing file: a command that only reads or adds to a ride
    log must not turn a mistyped --db into a new empty log."""

    def __init__(self, path: str | os.PathLike | None = None, *, batch_size: int = BATCH_SIZE,
                 max_delay_s: float = MAX_DELAY_S, clock: Callable[[], str] = _utc_now,
                 keep_sums: bool = True, create: bool = True) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise RideLogError("batch_size must be a positive integer, got %r" % (batch_size,))
        if not isinstance(max_delay_s, (int, float)) or not max_delay_s >= 0:
            raise RideLogError("max_delay_s must be a number of seconds >= 0, got %r" % (max_delay_s,))
        self.path = Path(path) if path is not None else default_path()
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self._clock = clock
        self.keep_sums = keep_sums
        self._lock = threading.RLock()
        self._samples: list[tuple] = []  # rows not committed yet
        self._events: list[tuple] = []
        self._pending_since = 0.0  # time.monotonic() when the oldest pending record was added
        self._start_recs: dict[int, int] = {}
        self._db = _connect(self.path, create)
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
                text = str(exc).lower()
                if "locked" in text or "readonly" in text or "read-only" in text:
                    raise _opening_error(self.path, exc) from exc  # not damage: say which
                raise RideLogError("%s: %s" % (what, exc)) from exc
            raise

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise RideLogError("reading the ride log %s: %s" % (self.path, exc)) from exc


# --- helpers ------------------------------------------------------------------------------

def _connect(path: Path, create: bool = True) -> sqlite3.Connection:
    """Open the file and check it is a ride log this code can use, without writing to it.
    A locked file, a read-only one and a damaged one each get their own words."""
    if path.is_dir():
        raise RideLogError("%s is a folder, not a ride log file" % path)
    if not create and not path.exists():
        raise RideLogError("no ride log at %s (nothing was created): check the path, or start with `softcrank "
                           "patients --add NAME` or the app, which create one" % path)
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
            raise _opening_error(path, exc) from exc
        raise
    return db


def _opening_error(path: Path, exc: sqlite3.Error) -> RideLogError:
    """Why SQLite would not open the file, in words: locked and read-only are not damage."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return RideLogError("%s is locked by another program (another softcrank writing to it?): try again once it "
                            "has finished; the file was left as it is" % path)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return RideLogError("%s is read-only (softcrank must write to it and to its folder, for SQLite's journal): "
                            "give write permission, or copy it somewhere writable" % path)
    return RideLogError("%s is damaged or not a SQLite database (%s); it was left as it is" % (path, exc))


def _check_identity(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file, another program's database, or one from a newer softcrank."""
    try:
        version = _version(db, path)
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        objects = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise _opening_error(path, exc) from exc
    if app_id != APPLICATION_ID and (app_id or version or objects):
        raise RideLogError("%s is a SQLite database but not a softcrank ride log; it was left as it is" % path)


def _version(db: sqlite3.Connection, path: Path) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RideLogError("%s was written by a newer softcrank (ride log version %d; this one knows up to %d): "
                           "upgrade softcrank to open it; the file was left as it is"
                           % (path, version, SCHEMA_VERSION))
    return version
