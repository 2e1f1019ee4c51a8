"""The ramp limiter: never above the cap, never rising faster than the rate, free to fall."""

from softcrank_fw.ramp import Ramp, max_rise


def test_resistance_rises_no_faster_than_the_ramp_rate():
    ramp = Ramp()
    for _ in range(6000):  # one minute at 100 Hz, 5 %/min
        ramp.step(200_000, 1_000_000, 5, 10)
    assert 49_990 <= ramp.out <= max_rise(5, 60_000)


def test_resistance_never_exceeds_the_cap():
    ramp = Ramp()
    for _ in range(100_000):
        ramp.step(900_000, 150_000, 30, 10)
    assert ramp.out == 150_000


def test_resistance_falls_at_once():
    ramp = Ramp()
    for _ in range(60_000):
        ramp.step(100_000, 1_000_000, 30, 10)
    assert ramp.out == 100_000
    assert ramp.step(0, 1_000_000, 30, 10) == 0


def test_a_long_stall_between_ticks_does_not_allow_a_jump():
    ramp = Ramp()
    ramp.step(1_000_000, 1_000_000, 30, 60_000)  # a minute's gap counts as 250 ms
    assert ramp.out <= max_rise(30, 250)
