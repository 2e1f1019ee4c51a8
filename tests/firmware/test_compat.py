"""The tick counter wraps at 2**30 on every runtime, as it does on a Pico."""

from softcrank_fw.compat import ticks_add, ticks_diff, ticks_us


def test_ticks_wrap_at_2_to_the_30():
    assert ticks_add((1 << 30) - 1, 1) == 0
    assert ticks_add(0, -1) == (1 << 30) - 1
    assert ticks_diff(5, (1 << 30) - 5) == 10
    assert ticks_diff((1 << 30) - 5, 5) == -10
    assert 0 <= ticks_us() < (1 << 30)
