"""Safety watches that need more than one tick to judge: what the control tick cannot see in
one reading, it sees in a second of them (issue 12, docs/safety.md rows 24-31).

`Watch.update()` runs in every control tick after the sensors were read. It keeps, for each
one-second window, each pedal's lowest and highest force, whether the crank gave an edge and
how many edges it gave; each time a window closes it judges the last SPAN_WINDOWS of them
(4 s: a whole revolution at 15 rpm, the bottom of the default cadence band; each leg pushes for
half of each revolution, so a span shorter than one would see one leg idle and the other
pushing whatever the sensors):

- **a dead crank sensor**: both pedals swung by SWING_DN or more in the span (the rise and fall
  of each leg's push that pedalling makes once a revolution) and the crank gave no edge in it:
  FAULT_CRANK_DEAD. The sensor died while the rider pedals on; cadence reads 0, so overspeed and
  reversal detection are blind. At most 5 s after the last edge: the window it died in plus
  four whole ones (issue 12 asks for 5 s).
- **a flat load cell** (a broken excitation or signal wire leaves offset plus noise, which
  passes every one-reading check): the crank turned a whole revolution or more in the span,
  the other pedal swung by OTHER_DN or more, and this one moved less than FLAT_DN: FAULT_FLAT
  on that side, at most 5 s after the wire broke (below 15 rpm, later: once a span holds a
  revolution). A leg strapped to a turning pedal,
  even a paralysed one, is carried up and down with it: its weight alone swings the reading by
  tens of newtons a revolution, far above 2 N; a weak leg that pushes 7 N swings 3.5 times that.

Both need the session under way (warm-up, work, cool-down, a rest): a rider fitting their feet
in the straps wiggles the pedals without turning the crank, and a fault then would refuse a
START for no reason. Either latches until `clear()` (the host's STOP, as every fault).

It also keeps what a TARE needs to know (`still_ms`, the last window's swings): see
Commands.tare(). It allocates nothing in update(): its arrays are made once.
"""

from softcrank_fw.compat import const
from softcrank_fw.ring import zeros

WINDOW_MS = const(1000)  # one window: a revolution at 60 rpm, a third of one at 20 rpm
SWING_DN = const(300)  # 30 N: a leg pedalling at rehab resistances swings this much; a foot resting does not
OTHER_DN = const(100)  # 10 N: the other leg shows pedalling even against no resistance at all
FLAT_DN = const(20)  # 2 N: a leg on a turning pedal moves the reading far more than this
SPAN_WINDOWS = const(4)  # judged over 4 s: with the window a fault began in, at most 5 s (issue 12: 5 s)
_STILL_MAX_MS = const(1 << 20)  # still_ms stops counting here (17 minutes): a small int

# Watch.fault values (the controller adds the side for a flat cell).
DEAD_CRANK = const(1)
FLAT_LEFT = const(2)
FLAT_RIGHT = const(3)


class Watch:
    def __init__(self, edges_per_rev):
        self.edges_per_rev = edges_per_rev
        self.fault = 0  # 0, DEAD_CRANK, FLAT_LEFT or FLAT_RIGHT; latched until clear()
        self.still_ms = 0  # since the crank's last accepted edge
        self.swing_l = 0  # the last whole window's swing of each pedal, 0.1 N
        self.swing_r = 0
        self.windows = 0  # whole windows seen since start or clear()
        self._edges = 0
        self._win_ms = 0
        self._lo_l = 0
        self._hi_l = 0
        self._lo_r = 0
        self._hi_r = 0
        self._moved = 0  # edges in this window
        self._fresh = True  # the next tick opens a new window
        # The last SPAN_WINDOWS windows: lo/hi of each pedal, and their edge and speed flags.
        self._lo = zeros("i", 2 * SPAN_WINDOWS)  # [left windows..., right windows...]
        self._hi = zeros("i", 2 * SPAN_WINDOWS)
        self._turned = zeros("h", SPAN_WINDOWS)  # edges in each (at most 150 rpm x 360 a second: 900)
        self._k = 0  # the slot the next closed window goes into

    def update(self, dt_ms, left_dn, right_dn, edges, riding):
        """One tick: the pedals' forces, the crank's accepted-edge count (it wraps at 2**30),
        and whether a session is under way."""
        if edges != self._edges:
            n = (edges - self._edges) & ((1 << 30) - 1)
            self._edges = edges
            self.still_ms = 0
            if self._moved < 10_000:
                self._moved += n
        elif self.still_ms < _STILL_MAX_MS:
            self.still_ms += dt_ms
        if self._fresh:
            self._fresh = False
            self._lo_l = self._hi_l = left_dn
            self._lo_r = self._hi_r = right_dn
        else:
            if left_dn < self._lo_l:
                self._lo_l = left_dn
            elif left_dn > self._hi_l:
                self._hi_l = left_dn
            if right_dn < self._lo_r:
                self._lo_r = right_dn
            elif right_dn > self._hi_r:
                self._hi_r = right_dn
        self._win_ms += dt_ms
        if self._win_ms >= WINDOW_MS:
            self._close(riding)

    def _close(self, riding):
        self.swing_l = self._hi_l - self._lo_l
        self.swing_r = self._hi_r - self._lo_r
        k = self._k
        self._lo[k] = self._lo_l
        self._hi[k] = self._hi_l
        self._lo[SPAN_WINDOWS + k] = self._lo_r
        self._hi[SPAN_WINDOWS + k] = self._hi_r
        self._turned[k] = self._moved
        self._k = k + 1 if k + 1 < SPAN_WINDOWS else 0
        if self.windows < _STILL_MAX_MS:
            self.windows += 1
        self._win_ms = 0
        self._moved = 0
        self._fresh = True
        if riding and not self.fault and self.windows >= SPAN_WINDOWS:
            self._judge()

    def _judge(self):
        """The last SPAN_WINDOWS windows: a dead crank sensor, or a flat load cell."""
        lo_l = hi_l = self._lo[0]
        lo_r = hi_r = self._lo[SPAN_WINDOWS]
        hi_l = self._hi[0]
        hi_r = self._hi[SPAN_WINDOWS]
        moved = 0
        for i in range(SPAN_WINDOWS):
            if self._lo[i] < lo_l:
                lo_l = self._lo[i]
            if self._hi[i] > hi_l:
                hi_l = self._hi[i]
            j = SPAN_WINDOWS + i
            if self._lo[j] < lo_r:
                lo_r = self._lo[j]
            if self._hi[j] > hi_r:
                hi_r = self._hi[j]
            moved += self._turned[i]
        sl = hi_l - lo_l
        sr = hi_r - lo_r
        if not moved and sl >= SWING_DN and sr >= SWING_DN:
            self.fault = DEAD_CRANK
        elif moved >= self.edges_per_rev:  # a whole revolution: each leg had its push
            if sl < FLAT_DN and sr >= OTHER_DN:
                self.fault = FLAT_LEFT
            elif sr < FLAT_DN and sl >= OTHER_DN:
                self.fault = FLAT_RIGHT

    def quiet(self, max_swing):
        """Both pedals moved less than max_swing in the last whole window."""
        return self.windows > 0 and self.swing_l < max_swing and self.swing_r < max_swing

    def clear(self):
        """Forget a latched fault and the windows it was judged on."""
        self.fault = 0
        self.windows = 0
