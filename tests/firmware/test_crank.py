"""Cadence and direction from crank edges: accurate, responsive, never stale."""

from softcrank_fw.compat import ticks_add
from softcrank_fw.crank import MIN_DRPM, Crank
from support import START_US, raises


def steady(crank, rpm, seconds, t=START_US, forward=True):
    """Feed edges of a steady cadence; returns the time of the last edge."""
    gap = int(60_000_000 / (rpm * crank.edges_per_rev))
    for _ in range(int(seconds * 1_000_000 / gap)):
        t = ticks_add(t, gap)
        crank.edge(t, forward)
    return t


def test_cadence_is_accurate_from_3_to_150_rpm_for_any_edge_count():
    for epr in (1, 4, 24, 60):
        for rpm in (3, 5, 10, 30, 60, 120, 150):
            crank = Crank(epr)
            t = steady(crank, rpm, 60)
            drpm = crank.update(t)
            assert abs(drpm - rpm * 10) <= max(1, rpm // 20), (epr, rpm, drpm)


def test_cadence_decays_as_soon_as_the_crank_slows_and_reads_zero_when_stopped():
    crank = Crank(24)
    t = steady(crank, 30, 5)  # edge gap 83 ms
    assert crank.update(t) == 300
    assert crank.update(ticks_add(t, 80_000)) == 300  # no edge due yet: no news
    assert crank.update(ticks_add(t, 166_000)) < 160  # two gaps late: at most half speed
    assert crank.update(ticks_add(t, 900_000)) == 0  # past a 3 rpm gap: stopped
    assert crank.update(ticks_add(t, 100_000_000)) == 0  # and it stays stopped


def test_the_stop_threshold_is_3_rpm():
    assert MIN_DRPM == 30


def test_slow_pedalling_restarts_cleanly_after_a_stop():
    crank = Crank(24)
    t = steady(crank, 30, 5)
    t = ticks_add(t, 30_000_000)  # a 30 s rest
    assert crank.update(t) == 0
    t = steady(crank, 8, 10, t)
    assert abs(crank.update(t) - 80) <= 1


def test_contact_bounce_is_ignored():
    crank = Crank(4)
    t = steady(crank, 20, 10)  # edge gap 750 ms
    for _ in range(20):
        crank.edge(ticks_add(t, 400), True)  # bounce 0.4 ms after the real edge
        t = ticks_add(t, 750_000)
        crank.edge(t, True)
    assert abs(crank.update(t) - 200) <= 1
    assert crank.bounces >= 20


def test_a_real_speed_up_is_accepted_after_a_few_short_intervals():
    crank = Crank(4)
    t = steady(crank, 10, 10)
    t = steady(crank, 60, 5, t)  # six times faster: looks like glitches at first
    assert abs(crank.update(t) - 600) <= 3


def test_direction_and_a_sudden_reversal_are_reported():
    crank = Crank(24)
    t = steady(crank, 20, 3)
    assert crank.update(t) > 0 and crank.reversals == 0
    t = steady(crank, 20, 3, t, forward=False)
    assert crank.update(t) < -190
    assert crank.reversals == 1


def test_one_stray_backward_edge_is_not_a_reversal():
    crank = Crank(24)
    t = steady(crank, 20, 3)
    crank.edge(ticks_add(t, 10_000), False)
    t = steady(crank, 20, 3, ticks_add(t, 20_000))
    assert crank.update(t) > 0 and crank.reversals == 0


def test_backward_pedalling_from_standstill_is_not_a_sudden_reversal():
    crank = Crank(24)
    t = steady(crank, 15, 3, forward=False)
    assert crank.update(t) < -140
    assert crank.reversals == 0


def test_edge_counts_outside_1_to_360_are_refused():
    assert raises(ValueError, Crank, 0)
    assert raises(ValueError, Crank, 361)


def test_a_still_crank_dithering_on_one_edge_reads_zero():
    for hz in (3, 5, 8, 20):
        crank = Crank(24)
        t = START_US
        half = 500_000 // hz
        for _ in range(hz * 10):
            t = ticks_add(t, half)
            crank.edge(t, True)
            t = ticks_add(t, half)
            crank.edge(t, False)
        assert crank.update(ticks_add(t, half)) == 0, hz


def test_exactly_3_rpm_never_reads_zero():
    crank = Crank(24)
    t = START_US
    gap = 60_000_000 // (3 * 24)
    readings = []
    for i in range(200):
        t = ticks_add(t, gap + (i % 3) - 1)  # a microsecond of jitter either way
        crank.edge(t, True)
        readings.append(crank.update(ticks_add(t, gap - 5_000)))
    assert min(readings[5:]) >= 29


def test_turning_back_gently_after_slowing_to_a_stop_is_not_a_sudden_reversal():
    crank = Crank(24)
    t = steady(crank, 20, 3)
    t = ticks_add(t, 600_000)  # 0.6 s with no edge: at most 4 rpm by now
    assert 0 < crank.update(t) < 50
    steady(crank, 5, 3, t, forward=False)
    assert crank.reversals == 0


def test_counters_stay_small_ints_on_a_pico():
    crank = Crank(24)
    crank.bounces = (1 << 30) - 1
    t = steady(crank, 20, 1)
    crank.edge(ticks_add(t, 10), True)
    assert 0 <= crank.bounces < (1 << 30)
