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
from softcrank.store.sums import keep_sums_with

CRANK_LENGTH_M = 0.17  # a typical pedal trainer's crank; the device does not report it
PEDAL_TRAVEL_M = 2 * math.pi * CRANK_LENGTH_M  # the path a pedal travels in one revolution
MAX_SAMPLE_STEP_MS = 1000  # the sample period at the slowest rate (RATE 1)
PEDALLING = frozenset("UWC")
RIDING = frozenset("UWCR")
END_EVENTS = frozenset(("DONE", "STOP", "ESTOP", "FAULT"))  # the device left the session
RES_BUCKETS = tuple(range(0, 100, 10))  # resistance profile: 0-10 %, 10-20 %, ... 90-100 %

__all__ = ["CRANK_LENGTH_M", "ENDINGS", "PEDAL_TRAVEL_M", "PHASES", "Stretch", "Summary", "Sums", "ending",
           "pedal_power_w", "phase", "share_whole", "step_ms", "summarize", "summary_kept", "summary_of", "timed", "whole"]


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
    """The figures of one session, from what the ride log has committed: the full computation.

    Reads the samples twice, lazily (a 2-hour 50 Hz session is 360,000 of them): once for
    everything, once more for the thirds of the work phase, whose length the first pass finds.
    `each(sample, dt_ms)`, if given, sees every sample of the first pass in order, with the
    milliseconds it stands for (as timed() gives them), so an export rides along instead of
    reading the samples again. `fatigue=False` skips the second pass, for a caller that does
    not need the thirds: first_third and last_third are then Stretch(None, None).
    summary_of() gives the same figures from the sums the ride log keeps (summary_kept)."""
    events = ridelog.events(session_id)
    missing = sum(gap.length for gap in ridelog.missing_recs(session_id))
    whole = Sums()
    first_t = last_t = None
    for sample, dt_ms in timed(ridelog.samples(session_id)):
        whole.add(sample, dt_ms)
        first_t = sample.t_ms if first_t is None else first_t
        last_t = sample.t_ms
        if each is not None:
            each(sample, dt_ms)
    first, last = Sums(), Sums()
    work_ms, elapsed_ms = whole.state_ms["W"], 0  # whole milliseconds: the thirds split exactly
    for sample, dt_ms in timed(ridelog.samples(session_id)) if fatigue else ():
        if sample.state == "W":
            _third(first, last, sample, dt_ms, elapsed_ms, work_ms)
            elapsed_ms += dt_ms
    return whole.summary(session_id, _duration_s(events, first_t, last_t), missing, events, first, last)


def _third(first: Sums, last: Sums, sample: Sample, dt_ms: int, elapsed_ms: int, work_ms: int) -> None:
    """Count a work-phase sample in the first or last third of the work time, or neither:
    `elapsed_ms` is the work time before it."""
    if 3 * elapsed_ms < work_ms:
        first.add(sample, dt_ms)
    elif 3 * elapsed_ms >= 2 * work_ms:
        last.add(sample, dt_ms)


