"""The ramp limiter: resistance never above the cap, never rising faster than the ramp rate,
always free to fall at once.

Resistance is in ppm of the brake's range (0..1_000_000), so a ramp of 1 %/min still moves in
whole steps at 100 Hz. The rise allowed per step is rate * dt with the remainder carried
(Bresenham), so over any stretch of time the rise is at most rate * time, rounded up by one
ppm, however the ticks fall. All arithmetic stays below 2**30 (a Pico's small ints).
"""

from softcrank_fw.compat import const

FULL_PPM = const(1_000_000)
PPM_PER_PCT = const(10_000)
_MS_PER_PPM_PCT = const(6)  # 60_000 ms per minute / PPM_PER_PCT
MAX_STEP_MS = const(250)  # a longer gap between ticks is counted as this long


class Ramp:
    def __init__(self):
        self.out = 0  # ppm
        self._rem = 0  # carried remainder, in sixths of a ppm

    def step(self, target, cap, rate_pct_min, dt_ms):
        """Move `out` toward `target` (ppm) and return it."""
        if target > cap:
            target = cap
        if target < 0:
            target = 0
        if target <= self.out:
            self.out = target  # falling is never limited
            self._rem = 0
            return target
        if dt_ms > MAX_STEP_MS:
            dt_ms = MAX_STEP_MS
        # rate_pct_min %/min is rate_pct_min * 10_000 ppm per 60_000 ms, i.e. rate_pct_min / 6
        # ppm per ms: carry what does not make a whole ppm to the next step.
        budget = rate_pct_min * dt_ms + self._rem
        rise = budget // _MS_PER_PPM_PCT
        self._rem = budget - rise * _MS_PER_PPM_PCT
        out = self.out + rise
        if out >= target:
            out = target
            self._rem = 0
        self.out = out
        return out

    def zero(self):
        self.out = 0
        self._rem = 0


def max_rise(rate_pct_min, ms):
    """The most the limiter lets resistance rise in `ms` milliseconds, in ppm (for tests)."""
    return rate_pct_min * ms // _MS_PER_PPM_PCT + 1
