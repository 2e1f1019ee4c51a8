"""When the flash is written, and what a failed write does.

On an RP2040 the program runs from the same flash chip the files live on, so erasing a sector
stops the CPU and every interrupt, the control tick's timer included, for 45 ms typically and
400 ms at worst (W25Q16JV datasheet, tSE; rp2_flash.c runs flash_range_erase with interrupts
off). So no flash work happens while the brake may be loaded: calibration, caps and raw
recordings are written only while the unit is *quiet* (no session under way: idle, done,
e-stop or fault, and the brake at zero). Until then they are kept in RAM, where they already
apply: a TARE or CAL takes effect at once, CAPS sent during a ride apply at once.

A write that fails (a full or worn flash, an OSError) never ends the firmware:

- CAPS while quiet are written before they apply, as before: a failed write answers
  N UNSAVED and leaves the old caps (the therapist is told and nothing changed);
- anything written later (a calibration, caps set during a session) stays in force in RAM,
  and an UNSAVED event (arg: which file) goes to the host; the write is tried again every
  RETRY_PASSES while quiet. It is lost only if the unit restarts before a write succeeds,
  and the host has been told.

The reset log (softcrank_pico/resetlog.py) is written on the way down, after the brake is at
zero and the ticks are stopped; its take() at start-up runs before the first tick.
"""

from softcrank_fw import protocol as P
from softcrank_fw.compat import const
from softcrank_fw.control import DONE, ESTOP, EV_UNSAVED, FAULT, IDLE

RETRY_PASSES = const(6000)  # about 60 s of main-loop passes between attempts after a failure


class Keeper:
    def __init__(self, board, ctl):
        self.board = board
        self.ctl = ctl
        self._saved = self._calibration()  # what the flash holds (or the defaults it implies)
        self._caps = None  # (counter, values) waiting for a quiet moment
        self._wait = 0  # passes until the next attempt after a failure
        self._quiet = -1  # unknown: the first step() tells the board
        self.writes = 0
        self.failures = 0

    def quiet(self):
        """No session under way and the brake at zero: flash work and Ctrl-C are safe."""
        st = self.ctl.state
        return (st == IDLE or st == DONE or st == ESTOP or st == FAULT) and self.ctl.brake == 0

    def caps(self, counter, values):
        """The link's save_caps: write now if quiet (raises OSError: the link answers UNSAVED
        and does not apply them), else keep them for later (they apply at once)."""
        if self.quiet():
            self.board.save_caps(counter, values)
            self._caps = None  # newer than anything waiting
            self.writes += 1
        else:
            self._caps = (counter, list(values))

    def step(self):
        """Once per pass of the host half: notice a new calibration, tell the board whether
        Ctrl-C may interrupt, and do the waiting flash work if the unit is quiet."""
        quiet = self.quiet()
        if quiet != self._quiet:
            self._quiet = quiet
            interrupts = getattr(self.board, "interrupts", None)
            if interrupts is not None:
                interrupts(quiet)
        if not quiet:
            return
        if self._wait > 0:
            self._wait -= 1
            return
        if self._calibration_changed():
            cal = self._calibration()
            try:
                self.board.save_calibration(cal[0], cal[1], cal[2], cal[3])
                self._saved = cal
                self.writes += 1
            except OSError:
                self._failed(P.UNSAVED_CALIBRATION)
                return
        if self._caps is not None:
            counter, values = self._caps
            try:
                self.board.save_caps(counter, values)
                self._caps = None
                self.writes += 1
            except OSError:
                self._failed(P.UNSAVED_CAPS)
                return
        flush = getattr(self.board, "flush_recording", None)
        if flush is not None:
            flush()

    def pending(self):
        """True while something waits to be written."""
        return self._caps is not None or self._calibration_changed()

    def _calibration_changed(self):
        """Compared field by field: no tuple built on every pass of the main loop."""
        ctl, saved = self.ctl, self._saved
        return (ctl.left.tare != saved[0] or ctl.right.tare != saved[1] or ctl.left.cpn != saved[2]
                or ctl.right.cpn != saved[3])

    def _calibration(self):
        ctl = self.ctl
        return (ctl.left.tare, ctl.right.tare, ctl.left.cpn, ctl.right.cpn)

    def _failed(self, what):
        self.failures += 1
        self._wait = RETRY_PASSES
        hold = getattr(self.board, "hold", None)
        state = hold() if hold is not None else 0
        try:
            ctl = self.ctl
            ctl.ring.event(ctl.t_ms, ctl.state, EV_UNSAVED, what)
        finally:
            if hold is not None:
                self.board.release(state)
