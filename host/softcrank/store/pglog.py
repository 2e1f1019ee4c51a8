"""The ride log on PostgreSQL: the clinic store, with RideLog's interface.

The same parts as the SQLite RideLog (patients, plans, auth, sessions, summaries: one body of
code), over a psycopg connection that speaks their SQL (pgconn.py). Opening it creates or
migrates the schema (pgschema.py) in one transaction under an advisory lock, so two laptops
opening a new store at once migrate it once. A database that holds other tables but no
softcrank version table, or one from a newer softcrank, is refused and left as it is.

Connection details: a `postgresql://` URL (`--db`, `sync --to`, SOFTCRANK_DB), of which any
part may be left out and taken by libpq from the environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, PGSSLMODE...) and the password from a pgpass file (~/.pgpass or PGPASSFILE), so
no password needs to be on a command line. TLS: `?sslmode=verify-full` (docs/clinic.md).

Durability: records are committed in batches as in SQLite (BATCH_SIZE, MAX_DELAY_S); a commit
returns once PostgreSQL has it in its WAL on disk (synchronous_commit, the server's default).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from .auth import Auth
from .patients import Patients
from .pgconn import Connection
from .pgschema import MIGRATIONS, VERSION_TABLE
from .plans import Plans
from .records import (BATCH_SIZE, MAX_DELAY_S, SAMPLE_FIELDS, RideLogError, Sample, _is_int, _locked, _utc_now)
from .sessions import Sessions
from .summaries import Summaries
from .sums import KeptSums

CLINIC_SCHEMA_VERSION = len(MIGRATIONS)
_MIGRATION_LOCK = 0x53434B31  # pg_advisory_xact_lock's key while migrating: "SCK1"
_AVERAGED = ("cad_drpm", "force_l_dn", "force_r_dn", "res_pm")
# A decimated point as on SQLite: the first sample of its bucket, the averages of four fields.
_BUCKET_COLUMNS = ", ".join(
    "CAST(ROUND(AVG(%s)) AS INTEGER)" % name if name in _AVERAGED else "(array_agg(%s ORDER BY pos))[1]" % name
    for name in SAMPLE_FIELDS)


def is_url(target: object) -> bool:
    """Whether a --db value names a PostgreSQL store rather than a file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def connect(url: str):
    """A psycopg connection (autocommit), or RideLogError saying what went wrong."""
    try:
        import psycopg
    except ImportError:
        raise RideLogError("a clinic store on PostgreSQL needs the psycopg driver: pip install 'softcrank[clinic]'") \
            from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise RideLogError("cannot open the clinic store %s: %s" % (redact(url), str(exc).strip())) from exc


