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
Seconds takes the samples pushed, so an export can build its points in the same pass over
the ride log as the summary's totals (summarize's `each`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator, NamedTuple

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from softcrank.store.ridelog import RideLog, Sample
from softcrank.clinical.summary import pedal_power_w, timed

__all__ = ["Clock", "Second", "Seconds", "session_start", "start_t_ms", "timeline"]


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


class Seconds:
    """Samples in, seconds out: add() each sample with the ms it stands for (summary.timed);
    it returns the second before, once a sample of a later second shows it complete; end()
    returns the last. Holds one second's sums, never the samples."""

    def __init__(self, start_t_ms: int | None) -> None:
        self._clock = Clock(start_t_ms)
        self._index: int | None = None
        self._count = 0
        self._sums = [0.0] * 6  # cadence, left and right force, left and right power, resistance
        self._state = ""
        self._work = self._revolutions = 0.0

    def add(self, sample: Sample, dt_ms: int) -> Second | None:
        k = self._clock(sample) // 1000
        done = self.end() if k != self._index else None
        self._index = k
        dt = dt_ms / 1000
        rpm = abs(sample.cad_drpm) / 10
        left, right = pedal_power_w(sample)
        sums = self._sums
        sums[0] += rpm
        sums[1] += sample.force_l_dn / 10
        sums[2] += sample.force_r_dn / 10
        sums[3] += left
        sums[4] += right
        sums[5] += sample.res_pm / 10
        self._count += 1
        self._state = sample.state
        self._work += (left + right) * dt
        self._revolutions += rpm / 60 * dt
        return done

    def end(self) -> Second | None:
        """The second being filled (None if there is none), and start afresh."""
        if not self._count:
            return None
        n, sums = self._count, self._sums
        assert self._index is not None
        second = Second(self._index, n, self._state, *(total / n for total in sums), self._work, self._revolutions)
        self._count, self._sums = 0, [0.0] * 6
        return second


def timeline(ridelog: RideLog, session_id: int) -> Iterator[tuple[Sample, int, int]]:
    """Each sample, lazily, with its time after START and the time it stands for (both ms)."""
    clock = Clock(start_t_ms(ridelog, session_id))
    for sample, dt_ms in timed(ridelog.samples(session_id)):
        yield sample, clock(sample), dt_ms

