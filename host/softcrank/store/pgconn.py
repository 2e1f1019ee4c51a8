"""A PostgreSQL connection that speaks to the store's parts as their SQLite connection does.

The parts (patients.py, plans.py, auth.py, sessions.py, summaries.py) write their SQL once, in
SQLite's dialect, and call `db.execute(sql, args)`. This wraps a psycopg connection so the same
calls run on PostgreSQL: `?` and `?N` placeholders become psycopg's, SQLite's few spellings of
its own (INSERT OR IGNORE / OR REPLACE, IFNULL, two-argument MAX) become PostgreSQL's, an INSERT
into a table with an `id` returns it as `lastrowid`, rows answer by index, slice and name like
sqlite3.Row, and PostgreSQL's errors arrive as the DB-API errors the parts already catch
(sqlite3.DatabaseError's subclasses), so a refusal reads the same on both back ends.

One set of SQL means one behaviour: the ride-log suite (tests/host/test_ridelog.py) runs on
both. What cannot be said in one dialect (the decimating GROUP BY, the schema) is written
twice, in pglog.py and pgschema.py.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any, Iterable

# Tables whose rows have an `id` the parts want back from an INSERT.
_ID_TABLES = frozenset(("patients", "caps_history", "sessions", "auth_audit", "plans"))
# The key INSERT OR REPLACE replaces on, by table.
_REPLACE_KEYS = {"summaries": "session_id", "therapist_pin": "id", "trainer_caps": "device_id, counter",
                 "sample_sums": "session_id, block"}

_NUMBERED = re.compile(r"\?(\d+)")
_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", re.I | re.S)
_IFNULL_TEXT = re.compile(r"IFNULL\(([^,()]+(?:\([^()]*\))?), ''\)")
_MAX2 = re.compile(r"\bMAX\((\w+),")


class PgError(sqlite3.DatabaseError):
    """PostgreSQL refused a statement (the message is the server's)."""


class PgIntegrityError(sqlite3.IntegrityError):
    """PostgreSQL refused a row: a key, a reference or a check."""


class Row(tuple):
    """A result row: by index, by slice, or by column name, like sqlite3.Row."""

    _names: tuple = ()

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor):
    names = tuple(column.name for column in cursor.description or ())
    row_class = type("Row", (Row,), {"_names": names})

    def make(values):
        return row_class(values)
    return make


def translate(sql: str, args: Iterable[Any] = ()) -> tuple[str, tuple, bool]:
    """(PostgreSQL's SQL, its arguments, whether it returns the new row's id) for SQLite's."""
    args = tuple(args)
    if args:  # psycopg reads % as a placeholder only when there are arguments
        sql = sql.replace("%", "%%")
    returns_id = False
    match = _INSERT.match(sql)
    if match:
        verb, table, columns = match.group(1), match.group(2).lower(), match.group(3)
        sql = sql[:match.start()] + "INSERT INTO %s (%s)" % (table, columns) + sql[match.end():]
        if verb and verb.upper() == "IGNORE":
            sql += " ON CONFLICT DO NOTHING"
        elif verb:
            key = _REPLACE_KEYS[table]
            names = [name.strip() for name in columns.split(",") if name.strip() != key]
            sql += " ON CONFLICT (%s) DO UPDATE SET %s" % (key, ", ".join("%s = EXCLUDED.%s" % (n, n) for n in names))
        elif table in _ID_TABLES and "RETURNING" not in sql.upper():
            sql += " RETURNING id"
            returns_id = True
    sql = _IFNULL_TEXT.sub(r"COALESCE((\1)::text, '')", sql)  # SQLite mixes types; PostgreSQL says which
    sql = sql.replace("IFNULL(", "COALESCE(")
    sql = _MAX2.sub(r"GREATEST(\1,", sql)
    if _NUMBERED.search(sql):
        order = [int(n) - 1 for n in _NUMBERED.findall(sql)]
        args = tuple(args[i] for i in order)
        sql = _NUMBERED.sub("%s", sql)
    else:
        sql = sql.replace("?", "%s")
    return sql, args, returns_id


class Cursor:
    """What `execute` gives back: the rows, and `lastrowid` after an INSERT."""

    def __init__(self, cursor, lastrowid: int | None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid

    @property
    def rowcount(self) -> int:
        """How many rows an UPDATE or DELETE changed (as sqlite3's)."""
        return self._cursor.rowcount

    def fetchone(self):
        return _guard(self._cursor.fetchone) if self._cursor.description else None

    def fetchall(self):
        return _guard(self._cursor.fetchall) if self._cursor.description else []

    def fetchmany(self, size: int):
        return _guard(self._cursor.fetchmany, size) if self._cursor.description else []

    def __iter__(self):
        return iter(self.fetchall())


def _guard(call, *args):
    import psycopg

    try:
        return call(*args)
    except psycopg.IntegrityError as exc:
        raise PgIntegrityError(_message(exc)) from exc
    except psycopg.Error as exc:
        raise PgError(_message(exc)) from exc


def _message(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class PlainCursor:
    """sqlite3's cursor with `row_factory = None`: `execute`, then `fetchmany` of tuples."""

    row_factory = None  # assigned by callers as on sqlite3; rows are tuples whatever it is

    def __init__(self, raw) -> None:
        from psycopg.rows import tuple_row

        self._cursor = raw.cursor(row_factory=tuple_row)

    def execute(self, sql: str, args: Iterable[Any] = ()) -> "PlainCursor":
        text, values, _ = translate(sql, args)
        _guard(self._cursor.execute, text, values or None)
        return self

    def fetchmany(self, size: int) -> list[tuple]:
        return _guard(self._cursor.fetchmany, size)


class Connection:
    """A psycopg connection in autocommit mode, with SQLite's calls (see the module's text)."""

    def __init__(self, raw) -> None:
        self.raw = raw
        raw.row_factory = _row_factory  # type: ignore[assignment]

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, args: Iterable[Any] = ()) -> Cursor:
        text, values, returns_id = translate(sql, args)
        cursor = self.raw.cursor()
        _guard(cursor.execute, text, values or None)
        lastrowid = None
        if returns_id:
            lastrowid = _guard(cursor.fetchone)[0]
        return Cursor(cursor, lastrowid)

    def cursor(self) -> "PlainCursor":
        """A cursor of plain tuples, as sqlite3's `cursor()` with `row_factory = None` gives
        (sessions.sample_rows reads every sample of a long ride this way)."""
        return PlainCursor(self.raw)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        text, _, _ = translate(sql, rows[0])
        if _NUMBERED.search(sql):  # not used by the parts; refuse rather than guess
            raise PgError("executemany with numbered placeholders: %s" % sql)
        _guard(self.raw.cursor().executemany, text, [tuple(row) for row in rows])

    def close(self) -> None:
        self.raw.close()