class PgRideLog(Patients, Plans, Auth, Sessions, Summaries, KeptSums):
    """The ride log in a PostgreSQL database. Every refusal raises RideLogError before writing.

    It keeps no running sums of the summary (sums.py, keep_sums False): a session's summary is
    computed once from its samples and then kept in `summaries`, as before SQLite's schema 9;
    sync carries the laptop's kept summary along with its session."""

    keep_sums = False

    def __init__(self, url: str, *, batch_size: int = BATCH_SIZE, max_delay_s: float = MAX_DELAY_S,
                 clock: Callable[[], str] = _utc_now, create: bool = True) -> None:
        # `create` is RideLog's rule for files (a mistyped path is no new log); a clinic store's
        # database is made on its server by its administrator, so a wrong URL fails to connect.
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise RideLogError("batch_size must be a positive integer, got %r" % (batch_size,))
        if not isinstance(max_delay_s, (int, float)) or not max_delay_s >= 0:
            raise RideLogError("max_delay_s must be a number of seconds >= 0, got %r" % (max_delay_s,))
        self.url = url
        self.path = redact(url)  # what messages name
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._lock = threading.RLock()
        self._samples: list[tuple] = []
        self._events: list[tuple] = []
        self._pending_since = 0.0
        self._start_recs: dict[int, int] = {}
        self._db = Connection(connect(url))
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    @property
    def raw(self):
        """The psycopg connection (sync's COPY uses it)."""
        return self._db.raw

    def _version(self) -> int:
        rows = self._read("SELECT to_regclass(%s) IS NOT NULL" % _quote(VERSION_TABLE))
        if not rows[0][0]:
            others = self._read("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()")[0][0]
            if others:
                raise RideLogError("%s holds tables but is not a softcrank clinic store; it was left as it is"
                                   % self.path)
            return 0
        version = self._read("SELECT MAX(version) FROM %s" % VERSION_TABLE)[0][0] or 0
        if version > CLINIC_SCHEMA_VERSION:
            raise RideLogError("%s was written by a newer softcrank (clinic store version %d; this one knows up to "
                               "%d): upgrade softcrank to open it; the store was left as it is"
                               % (self.path, version, CLINIC_SCHEMA_VERSION))
        return version

    def _migrate(self) -> None:
        if self._version() == CLINIC_SCHEMA_VERSION:
            return
        with self._transaction("creating or upgrading the clinic store %s" % self.path) as db:
            db.execute("SELECT pg_advisory_xact_lock(%d)" % _MIGRATION_LOCK)
            db.execute("CREATE TABLE IF NOT EXISTS %s (version INTEGER NOT NULL, at TEXT NOT NULL)" % VERSION_TABLE)
            version = self._read("SELECT COALESCE(MAX(version), 0) FROM %s" % VERSION_TABLE)[0][0]
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(db, self._clock())
                db.execute("INSERT INTO %s (version, at) VALUES (?, ?)" % VERSION_TABLE, (number, self._clock()))

    @property
    def schema_version(self) -> int:
        return self._version()

    @_locked
    def close(self) -> None:
        """Commit what is pending, then close the connection."""
        try:
            self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> PgRideLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Connection]:
        """One transaction; any failure rolls it back and becomes a RideLogError."""
        db = self._db
        try:
            db.execute("BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            if not db.raw.closed and db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(exc, sqlite3.Error):
                raise RideLogError("%s: %s" % (what, exc)) from exc
            raise

    def _read(self, sql: str, args: tuple = ()) -> list:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise RideLogError("reading the clinic store %s: %s" % (self.path, exc)) from exc

    @_locked
    def summary_fingerprint(self, session_id: int) -> str | None:
        """As Summaries.summary_fingerprint (the same text), in one round trip instead of two:
        Progress asks it of every session, and over a network each trip counts."""
        rows = self._read("""SELECT s.ended_at, s.end_state,
                   (SELECT COUNT(*) || ':' || COALESCE(MAX(pos)::text, '') FROM samples WHERE session_id = s.id),
                   (SELECT COUNT(*) || ':' || COALESCE(MAX(pos)::text, '') FROM events WHERE session_id = s.id)
                   FROM sessions s WHERE s.id = ?""", (session_id,)) if _is_int(session_id) else []
        if not rows:
            raise RideLogError("there is no session %r" % (session_id,))
        if rows[0][0] is None:
            return None
        return "%s|%s|%s|%s" % tuple(rows[0])

    @_locked
    def samples(self, session_id: int, decimate_to: int | None = None) -> Iterator[Sample]:
        """As RideLog.samples; the decimating GROUP BY in PostgreSQL's words (SQLite's takes
        a bucket's first row's bare columns, PostgreSQL says so with array_agg)."""
        if decimate_to is None:
            return Sessions.samples(self, session_id)
        self._start_rec(session_id)
        if not _is_int(decimate_to) or decimate_to < 1:
            raise RideLogError("decimate_to must be a positive integer, got %r" % (decimate_to,))
        lo, hi = self._read("SELECT MIN(pos), MAX(pos) FROM samples WHERE session_id = ?", (session_id,))[0]
        if lo is None:
            return iter(())
        sql = ("SELECT MIN(pos), %s FROM samples WHERE session_id = ? "
               "GROUP BY ((pos - CAST(? AS BIGINT)) * CAST(? AS BIGINT)) / CAST(? AS BIGINT) ORDER BY 1"
               % _BUCKET_COLUMNS)
        try:
            cursor = self._db.execute(sql, (session_id, lo, decimate_to, hi - lo + 1))
        except sqlite3.Error as exc:
            raise RideLogError("reading samples of session %d: %s" % (session_id, exc)) from exc
        return self._fetch(cursor, 1)


def _quote(text: str) -> str:
    return "'%s'" % text.replace("'", "''")
