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
  the summary's revolutions); resistance the mean resistance;
- power is the mean of its samples' estimated power, per leg (summary.pedal_power_w);
- work and revolutions are running totals to the end of its samples, each sample weighted by
  the time it stands for, exactly as the summary does (summary.timed), so the last point's
  totals are the summary's.

The samples are evenly spaced within a second at any one rate, so the mean of a second's
samples is also their time-weighted mean. Nothing here holds more than one second of samples.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator, NamedTuple

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from softcrank.ridelog import RideLog, Sample
from softcrank.summary import pedal_power_w, timed

__all__ = ["Second", "seconds", "session_start", "timeline"]


class Second(NamedTuple):
    """One second of a session, from the samples in it."""

    index: int  # whole seconds after START (negative for a sample before it)
    samples: int
    state: str  # the state letter of its last sample
    cadence_rpm: float  # mean |cadence|
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


def timeline(ridelog: RideLog, session_id: int) -> Iterator[tuple[Sample, int, int]]:
    """Each sample, lazily, with its time after START and the time it stands for (both ms)."""
    t0 = next((e.t_ms for e in ridelog.events(session_id) if e.event == "START"), None)
    previous: int | None = None
    elapsed = 0
    for sample, dt_ms in timed(ridelog.samples(session_id)):
        if previous is None:
            elapsed = 0 if t0 is None else rec_diff(sample.t_ms, t0)
        else:
            elapsed += (sample.t_ms - previous) % P.REC_MODULO
        previous = sample.t_ms
        yield sample, elapsed, dt_ms


def seconds(ridelog: RideLog, session_id: int) -> Iterator[Second]:
    """The session's seconds that have samples, in order (see the module docstring)."""
    index: int | None = None
    count = 0
    cadence = power_l = power_r = resistance = work = revolutions = 0.0
    state = ""
    for sample, elapsed_ms, dt_ms in timeline(ridelog, session_id):
        k = elapsed_ms // 1000
        if k != index:
            if index is not None:
                yield Second(index, count, state, cadence / count, power_l / count, power_r / count,
                             resistance / count, work, revolutions)
            index, count = k, 0
            cadence = power_l = power_r = resistance = 0.0
        dt = dt_ms / 1000
        rpm = abs(sample.cad_drpm) / 10
        left, right = pedal_power_w(sample)
        count += 1
        cadence += rpm
        power_l += left
        power_r += right
        resistance += sample.res_pm / 10
        work += (left + right) * dt
        revolutions += rpm / 60 * dt
        state = sample.state
    if index is not None:
        yield Second(index, count, state, cadence / count, power_l / count, power_r / count,
                     resistance / count, work, revolutions)
