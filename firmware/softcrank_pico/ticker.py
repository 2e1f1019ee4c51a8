"""The 10 ms tick from a hardware timer, and the watchdog fed only while both halves are healthy.

The tick. machine.Timer(mode=PERIODIC, period=10, hard=True) on the rp2 port is an alarm of
the pico-sdk's default alarm pool (ports/rp2/machine_timer.c): its callback runs in the
TIMER_IRQ_3 interrupt, with the garbage collector and the scheduler locked (shared/runtime/
mpirq.c, mp_irq_dispatch), and is rescheduled from when it was due (alarm_callback returns
-delta_us), so the ticks stay on a fixed 10 ms grid that nothing in the main loop can move: a
USB write waiting for the host, a flood of commands, the garbage collector. Only two things
hold it off: a critical section (machine.disable_irq; each under a millisecond, guard.py)
and a flash erase or program, which runs with interrupts off (ports/rp2/rp2_flash.c) and
which keeper.py allows only while the brake is at zero. In the handler nothing may allocate
(it would raise MemoryError) or escape (the port stops calling a handler that raised):
loop.Tick.run catches everything and hands it to the main loop.

Watchdog policy. The hardware watchdog resets the Pico, which releases the brake (every GPIO
is an input after reset and the MOSFET gate has a pull-down), when it is not fed for
WDT_TIMEOUT_MS. The main loop feeds it (service()) only if, since the last feed, at least one
tick completed its control step: the board's sense() and then set_brake() ran in the handler.
So it resets the board when the ticks stop (a timer that died, a handler that failed) and
when the main loop stops (a hang: then no host command, not even ESTOP, would be heard).

Why 250 ms. The main loop is all that has to fit, since the tick no longer waits for
anything. Its longest legitimate pass, on the emulated RP2040 at 125 MHz (docs/firmware.md,
*The tick*): a full receive budget of commands answered (RX_BYTES_PER_TICK bytes; HELLO's five
answer frames), four records sent one byte at a time (hostio.py: never a write that can wait),
and a garbage collection, together well under 100 ms. 250 ms leaves more than twice that. A
USB write can no longer hold it (hostio.py writes only what is known to fit), and flash work
happens only while the unit is quiet, inside flash_window(): the watchdog is widened to
FLASH_WDT_MS for it (a sector erase takes up to 400 ms, and a littlefs file write may erase
more than one) and narrowed again after. Shorter than 250 ms would leave too little margin
for a slow pass; longer would leave the brake loaded longer if the main loop hung while the
ticks went on (they keep controlling the brake, host silence ramps it down).

The watchdog starts at the first service(), not before: start-up (files, pin map) cannot
reset the board in a loop, and until the first tick the brake is off anyway.
"""

import time

import machine

from softcrank_fw.compat import const, ticks_us

WDT_TIMEOUT_MS = const(250)  # see the docstring: the main loop's longest pass, with margin
FLASH_WDT_MS = const(2000)  # while writing flash, brake at zero: erases of up to 400 ms each
SERVICE_WAIT_MS = const(20)  # service() waits at most this long for the next tick

_WAITED = const(0)  # the tick began; nothing since
_SENSED = const(1)  # sense() ran after it
_STEPPED = const(2)  # set_brake() ran after that: the tick completed its control step
_COUNT_MASK = const(0x3FFFFFFF)  # 2**30 - 1: the largest small int on a Pico

# RP2040 datasheet, 4.7 Watchdog: CTRL at WATCHDOG_BASE 0x40058000, its ENABLE bit 30; writing
# a 1 to the register's atomic-clear alias (+0x3000) clears just that bit, as the pico-sdk's
# watchdog_disable() does. MicroPython's WDT has no stop; the hardware has.
_WDT_CTRL_CLEAR = 0x40058000 + 0x3000
_WDT_ENABLE = 1 << 30


def _sleep_ms_cpython(ms):
    time.sleep(ms / 1000)


sleep_ms = getattr(time, "sleep_ms", _sleep_ms_cpython)  # CPython has none (tests replace it)



def _idle(now_us):
    """No tick yet: what fire() calls before start()."""

class Ticker:
    def __init__(self, wdt_timeout_ms=WDT_TIMEOUT_MS):
        self._timeout_ms = wdt_timeout_ms
        self._wdt = None
        self._timer = None
        self._fn = _idle  # the tick start() is given
        self._progress = _STEPPED
        self.ticks = 0  # ticks started, saturating at 2**30 - 1: uptime at 100 Hz
        self.stepped_ticks = 0  # ticks that completed their control step, mod 2**30
        self._fed_at = 0  # stepped_ticks at the last feed
        self._served = 0  # ticks at the last service()
        self.feeds = 0
        self.unhealthy = 0  # service() calls that did not feed, mod 2**30

    # ----- the interrupt side (allocation-free) -------------------------------------------

    def start(self, fn, period_us):
        """Call fn(ticks_us) every period_us from a hard timer interrupt."""
        self._fn = fn
        # id -1: the rp2 port's software-scheduled alarm timer (the only id it takes)
        self._timer = machine.Timer(-1, mode=machine.Timer.PERIODIC, period=period_us // 1000, hard=True,
                                    callback=self._irq)

    def stop(self):
        timer = self._timer
        self._timer = None
        if timer is not None:
            timer.deinit()

    def _irq(self, _timer):
        self.fire()

    def fire(self):
        """One tick: what the timer's interrupt runs (tests call it directly)."""
        self._progress = _WAITED
        if self.ticks < _COUNT_MASK:
            self.ticks += 1
        self._fn(ticks_us())

    def sensed(self):
        if self._progress == _WAITED:
            self._progress = _SENSED

    def stepped(self):
        if self._progress == _SENSED:
            self._progress = _STEPPED
            self.stepped_ticks = (self.stepped_ticks + 1) & _COUNT_MASK

    # ----- the main loop's side -----------------------------------------------------------

    def service(self):
        """Feed the watchdog if a tick completed its control step since the last feed, then
        wait (at most SERVICE_WAIT_MS) until the next tick has begun: the main loop's pace."""
        if self._wdt is None:
            self._wdt = machine.WDT(timeout=self._timeout_ms)
        if self.stepped_ticks != self._fed_at:
            self._fed_at = self.stepped_ticks
            self._wdt.feed()
            self.feeds = (self.feeds + 1) & _COUNT_MASK
        else:
            self.unhealthy = (self.unhealthy + 1) & _COUNT_MASK
        waited = 0
        while self.ticks == self._served and waited < SERVICE_WAIT_MS and self._timer is not None:
            sleep_ms(1)
            waited += 1
        self._served = self.ticks

    def flash_window(self, on):
        """Widen the watchdog to FLASH_WDT_MS for flash work (brake at zero), and back."""
        if self._wdt is None:
            return
        self._wdt.feed()
        self._wdt = machine.WDT(timeout=FLASH_WDT_MS if on else self._timeout_ms)  # rp2: re-arms
        self._wdt.feed()


def disable_watchdog():
    """Stop the RP2040 watchdog: for the REPL after Ctrl-C or a crash, where a reset in the
    middle of someone's work helps no one and the brake is already off."""
    machine.mem32[_WDT_CTRL_CLEAR] = _WDT_ENABLE
