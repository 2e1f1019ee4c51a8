"""The kill-and-restart loop: `softcrank ride` killed (SIGKILL) at random moments, and restarted.

What a new user tried with kill -9 (issue 20), as a repeatable run on the virtual trainer and
the real firmware: `softcrank ride` is started, killed without warning after a random time
(a few within a second of starting, before or during its handshake), left dead for a random
outage, and started again, `kills` times; the last outage is longer than the trainer's ring
(3072 records: 307 virtual seconds at 10 Hz), so the records of it are gone for good and the
trainer's PAUSE with them. The last `ride` must then find the pause it cannot explain, stop
the session and exit. The run checks what a clinic relies on:

- `PRAGMA integrity_check` is "ok", and the ride log holds one session;
- its records are contiguous but for the one gap of the long outage, with no duplicate;
- the gap the last `ride` printed (first and last record) is exactly the gap in the ride log,
  printed once;
- every `ride` ended by itself: the last within `EXIT_LIMIT_S` of starting.

The test suite runs it shortened (tests/host/test_recovery.py); `softcrank safety` at full
length (verify/safety.py), and docs/safety.md records its figures.
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from ..sim.virtual_board import VirtualBoard
from ..store.ridelog import RideLog
from ..trainer.therapist import set_pin

__all__ = ["kill_loop", "EXIT_LIMIT_S", "RING_RECORDS"]

RING_RECORDS = 3072  # softcrank_fw/ring.py: the records the trainer holds
RATE_HZ = 10  # the virtual trainer's default telemetry rate
EXIT_LIMIT_S = 60.0  # real seconds: ride never runs longer than this after its session ended
_PIN = "kill-loop-pin"  # the loop's throw-away ride log's therapist PIN (the demo kind: no policy)
_LOST = re.compile(r"records (\d+)-(\d+) \((\d+)\) could not be fetched")


def kill_loop(kills: int = 20, speed: float = 20.0, seed: int = 1, alive_s: tuple = (0.0, 2.0),
              outage_s: tuple = (0.0, 1.5), long_outage_virtual_s: float = 1.3 * RING_RECORDS / RATE_HZ,
              work_min: int = 10, early_share: float = 0.2, log: Callable[[str], object] = lambda line: None) -> dict:
    """Run the loop; returns its figures and `problems` (empty when every check held).
    Times are real seconds but `long_outage_virtual_s`, in the trainer's seconds. A share
    `early_share` of the kills land in the first second of a ride (while Python starts, or in
    its handshake); the others `alive_s` after it connected (starting Python and importing
    softcrank takes 1-5 s on a loaded laptop: kills timed from the start alone would rarely
    let a ride connect)."""
    rng = random.Random(seed)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="softcrank-killloop-") as tmp, VirtualBoard(speed=speed) as board:
        db = Path(tmp) / "ride.sqlite"
        with RideLog(db) as ridelog:
            ridelog.add_patient("Kill Loop", "right")
            set_pin(ridelog, _PIN, demo=True)  # a throw-away ride log: no credential store, no policy
        outputs: list[str] = []
        started = time.monotonic()
        kill_times: list[float] = []
        early = False
        for i in range(kills):
            proc, out = _ride(db, board.port, speed, Path(tmp) / ("ride-%02d.txt" % i), work_min if i == 0 else None)
            if i == 0:
                _wait_for_session(db, proc)  # a kill before START is stored leaves a session the log does not know
            early = i > 0 and not early and rng.random() < early_share  # never two in a row: their outages add up
            if early:
                time.sleep(rng.uniform(0.05, 1.0))
            else:
                _wait_for_line(out, "link: connected", proc)
                time.sleep(rng.uniform(*alive_s))
            if proc.poll() is not None:
                problems.append("ride %d ended by itself before its kill (exit %s)" % (i, proc.returncode))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kill_times.append(time.monotonic() - started)
            outputs.append(out.read_text())
            if i == kills - 1:
                log("kill %d at %.1f s; away until the ring has moved on" % (i + 1, kill_times[-1]))
                outran_ring(db, board.port, long_outage_virtual_s * RATE_HZ)
            else:
                pause = rng.uniform(*outage_s)
                log("kill %d at %.1f s; away %.1f s" % (i + 1, kill_times[-1], pause))
                time.sleep(pause)
        final_out = Path(tmp) / "ride-final.txt"
        proc, out = _ride(db, board.port, speed, final_out, None)
        began = time.monotonic()
        after_end = _follow_last(db, proc, began + 30 * 60 / speed + EXIT_LIMIT_S, problems)
        final_s = time.monotonic() - began
        final = out.read_text()
        outputs.append(final)
        figures = _check(db, final, outputs, problems)
    figures.update(kills=kills, speed=speed, seed=seed, final_ride_s=round(final_s, 1), exit_after_end_s=after_end,
                   long_outage_virtual_s=long_outage_virtual_s, problems=problems, final_output=final)
    return figures


def outran_ring(db: Path, port: str, records: float, timeout: float = 600.0) -> None:
    """Wait until the trainer has made `records` records past the newest in the ride log, on
    its own clock (a loaded laptop runs the virtual trainer slower than its --speed, so real
    seconds would not say it). Listens only: a host that said anything would count as back,
    and the trainer would not pause for the host's silence."""
    import serial

    from ..frames import FrameError, parse

    with RideLog(db) as ridelog:
        sid = ridelog.sessions()[0]["id"]
        newest = ridelog.last_committed_rec(sid)
    deadline = time.monotonic() + timeout
    paused = False
    with serial.serial_for_url(port, timeout=0.2) as listener:
        partial = b""
        while time.monotonic() < deadline:
            *lines, partial = (partial + listener.read(listener.in_waiting or 1)).split(b"\n")
            for line in lines:
                try:
                    frame = parse(line)
                except FrameError:
                    continue
                if frame.type != "T":
                    continue
                paused = paused or frame["state"] == "P"
                if paused and (frame["rec"] - newest) % (1 << 30) > records:
                    return
    raise RuntimeError("the trainer did not make %d records in %.0f s" % (records, timeout))


