"""The simulated board: a virtual clock, a simulated world, and the host link on stdin/stdout.

The world is anything with the rider's `step(t_us, dt_us, brake_ppm, inputs)`: a
ScenarioRider, a test's Rider, or a Replay of a recording. The board's hardware clock
(`t_us`, virtual) advances only through advance(): in steps of exactly 10 ms between ticks,
and 1 ms at a time while a USB write waits for the host (usbcdc.py). With speed > 0 the
board also sleeps so that virtual time runs `speed` times faster than real time; speed 0
runs as fast as it can. Time spent computing is free: the model is of what waits, not of how
fast the interpreter is.

The tick, two ways (config "ticks"):

- "timer" (the default; a Pico since issue 13): the tick runs from the board's virtual timer,
  at every 10 ms grid point the hardware clock passes, whatever the main loop is doing: in
  service() between passes, and inside a USB write that waits for the host. A timer
  interrupt preempts the main loop anywhere; here it runs only where the main loop waits,
  so the model cannot show a race between the two (guard.py's critical sections are for
  the chip; tests/firmware/test_pico_board.py checks them).
- "loop" (the firmware before issue 13): wait_tick runs the tick inline; a USB write that
  waits holds it, and the next tick starts on the next grid point after the wait.

The serial port behaves as a Pico's USB port does: the Pico's own host I/O
(softcrank_pico/hostio.py) over a model of MicroPython's rp2 USB CDC driver (usbcdc.py), in
"careful" mode (one byte per write, never waiting) or, with "ticks": "loop", the old fast
mode whose writes wait for a host that stops reading. A Ctrl-C byte (0x03) raises
KeyboardInterrupt, as the rp2 port does (how mpremote breaks in), unless interrupts(False)
turned that off (micropython.kbd_intr(-1) on a Pico, while a session is under way): then it
is a data byte like any other. Bytes are read one at a time, only when poll says one is there.

The watchdog. A Pico's hardware watchdog resets the board (brake off) when the loop stops
feeding it (softcrank_pico/ticker.py). The simulated board's hardware is the virtual board
around the interpreter (host/softcrank/virtual_board.py): it gives the board a pipe, and this
board feeds it as the Pico's main loop does, only after a healthy tick (sense() and then
set_brake() ran), at most every FEED_US of real time. Each feed carries the brake level, as
a scope on the brake pin would see it. If the feeds stop for the watchdog's timeout, the
virtual board kills the interpreter and boots it again, with the brake at zero and the reset
cause WATCHDOG: the same path as a Pico's, end to end. A scenario's `firmware` event makes
this board throw an exception in the tick or hang there, to test it.
"""

import select
import sys
import time

from softcrank_fw import calibration, capsauth, capstore
from softcrank_fw.compat import const, ticks_add, ticks_diff, ticks_us
from softcrank_pico.hostio import HostIO
from softcrank_sim.usbcdc import UsbCdc

FEED_US = const(100_000)  # real time between watchdog feeds: 20 inside its 2 s timeout
_WAITED = const(0)  # the tick's progress since the last wait, as in softcrank_pico/ticker.py
_SENSED = const(1)
_STEPPED = const(2)
_COUNT_MASK = const((1 << 30) - 1)


class InjectedFault(Exception):
    """An exception a scenario asked for, raised inside the tick."""


DEVICE_ID = "sim-0001"


def device_id():
    """The id this board reports in its handshake (`softcrank deploy` asks for it)."""
    return DEVICE_ID


