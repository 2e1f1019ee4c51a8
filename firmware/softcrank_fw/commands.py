# mypy: disable-error-code="attr-defined, has-type"
# (a mixin: the attributes it uses are Controller's, set in control.py; the checker sees the
# methods here without that class, so only these two checks are off, in this file only)
"""The host's commands to the controller: each returns 0 or a protocol NAK code.

A mixin of Controller (control.py), kept apart so each module stays small: these run on
command, outside the control tick, and change its state only in the ways each one names.
"""

from softcrank_fw import protocol as P
from softcrank_fw.ramp import PPM_PER_PCT
from softcrank_fw.control import (
    DONE, ESTOP, EV_CAPS, EV_CAPS_DEFAULTS, EV_CAPS_REFUSED, EV_CLEAR, EV_ESTOP, EV_GOALS,
    EV_HOST_BACK, EV_LOST,     EV_RESUME, EV_START, EV_STOP, FAULT, IDLE, MAX_CAL_NEWTONS, MAX_RATE_HZ, PAUSED, REST,
    TARE_QUIET_DN, TARE_SHIFT_DN, TARE_STILL_MS, WARMUP, riding,
)


class Commands:
    def host_seen(self):
        """A valid frame came from the host."""
        self.silent_ms = 0
        if self._host_lost:
            self._host_lost = False
            self._event(EV_HOST_BACK, 0)

    def set_caps(self, values, restored=False):
        """New caps (the link checked their tag and counter); `restored`: read from flash at
        start-up, which the CAPS event's arg (1) tells apart from a therapist's change (0)."""
        code = self.caps.set(values)
        if not code:
            self.goals.clamp(self.caps)
            cap = self.caps.max_res_pct * PPM_PER_PCT
            if self.ramp.out > cap:  # a lower cap acts now, not at the next tick
                self.ramp.out = cap
            if self.brake > cap:
                self.brake = cap
            self._event(EV_CAPS, 1 if restored else 0)
        return code

    def records_lost(self, n):
        """The link's send cursor was lapped: n records went unsent (one LOST per gap)."""
        self._event(EV_LOST, n)

    def caps_refused(self, reason):
        """A CAPS frame was refused (protocol.REFUSED_*): the ride log should know."""
        self._event(EV_CAPS_REFUSED, reason)

    def caps_defaults(self, reason):
        """The stored caps could not be used (protocol.DEFAULTS_*): the built-in ones apply."""
        self._event(EV_CAPS_DEFAULTS, reason)

    def set_goals(self, values):
        code = self.goals.set(values, self.caps)
        if not code:
            self._event(EV_GOALS, 0)
        return code

    def start(self):
        if self.state != IDLE and self.state != DONE or not self._sensors_ready():
            return P.NAK_STATE
        self.ride_ms = 0
        self._winding_down = False
        self.overspeed_ms = 0
        self.stopped_ms = 0
        self._turned = False
        self.ramp.zero()
        self._resume = WARMUP
        self.phase_ms = 0
        if self._rest_owed:  # STOP does not skip a spasm's rest: START rests first (arg 1)
            self.rest_ms = 0
            self._enter(REST, EV_START, 1)
        else:
            self._enter(WARMUP, EV_START, 0)
        return 0

    def pause(self):
        if self.state == PAUSED:
            return 0
        if not riding(self.state):
            return P.NAK_STATE
        self._pause(P.PAUSE_HOST)
        return 0

    def resume(self):
        if self.state != PAUSED or not self._sensors_ready():
            return P.NAK_STATE
        self._winding_down = False
        self.stopped_ms = 0
        self._turned = False
        if self._rest_first:
            self.rest_ms = 0
            self._enter(REST, EV_RESUME, 0)
        else:
            self._enter(self._resume, EV_RESUME, 0)
        return 0

    def stop(self):
        st = self.state
        if st == IDLE:
            return 0
        if st == ESTOP and self._estop_input:
            return P.NAK_STATE
        if st == ESTOP or st == FAULT:
            self.left.clear()
            self.right.clear()
            self.watch.clear()
            self._enter(IDLE, EV_CLEAR, 0)
        elif st == DONE:
            self._enter(IDLE, 0, 0)
        else:
            self._enter(DONE, EV_STOP, 0)
        return 0

    def estop(self):
        if self.state != ESTOP:
            self._halt(ESTOP, EV_ESTOP, 1)
        return 0

    def tare(self):
        if not self._can_calibrate():
            return P.NAK_STATE
        if not self._still_and_unloaded():
            return P.NAK_LOADED
        self.left.start_tare()
        self.right.start_tare()
        return 0

    def calibration_refused(self, side, newtons):
        """0 if calibrate(side, newtons) would start, else its NAK code."""
        if side != "L" and side != "R":
            return P.NAK_RANGE
        if not 1 <= newtons <= MAX_CAL_NEWTONS:
            return P.NAK_RANGE
        if not self._can_calibrate():
            return P.NAK_STATE
        return 0

    def calibrate(self, side, newtons):
        code = self.calibration_refused(side, newtons)
        if code:
            return code
        (self.left if side == "L" else self.right).start_calibration(newtons)
        return 0

    def set_rate(self, hz):
        if not 1 <= hz <= MAX_RATE_HZ:
            return P.NAK_RANGE
        self.sample_period_ms = 1000 // hz
        return 0

    def _sensors_ready(self):
        """Both load cells reading plausibly, not taring, and no pedal over the spasm threshold."""
        return self.left.ready() and self.right.ready() and not self._force_spasm()

    def _still_and_unloaded(self):
        """What TARE needs (TARE_* above). A cell never zeroed (tare 0, the firmware's own
        default) is exempt from the shift check: its first zero may be anywhere."""
        w = self.watch
        if w.still_ms < TARE_STILL_MS or not w.quiet(TARE_QUIET_DN):
            return False
        for cell in (self.left, self.right):
            if cell.tare and (cell.dn > TARE_SHIFT_DN or cell.dn < -TARE_SHIFT_DN):
                return False
        return True

    def _can_calibrate(self):
        return (self.state == IDLE or self.state == DONE) and not self.left.busy() and not self.right.busy()
