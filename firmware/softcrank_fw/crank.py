"""Crank cadence and direction from sensor edges timestamped in microseconds.

The board reports each edge with its `ticks_us()` timestamp and whether the crank was
turning forward (from quadrature, or a direction sensor). Cadence, in 0.1 rpm:

- is averaged over the newest intervals spanning at most WINDOW_US (and at most one
  revolution), so it is smooth at speed and still quick at 5 rpm;
- decays as soon as the time since the last edge implies a slower speed than the last
  measured one: a crank that stops reads lower at once, and 0 once no edge for long enough
  means below MIN_DRPM (3 rpm, with a little slack for jitter). It is never stale;
- ignores contact bounce and glitches: an interval shorter than a 300 rpm edge gap, or shorter
  than a quarter of the recent average, is dropped, unless MAX_REJECTS such edges come in a
  row, which means the crank really did speed up, so the estimate restarts from them.

Direction changes only after REVERSE_EDGES edges agree, so one bounced quadrature edge cannot
fake a reversal, and an edge back over one just crossed the other way is no new interval, so
a still crank dithering on one edge (clonus, vibration) reads 0, not a phantom cadence. A
confirmed reversal counts in `reversals` (a sudden reversal is a spasm until proven otherwise)
when it is judged against the direction of travel: the crank was turning the other way at
REVERSAL_MIN_DRPM or more, and the first edge of the new direction came within REVERSAL_STALL_US
of the last edge of that travel. Not against the cadence as decayed since the last edge: a
spasm that stalls the crank for 0.3 s and then drives it backward has let that cadence decay
below 5 rpm before the second backward edge confirms the reversal (issue 12). A rider who
comes to rest and turns back a second or more later is not caught by it.

Arithmetic: 600_000_000 // edges_per_rev * n // sum_us is 0.1 rpm; with n <= edges_per_rev
every intermediate stays below 2**30, a Pico's small-int range, so nothing allocates.
"""

from array import array

from softcrank_fw.compat import const, ticks_diff

MIN_DRPM = const(30)  # 3 rpm: the slowest cadence measured
_STOP_SLACK = const(32)  # stopped only past a 3 rpm gap plus 1/32 (2.9 rpm), so jitter at 3 rpm never reads 0
MAX_DRPM = const(1500)  # 150 rpm: the top of the measured range
WINDOW_US = const(1_000_000)  # average over at most this much of the newest history
MAX_REJECTS = const(3)  # this many short intervals in a row are real, not bounce
REVERSE_EDGES = const(2)  # edges in the new direction that confirm a reversal
REVERSAL_MIN_DRPM = const(50)  # a reversal from 5 rpm or faster is "sudden"...
REVERSAL_STALL_US = const(1_000_000)  # ...when the crank stalled for at most 1 s before turning back
MAX_EDGES_PER_REV = const(360)
_HISTORY = const(32)  # intervals kept
_DRPM_US = const(600_000_000)  # 0.1 rpm * microseconds per revolution
_COUNT_MASK = const((1 << 30) - 1)  # counters wrap here: they stay small ints on a Pico


