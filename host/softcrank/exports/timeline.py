"""When each sample happened, and the one-point-a-second view that FIT and TCX carry.

Time. A session starts at its START event: `started_at` is the host's UTC clock when the
session began, and the device's `t_ms` of the START event is the same instant. A sample's
time is its `t_ms` less the START's, on the device's clock. `t_ms` wraps at 2**30 ms, so the
first sample's offset is taken as a signed difference modulo 2**30 (rec_diff) and each later
one adds the step from the sample before, modulo 2**30: samples come in record order (the
ride log's `pos`), so the time never jumps back at a wrap. A session without a START event
(its first records were lost) starts at its first sample.

One point a second. FIT timestamps are whole seconds, and TCX readers expect about a point a
second, while samples come at 1 to 50 Hz. So both carry one point per second of the session
that has samples: second k holds the samples whose time is in [k, k + 1) s after START, and
its timestamp is the start time (whole seconds) plus k. A second without samples (records
missing) gets no point, so the point count is the number of seconds covered. In a point:

- cadence is the mean |cadence| of its samples (backward pedalling counts as pedalling, as in
  the summary's revolutions); force and resistance their means;
- power is the mean of its samples' estimated power, per leg (summary.pedal_power_w);
- work and revolutions are running totals to the end of its samples, each sample weighted by
  the time it stands for, exactly as the summary does (summary.timed), so the last point's
  totals are the summary's.

The samples are evenly spaced within a second at any one rate, so the mean of a second's
samples is also their time-weighted mean. Nothing here holds more than one second's sums.
seconds() makes them in one pass over plain rows; the session's figures come from the sums
the ride log keeps (summary.summary_of), so an export reads the samples once and sums
nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterator, NamedTuple

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from softcrank.store.ridelog import RideLog, Sample
from softcrank.clinical.summary import MAX_SAMPLE_STEP_MS, PEDAL_TRAVEL_M, PEDALLING

__all__ = ["Clock", "Second", "seconds", "session_start", "start_t_ms", "timed_rows", "timeline"]


class Second(NamedTuple):
    """One second of a session, from the samples in it."""

    at_s: int  # whole seconds after START (negative for a sample before it)
    samples: int
    state: str  # the state letter of its last sample
    cadence_rpm: float  # mean |cadence|
    force_l_n: float  # mean force on the left pedal, as measured (a foot lifting a pedal is negative)
    force_r_n: float
    power_l_w: float  # mean estimated power of the left pedal
    power_r_w: float
    resistance_pct: float  # mean resistance, % of the brake's range
    work_j: float  # estimated work of both pedals, running total
    revolutions: float  # running total


def session_start(session: dict) -> datetime:
    """The session's start on the host's UTC clock, to the whole second (FIT's resolution)."""
    started = datetime.fromisoformat(session["started_at"].replace("Z", "+00:00"))
    if started.tzinfo is None:  # the ride log writes UTC; an older row without an offset is UTC too
        started = started.replace(tzinfo=timezone.utc)
    return started.astimezone(timezone.utc).replace(microsecond=0)


def start_t_ms(ridelog: RideLog, session_id: int) -> int | None:
    """The device time of the session's START event (None if it never arrived)."""
    return next((e.t_ms for e in ridelog.events(session_id) if e.event == "START"), None)


class Clock:
    """A sample's time after START in ms, for samples given in record order."""

    def __init__(self, start_t_ms: int | None) -> None:
        self._start = start_t_ms
        self._previous: int | None = None
        self._elapsed = 0

    def __call__(self, sample: Sample) -> int:
        if self._previous is None:
            self._elapsed = 0 if self._start is None else rec_diff(sample.t_ms, self._start)
        else:
            self._elapsed += (sample.t_ms - self._previous) % P.REC_MODULO
        self._previous = sample.t_ms
        return self._elapsed


def timed_rows(ridelog: RideLog, session_id: int) -> Iterator[tuple[tuple, int, int, float, float]]:
    """(row, time after START in ms, ms it stands for, left power W, right power W) for each
    sample, lazily, the row a plain tuple of Sample's fields: timeline() and pedal_power_w
    without a Sample or a call per row, for the exports, which go through every sample. The
    arithmetic is Clock's, summary.timed's (step_ms) and summary.pedal_power_w's (force / 10 x
    pedal speed, in that order; 0 outside the pedalling phases), inlined:
    tests/host/test_export_bytes.py holds the exports to the bytes they made before."""
    start = start_t_ms(ridelog, session_id)
    modulo, cap, travel = P.REC_MODULO, MAX_SAMPLE_STEP_MS, PEDAL_TRAVEL_M
    previous, elapsed, step, left, right = None, 0, 0, 0.0, 0.0
    for rows in ridelog.sample_rows(session_id):
        for row in rows:
            if previous is None:
                elapsed = 0 if start is None else rec_diff(row[1], start)
            else:
                step = (row[1] - previous[1]) % modulo
                yield previous, elapsed, step if step < cap else cap, left, right
                elapsed += step
            previous = row
            if row[2] in PEDALLING:
                speed = travel * abs(row[3]) / 600
                left = (row[4] if row[4] > 0 else 0) / 10 * speed
                right = (row[5] if row[5] > 0 else 0) / 10 * speed
            else:
                left = right = 0.0
    if previous is not None:
        yield previous, elapsed, step if step < cap else cap, left, right


def seconds(ridelog: RideLog, session_id: int, each: Callable[[Second], object]) -> None:
    """Hand `each` every second of the session, in order (see the module docstring): one pass
    over the samples, holding one second's sums."""
    index = None
    count, s0, s1, s2, s3, s4, s5, state = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ""
    work = revolutions = 0.0
    for (_, _, state_now, cad, force_l, force_r, res, _, _), elapsed, dt_ms, left, right in timed_rows(ridelog,
                                                                                                       session_id):
        k = elapsed // 1000
        if k != index:
            if count:
                each(Second(index, count, state, s0 / count, s1 / count, s2 / count, s3 / count, s4 / count,
                            s5 / count, work, revolutions))
                count, s0, s1, s2, s3, s4, s5 = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
            index = k
        dt = dt_ms / 1000
        rpm = abs(cad) / 10
        s0 += rpm
        s1 += force_l / 10
        s2 += force_r / 10
        s3 += left
        s4 += right
        s5 += res / 10
        count += 1
        state = state_now
        work += (left + right) * dt
        revolutions += rpm / 60 * dt
    if count:
        each(Second(index, count, state, s0 / count, s1 / count, s2 / count, s3 / count, s4 / count, s5 / count,
                    work, revolutions))


def timeline(ridelog: RideLog, session_id: int) -> Iterator[tuple[Sample, int, int]]:
    """Each sample, lazily, with its time after START and the time it stands for (both ms)."""
    for row, elapsed, dt_ms, _, _ in timed_rows(ridelog, session_id):
        yield Sample._make(row), elapsed, dt_ms