class Sums:
    """Running sums over samples, each weighted by the milliseconds it stands for: the one
    arithmetic of every figure, for the full computation and the kept one alike.

    Every sum is an integer, in the device's units (0.1 rpm, 0.1 N, 0.1 %, ms), so it does not
    depend on the order samples are added in, and a sample added with the wrong weight can be
    taken back exactly (add with sign -1): the ride log keeps them as records arrive, in any
    order (a replay fills a gap later), and gets the very numbers the full pass gets. The
    figures divide once, at the end (summary()). The peaks are maxima: taking a sample back
    leaves them, which is right because it is only ever taken back to be added again."""

    INTS = ("count", "revs", "pedalling_ms", "in_band_ms", "moving_ms", "backward_ms", "cadence", "force_l", "force_r",
            "work_l", "work_r", "work_w_l", "work_w_r", "res", "w_cadence", "w_moving_ms")
    __slots__ = INTS + ("state_ms", "res_ms", "cadence_peak", "res_max")

    def __init__(self) -> None:
        for name in self.INTS:
            setattr(self, name, 0)
        self.state_ms: Counter[str] = Counter()
        self.res_ms = dict.fromkeys(RES_BUCKETS, 0)  # ms at each 10 % band of resistance
        self.cadence_peak: int | None = None  # |cad_drpm|
        self.res_max: int | None = None  # res_pm

    def add(self, s: Sample, dt_ms: int, sign: int = 1) -> None:
        """Count one sample that stands for dt_ms (sign -1: take it back)."""
        d = sign * dt_ms
        cad = abs(s.cad_drpm)  # backward pedalling is pedalling (docs/host.md, "Backward pedalling")
        self.count += sign
        self.state_ms[s.state] += d
        self.revs += cad * d
        if s.state not in PEDALLING:
            return
        self.pedalling_ms += d
        if s.flags & P.FLAG_IN_BAND:
            self.in_band_ms += d
        self.res += s.res_pm * d
        self.res_ms[min(s.res_pm // 100 * 10, RES_BUCKETS[-1])] += d
        left, right = max(s.force_l_dn, 0), max(s.force_r_dn, 0)  # a pedal is pushed
        self.work_l += left * cad * d
        self.work_r += right * cad * d
        work_phase = s.state == "W"
        if work_phase:
            self.work_w_l += left * cad * d
            self.work_w_r += right * cad * d
        if s.cad_drpm < 0:
            self.backward_ms += d
        if sign > 0:
            self.res_max = s.res_pm if self.res_max is None else max(self.res_max, s.res_pm)
        if cad > 0:
            self.moving_ms += d
            self.cadence += cad * d
            self.force_l += left * d
            self.force_r += right * d
            if work_phase:
                self.w_cadence += cad * d
                self.w_moving_ms += d
            if sign > 0:
                self.cadence_peak = cad if self.cadence_peak is None else max(self.cadence_peak, cad)

    def merge(self, other: Sums) -> Sums:
        """Add another's sums to these; returns self."""
        for name in self.INTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.state_ms.update(other.state_ms)
        for low, ms in other.res_ms.items():
            self.res_ms[low] += ms
        self.cadence_peak = _max(self.cadence_peak, other.cadence_peak)
        self.res_max = _max(self.res_max, other.res_max)
        return self

    def dumps(self) -> str:
        """As JSON text, for the ride log."""
        return json.dumps([[getattr(self, name) for name in self.INTS], {k: v for k, v in self.state_ms.items() if v},
                           [self.res_ms[low] for low in RES_BUCKETS], self.cadence_peak, self.res_max],
                          separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Sums:
        ints, states, res_ms, cadence_peak, res_max = json.loads(text)
        sums = cls()
        for name, value in zip(cls.INTS, ints):
            setattr(sums, name, value)
        sums.state_ms.update(states)
        sums.res_ms = dict(zip(RES_BUCKETS, res_ms))
        sums.cadence_peak, sums.res_max = cadence_peak, res_max
        return sums

    def stretch(self) -> Stretch:
        """Cadence and symmetry of the work-phase samples counted here."""
        return Stretch(_ratio(self.w_cadence, 10 * self.w_moving_ms), _symmetry(self.work_w_l, self.work_w_r))

    def summary(self, session_id, duration_s, missing, events, first, last) -> Summary:
        total_w = self.work_w_l + self.work_w_r
        joules = PEDAL_TRAVEL_M / 6_000_000  # dN x 0.1 rpm x ms -> J: /10 /600 (rev/s and m) /1000
        return Summary(
            session_id=session_id, samples=self.count, records_missing=missing, duration_s=duration_s,
            riding_s=sum(self.state_ms[state] for state in RIDING) / 1000, work_s=self.state_ms["W"] / 1000,
            rest_s=self.state_ms["R"] / 1000, paused_s=self.state_ms["P"] / 1000, revolutions=self.revs / 600_000,
            cadence_avg_rpm=_ratio(self.cadence, 10 * self.moving_ms),
            cadence_peak_rpm=None if self.cadence_peak is None else self.cadence_peak / 10,
            in_band_s=self.in_band_ms / 1000, in_band_pct=_ratio(100 * self.in_band_ms, self.pedalling_ms),
            work_l_j=self.work_l * joules, work_r_j=self.work_r * joules,
            force_avg_l_n=_ratio(self.force_l, 10 * self.moving_ms),
            force_avg_r_n=_ratio(self.force_r, 10 * self.moving_ms),
            symmetry_index=_symmetry(self.work_w_l, self.work_w_r),
            share_l_pct=_ratio(100 * self.work_w_l, total_w), share_r_pct=_ratio(100 * self.work_w_r, total_w),
            res_avg_pct=_ratio(self.res, 10 * self.pedalling_ms),
            res_max_pct=None if self.res_max is None else self.res_max / 10,
            res_time_s={low: ms / 1000 for low, ms in self.res_ms.items()},
            events=dict(Counter(event.event for event in events)), backward_s=self.backward_ms / 1000,
            first_third=first.stretch(), last_third=last.stretch())


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


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
            step = step_ms(previous, sample)
            yield previous, step
        previous = sample
    if previous is not None:
        yield previous, step


def step_ms(sample: Sample, following: Sample) -> int:
    """The milliseconds a sample stands for: until the one after it, capped (see the module docstring)."""
    return min((following.t_ms - sample.t_ms) % P.REC_MODULO, MAX_SAMPLE_STEP_MS)


def _duration_s(events, first_t: int | None, last_t: int | None) -> float:
    """From START (or the first record) to the first end event after it (or the last record)."""
    i = next((i for i, e in enumerate(events) if e.event == "START"), None)
    if i is not None:
        start = events[i].t_ms
    elif first_t is not None:
        start, i = first_t, 0
    elif events:
        start, i = events[0].t_ms, 0
    else:
        return 0.0
    end = next((e.t_ms for e in events[i:] if e.event in END_EVENTS), None)
    if end is None:  # no end seen yet: the later of the last sample and the last event
        times = [t for t in (last_t, events[-1].t_ms if events else None) if t is not None]
        end = max(times, key=lambda t: (t - start) % P.REC_MODULO)
    return (end - start) % P.REC_MODULO / 1000


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _symmetry(left: float, right: float) -> float | None:
    """SI = (L - R) / ((L + R) / 2) x 100: 0 is even, +66.7 means the left did twice the right."""
    return _ratio(200 * (left - right), left + right)



# Bump when summarize() changes what it computes: cached summaries of older code are then stale.
SUMMARY_VERSION = 3  # 2: backward pedalling counts in the cadence and force averages; backward_s
# 3: integer sums (Sums), kept by the ride log as records arrive


def summary_of(ridelog: RideLog, session_id: int) -> Summary:
    """summarize()'s figures the quick way: from the sums the ride log keeps as records arrive
    (summary_kept), so Review opens a 2-hour ride at once; for a session without them (stored
    before schema 9), summarize() kept in the ride log once the session has ended, so only the
    first opening reads every sample. A cached entry is used only while the session's records
    and end are what it was computed from (see RideLog.summary_fingerprint); a ride log that
    cannot be written just goes uncached."""
    kept = summary_kept(ridelog, session_id)
    if kept is not None:
        return kept
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


def summary_kept(ridelog: RideLog, session_id: int) -> Summary | None:
    """The figures of one session from the sums the ride log keeps as records arrive
    (store/sums.py), or None if it keeps none for it: exactly summarize()'s numbers, without
    reading every sample. The blocks' sums add up to the session's; the last sample, in no
    block, is added here with the weight timed() gives it; the thirds of the work phase come
    from the blocks' work time, reading only the samples of the block where a third ends."""
    with ridelog.kept_sums(session_id, SUMMARY_VERSION) as kept:
        if kept is None:
            return None
        blocks = {block: Sums.loads(text) for block, text in kept.blocks.items()}
        if kept.last is not None:
            pos, last = kept.last
            step = 0 if kept.before_last is None else step_ms(kept.before_last[1], last)
            blocks.setdefault(kept.block_of(pos), Sums()).add(last, step)
        order = sorted(blocks)
        whole = Sums()
        for block in order:
            whole.merge(blocks[block])
        first, last_third = Sums(), Sums()
        work_ms, elapsed_ms = whole.state_ms["W"], 0
        for block in order:
            block_ms = blocks[block].state_ms["W"]
            if not block_ms:
                continue
            lo, hi = 3 * elapsed_ms, 3 * (elapsed_ms + block_ms)  # where the block's work time lies, x3
            if hi < work_ms:
                first.merge(blocks[block])
            elif lo >= 2 * work_ms:
                last_third.merge(blocks[block])
            elif lo < work_ms or hi >= 2 * work_ms:  # a third ends in it: its samples decide
                _block_thirds(kept, block, first, last_third, elapsed_ms, work_ms)
            elapsed_ms += block_ms
        first_t = None if kept.first is None else kept.first[1].t_ms
        last_t = None if kept.last is None else kept.last[1].t_ms
        return whole.summary(session_id, _duration_s(kept.events, first_t, last_t), kept.missing(whole.count),
                             kept.events, first, last_third)


def _block_thirds(kept, block: int, first: Sums, last: Sums, elapsed_ms: int, work_ms: int) -> None:
    """Count one block's work-phase samples in the thirds, as summarize's second pass does."""
    around = kept.around_block(block)
    inside = {i for i, (pos, _) in enumerate(around) if kept.block_of(pos) == block}
    for i, (sample, dt_ms) in enumerate(timed(s for _, s in around)):
        if i in inside and sample.state == "W":
            _third(first, last, sample, dt_ms, elapsed_ms, work_ms)
            elapsed_ms += dt_ms


class _Keeper:
    """Sums for the ride log to keep (store/sums.py's SumsKeeper): the same arithmetic."""

    version = SUMMARY_VERSION

    @staticmethod
    def delta(old, new) -> dict[int, Sums]:
        """Take back each sample of `old` with its weight there, add each of `new` with its
        weight there, by block: the last of a chain has no weight yet and is left out."""
        change: dict[int, Sums] = {}
        for chain, sign in ((old, -1), (new, 1)):
            for (block, sample), (_, following) in zip(chain, chain[1:]):
                if block not in change:
                    change[block] = Sums()
                change[block].add(sample, step_ms(sample, following), sign)
        return change

    @staticmethod
    def combine(text: str | None, change: Sums) -> str:
        return (change if text is None else Sums.loads(text).merge(change)).dumps()


keep_sums_with(_Keeper())


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
