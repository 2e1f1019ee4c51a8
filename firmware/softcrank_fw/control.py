"""The control tick and the session state machine.

`Controller.tick(now_us, inputs)` is a plain function of the sensor inputs and a clock the
caller passes, run at 100 Hz; it returns the brake command in ppm of the brake's range. It
allocates nothing (tests prove it under micropython.heap_lock) and all its arithmetic stays
below 2**30, so it is the same on a Pico as in a test that rides 30 minutes in a second.

Rules, in the order the tick applies them:
1. The e-stop input, or a sensor fault, puts the brake to zero in this tick; only the host's
   STOP leaves those states, and only once the cause is gone.
   Sensor faults include what watch.py judges over a second of readings: a dead crank sensor
   (pedal forces of pedalling, no edge) and a flat load cell (no swing while the other leg
   pedals).
2. A spasm (force above the threshold on either pedal, extensor or flexor: a push past
   +spasm_n or a pull past -spasm_n, or a sudden reversal) puts the brake to zero in this
   tick, rests SPASM_REST_MS with the force back within the threshold, then resumes from zero
   under the ramp limiter. SPASM_PAUSE_COUNT spasms close together pause instead. The spasm
   window runs on across STOP and START: a START owing a spasm's rest rests first.
3. Riding time (warm-up, work, rests) reaching the duration cap moves to cool-down, which is
   unloaded pedalling: the brake is zero from then on.
4. Host silence never raises resistance: after HOST_HOLD_MS it stops rising; after
   HOST_TIMEOUT_MS it ramps down at HOST_RAMPDOWN_PCT_S and the session pauses. Samples keep
   going into the ring for the host to fetch when it is back.
5. Cadence above the cap stops resistance rising; for OVERSPEED_PAUSE_MS it pauses. A crank
   that stopped in warm-up or work stops resistance rising at once; for STOPPED_PAUSE_MS it
   pauses (brake zero), so pedalling again starts from zero under the ramp.
6. Resistance follows the phase's target through the ramp limiter, never above the cap.
"""

from softcrank_fw import protocol as P
from softcrank_fw.compat import const, ticks_diff
from softcrank_fw.crank import Crank
from softcrank_fw.force import CALIBRATED, CALIBRATION_FAILED, TARED, LoadCell
from softcrank_fw.limits import Caps, Goals
from softcrank_fw.ramp import PPM_PER_PCT, Ramp
from softcrank_fw.ring import DEFAULT_SIZE, Ring, zeros
from softcrank_fw.watch import DEAD_CRANK, FLAT_LEFT, Watch

# States: indexes into protocol.STATES.
IDLE = const(0)
WARMUP = const(1)
WORK = const(2)
COOLDOWN = const(3)
DONE = const(4)
PAUSED = const(5)
REST = const(6)
ESTOP = const(7)
FAULT = const(8)

# Event codes: indexes into protocol.EVENTS.
EV_START = const(1)
EV_WORK = const(2)
EV_COOLDOWN = const(3)
EV_DONE = const(4)
EV_PAUSE = const(5)
EV_RESUME = const(6)
EV_STOP = const(7)
EV_SPASM = const(8)
EV_REST_END = const(9)
EV_ESTOP = const(10)
EV_FAULT = const(11)
EV_CLEAR = const(12)
EV_OVERSPEED = const(13)
EV_HOST_LOST = const(14)
EV_HOST_BACK = const(15)
EV_LOST = const(16)
EV_TARED = const(17)
EV_CALIBRATED = const(18)
EV_CAPS = const(19)
EV_GOALS = const(20)
EV_BOOT = const(21)
EV_CAL_FAILED = const(22)
EV_CAPS_REFUSED = const(23)
EV_CAPS_DEFAULTS = const(24)
EV_UNSAVED = const(25)

