"""The firmware's main loop: the same on a Pico and on the virtual trainer.

Each 10 ms: wait for the tick, read the sensors, run the control tick and drive the brake;
then take what bytes the host sent (a bounded number, so a flood cannot stall control),
drive the brake again (a host ESTOP or PAUSE acts before the next tick), and send a few
pending records. Whatever happens, the brake is left at zero on the way out.

A board provides: edges_per_rev, device_id, reset_cause(), calibration() -> the stored
(tare_l, tare_r, cpn_l, cpn_r) or None, save_calibration(tare_l, tare_r, cpn_l, cpn_r)
(after a TARE or CAL: so a unit calibrated once stays calibrated), device_key() -> the
key CAPS tags are checked with, or None (capsauth.py), stored_caps() -> (status, counter,
caps) (capstore.load), caps_history() (capstore.load_history: CAPSLOG's answer, protocol 4;
optional), save_caps(counter, caps) (raises OSError if the flash will not take
them), alive() -> bool (False ends the
loop: the simulated board's host went away; a Pico's is always True),
wait_tick(period_us) -> ticks_us, sense(inputs, brake_ppm), set_brake(ppm),
read_byte() -> 0..255 or -1, write(buf, n) -> bool.
"""

from softcrank_fw.compat import const, ticks_diff, ticks_us
from softcrank_fw.control import EV_BOOT, Controller, Inputs
from softcrank_fw.link import Link

TICK_US = const(10_000)  # 100 Hz
LATE_US = const(15_000)  # a tick period longer than this counts as late
RX_BYTES_PER_TICK = const(256)  # more than a 115200-baud UART brings in 10 ms
RECORDS_PER_TICK = const(4)  # 400 records/s: replays catch up fast, live needs 0.1-0.5


def run(board, ticks=-1, ctl=None):
    """Run the firmware on `board`, for `ticks` ticks (-1: forever).

    `ctl`: a Controller made beforehand. Making it first thing at start-up, before anything
    else is imported, gives its ring (tens of KB) unfragmented heap on a small board."""
    if ctl is None:
        ctl = Controller(board.edges_per_rev)
    stats = TickStats()
    inp = Inputs()
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
    link = Link(ctl, board.write, board.device_id, stats=stats, key=board.device_key(), caps_counter=counter,
                save_caps=board.save_caps,
                history=getattr(board, "caps_history", None))
    link.send_rec = first  # the host gets the start-up events too
    try:
        while ticks != 0 and board.alive():
            now = board.wait_tick(TICK_US)
            stats.tick(ticks_us())
            board.sense(inp, ctl.brake)
            board.set_brake(ctl.tick(now, inp))
            for _ in range(RX_BYTES_PER_TICK):
                byte = board.read_byte()
                if byte < 0:
                    break
                link.feed(byte)
            board.set_brake(ctl.brake)
            if ctl.calibration_changed:  # a tare or calibration just finished (rare): keep it
                board.save_calibration(ctl.left.tare, ctl.right.tare, ctl.left.cpn, ctl.right.cpn)
            link.pump(RECORDS_PER_TICK)
            ticks -= 1
    finally:
        board.set_brake(0)
    return ctl


class TickStats:
    """How regular the tick really is, by the wall clock (on the virtual trainer too, where
    the control clock is virtual): the longest period and the late ticks since last asked."""

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
        self.ticks = (self.ticks + 1) & ((1 << 30) - 1)

    def reset(self):
        self.ticks = 0
        self.period_max_us = 0
        self.late = 0
