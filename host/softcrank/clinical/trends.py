"""A patient's progress across sessions: the trends a therapist reads, and adherence to the plan.

CLINICAL.md: progress is measured over weeks: duration, resistance, cadence, symmetry and
adherence (sessions a week against the plan). Each session's figures come from
summary.summarize, so Review and Progress can never disagree; adherence counts the sessions
that reached their work phase (any time in state W: a ride e-stopped in its warm-up, or a
50-second try, is not a session of the plan), started in each calendar week (Monday to
Sunday, UTC) from the patient's first session to today, so a week with no session shows as 0,
not as a gap.

Trends are rolling averages over the last ROLLING_SESSIONS sessions (one session is a day,
not a trend: comparing the first with the last reads noise as progress). Symmetry is read by
the affected side: + means the affected leg did more than the other, 0 is even.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from ..store.ridelog import RideLog
from .summary import summaries_of

__all__ = ["ROLLING_SESSIONS", "SessionPoint", "Week", "by_affected_side", "rolling", "session_points",
           "symmetric_limit", "weeks"]

ROLLING_SESSIONS = 3  # a week of the default plan (3 sessions a week)


@dataclass(frozen=True)
class SessionPoint:
    """One session's figures for the trend plots (None where there is nothing to average)."""

    session_id: int
    started: date
    duration_min: float
    cadence_avg_rpm: float | None
    symmetry_index: float | None
    work_kj: float
    in_band_pct: float | None
    res_avg_pct: float | None
    end_state: str | None
    reached_work: bool = True  # any time in the work phase: what adherence counts


@dataclass(frozen=True)
class Week:
    monday: date
    sessions: int
    planned: int

    @property
    def met(self) -> bool:
        return self.sessions >= self.planned


def started_on(session: dict) -> date:
    return datetime.fromisoformat(session["started_at"]).astimezone(timezone.utc).date()


def session_points(log: RideLog, patient_id: int) -> list[SessionPoint]:
    """Every session of the patient, oldest first, in figures. The summaries are read for all
    sessions at once (summaries_of: a constant few statements, not several a session); a
    session with neither a kept summary nor kept sums reads its samples: call it from a
    worker, not the UI thread. The thirds of the work phase are no trend: not read."""
    sessions = log.sessions(patient_id)
    summaries = summaries_of(log, [session["id"] for session in sessions], fatigue=False)
    points = []
    for session in sessions:
        s = summaries[session["id"]]
        points.append(SessionPoint(
            session_id=session["id"], started=started_on(session), duration_min=s.duration_s / 60,
            cadence_avg_rpm=s.cadence_avg_rpm, symmetry_index=s.symmetry_index,
            work_kj=(s.work_l_j + s.work_r_j) / 1000, in_band_pct=s.in_band_pct, res_avg_pct=s.res_avg_pct,
            end_state=session["end_state"], reached_work=s.work_s > 0))
    return points


def weeks(points: list[SessionPoint], sessions_per_week: int, today: date | None = None) -> list[Week]:
    """Sessions in each week from the first session's week to today's, against the plan."""
    if not points:
        return []
    today = today or datetime.now(timezone.utc).date()
    first = min(p.started for p in points)
    monday = first - timedelta(days=first.weekday())
    last = max(today, max(p.started for p in points))
    result = []
    while monday <= last:
        count = sum(1 for p in points if p.reached_work and monday <= p.started < monday + timedelta(days=7))
        result.append(Week(monday, count, sessions_per_week))
        monday += timedelta(days=7)
    return result


def rolling(values: list[float | None], n: int = ROLLING_SESSIONS) -> list[float | None]:
    """Each value's average with the n - 1 known values before it (None where there is none yet)."""
    result: list[float | None] = []
    known: list[float] = []
    for v in values:
        if v is not None:
            known.append(v)
        result.append(sum(known[-n:]) / len(known[-n:]) if v is not None else None)
    return result


def by_affected_side(symmetry_index: float | None, affected_side: str) -> float | None:
    """The symmetry index signed by the affected side: + the affected leg did more, - less.
    The stored index is (L - R) / mean x 100; with no affected side (or both), + is the left."""
    if symmetry_index is None:
        return None
    return -symmetry_index if affected_side == "right" else symmetry_index


def symmetric_limit(values: list[float | None], step: float = 10) -> float:
    """The half-height of an axis centred on 0 that holds every value: a multiple of `step`."""
    top = max((abs(v) for v in values if v is not None), default=0)
    return max(step, step * -(-top // step))
