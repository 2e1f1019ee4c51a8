"""The control tick allocates no memory: proven on MicroPython under micropython.heap_lock().

On CPython there is no heap lock, so these tests skip there; the MicroPython run is the proof.
"""

from softcrank_fw.compat import heap_lock, heap_unlock, ticks_add
from softcrank_fw.control import COOLDOWN, WORK
from softcrank_fw.ring import rec_diff
from support import TICK_US, Bench, Wire, skip


def locked_ticks(bench, n):
    """Run n control ticks with the heap locked; the rider's sensors are read outside the lock."""
    ctl, inp, rider = bench.ctl, bench.inp, bench.rider
    for _ in range(n):
        rider.step(bench.t_us, TICK_US, ctl.brake, inp)
        bench.t_us = ticks_add(bench.t_us, TICK_US)
        heap_lock()
        try:
            ctl.tick(bench.t_us, inp)
            ctl.host_seen()
        finally:
            heap_unlock()


def needs_heap_lock():
    if heap_lock is None:
        skip("no micropython.heap_lock on this interpreter")


def test_the_control_tick_allocates_nothing_through_a_whole_session():
    needs_heap_lock()
    bench = Bench()
    ctl = bench.ctl
    ctl.caps.warmup_s = 60
    bench.run(0.1)
    assert ctl.start() == 0
    locked_ticks(bench, 100 * 70)  # warm-up into work, telemetry into the ring
    assert ctl.state == WORK and ctl.brake > 0
    bench.rider.spasm_n = 500.0  # spasm: zero, rest, events
    locked_ticks(bench, 100)
    bench.rider.spasm_n = 0.0
    locked_ticks(bench, 100 * 12)
    ctl.goals.values[0] = ctl.goals.dur_min = 1
    locked_ticks(bench, 100 * 60)
    assert ctl.state == COOLDOWN
    bench.rider.fault = "rail"  # fault: zero, event
    locked_ticks(bench, 10)
    assert ctl.brake == 0 and ctl.fault_code()


def test_the_tick_allocates_nothing_while_the_host_is_silent_or_the_rider_reverses():
    needs_heap_lock()
    bench = Bench(host=False)
    bench.run(0.1)
    assert bench.ctl.start() == 0
    bench.rider.rpm = -25.0
    ctl, inp, rider = bench.ctl, bench.inp, bench.rider
    for _ in range(100 * 20):
        rider.step(bench.t_us, TICK_US, ctl.brake, inp)
        bench.t_us = ticks_add(bench.t_us, TICK_US)
        heap_lock()
        try:
            ctl.tick(bench.t_us, inp)
        finally:
            heap_unlock()


def test_sending_telemetry_allocates_nothing():
    needs_heap_lock()
    wire = Wire()
    wire.bench.run(5)
    sink = bytearray(64)

    def write(buf, n):
        sink[0] = buf[0]
        return True

    wire.link.write = write
    pending = rec_diff(wire.bench.ctl.ring.next_rec, wire.link.send_rec)
    heap_lock()
    try:
        sent = wire.link.pump(64)
    finally:
        heap_unlock()
    assert sent == pending >= 45  # 5 s at 10 Hz


class _TickBoard:
    """What the timer interrupt's tick touches of a board: sense() and set_brake(). The rider's
    floats are stepped outside the heap lock, as on a Pico the sensors are hardware."""

    def __init__(self, bench):
        self.bench = bench
        self.brake = 0

    def sense(self, inp, brake_ppm):
        pass  # the test steps the rider before the lock

    def set_brake(self, ppm):
        self.brake = ppm


def test_the_interrupt_tick_allocates_nothing_nor_does_its_exception_path():
    """loop.Tick.run is what a Pico's hard timer callback runs: its statistics, the control step
    and the brake, and its catch-all, all under the heap lock the interrupt has."""
    needs_heap_lock()
    from softcrank_fw.loop import Tick, TickStats

    bench = Bench()
    bench.run(0.1)
    assert bench.ctl.start() == 0
    board = _TickBoard(bench)
    tick = Tick(board, bench.ctl, TickStats())
    tick.inp = bench.inp
    ctl, inp, rider = bench.ctl, bench.inp, bench.rider
    for _ in range(100 * 40):
        rider.step(bench.t_us, TICK_US, ctl.brake, inp)
        bench.t_us = ticks_add(bench.t_us, TICK_US)
        heap_lock()
        try:
            tick.run(bench.t_us)
        finally:
            heap_unlock()
        ctl.host_seen()
    assert tick.error is None and board.brake > 0 and tick.stats.ticks == 4000
    tick.ctl = None  # the next tick fails inside (an AttributeError, or MemoryError making it)
    heap_lock()
    try:
        tick.run(bench.t_us)
    finally:
        heap_unlock()
    assert tick.error is not None and board.brake == 0  # caught in the interrupt: brake zero
    tick.ctl = ctl
    tick.run(bench.t_us)  # and no tick runs any more: the main loop raises the error
    assert board.brake == 0