SPASM_REST_MS = const(10_000)  # rest, unloaded, after a spasm before re-ramping
SPASM_PAUSE_COUNT = const(3)  # this many spasms with less than SPASM_WINDOW_MS between them pause
SPASM_WINDOW_MS = const(300_000)
HOST_HOLD_MS = const(3_000)  # three missed 1 s heartbeats: resistance stops rising
HOST_TIMEOUT_MS = const(10_000)  # then it ramps down and the session pauses
HOST_RAMPDOWN_PCT_S = const(20)  # 20 %/s: a gentle release, 1 s from the default cap
OVERSPEED_PAUSE_MS = const(5_000)
# A rider who stops pedalling (tired, distracted, fainting) in warm-up or work: resistance
# stops rising as soon as the cadence reads 0 (no edge for a 3 rpm gap: 0.83 s at 24 edges a
# revolution), and 5 s later the session pauses with the brake at zero. The pause is what makes
# pedalling again start from zero under the ramp (RESUME), never at the resistance of before;
# 5 s + 0.83 s is well inside the 10 s issue 12 allows, and long enough that a rider changing
# grip or looking round does not lose a session to it. A session that has not turned yet
# (START given, feet still going in) is held at zero, not paused.
STOPPED_PAUSE_MS = const(5_000)
# TARE only with the pedals unloaded and still (docs/safety.md, row 28): no crank edge for
# TARE_STILL_MS, both pedals within TARE_QUIET_DN peak to peak over the last whole second, and,
# once a unit has a zero, no pedal reading more than TARE_SHIFT_DN from it. 10 N is 2.5 times
# the zero drift of a 100 kg bar cell over a 20 degree day (0.02 %/degree of ~1000 N), and
# about what a resting adult foot weighs: a TARE with a foot or a hand on a pedal is refused.
TARE_STILL_MS = const(1_000)
TARE_QUIET_DN = const(30)  # 3 N peak to peak: a still pedal reads within a fraction of a newton
TARE_SHIFT_DN = const(100)  # 10 N
WARMUP_SHARE_PCT = const(25)  # warm-up resistance, as a share of the work resistance
DEFAULT_RATE_HZ = const(10)
MAX_RATE_HZ = const(50)
MAX_TICK_US = const(250_000)  # a longer gap between ticks counts as this long
MAX_CAL_NEWTONS = const(2000)
FAULT_SIDE_LEFT = const(10)  # FAULT event arg: 10 + LoadCell fault code for the left pedal
FAULT_SIDE_RIGHT = const(20)  # ... 20 + code for the right
FAULT_FLAT = const(7)  # a flat load cell (watch.py): FAULT_SIDE_LEFT/RIGHT + 7
FAULT_CRANK_DEAD = const(31)  # FAULT event arg: the crank sensor gives no edge while the pedals pedal
_T_MASK = const((1 << 30) - 1)
_MS_PER_MIN = const(60_000)


def riding(state):
    """Warm-up, work, cool-down or a spasm rest: a session under way and not paused."""
    return WARMUP <= state <= COOLDOWN or state == REST


# The host's commands are a mixin in their own module; it imports the names above, so it comes
# after them (a circular import that MicroPython and CPython both resolve in this order).
from softcrank_fw.commands import Commands  # noqa: E402


class Inputs:
    """What the board read since the last tick; the tick consumes it."""

    def __init__(self, max_edges=64):
        self.edge_t = zeros("i", max_edges)  # ticks_us of each crank edge
        self.edge_fwd = bytearray(max_edges)  # 1 if that edge turned forward
        self.n_edges = 0
        self.left_raw = 0
        self.left_new = False
        self.right_raw = 0
        self.right_new = False
        self.estop = False  # the e-stop input is pressed (or its wire is cut)

    def add_edge(self, t_us, forward):
        n = self.n_edges
        if n < len(self.edge_t):
            self.edge_t[n] = t_us
            self.edge_fwd[n] = 1 if forward else 0
            self.n_edges = n + 1
        # else: more edges in one tick than 150 rpm x 360 edges/rev can make: noise, dropped