def _ride(db: Path, port: str, speed: float, out_path: Path, work_min: int | None):
    argv = [sys.executable, "-m", "softcrank", "ride", "--db", str(db), "--patient", "Kill Loop", "--port", port,
            "--speed", str(speed), "--every", "60",
            # the virtual trainer holds the firmware's defaults: a therapist confirms them for the
            # first ride (the later ones carry its session on and are not asked)
            "--confirm-caps", "--by", "softcrank safety", "--pin-stdin"]
    if work_min is not None:
        argv += ["--work", str(work_min)]
    out = open(out_path, "w")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, text=True)
    out.close()  # the child has its own descriptor
    try:
        proc.stdin.write(_PIN + "\n")
        proc.stdin.close()
    except BrokenPipeError:  # killed already, or it never read it
        pass
    proc.stdin = None  # nothing more to send
    return proc, out_path


def _follow_last(db: Path, proc: subprocess.Popen, deadline: float, problems: list[str]) -> float | None:
    """Wait for the last ride: it may carry the session on to its end (the long outage's pause
    was still in the ring) or stop it (it was not). Returns the real seconds between the
    session's end reaching the ride log and the ride's exit; a ride still running EXIT_LIMIT_S
    after that, or at `deadline`, is a problem (and is killed)."""
    ended_at = None
    with RideLog(db) as watcher:
        while proc.poll() is None:
            now = time.monotonic()
            if ended_at is None and watcher.session(watcher.sessions()[0]["id"])["ended_at"] is not None:
                ended_at = now
            if (ended_at is not None and now - ended_at > EXIT_LIMIT_S) or now > deadline:
                proc.kill()
                proc.wait()
                problems.append("the last ride was still running %.0f s after its session ended"
                                % (now - ended_at) if ended_at else "the last ride never ended its session")
                return None
            time.sleep(0.2)
    return round(time.monotonic() - ended_at, 1) if ended_at is not None else 0.0


def _wait_for_line(out: Path, text: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if text in out.read_text():
            return
        time.sleep(0.02)


def _wait_for_session(db: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with RideLog(db) as watcher:
        while time.monotonic() < deadline and proc.poll() is None:
            if watcher.sessions():
                return
            time.sleep(0.05)
    raise RuntimeError("the first ride never started its session")


def _check(db: Path, final: str, outputs: list[str], problems: list[str]) -> dict:
    with sqlite3.connect(db) as raw:
        integrity = raw.execute("PRAGMA integrity_check").fetchone()[0]
    if integrity != "ok":
        problems.append("integrity_check: %s" % integrity)
    with RideLog(db) as ridelog:
        sessions = ridelog.sessions()
        if len(sessions) != 1:
            problems.append("%d sessions in the ride log, not one" % len(sessions))
        sid = sessions[0]["id"]
        samples = [s.rec for s in ridelog.samples(sid)]
        recs = samples + [e.rec for e in ridelog.events(sid)]
        gaps = [tuple(g[:2]) for g in ridelog.missing_recs(sid)]
        row = ridelog.session(sid)
    if len(recs) != len(set(recs)):
        problems.append("%d duplicate records" % (len(recs) - len(set(recs))))
    reported = [tuple(int(x) for x in m.groups()[:2]) for text in outputs for m in _LOST.finditer(text)]
    # Every gap printed once with exactly its range; the long outage's is the last. Others come
    # only when a loaded laptop made a short outage longer than the ring (starting Python twice).
    if reported != gaps or not gaps:
        problems.append("gaps printed %s, gaps in the ride log %s" % (reported, gaps))
    if row["ended_at"] is None:
        problems.append("the session was left unfinished")
    if "found: " not in final:
        problems.append("the last ride did not say what it found")
    connected = sum("link: connected" in text for text in outputs)
    return {"connected": connected, "integrity": integrity, "sessions": len(sessions), "samples": len(samples), "records": len(recs),
            "gaps": gaps, "reported": reported, "end_state": row["end_state"]}
