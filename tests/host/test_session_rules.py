"""The rules `softcrank ride` and the app share: one set of link timings (trainer/timings.py)
and one rule for a pause the laptop caused (trainer/session.py). The end-to-end proofs are
tests/host/test_ride.py (the headless ride resumes after the host was killed) and
tests/host/app/test_ride_flows.py (the app resumes after the cable was out)."""

from __future__ import annotations

import pytest

from softcrank.cli.ride import RideError, _timings
from softcrank.frames import parse
from softcrank.trainer import timings as T
from softcrank.trainer.session import SilenceResume
from softcrank_fw import protocol as P


def test_link_timings_scale_the_real_time_numbers_with_floors_in_real_seconds():
    assert T.link_timings(1) == {"heartbeat_s": T.HEARTBEAT_S, "silence_s": T.SILENCE_S,
                                 "answer_timeout_s": T.ANSWER_TIMEOUT_S}
    assert T.link_timings(2) == {"heartbeat_s": 0.25, "silence_s": 1.5, "answer_timeout_s": 0.25}
    ten = T.link_timings(10)  # the demo's speed: both floors hold
    assert ten == {"heartbeat_s": 0.05, "silence_s": T.SILENCE_FLOOR_S, "answer_timeout_s": T.ANSWER_FLOOR_S}
    assert (T.SILENCE_FLOOR_S, T.ANSWER_FLOOR_S) == (0.5, 0.1)
    assert ten["silence_s"] * 10 < 10  # lost (in virtual seconds) before the trainer's 10 s pause
    with pytest.raises(ValueError, match="above 0"):
        T.link_timings(0)


def test_the_headless_ride_uses_the_same_timings_and_refuses_a_speed_of_zero():
    assert _timings(25) == T.link_timings(25)
    with pytest.raises(RideError, match="above 0"):
        _timings(0)


class _Link:
    def __init__(self, latest, state="connected"):
        self.state, self._latest = state, latest

    def latest(self):
        return self._latest


def event(rec, name, arg=0, state="P"):
    return parse(P.encode("E", 1, [rec, 1000 * rec, state, name, arg]))


def sample(rec, state="P"):
    return parse(P.encode("T", 1, [rec, 1000 * rec, state, 200, 400, 400, 0, 600, 0]))


def test_a_pause_for_the_silent_laptop_is_resumed_once_on_live_telemetry():
    rule = SilenceResume()
    rule.event(event(10, "PAUSE", P.PAUSE_HOST_SILENT))
    replayed = sample(11)
    assert not rule.due(replayed, _Link(sample(12)))  # not the newest: a record replayed from the pause
    assert not rule.due(sample(12), _Link(None, state="lost"))
    live = sample(13)
    assert rule.due(live, _Link(live))
    later = sample(14)
    assert not rule.due(later, _Link(later))  # once per pause
    rule.event(event(20, "PAUSE", P.PAUSE_HOST_SILENT))  # the laptop went silent again
    again = sample(21)
    assert rule.due(again, _Link(again))


def test_a_pause_for_any_other_reason_is_the_riders_rest():
    rule = SilenceResume()
    rule.event(event(10, "PAUSE", P.PAUSE_HOST))
    live = sample(11)
    assert not rule.due(live, _Link(live))
    rule.event(event(12, "PAUSE", P.PAUSE_HOST_SILENT))
    rule.event(event(13, "RESUME", 0, state="W"))  # resumed already (the rider, or another host)
    live = sample(14)
    assert not rule.due(live, _Link(live))