class Controller(Commands):
    def __init__(self, edges_per_rev, ring_size=DEFAULT_SIZE):
        self.caps = Caps()
        self.goals = Goals(self.caps)
        self.crank = Crank(edges_per_rev)
        self.left = LoadCell()
        self.right = LoadCell()
        self.ramp = Ramp()
        self.ring = Ring(ring_size)
        self.watch = Watch(edges_per_rev)
        self.state = IDLE
        self.brake = 0  # type: int  # ppm: the output
        self.target = 0  # ppm: what the phase asks for, before the limiter
        self.t_ms = 0  # ms since start, wraps at 2**30
        self.ride_ms = 0  # warm-up + work + rest time of this session
        self.phase_ms = 0  # time in the current phase
        self.rest_ms = 0
        self.silent_ms = 0  # since the last valid frame from the host
        self.overspeed_ms = 0
        self.stopped_ms = 0  # warm-up or work with the crank stopped
        self._turned = False  # the crank turned since START or RESUME
        self._rest_owed = False  # a spasm's rest has not been completed (within SPASM_WINDOW_MS)
        self.sample_period_ms = 1000 // DEFAULT_RATE_HZ
        self.calibration_changed = False  # set when tare or calibration finished
        self._resume = WORK  # the phase to resume after a pause or rest
        self._rest_first = False  # resuming from this pause goes into a spasm rest first
        self._started = False
        self._last_us = 0
        self._us_rem = 0
        self._winding_down = False
        self._host_lost = False  # type: bool
        self._estop_input = False
        self._spasm_on = False
        self._spasms = 0
        self._since_spasm_ms = 0
        self._reversals = 0
        self._sample_ms = 0
        self._fl_sum = 0
        self._fr_sum = 0
        self._n = 0

    # ----- the tick -------------------------------------------------------------------

    def tick(self, now_us, inp):
        """One control step at time `now_us` (ticks_us); returns the brake command, ppm."""
        dt_us = ticks_diff(now_us, self._last_us) if self._started else 0
        if dt_us < 0:
            dt_us = 0
        elif dt_us > MAX_TICK_US:
            dt_us = MAX_TICK_US
        self._started = True
        self._last_us = now_us
        self._us_rem += dt_us
        dt_ms = self._us_rem // 1000
        self._us_rem -= dt_ms * 1000
        self.t_ms = (self.t_ms + dt_ms) & _T_MASK

        self._read(inp, dt_ms)
        drpm = self.crank.update(now_us)
        self.watch.update(dt_ms, self.left.dn, self.right.dn, self.crank.edges, riding(self.state))
        self._spasm_clock(dt_ms)
        self._safety(inp.estop)
        self._phases(dt_ms, drpm)
        self._drive(dt_ms, drpm)
        self._telemetry(dt_ms, drpm)
        return self.brake

    def _read(self, inp, dt_ms):
        self.left.age(dt_ms)
        self.right.age(dt_ms)
        if inp.left_new:
            self.left.reading(inp.left_raw)
            inp.left_new = False
        if inp.right_new:
            self.right.reading(inp.right_raw)
            inp.right_new = False
        crank = self.crank
        for i in range(inp.n_edges):
            crank.edge(inp.edge_t[i], inp.edge_fwd[i] != 0)
        inp.n_edges = 0
        if self.left.done or self.right.done:
            self._calibration_done()

    def _safety(self, estop):
        self._estop_input = estop
        st = self.state
        if estop and st != ESTOP:
            self._halt(ESTOP, EV_ESTOP, 0)
            return
        if st == ESTOP:
            return
        fault = self.fault_code()
        if fault and st != FAULT:
            self._halt(FAULT, EV_FAULT, fault)
            return
        reversal = self.crank.reversals != self._reversals
        self._reversals = self.crank.reversals
        cause = self._force_spasm()
        rising = cause != 0 and not self._spasm_on
        self._spasm_on = cause != 0
        if reversal and not cause:
            cause = P.SPASM_REVERSAL
        if st == REST:
            if rising or reversal:  # a new spasm during the rest: count it, rest afresh
                self._spasm(cause)
        elif cause and riding(st):  # force over the threshold, however it got there
            self._spasm(cause)

    def _spasm_clock(self, dt_ms):
        """The spasm window runs in every state, so STOP and START do not reset it."""
        self._since_spasm_ms += dt_ms
        if self._since_spasm_ms >= SPASM_WINDOW_MS:
            self._since_spasm_ms = SPASM_WINDOW_MS
            self._spasms = 0
            self._rest_owed = False

    def _spasm(self, cause):
        self.ramp.zero()
        self.brake = 0
        self._spasms += 1
        self._since_spasm_ms = 0
        self._rest_owed = True
        self._event(EV_SPASM, cause)
        if self.state != REST:
            self._resume = self.state
        if self._spasms >= SPASM_PAUSE_COUNT:
            self._spasms = 0
            self._pause(P.PAUSE_SPASMS, True)
        else:
            self.rest_ms = 0
            self._enter(REST, 0, 0)

    def _phases(self, dt_ms, drpm):
        st = self.state
        if not riding(st):
            return
        cooling = st == COOLDOWN or (st == REST and self._resume == COOLDOWN)
        if not cooling:
            self.ride_ms += dt_ms
        if st != REST:
            self.phase_ms += dt_ms
        self._watch_host(dt_ms)
        self._watch_speed(dt_ms, drpm)
        st = self.state
        caps = self.caps
        if st == WARMUP and self.phase_ms >= caps.warmup_s * 1000:
            self._advance(WORK, EV_WORK, 0)
        elif st == WORK and self.phase_ms >= self.goals.dur_min * _MS_PER_MIN:
            self._advance(COOLDOWN, EV_COOLDOWN, 0)
        elif st == COOLDOWN and self.phase_ms >= caps.cooldown_s * 1000:
            self._advance(DONE, EV_DONE, 0)
        elif st == REST:
            self.rest_ms = 0 if self._spasm_on else self.rest_ms + dt_ms
            if self.rest_ms >= SPASM_REST_MS:
                self._rest_owed = False
                self._enter(self._resume, EV_REST_END, 0)
        st = self.state
        if not cooling and st != COOLDOWN and riding(st) and self.ride_ms >= caps.max_dur_min * _MS_PER_MIN:
            self._advance(COOLDOWN, EV_COOLDOWN, 1)  # the cap, whatever the plan says

    def _watch_host(self, dt_ms):
        if self.silent_ms < HOST_TIMEOUT_MS:
            self.silent_ms += dt_ms
        if self.silent_ms >= HOST_HOLD_MS and not self._host_lost:
            self._host_lost = True
            self._event(EV_HOST_LOST, 0)
        if self.silent_ms >= HOST_TIMEOUT_MS:
            self._winding_down = True

    def _watch_speed(self, dt_ms, drpm):
        if drpm < 0:
            drpm = -drpm
        st = self.state
        if drpm or (st != WARMUP and st != WORK):
            self.stopped_ms = 0
            if drpm:
                self._turned = True
        else:
            self.stopped_ms += dt_ms  # held from this tick on (_drive)
            if self._turned and self.stopped_ms >= STOPPED_PAUSE_MS:
                self.stopped_ms = 0
                self._pause(P.PAUSE_STOPPED)
                return
        if drpm <= self.caps.max_cad_rpm * 10:
            self.overspeed_ms = 0
            return
        if self.overspeed_ms == 0:
            self._event(EV_OVERSPEED, drpm)
        self.overspeed_ms += dt_ms
        if self.overspeed_ms >= OVERSPEED_PAUSE_MS:
            self.overspeed_ms = 0
            self._pause(P.PAUSE_OVERSPEED)

    def _drive(self, dt_ms, drpm):
        st = self.state
        target = 0
        if st == WORK or st == WARMUP:
            target = self.goals.res_pct * PPM_PER_PCT
            if st == WARMUP:
                target = target * WARMUP_SHARE_PCT // 100
        self.target = target
        out = self.ramp.out
        if (self._host_lost or self.overspeed_ms or self.stopped_ms) and target > out:
            target = out
        if self._winding_down:
            target = out - HOST_RAMPDOWN_PCT_S * PPM_PER_PCT // 1000 * dt_ms
        self.brake = self.ramp.step(target, self.caps.max_res_pct * PPM_PER_PCT, self.caps.ramp_pct_min, dt_ms)
        if self._winding_down and self.brake == 0 and riding(st):
            self._pause(P.PAUSE_HOST_SILENT)

    def _telemetry(self, dt_ms, drpm):
        self._fl_sum += self.left.dn
        self._fr_sum += self.right.dn
        self._n += 1
        self._sample_ms += dt_ms
        if self._sample_ms < self.sample_period_ms:
            return
        self._sample_ms -= self.sample_period_ms
        if self._sample_ms >= self.sample_period_ms:
            self._sample_ms = 0  # after a stall: no burst of catch-up samples
        ring = self.ring
        flags = 0
        if self.overspeed_ms:
            flags |= P.FLAG_OVERSPEED
        if self._host_lost:
            flags |= P.FLAG_HOST_SILENT
        if self.target > self.brake and self.brake < self.caps.max_res_pct * PPM_PER_PCT:
            flags |= P.FLAG_RAMPING
        speed = drpm if drpm >= 0 else -drpm
        if self.goals.cad_lo_rpm * 10 <= speed <= self.goals.cad_hi_rpm * 10:
            flags |= P.FLAG_IN_BAND
        n = self._n
        ring.sample(self.t_ms, self.state, drpm, self._fl_sum // n, self._fr_sum // n,
                    self.brake // 1000, self.seconds_left(), flags)
        self._fl_sum = 0
        self._fr_sum = 0
        self._n = 0

    # ----- state changes --------------------------------------------------------------

    def _advance(self, state, event, arg):
        """On to the next phase of the plan, whose clock starts at zero."""
        self.phase_ms = 0
        self._enter(state, event, arg)

    def _enter(self, state, event, arg):
        self.state = state
        if state == IDLE or state >= COOLDOWN:  # cool-down and every non-riding state is unloaded
            self.ramp.zero()
            self.brake = 0
        if state != WARMUP and state != WORK and state != COOLDOWN and state != REST:
            self._winding_down = False
        if event:
            self._event(event, arg)

    def _halt(self, state, event, arg):
        self.ramp.zero()
        self.brake = 0
        self._enter(state, event, arg)

    def _pause(self, reason, rest=False):
        """Pause; `rest`: resuming goes back into a spasm rest first."""
        if self.state == REST:
            rest = True
        else:
            self._resume = self.state
        self._rest_first = rest
        self._enter(PAUSED, EV_PAUSE, reason)

    def _event(self, code, arg):
        self.ring.event(self.t_ms, self.state, code, arg)

    def _calibration_done(self):
        left = self.left.done
        right = self.right.done
        self.left.done = 0
        self.right.done = 0
        if (left == TARED or right == TARED) and not self.left.busy() and not self.right.busy():
            self._event(EV_TARED, 0)
        self._calibration_event(left, 0)
        self._calibration_event(right, 1)
        self.calibration_changed = True

    def _calibration_event(self, done, side):
        if done == CALIBRATED:
            self._event(EV_CALIBRATED, side)
        elif done == CALIBRATION_FAILED:
            self._event(EV_CAL_FAILED, side)

    # ----- reading the state ----------------------------------------------------------

    def _force_spasm(self):
        """The SPASM cause if either pedal's force is past the threshold now, else 0: an
        extensor spasm pushes the pedal down, a flexor spasm of a strapped foot pulls it up."""
        left = self.caps.spasm_n * 10  # each leg its own threshold (the affected side's often lower)
        right = self.caps.spasm_r_n * 10
        if self.left.dn > left:
            return P.SPASM_FORCE_L
        if self.right.dn > right:
            return P.SPASM_FORCE_R
        if self.left.dn < -left:
            return P.SPASM_PULL_L
        if self.right.dn < -right:
            return P.SPASM_PULL_R
        return 0

    def fault_code(self):
        """0, or the FAULT event argument for the first sensor fault found."""
        if self.left.fault:
            return FAULT_SIDE_LEFT + self.left.fault
        if self.right.fault:
            return FAULT_SIDE_RIGHT + self.right.fault
        w = self.watch.fault
        if w == DEAD_CRANK:
            return FAULT_CRANK_DEAD
        if w:
            return (FAULT_SIDE_LEFT if w == FLAT_LEFT else FAULT_SIDE_RIGHT) + FAULT_FLAT
        return 0

    def seconds_left(self):
        """Seconds left in the current phase (for a pause: in the phase it will resume)."""
        st = self.state
        caps = self.caps
        if st == REST:
            return (SPASM_REST_MS - self.rest_ms) // 1000
        if st == PAUSED:
            st = self._resume
        if st == COOLDOWN:
            return caps.cooldown_s - self.phase_ms // 1000
        if st == WARMUP:
            left = caps.warmup_s * 1000 - self.phase_ms
        elif st == WORK:
            left = self.goals.dur_min * _MS_PER_MIN - self.phase_ms
        else:
            return 0
        cap_left = caps.max_dur_min * _MS_PER_MIN - self.ride_ms
        return (left if left < cap_left else cap_left) // 1000
