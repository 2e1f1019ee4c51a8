"""The ride log: ingest rate against bare SQLite, and opening and exporting (CSV, FIT, TCX) a 2-hour ride.

Ingest includes keeping the summary's sums (store/sums.py), in the same transactions; the
opening reads them (summary_of), and the full computation is timed beside it.

The ingest goes through RideLog.add_records as the link feeds it (a few frames a call, a
commit every BATCH_SIZE records, synchronous=FULL) and is set against a bare executemany of
the same rows, with the same commits, into the same schema: the ratio is what the checks,
the Frame handling and the bookkeeping cost on top of SQLite itself. Each commit waits on an
fsync, so the ratio is taken on 10 minutes of samples, best of three runs of each in turns;
the whole 2-hour ride is stored once more, through RideLog, for the review and export.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from softcrank_fw import protocol as P

from ...clinical.summary import summarize, summary_of
from ...exports import export_file
from ...frames import Frame
from ...store.ridelog import BATCH_SIZE, SAMPLE_FIELDS, RideLog
from . import Figure

RATE_HZ = 50
FRAMES_PER_CALL = 5  # what the link's reader hands over per read at 50 Hz (0.1 s reads)
PLOT_POINTS = 1000  # a plot a screen wide
EXPORT_FORMATS = ("csv", "fit", "tcx")
RATIO_SAMPLES = 30_000  # 10 minutes at 50 Hz: enough commits (600) to average the disk out
CAPS = [20, 90, 30, 250, 5, 300, 180, 250]
GOALS = [85, 15, 25, 10]


def ride_frames(minutes: float) -> list[Frame]:
    """A ride at 50 Hz as the link hands it over: START, the samples, DONE."""
    n = int(minutes * 60 * RATE_HZ)
    names = [name for name, _ in P.DEVICE_MESSAGES["T"]]
    frames = [Frame("E", 0, {"rec": 0, "t_ms": 0, "state": "U", "event": "START", "arg": 0})]
    for i in range(1, n + 1):
        cadence = 200 + (i * 7) % 60  # 20-26 rpm
        values = [i, i * 20, "W", cadence, 400 + (i * 13) % 300, 250 + (i * 11) % 200, 100 + (i // 3000) % 50,
                  (n - i) // RATE_HZ, 8]
        frames.append(Frame("T", i % P.SEQ_MODULO, dict(zip(names, values))))
    frames.append(Frame("E", 0, {"rec": n + 1, "t_ms": (n + 1) * 20, "state": "D", "event": "DONE", "arg": 0}))
    return frames


def new_session(path: Path) -> int:
    with RideLog(path) as log:
        patient = log.add_patient("bench", "left")
        return log.start_session(patient, "bench", 0, GOALS, CAPS)


def ingest(path: Path, frames: list[Frame]) -> tuple[int, float]:
    """(session id, seconds) storing `frames` through RideLog, a few a call, as the link does."""
    session = new_session(path)
    with RideLog(path) as log:
        t0 = time.perf_counter()
        for i in range(0, len(frames), FRAMES_PER_CALL):
            log.add_records(session, frames[i:i + FRAMES_PER_CALL])
        log.flush()
        seconds = time.perf_counter() - t0
        log.end_session(session, "D")
    return session, seconds


def bare(path: Path, frames: list[Frame]) -> float:
    """Seconds for executemany of the same sample rows, BATCH_SIZE a transaction, same pragmas."""
    session = new_session(path)
    rows = [(session, f["rec"], *(f[name] for name in SAMPLE_FIELDS)) for f in frames if f.type == "T"]
    sql = "INSERT OR IGNORE INTO samples (session_id, pos, %s) VALUES (%s)" % (
        ", ".join(SAMPLE_FIELDS), ", ".join("?" * (len(SAMPLE_FIELDS) + 2)))
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        t0 = time.perf_counter()
        for i in range(0, len(rows), BATCH_SIZE):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(sql, rows[i:i + BATCH_SIZE])
            db.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        db.close()


def review(path: Path, session: int) -> dict:
    """Seconds to open the log and read what the review screen shows, the first time: plot
    points and summary_of (from the sums the ride log kept while storing); then, beside it,
    the full computation (summarize, every sample: what the first opening cost before the
    sums were kept, and what a session stored before schema 9 still costs once); then a
    later opening (summary_of again, as Review, Progress and `show` do it)."""
    t0 = time.perf_counter()
    with RideLog(path) as log:
        log.session(session)
        points = list(log.samples(session, decimate_to=PLOT_POINTS))
        t1 = time.perf_counter()
        kept = summary_of(log, session)
        t2 = time.perf_counter()
        full = summarize(log, session)
        t3 = time.perf_counter()
    if kept != full:
        raise RuntimeError("the kept summary differs from the full computation")
    t4 = time.perf_counter()
    with RideLog(path) as log:  # the next opening, as Review, Progress and `show` do it
        log.session(session)
        list(log.samples(session, decimate_to=PLOT_POINTS))
        summary_of(log, session)
    t5 = time.perf_counter()
    return {"plot_s": t1 - t0, "summary_s": t2 - t1, "full_s": t3 - t2, "points": len(points),
            "samples": full.samples, "reopen_s": t5 - t4}


def export(path: Path, session: int, fmt: str, out: Path) -> float:
    """Seconds for `softcrank export --format FMT -o FILE`: exports.export_file, atomic and synced."""
    with RideLog(path) as log:
        t0 = time.perf_counter()
        export_file(log, session, fmt, out)
        return time.perf_counter() - t0


def ingest_ratio(tmp: Path, frames: list[Frame], rounds: int) -> tuple[float, float]:
    """(RideLog, bare) seconds for the same frames, the best of `rounds` taken in turns: each
    commit waits on the disk, whose latency on a shared machine drifts more than either costs."""
    ours, theirs = [], []
    for i in range(rounds):
        ours.append(ingest(tmp / ("ratio-%d.db" % i), frames)[1])
        theirs.append(bare(tmp / ("ratio-bare-%d.db" % i), frames))
    return min(ours), min(theirs)


def run(quick: bool) -> list[Figure]:
    minutes = 1 if quick else 120
    frames = ride_frames(minutes)
    samples = len(frames) - 2
    with tempfile.TemporaryDirectory(prefix="softcrank-bench-") as tmp:
        log_path = Path(tmp) / "ridelog.db"
        session, ingest_s = ingest(log_path, frames)
        part = [f for f in frames[:RATIO_SAMPLES + 1] if f.type == "T"]  # the same rows for both
        ours_s, bare_s = ingest_ratio(Path(tmp), part, 3)
        seen = review(log_path, session)
        exported = {}
        for fmt in EXPORT_FORMATS:
            out = Path(tmp) / ("ride." + fmt)
            exported[fmt] = (export(log_path, session, fmt, out), out.stat().st_size / 1e6)
    if seen["samples"] != samples:
        raise RuntimeError("the ride log holds %d samples of %d" % (seen["samples"], samples))
    label = "%d-minute ride at 50 Hz (%d samples)" % (minutes, samples)
    return [
        Figure("ridelog.ingest_samples_s", "samples stored a second through RideLog (the whole ride)",
               round(samples / ingest_s), "/s",
               "%d/s live (50 Hz)" % RATE_HZ),
        Figure("ridelog.bare_samples_s", "bare executemany, same rows and commits (best of 3, %d samples)" % len(part),
               round(len(part) / bare_s), "/s"),
        Figure("ridelog.ingest_ratio", "RideLog ingest / bare executemany (best of 3 each, in turns)",
               round(bare_s / ours_s, 2), "x", "1"),
        Figure("ridelog.open_plot_s", "open a %s, %d plot points" % (label, seen["points"]), round(seen["plot_s"], 3), "s"),
        Figure("ridelog.open_summary_s", "its summary, the first time (summary_of: the sums kept while storing)",
               round(seen["summary_s"], 3), "s"),
        Figure("ridelog.open_total_s", "open for review the first time: plot + summary",
               round(seen["plot_s"] + seen["summary_s"], 3), "s", "0.3 s"),
        Figure("ridelog.full_summary_s", "beside it: the full computation (summarize, every sample; the first "
               "opening before schema 9)", round(seen["full_s"], 3), "s"),
        Figure("ridelog.reopen_s", "open it again: plot + summary", round(seen["reopen_s"], 3), "s", "0.3 s"),
    ] + [Figure("ridelog.export_%s_s" % fmt, "export it as %s (%.1f MB)" % (fmt.upper(), mb), round(seconds, 3), "s",
                "1 s") for fmt, (seconds, mb) in exported.items()]