class SimBoard:
    preempts = False  # its timer runs ticks only where the main loop waits: guard.py not needed
    def __init__(self, rider, speed=1.0, device_id=DEVICE_ID, stdin=None, stdout=None, watchdog=None,
                 cause=0, ticks="timer"):
        """watchdog: a binary file the virtual board's watchdog reads (None: no watchdog);
        cause: the reset cause to report in the BOOT event (softcrank_sim/resets.py);
        ticks: "timer" or "loop" (see above)."""
        if ticks not in ("timer", "loop"):
            raise ValueError("ticks must be timer or loop, not %r" % (ticks,))
        self.rider = rider
        self.edges_per_rev = rider.edges_per_rev
        self.device_id = device_id
        self.speed = speed
        self.brake = 0
        self.t_us = (1 << 30) - 60_000_000  # virtual ticks_us: wraps a minute in
        self._prev_us = self.t_us  # when the last tick ran
        self._due = ticks_add(self.t_us, 10_000)  # when the next is due
        self._period = 10_000
        self._fn = None  # the tick, while the virtual timer runs it
        self._real0 = ticks_us()
        self._virtual_us = 0  # virtual time since start, for pacing
        self._in = stdin or sys.stdin.buffer
        self._out = stdout or sys.stdout.buffer
        self._rx = select.poll()
        self._rx.register(stdin or sys.stdin, select.POLLIN)
        self._closed = False
        self.usb = UsbCdc(self._out, self)
        self._host = HostIO(self._in, self.usb, self._rx, self.usb, fast=ticks == "loop", clock=self._clock)
        self.kbd_intr = True  # a 0x03 raises KeyboardInterrupt (interrupts())
        if ticks == "timer":
            self.start_ticks = self._start_ticks  # loop.run runs the tick from the virtual timer
        self._watchdog = watchdog
        self._cause = cause
        self._tick_us = self.t_us
        self._progress = _STEPPED  # start-up counts as a completed tick
        self._fed_us = 0
        self._armed = False
        self.ticks = 0  # ticks run, saturating: the uptime main.py's exception policy reads

    def reset_cause(self):
        return self._cause

    def calibration(self):
        """What a TARE or CAL stored on the virtual flash; before any, the simulated unit was
        calibrated when it was built: its rider's true values."""
        stored = calibration.load()
        if stored:
            return stored
        r = self.rider
        return r.tare[0], r.tare[1], r.cpn[0], r.cpn[1]

    def save_calibration(self, tare_l, tare_r, cpn_l, cpn_r):
        calibration.save(tare_l, tare_r, cpn_l, cpn_r)  # into the flash folder, as a Pico does

    def device_key(self):
        """device.key in the flash folder (the working directory), as on a Pico."""
        return capsauth.load_key()

    def stored_caps(self):
        return capstore.load()

    def caps_history(self):
        """The accepted caps' history (protocol 4's CAPSLOG), from caps.json on flash."""
        return capstore.load_history()

    def save_caps(self, counter, values):
        capstore.save(counter, values)

    # ----- the hardware clock and the tick -------------------------------------------------

    def advance(self, us):
        """Let `us` of hardware time pass, running every tick the virtual timer has due."""
        target = ticks_add(self.t_us, us)
        while self._fn is not None and ticks_diff(target, self._due) >= 0:
            self._set_time(self._due)
            self._run_tick()
        self._set_time(target)

    def _clock(self):
        return self.t_us

    def _start_ticks(self, fn, period_us):
        self._fn = fn
        self._period = period_us
        self._due = ticks_add(self.t_us, period_us)

    def stop_ticks(self):
        self._fn = None

    def service(self):
        """The main loop's pace: feed the watchdog after a healthy tick, then let time pass to
        the next tick and run it."""
        self._feed()
        self.usb.drain()
        self._host.new_tick()
        if self._fn is not None:
            self.advance(ticks_diff(self._due, self.t_us))

    def interrupts(self, on):
        self.kbd_intr = on

    def _run_tick(self):
        self._progress = _WAITED
        if self.ticks < _COUNT_MASK:
            self.ticks += 1
        self._prev_us = self._tick_us
        self._tick_us = self.t_us
        self._due = ticks_add(self._due, self._period)
        self._fn(self.t_us)

    def wait_tick(self, period_us):
        """The tick in the loop ("loop" mode): time passes to the next grid point (the one after
        a USB wait that overran it); returns that time."""
        self._feed()
        self.usb.drain()
        self._host.new_tick()
        self._progress = _WAITED
        if self.ticks < _COUNT_MASK:
            self.ticks += 1
        late = ticks_diff(self.t_us, self._due)
        if late > 0:  # a wait overran the grid point: the next one
            self._due = ticks_add(self._due, (late // period_us + 1) * period_us)
        self._set_time(self._due)
        self._prev_us = self._tick_us
        self._tick_us = self.t_us
        self._due = ticks_add(self._due, period_us)
        return self.t_us

    def _set_time(self, t):
        """Move the hardware clock to t (never back) and keep pace with real time."""
        step = ticks_diff(t, self.t_us)
        if step <= 0:
            return
        self.t_us = t
        self._virtual_us += step
        if self.speed > 0:
            due = int(self._virtual_us / self.speed)
            if due > 100_000_000:  # keep well inside ticks_diff's range: restart the reference
                self._real0 = ticks_us()
                self._virtual_us = 0
                due = 0
            ahead = due - ticks_diff(ticks_us(), self._real0)
            if ahead > 0:
                time.sleep_us(ahead)

    def sense(self, inp, brake_ppm):
        self.rider.step(self._prev_us, ticks_diff(self.t_us, self._prev_us), brake_ppm, inp)
        if self._progress == _WAITED:
            self._progress = _SENSED
        fault = getattr(self.rider, "firmware_fault", None)  # a Replay has none
        if fault:
            self.rider.firmware_fault = None
            if fault == "hang":
                while True:  # the loop is stuck: no more ticks, no feeds; the watchdog acts
                    time.sleep_ms(50)
            raise InjectedFault("injected by the scenario: an exception in the tick")

    def set_brake(self, ppm):
        self.brake = ppm
        if self._progress == _SENSED:
            self._progress = _STEPPED

    # ----- the watchdog -------------------------------------------------------------------

    def _feed(self):
        """Feed the watchdog if the last tick completed its control step, at most every FEED_US."""
        if self._watchdog is None or self._progress != _STEPPED:
            return
        now = ticks_us()
        if self._armed and ticks_diff(now, self._fed_us) < FEED_US:
            return
        self._armed = True  # as on a Pico, the watchdog starts at the first tick
        self._fed_us = now
        self._tell(b"w %d\n" % self.brake)

    def stop_watchdog(self):
        """Stop the watchdog (Ctrl-C, a start-up fault: the REPL takes over), the brake as it is."""
        if self._watchdog is not None:
            self._tell(b"s %d\n" % self.brake)
            self._armed = False

    def reset(self):
        """Reset the board now, through the watchdog (as machine.reset() does on an RP2040);
        returns only if there is no watchdog to do it."""
        if self._watchdog is None:
            return
        self._tell(b"r 0\n")
        while self._watchdog is not None:
            time.sleep_ms(50)  # the virtual board ends the interpreter

    def _tell(self, line):
        try:
            self._watchdog.write(line)
        except OSError:
            self._watchdog = None  # the virtual board is gone: nothing to feed

    def read_byte(self):
        if self._closed or not self._rx.poll(0):
            return -1
        try:
            data = self._in.read(1)
        except OSError:
            return -1
        if not data:
            self._closed = True  # the host closed its end
            return -1
        if data[0] == 0x03 and self.kbd_intr:
            raise KeyboardInterrupt  # as a Pico's USB serial port does
        return data[0]

    def write(self, buf, n):
        if self._closed or self.usb.closed:
            return False
        return self._host.write(buf, n)

    def alive(self):
        return not self._closed and not self.usb.closed
