"""The firmware's main loop: the same on a Pico and on the virtual trainer.

Two halves that share only the controller and its preallocated ring:

- the tick (Tick.run), every 10 ms: read the sensors, run the control step, drive the brake.
  It allocates nothing (tests/firmware/test_heap.py) and takes no lock, so it can run from a
  hardware timer's hard interrupt. On a board with `start_ticks` (a Pico: machine.Timer with
  a hard callback; the virtual trainer: its own virtual timer) nothing in the other half can
  delay it: not a host that stops reading, not a flood of commands, not a flash write (those
  happen only when the brake is at zero, below). docs/firmware.md, *The tick*.
- the host half (run's loop), once per tick or so: take what bytes the host sent (a bounded
  number), answer, send a few pending records, and do all flash work (keeper.py).

A command changes the controller inside the board's critical section (interrupts off on a
Pico): guard.py wraps the controller's command methods, so a tick never sees half a command;
each holds it for well under a millisecond (a state change and a ring event). After a
command the brake is driven again at once, so a host ESTOP or PAUSE acts before the next tick.

A board without `start_ticks` (the benchmarks' boards, today's polled boards in tests) runs
the tick inline, from wait_tick, as the firmware did before: docs/firmware.md compares them.
A board whose timer cannot preempt the main loop (`preempts = False`: the virtual trainer's
runs ticks only where the main loop waits) needs no critical sections; the brake is driven
again after the host's bytes instead.

Keyboard interrupt. The USB serial port is also the REPL's: a 0x03 byte raises
KeyboardInterrupt, which is how mpremote and `softcrank deploy` break in. While a session is
under way (keeper.Keeper.quiet() is False) the board turns that off (micropython.kbd_intr(-1)
on a Pico), so a stray 0x03 in the data is only a bad frame; once the unit is quiet again it
is back on.

A board provides: edges_per_rev, device_id, reset_cause(), calibration() -> the stored
(tare_l, tare_r, cpn_l, cpn_r) or None, save_calibration(tare_l, tare_r, cpn_l, cpn_r) and
save_caps(counter, caps) (flash writes; raise OSError if the flash will not take them; keeper.py
decides when they happen),
device_key() -> the key CAPS tags are checked with, or None (capsauth.py), stored_caps() ->
(status, counter, caps) (capstore.load), caps_history() (capstore.load_history: CAPSLOG's
answer, protocol 4; optional), alive() -> bool (False ends the loop: the
simulated board's host went away; a Pico's is always True), sense(inputs, brake_ppm),
set_brake(ppm), read_byte() -> 0..255 or -1, write(buf, n) -> bool; and either
wait_tick(period_us) -> ticks_us (the tick runs inline) or start_ticks(fn, period_us),
stop_ticks(), service() (the host half's pace: returns after the next tick, the watchdog
fed), hold() -> state and release(state) (the critical section), interrupts(on).
Optional: flush_recording() (flash work, done only when quiet), tick_failed(exc).
"""

from softcrank_fw.compat import const, ticks_diff
from softcrank_fw.control import EV_BOOT, Controller, Inputs
from softcrank_fw.keeper import Keeper
from softcrank_fw.link import Link

TICK_US = const(10_000)  # 100 Hz
LATE_US = const(12_000)  # a tick period longer than this counts as late (issue 13's bound)
RX_BYTES_PER_TICK = const(256)  # more than a 115200-baud UART brings in 10 ms
RECORDS_PER_TICK = const(4)  # 400 records/s: replays catch up fast, live needs 0.1-0.5
_COUNT_MASK = const(0x3FFFFFFF)  # 2**30 - 1, the largest small int on a Pico: no big int in the tick



def run(board, ticks=-1, ctl=None):
    """Run the firmware on `board`, for `ticks` passes of the host half (-1: forever).

    `ctl`: a Controller made beforehand. Making it first thing at start-up, before anything
    else is imported, gives its ring (tens of KB) unfragmented heap on a small board."""
    if ctl is None:
        ctl = Controller(board.edges_per_rev)
    stats = TickStats()
    first = ctl.ring.next_rec
    stored = board.calibration()
    if stored:
        ctl.left.tare, ctl.right.tare, ctl.left.cpn, ctl.right.cpn = stored
    ctl.ring.event(ctl.t_ms, ctl.state, EV_BOOT, board.reset_cause())
    status, counter, caps = board.stored_caps()
    if status:
        ctl.caps_defaults(status)  # the built-in caps stay
    else:
        ctl.set_caps(caps, restored=True)
    keeper = Keeper(board, ctl)
    link = Link(ctl, board.write, board.device_id, stats=stats, key=board.device_key(), caps_counter=counter,
                save_caps=keeper.caps,
                history=getattr(board, "caps_history", None))
    link.send_rec = first  # the host gets the start-up events too
    tick = Tick(board, ctl, stats)
    timed = hasattr(board, "start_ticks")
    guarded = timed and getattr(board, "preempts", True)  # the virtual trainer's timer does not
    if guarded:
        from softcrank_fw.guard import guard  # a Pico's: the virtual trainer's heap is the tighter

        guard(ctl, board)
    if timed:
        board.start_ticks(tick.run, TICK_US)
    try:
        while ticks != 0 and board.alive():
            if timed:
                board.service()
            else:
                tick.run(board.wait_tick(TICK_US))
            if tick.error is not None:
                raise tick.error  # the tick already put the brake at zero
            for _ in range(RX_BYTES_PER_TICK):
                byte = board.read_byte()
                if byte < 0:
                    break
                link.feed(byte)
            if not guarded:
                board.set_brake(ctl.brake)  # guard does this after each command
            keeper.step()  # before pump: it reads calibration_changed, which pump clears
            link.pump(RECORDS_PER_TICK)
            ticks -= 1
    finally:
        if timed:
            board.stop_ticks()
        board.set_brake(0)
    return ctl


class Tick:
    """The control tick: what a Pico runs in its timer's hard interrupt. Allocates nothing.

    Nothing may escape an interrupt handler (the rp2 port would stop calling it, printing a
    traceback, with the brake at its last level): an exception here, KeyboardInterrupt
    included (the VM raises a pending Ctrl-C wherever it next checks, an interrupt handler
    too), puts the brake at zero, stops the ticks' work and is raised again by the host half."""

    def __init__(self, board, ctl, stats):
        self.board = board
        self.ctl = ctl
        self.inp = Inputs()
        self.stats = stats
        self.error = None

    def run(self, now):
        if self.error is not None:
            return
        board = self.board
        ctl = self.ctl
        try:
            self.stats.tick(now)
            board.sense(self.inp, ctl.brake)
            board.set_brake(ctl.tick(now, self.inp))
        except BaseException as e:  # noqa: B036 - see the docstring
            board.set_brake(0)
            self.error = e


class TickStats:
    """How regular the tick really is, by the clock the tick is given (ticks_us on a Pico; the
    virtual trainer's hardware clock there): the longest period and the late ticks since last
    asked. Allocation-free: it runs in the tick."""

    def __init__(self):
        self.ticks = 0
        self.period_max_us = 0
        self.late = 0
        self._last = -1

    def tick(self, now_us):
        if self._last >= 0:
            period = ticks_diff(now_us, self._last)
            if period > self.period_max_us:
                self.period_max_us = period
            if period > LATE_US:
                self.late += 1
        self._last = now_us
        self.ticks = (self.ticks + 1) & _COUNT_MASK

    def reset(self):
        self.ticks = 0
        self.period_max_us = 0
        self.late = 0
