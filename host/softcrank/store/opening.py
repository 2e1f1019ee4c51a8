"""Which ride log a command means: a file (SQLite) or a clinic store (PostgreSQL).

`--db` takes either; without it, the SOFTCRANK_DB environment variable, then the platform's
data folder (records.default_path). A `postgresql://` value opens PgRideLog, whose
connection details libpq may also take from PG* variables and a pgpass file (pglog.py).
"""

from __future__ import annotations

import os
from typing import Mapping

from .pglog import PgRideLog, is_url
from .ridelog import RideLog

ENV_DB = "SOFTCRANK_DB"  # the ride log (a file or a postgresql:// URL) when --db is not given
ENV_CLINIC = "SOFTCRANK_CLINIC"  # the clinic store the app syncs to, in a worker (docs/clinic.md)


def db_target(db: str | os.PathLike | None, environ: Mapping[str, str] = os.environ):
    """--db's value, else SOFTCRANK_DB's, else None (the default file)."""
    if db is not None and str(db) != "":
        return db
    return environ.get(ENV_DB) or None


def open_store(db: str | os.PathLike | None = None, environ: Mapping[str, str] = os.environ, **options):
    """The ride log `db` names (see db_target): a RideLog or a PgRideLog, the same interface."""
    target = db_target(db, environ)
    if is_url(target):
        return PgRideLog(str(target), **options)
    return RideLog(target, **options)