class Crank:
    def __init__(self, edges_per_rev):
        if not 1 <= edges_per_rev <= MAX_EDGES_PER_REV:
            raise ValueError("edges_per_rev must be 1..360")
        self.edges_per_rev = edges_per_rev
        self._k = _DRPM_US // edges_per_rev  # drpm * interval_us for one edge
        # Shortest plausible interval: an edge gap at twice the top speed (300 rpm).
        self._min_us = _DRPM_US // (2 * MAX_DRPM) // edges_per_rev
        # Longest: a gap at just under 3 rpm. Beyond it the crank has stopped.
        gap = self._k // MIN_DRPM
        self._max_us = gap + gap // _STOP_SLACK
        self._iv = array("i", bytearray(4 * _HISTORY))  # newest intervals, ring
        self._iv_i = 0
        self._iv_n = 0
        self._last_t = 0
        self._have_last = False
        self._rejects = 0
        self._pending = 0  # edges seen against the current direction
        self._pending_t = 0  # ticks_us of the first of them
        self._travel_t = 0  # ticks_us of the last edge while travelling at REVERSAL_MIN_DRPM or more
        self._travelling = False  # _travel_t is set (and the direction has not changed since)
        self.forward = True
        self.measured = 0  # drpm from the last intervals, unsigned
        self.drpm = 0  # the output: signed 0.1 rpm, negative = backward
        self.reversals = 0  # sudden reversals seen since start
        self.edges = 0  # accepted edges since start (both directions)
        self.bounces = 0  # edges rejected as bounce or glitch

    def edge(self, t_us, forward):
        """One sensor edge at `t_us` (ticks_us), turning forward or not."""
        if forward != self.forward:
            self._pending += 1
            if self._pending == 1:
                self._pending_t = t_us
            if self._pending < REVERSE_EDGES:
                return
            # Judged against the travel before the stall, not the decayed cadence (see above).
            if self._travelling and ticks_diff(self._pending_t, self._travel_t) <= REVERSAL_STALL_US:
                self.reversals = (self.reversals + 1) & _COUNT_MASK
            self._travelling = False
            self.forward = forward
            self._restart(t_us)
            return
        if self._pending:
            # Back over the edge we just crossed the other way: the crank is where it was
            # (a still crank dithering on one edge), so this is no new interval.
            self._pending -= 1
            return
        if not self._have_last:
            self._restart(t_us)
            return
        iv = ticks_diff(t_us, self._last_t)
        if iv > self._max_us:
            self._restart(t_us)  # slower than 3 rpm: a fresh start, not a measurement
            return
        if iv <= 0 or iv < self._min_us:
            self._bounce()
            return
        if self._iv_n and iv < self._average() >> 2:
            self._rejects += 1
            if self._rejects < MAX_REJECTS:
                self._bounce()
                return
            self._iv_n = 0  # a real speed-up: start the estimate afresh
        self._rejects = 0
        self._last_t = t_us
        self.edges = (self.edges + 1) & _COUNT_MASK
        self._iv[self._iv_i] = iv
        self._iv_i = (self._iv_i + 1) % _HISTORY
        if self._iv_n < _HISTORY:
            self._iv_n += 1
        self.measured = self._windowed()
        if self.measured >= REVERSAL_MIN_DRPM:
            self._travel_t = t_us
            self._travelling = True

    def update(self, now_us):
        """Refresh `drpm` for the time now; call once per control tick."""
        out = 0
        if self._have_last:
            since = ticks_diff(now_us, self._last_t)
            if since > self._max_us:
                self._stop()  # no edge for longer than a 3 rpm gap: stopped
            elif self.measured:
                out = self.measured
                if since > self._k // out:
                    out = self._k // since  # slower than measured, and still >= 3 rpm
        self.drpm = out if self.forward else -out
        return self.drpm

    def _restart(self, t_us):
        self._pending = 0
        self._rejects = 0
        self._iv_n = 0
        self.measured = 0
        self._last_t = t_us
        self._have_last = True
        self.edges = (self.edges + 1) & _COUNT_MASK

    def _bounce(self):
        self.bounces = (self.bounces + 1) & _COUNT_MASK

    def _stop(self):
        self._iv_n = 0
        self.measured = 0
        self._have_last = False

    def _average(self):
        n = self._iv_n if self._iv_n < 4 else 4
        total = 0
        i = self._iv_i
        for _ in range(n):
            i = (i - 1) % _HISTORY
            total += self._iv[i]
        return total // n

    def _windowed(self):
        """drpm over the newest intervals within WINDOW_US and one revolution."""
        limit = self._iv_n if self._iv_n < self.edges_per_rev else self.edges_per_rev
        total = 0
        n = 0
        i = self._iv_i
        while n < limit:
            i = (i - 1) % _HISTORY
            iv = self._iv[i]
            if n and total + iv > WINDOW_US:
                break
            total += iv
            n += 1
        drpm = self._k * n // total
        return drpm if drpm <= MAX_DRPM * 2 else MAX_DRPM * 2
