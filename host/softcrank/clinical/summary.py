"""One session in figures: what a therapist reads after a ride (CLINICAL.md says which).

Time comes from the device's clock: each sample stands for the time until the next one
(t_ms wraps at 2**30, so the difference is taken modulo that), and the last sample for as
long as the one before it. A step longer than MAX_SAMPLE_STEP_MS means records are missing
(the slowest telemetry rate is 1 Hz), so it counts only that long: nobody knows what
happened in the gap, and `records_missing` says how much is unknown.

Phases, by the state letters of the samples:
- pedalling: warm-up, work, cool-down (U W C). Cadence, band time, forces, work and
  resistance are taken over these. Backward pedalling (negative cadence) is pedalling: its
  |cadence| counts in the averages, peak and revolutions and its power in the work, and
  backward_s says how long it lasted (docs/host.md, "Backward pedalling");
- riding: pedalling plus spasm rests (U W C R), i.e. the session without its pauses. Rests
  count because they count against the duration cap too;
- work phase: W only. Symmetry and the fatigue signals come from it, since warm-up and
  cool-down are deliberately light.

Pedal work is an estimate: a load cell measures the force on the pedal, not its tangential
part, so work = force x pedal travel, the travel being 2 x pi x CRANK_LENGTH_M per
revolution. It overstates what went into the crank, the same way for both legs, which is
what the symmetry figures need. A negative reading (a foot lifting a clipped pedal, tare
drift) adds nothing: a pedal is pushed. The same estimate per second is the power that the
FIT and TCX exports carry (pedal_power_w: force x pedal speed).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from softcrank_fw import protocol as P

from softcrank.store.ridelog import RideLog, RideLogError, Sample

CRANK_LENGTH_M = 0.17  # a typical pedal trainer's crank; the device does not report it
PEDAL_TRAVEL_M = 2 * math.pi * CRANK_LENGTH_M  # the path a pedal travels in one revolution
MAX_SAMPLE_STEP_MS = 1000  # the sample period at the slowest rate (RATE 1)
PEDALLING = frozenset("UWC")
RIDING = frozenset("UWCR")
END_EVENTS = frozenset(("DONE", "STOP", "ESTOP", "FAULT"))  # the device left the session
RES_BUCKETS = tuple(range(0, 100, 10))  # resistance profile: 0-10 %, 10-20 %, ... 90-100 %

__all__ = ["CRANK_LENGTH_M", "ENDINGS", "PEDAL_TRAVEL_M", "PHASES", "Stretch", "Summary", "ending", "pedal_power_w",
           "phase", "share_whole", "summarize", "summary_of", "timed", "whole"]


@dataclass(frozen=True)
class Stretch:
    """Cadence and symmetry over part of the work phase (None when there is nothing to average)."""

    cadence_avg_rpm: float | None
    symmetry_index: float | None


@dataclass(frozen=True)
class Summary:
    session_id: int
    samples: int
    records_missing: int  # records between the first and last stored that never arrived
    duration_s: float  # from the START event to DONE, STOP, ESTOP or FAULT (or the last record)
    riding_s: float  # in U W C R: the session without pauses
    work_s: float  # in W
    rest_s: float  # in R: spasm rests
    paused_s: float  # in P
    revolutions: float  # |cadence| integrated over the whole session
    cadence_avg_rpm: float | None  # |cadence| of pedalling samples that turn, time-weighted
    cadence_peak_rpm: float | None  # the highest |cadence| in the pedalling phases
    in_band_s: float  # pedalling with the FLAG_IN_BAND bit set
    in_band_pct: float | None  # of the pedalling time
    work_l_j: float  # pedal work estimate (see the module docstring), pedalling phases
    work_r_j: float
    force_avg_l_n: float | None  # pedalling samples that turn, time-weighted
    force_avg_r_n: float | None
    symmetry_index: float | None  # (L - R) / ((L + R) / 2) x 100 of work-phase pedal work
    share_l_pct: float | None  # L / (L + R) x 100 of work-phase pedal work
    share_r_pct: float | None
    res_avg_pct: float | None  # pedalling phases, time-weighted
    res_max_pct: float | None
    res_time_s: dict[int, float]  # seconds at each 10 % band of resistance, keyed by its low end
    events: dict[str, int]  # how many of each event type
    backward_s: float  # pedalling backwards (cadence < 0) in the pedalling phases: counted as pedalling
    first_third: Stretch  # the fatigue signals: the work phase's first third against ...
    last_third: Stretch  # ... its last third, by work time


def summarize(ridelog: RideLog, session_id: int, each: Callable[[Sample, int], object] | None = None,
              fatigue: bool = True) -> Summary:
    """The figures of one session, from what the ride log has committed.

    Reads the samples twice, lazily (a 2-hour 50 Hz session is 360,000 of them): once for
    everything, once more for the thirds of the work phase, whose length the first pass finds.
    `each(sample, dt_ms)`, if given, sees every sample of the first pass in order, with the
    milliseconds it stands for (as timed() gives them), so an export rides along instead of
    reading the samples again. `fatigue=False` skips the second pass, for a caller that does
    not need the thirds: first_third and last_third are then Stretch(None, None)."""
    events = ridelog.events(session_id)
    missing = sum(gap.length for gap in ridelog.missing_recs(session_id))
    whole = _Tally()
    for sample, dt_ms in timed(ridelog.samples(session_id)):
        whole.add(sample, dt_ms)
        if each is not None:
            each(sample, dt_ms)
    first, last = _Tally(), _Tally()
    work_ms, elapsed_ms = whole.state_ms["W"], 0  # whole milliseconds: the thirds split exactly
    for sample, dt_ms in timed(ridelog.samples(session_id)) if fatigue else ():
        if sample.state == "W":
            if 3 * elapsed_ms < work_ms:
                first.add(sample, dt_ms)
            elif 3 * elapsed_ms >= 2 * work_ms:
                last.add(sample, dt_ms)
            elapsed_ms += dt_ms
    return whole.summary(session_id, _duration_s(events, whole), missing, events, first, last)


class _Tally:
    """Running sums over samples, each weighted by the time it stands for."""

    def __init__(self) -> None:
        self.count = 0
        self.first_t: int | None = None
        self.last_t: int | None = None
        self.state_ms: Counter[str] = Counter()
        self.revolutions = 0.0
        self.pedalling_s = 0.0
        self.in_band_s = 0.0
        self.moving_s = 0.0  # pedalling with the cranks turning, either way
        self.backward_s = 0.0
        self.cadence_sum = 0.0
        self.cadence_peak: float | None = None
        self.force_sum = [0.0, 0.0]
        self.work = [0.0, 0.0]
        self.work_w = [0.0, 0.0]  # in the work phase only
        self.res_sum = 0.0
        self.res_max: float | None = None
        self.res_time = dict.fromkeys(RES_BUCKETS, 0.0)

    def add(self, s: Sample, dt_ms: int) -> None:
        self.count += 1
        self.first_t = s.t_ms if self.first_t is None else self.first_t
        self.last_t = s.t_ms
        self.state_ms[s.state] += dt_ms
        dt = dt_ms / 1000
        rpm = s.cad_drpm / 10
        self.revolutions += abs(rpm) / 60 * dt
        if s.state not in PEDALLING:
            return
        self.pedalling_s += dt
        if s.flags & P.FLAG_IN_BAND:
            self.in_band_s += dt
        res = s.res_pm / 10
        self.res_sum += res * dt
        self.res_max = res if self.res_max is None else max(self.res_max, res)
        self.res_time[min(int(res // 10) * 10, RES_BUCKETS[-1])] += dt
        forces = (max(s.force_l_dn, 0) / 10, max(s.force_r_dn, 0) / 10)
        power = pedal_power_w(s)
        for leg in (0, 1):
            self.work[leg] += power[leg] * dt
            if s.state == "W":
                self.work_w[leg] += power[leg] * dt
        if rpm < 0:
            self.backward_s += dt
        rpm = abs(rpm)  # backward pedalling is pedalling (docs/host.md, "Backward pedalling")
        if rpm > 0:
            self.moving_s += dt
            self.cadence_sum += rpm * dt
            self.cadence_peak = rpm if self.cadence_peak is None else max(self.cadence_peak, rpm)
            for leg in (0, 1):
                self.force_sum[leg] += forces[leg] * dt

    def stretch(self) -> Stretch:
        return Stretch(_ratio(self.cadence_sum, self.moving_s), _symmetry(*self.work_w))

    def summary(self, session_id, duration_s, missing, events, first, last) -> Summary:
        total_w = sum(self.work_w)
        return Summary(
            session_id=session_id, samples=self.count, records_missing=missing, duration_s=duration_s,
            riding_s=sum(self.state_ms[state] for state in RIDING) / 1000, work_s=self.state_ms["W"] / 1000,
            rest_s=self.state_ms["R"] / 1000, paused_s=self.state_ms["P"] / 1000, revolutions=self.revolutions,
            cadence_avg_rpm=_ratio(self.cadence_sum, self.moving_s), cadence_peak_rpm=self.cadence_peak,
            in_band_s=self.in_band_s, in_band_pct=_ratio(100 * self.in_band_s, self.pedalling_s),
            work_l_j=self.work[0], work_r_j=self.work[1],
            force_avg_l_n=_ratio(self.force_sum[0], self.moving_s),
            force_avg_r_n=_ratio(self.force_sum[1], self.moving_s),
            symmetry_index=_symmetry(*self.work_w),
            share_l_pct=_ratio(100 * self.work_w[0], total_w), share_r_pct=_ratio(100 * self.work_w[1], total_w),
            res_avg_pct=_ratio(self.res_sum, self.pedalling_s), res_max_pct=self.res_max,
            res_time_s=dict(self.res_time), events=dict(Counter(event.event for event in events)),
            backward_s=self.backward_s,
            first_third=first.stretch(), last_third=last.stretch())


def pedal_power_w(s: Sample) -> tuple[float, float]:
    """The estimated power of the left and right pedal in one sample, in watts: the pedal's
    force times its speed along its circle (PEDAL_TRAVEL_M x revolutions a second), so an
    overestimate (see the module docstring). 0 outside the pedalling phases and for a
    negative force; backward pedalling counts like forward, as it does in `revolutions`."""
    if s.state not in PEDALLING:
        return 0.0, 0.0
    speed = PEDAL_TRAVEL_M * abs(s.cad_drpm) / 600  # m/s: cad_drpm is 0.1 rpm
    return max(s.force_l_dn, 0) / 10 * speed, max(s.force_r_dn, 0) / 10 * speed


def timed(samples):
    """Each sample with the milliseconds it stands for: until the next sample, capped."""
    previous, step = None, 0
    for sample in samples:
        if previous is not None:
            step = min((sample.t_ms - previous.t_ms) % P.REC_MODULO, MAX_SAMPLE_STEP_MS)
            yield previous, step
        previous = sample
    if previous is not None:
        yield previous, step


def _duration_s(events, whole: _Tally) -> float:
    """From START (or the first record) to the first end event after it (or the last record)."""
    i = next((i for i, e in enumerate(events) if e.event == "START"), None)
    if i is not None:
        start = events[i].t_ms
    elif whole.first_t is not None:
        start, i = whole.first_t, 0
    elif events:
        start, i = events[0].t_ms, 0
    else:
        return 0.0
    end = next((e.t_ms for e in events[i:] if e.event in END_EVENTS), None)
    if end is None:  # no end seen yet: the later of the last sample and the last event
        times = [t for t in (whole.last_t, events[-1].t_ms if events else None) if t is not None]
        end = max(times, key=lambda t: (t - start) % P.REC_MODULO)
    return (end - start) % P.REC_MODULO / 1000


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _symmetry(left: float, right: float) -> float | None:
    """SI = (L - R) / ((L + R) / 2) x 100: 0 is even, +66.7 means the left did twice the right."""
    return _ratio(100 * (left - right), (left + right) / 2)



# Bump when summarize() changes what it computes: cached summaries of older code are then stale.
SUMMARY_VERSION = 2  # 2: backward pedalling counts in the cadence and force averages; backward_s


def summary_of(ridelog: RideLog, session_id: int) -> Summary:
    """summarize(), kept in the ride log once the session has ended: Review and Progress open
    a session, or a patient's months of sessions, without reading every sample again. An entry
    is used only while the session's records and end are what it was computed from (see
    RideLog.summary_fingerprint); a ride log that cannot be written just goes uncached."""
    fingerprint = ridelog.summary_fingerprint(session_id)
    if fingerprint is None:
        return summarize(ridelog, session_id)
    fingerprint = "v%d|%s" % (SUMMARY_VERSION, fingerprint)
    text = ridelog.cached_summary(session_id, fingerprint)
    if text is not None:
        return _from_json(text)
    summary = summarize(ridelog, session_id)
    try:
        ridelog.cache_summary(session_id, fingerprint, json.dumps(dataclasses.asdict(summary)))
    except RideLogError:
        pass  # read-only, or busy: the figures are right either way
    return summary


def _from_json(text: str) -> Summary:
    fields = json.loads(text)
    fields["res_time_s"] = {int(low): seconds for low, seconds in fields["res_time_s"].items()}
    fields["first_third"] = Stretch(**fields["first_third"])
    fields["last_third"] = Stretch(**fields["last_third"])
    return Summary(**fields)


# --- The figures a person reads, defined once ----------------------------------------------
# `show` (and so the app's Review), Progress and the CSV, FIT and TCX exports all take each
# session figure from the Summary above, round it with whole(), and name the phase it covers
# with PHASES: so a figure reads the same in every tool, within the rounding of its format.

# The phase each figure covers. Share of the work and symmetry: the work phase only, because
# warm-up and cool-down are deliberately light (cool-down has no resistance at all), so with
# them the share drifts towards whatever the rider does unloaded, and differs with the length
# of the warm-up the therapist set rather than with the rider (docs/host.md has the numbers).
PHASES = {"share": "work phase", "symmetry": "work phase", "cadence": "pedalling", "in_band": "pedalling",
          "work": "pedalling", "riding": "riding"}
PHASE_MEANS = {"work phase": "", "pedalling": "warm-up, work and cool-down",
               "riding": "the session less its pauses; spasm rests count (as against the duration cap)"}


def phase(figure: str) -> str:
    """The phase a figure covers, with what it means: "pedalling: warm-up, work and cool-down"."""
    name = PHASES[figure]
    return "%s: %s" % (name, PHASE_MEANS[name]) if PHASE_MEANS[name] else name


# How a session ended: the ride log's end state and last end event, as one word each.
ENDINGS = ("done", "stopped", "e-stop", "fault", "link lost", "in progress")
_END_STATES = {"D": "done", "E": "e-stop", "F": "fault"}


def whole(value: float) -> int:
    """A figure to a whole number, half up (19.5 -> 20, 19.94 -> 20), as every whole-number
    figure of every output has it: Python's round() goes to the even number at .5."""
    return math.floor(value + 0.5)


def share_whole(s: Summary) -> tuple[int, int] | None:
    """The left and right share of the work phase's work in whole per cent, adding up to 100."""
    if s.share_l_pct is None:
        return None
    left = whole(s.share_l_pct)
    return left, 100 - left


def ending(session: dict, events) -> str:
    """How a session ended, one of ENDINGS: `session` is the ride log's row, `events` its events.
    The trainer reports "done" after a STOP too, so the last end event tells the two apart; an
    ended session whose end the ride log never saw lost the link (or the trainer restarted)."""
    if session["ended_at"] is None:
        return "in progress"
    state = session["end_state"]
    if state is None:
        return "link lost"
    if state == "D":
        last = next((e.event for e in reversed(events) if e.event in END_EVENTS), None)
        return "stopped" if last == "STOP" else "done"
    return _END_STATES.get(state, "link lost")
