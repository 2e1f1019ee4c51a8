"""Progress's figures: adherence counts sessions that reached work; rolling trends; symmetry by side."""

from datetime import date

from softcrank.clinical.trends import SessionPoint, by_affected_side, rolling, symmetric_limit, weeks


def point(n, day, reached=True):
    return SessionPoint(n, date(2026, 11, day), 10.0, 20.0, 5.0, 3.0, 90.0, 10.0, "D", reached_work=reached)


def test_adherence_counts_only_sessions_that_reached_their_work_phase():
    points = [point(1, 2), point(2, 3, reached=False), point(3, 4), point(4, 5, reached=False)]
    (week,) = weeks(points, 3, today=date(2026, 11, 6))
    assert (week.sessions, week.planned, week.met) == (2, 3, False)


def test_trends_are_rolling_averages_of_the_last_three_known_sessions():
    assert rolling([8, None, 1, 3, 5]) == [8, None, 4.5, 4, 3]


def test_symmetry_is_signed_by_the_affected_side_on_an_axis_centred_on_zero():
    assert by_affected_side(-12.0, "right") == 12.0  # (L - R) < 0: the right (affected) leg did more
    assert by_affected_side(-12.0, "left") == -12.0
    assert by_affected_side(None, "left") is None
    assert symmetric_limit([14.4, 25.5, None]) == 30
    assert symmetric_limit([]) == 10
