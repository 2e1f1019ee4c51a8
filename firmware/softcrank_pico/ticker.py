"""The 10 ms tick, and the watchdog that is fed only while the ticks are healthy.

Ticks are due on a fixed grid, t0 + k x period: each wait sleeps until the next grid point
(ticks_add/ticks_diff, wrap-safe), so a slow tick delays only itself and the schedule never
drifts. A loop that fell more than one period behind skips the missed grid points instead of
running them back to back: the controller takes its dt from the tick's timestamp, so nothing
is lost by skipping, and a burst of catch-up ticks would only delay the next real one.

Watchdog policy. The hardware watchdog resets the Pico, which releases the brake (every GPIO
is an input after reset and the MOSFET gate has a pull-down), when it is not fed for
WDT_TIMEOUT_MS. It is fed at the start of a tick only if the previous tick was healthy:

1. it completed its control step: the board's sense() and then set_brake() ran after the
   previous wait (softcrank_fw.loop calls wait_tick, sense, set_brake in that order, so a
   loop that skipped or lost its control step stops feeding);
2. it was not badly overrun: the tick started no more than MAX_LATE_US after it was due.

So a hang resets the board, and so does a loop that still runs but has stopped controlling or
is chronically late (every tick late by over 50 ms means over 60 ms from a spasm to the brake
letting go instead of 10). One bad tick only skips one feed: the next healthy tick feeds again.

Why 2000 ms: the longest legitimate stalls must fit inside it, with margin. A USB write can
hold the loop for 2 x 500 ms, once, when a host keeps the port open and stops reading
(MICROPY_HW_USB_CDC_TX_TIMEOUT; hostio.py). A flash sector erase stops the CPU and every
interrupt for 45 ms typically and 400 ms at worst (W25Q16JV datasheet, tSE); the recorder
writes at most once a second. Both between two feeds, plus the unhealthy tick after them that
is not fed: 1000 + 400 + 20 ms, about 1.4 s. A shorter timeout would reset a working board in
the middle of a session; a longer one would leave the brake on for longer in a real hang (the
e-stop's first contact cuts the brake's power in hardware whatever the firmware does).

The watchdog starts at the first tick, not before: start-up (files, pin map) cannot reset the
board in a loop, and until the first tick the brake is off anyway.
"""

import time

import machine

from softcrank_fw.compat import const, ticks_add, ticks_diff, ticks_us


def _sleep_us_cpython(us):
    time.sleep(us / 1_000_000)


sleep_us = getattr(time, "sleep_us", _sleep_us_cpython)  # CPython has none (tests replace it)

WDT_TIMEOUT_MS = const(2000)  # see the docstring: above the longest legitimate stall
MAX_LATE_US = const(50_000)  # a tick starting later than this after it was due is unhealthy

_WAITED = const(0)  # wait() returned; nothing since
_SENSED = const(1)  # sense() ran after it
_STEPPED = const(2)  # set_brake() ran after that: the tick completed its control step
_COUNT_MASK = const((1 << 30) - 1)

# RP2040 datasheet, 4.7 Watchdog: CTRL at WATCHDOG_BASE 0x40058000, its ENABLE bit 30; writing
# a 1 to the register's atomic-clear alias (+0x3000) clears just that bit, as the pico-sdk's
# watchdog_disable() does. MicroPython's WDT has no stop; the hardware has.
_WDT_CTRL_CLEAR = 0x40058000 + 0x3000
_WDT_ENABLE = 1 << 30


class Ticker:
    def __init__(self, wdt_timeout_ms=WDT_TIMEOUT_MS):
        self._timeout_ms = wdt_timeout_ms
        self._wdt = None
        self._due = 0  # ticks_us when the coming tick is due
        self._progress = _STEPPED  # start-up counts as a completed tick
        self.ticks = 0  # ticks started, saturating at 2**30 - 1: uptime at 100 Hz
        self.feeds = 0
        self.unhealthy = 0  # ticks after which the watchdog was not fed, mod 2**30
        self.skipped = 0  # grid points skipped because the loop was more than a period late

    def sensed(self):
        if self._progress == _WAITED:
            self._progress = _SENSED

    def stepped(self):
        if self._progress == _SENSED:
            self._progress = _STEPPED

    def begin(self, period_us):
        """Start the next tick: judge the last one, feed the watchdog if it was healthy.

        Returns ticks_us now; the caller may use the slack until the tick is due, then wait()."""
        now = ticks_us()
        if self._wdt is None:
            self._wdt = machine.WDT(timeout=self._timeout_ms)
            self._due = now
        late = ticks_diff(now, self._due)
        if self._progress == _STEPPED and late <= MAX_LATE_US:
            self._wdt.feed()
            self.feeds = (self.feeds + 1) & _COUNT_MASK
        else:
            self.unhealthy = (self.unhealthy + 1) & _COUNT_MASK
        self._progress = _WAITED
        if late >= period_us:  # behind by whole periods: skip them, stay on the grid
            missed = late // period_us
            self.skipped = (self.skipped + missed) & _COUNT_MASK
            self._due = ticks_add(self._due, missed * period_us)
        if self.ticks < _COUNT_MASK:
            self.ticks += 1
        return now

    def wait(self, period_us):
        """Sleep until the tick is due; returns its ticks_us and books the next one."""
        ahead = ticks_diff(self._due, ticks_us())
        if ahead > 0:
            sleep_us(ahead)
        self._due = ticks_add(self._due, period_us)
        return ticks_us()


def disable_watchdog():
    """Stop the RP2040 watchdog: for the REPL after Ctrl-C or a crash, where a reset in the
    middle of someone's work helps no one and the brake is already off."""
    machine.mem32[_WDT_CTRL_CLEAR] = _WDT_ENABLE
