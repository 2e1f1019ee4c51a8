"""The Pico board module on a fake machine and rp2 (fake_machine.py, fake_rp2.py): crank
decoding, load cells, brake, e-stop, tick timing and the watchdog policy.

On MicroPython the critical paths run under micropython.heap_lock() (and the fake
disable_irq() takes the lock too), so an allocation there fails the test.
"""

import fake_machine as fm

fm.install()

import fake_rp2  # noqa: E402
from softcrank_fw.compat import heap_lock, heap_unlock, ticks_add, ticks_diff  # noqa: E402
from softcrank_fw.control import Inputs  # noqa: E402
from softcrank_pico import board as board_mod  # noqa: E402
from softcrank_pico import hx711, pins, quadrature, ticker  # noqa: E402
from softcrank_pico.board import PicoBoard, duty_u16  # noqa: E402

GPIO, EDGES = pins.parse(fm.PINMAP)
TICK = 10_000
BRAKE, ESTOP, A, B, LED, BUZZER = 14, 10, 2, 3, 25, 18


def make(root=None):
    """A fresh fake Pico with a virtual clock: (board, clock, host)."""
    clock = fm.fresh_pico(board_mod, ticker, quadrature)
    host = fm.Host()
    board = PicoBoard(GPIO, EDGES, root if root is not None else fm.scratch(), host)
    return board, clock, host


def locked(fn, *args):
    """fn(*args) with the heap locked where there is a heap lock (MicroPython). No `fn(*args)`
    inside the lock: MicroPython builds the argument array of a star call on the heap."""
    n = len(args)
    a = args[0] if n > 0 else None
    b = args[1] if n > 1 else None
    c = args[2] if n > 2 else None
    d = args[3] if n > 3 else None
    if heap_lock is not None:
        heap_lock()
    try:
        if n == 0:
            return fn()
        if n == 1:
            return fn(a)
        if n == 2:
            return fn(a, b)
        if n == 3:
            return fn(a, b, c)
        return fn(a, b, c, d)
    finally:
        if heap_unlock is not None:
            heap_unlock()


class TickFn:
    """What loop.Tick.run does in the timer's interrupt: sense, then set the brake."""

    def __init__(self, board, inp, brake=0):
        self.board = board
        self.inp = inp
        self.brake = brake
        self.times = []  # allocated once: the interrupt appends only ints below its length
        self.n = 0

    def __call__(self, now):
        self.board.sense(self.inp, self.brake)
        self.board.set_brake(self.brake)
        if self.n < len(self.times):
            self.times[self.n] = now
        self.n += 1


def started(board, inp, brake=0):
    fn = TickFn(board, inp, brake)
    fn.times = [0] * 400
    board.start_ticks(fn, TICK)
    return fn


def tick(board, inp, clock, work_us=2_000, brake=0):
    """The timer fires once (a tick in its interrupt), then one pass of the main loop's
    service(); the pass's work takes work_us. Returns the tick's time."""
    if not fm.TIMERS:
        started(board, inp, brake)
    timer = fm.TIMERS[-1]
    fn = board._ticker._fn
    if isinstance(fn, TickFn):
        fn.brake = brake
    else:
        fn = None
    clock.advance(TICK)
    timer.fire()
    board.service()
    clock.advance(work_us)
    return fn.times[fn.n - 1] if fn is not None and 0 < fn.n <= len(fn.times) else clock.t


# ----- crank edges ---------------------------------------------------------------------------


def turn(clock, steps, gap_us=5_000, times=None):
    """Drive the quadrature pins through `steps` (A, B) states, gap_us apart; returns the
    times of the steps (pass times=False to allocate nothing)."""
    a, b = fm.PINS[A], fm.PINS[B]
    if times is None:
        times = []
    for sa, sb in steps:
        clock.advance(gap_us)
        if sa != a.level:
            a.drive(sa)
        if sb != b.level:
            b.drive(sb)
        if times is not False:
            times.append(clock.t)
    return times


FORWARD = [(1, 0), (1, 1), (0, 1), (0, 0)]  # A leads B
BACKWARD = [(0, 1), (1, 1), (1, 0), (0, 0)]


def test_both_channels_have_a_hard_irq_on_both_edges():
    make()
    for gpio in (A, B):
        pin = fm.PINS[gpio]
        assert pin.hard and pin.handler is not None
        assert pin.trigger == fm.Pin.IRQ_RISING | fm.Pin.IRQ_FALLING


def test_forward_quadrature_gives_forward_edges_with_their_timestamps():
    board, clock, _ = make()
    inp = Inputs()
    times = turn(clock, FORWARD * 2)
    board.sense(inp, 0)
    assert inp.n_edges == 8
    assert list(inp.edge_t[:8]) == times
    assert list(inp.edge_fwd[:8]) == [1] * 8


def test_backward_quadrature_gives_backward_edges():
    board, clock, _ = make()
    inp = Inputs()
    turn(clock, BACKWARD)
    board.sense(inp, 0)
    assert inp.n_edges == 4 and list(inp.edge_fwd[:4]) == [0] * 4


def test_a_reversal_shows_at_the_edge_it_happens():
    board, clock, _ = make()
    inp = Inputs()
    turn(clock, [(1, 0), (1, 1), (1, 0), (0, 0)])  # two steps on, two back
    board.sense(inp, 0)
    assert list(inp.edge_fwd[:4]) == [1, 1, 0, 0]


def test_timestamps_cross_the_ticks_wrap():
    board, clock, _ = make()
    clock.t = (1 << 30) - 7_000
    inp = Inputs()
    times = turn(clock, FORWARD)
    board.sense(inp, 0)
    assert times[0] > times[-1]  # wrapped
    assert list(inp.edge_t[:4]) == times
    for i in range(3):
        assert ticks_diff(inp.edge_t[i + 1], inp.edge_t[i]) == 5_000


def test_a_bounce_that_settled_and_a_missed_edge_add_no_edges():
    board, clock, _ = make()
    inp = Inputs()
    a, b = fm.PINS[A], fm.PINS[B]
    a.level = 0
    a.handler(a)  # an IRQ whose edge bounced back before the handler read the pin
    assert board._crank.errors == 0
    a.level = 1
    b.level = 1
    a.handler(a)  # both channels moved between two IRQs: the direction is unknown
    board.sense(inp, 0)
    assert inp.n_edges == 0 and board._crank.errors == 1


def test_the_irq_handler_allocates_nothing():
    board, clock, _ = make()
    steps = FORWARD * 8
    locked(turn, clock, steps, 5_000, False)  # the handler runs inside Pin.drive
    inp = Inputs()
    board.sense(inp, 0)
    assert inp.n_edges == 32


def test_the_ring_keeps_the_newest_edges_and_counts_the_lost():
    board, clock, _ = make()
    turn(clock, FORWARD * 70, gap_us=100)  # 280 edges: more than the 256-edge ring
    inp = Inputs(max_edges=300)
    board.sense(inp, 0)
    assert inp.n_edges == 256 and board._crank.overruns == 24
    assert ticks_diff(inp.edge_t[255], inp.edge_t[0]) == 255 * 100


def test_sense_takes_edges_inside_a_critical_section():
    board, clock, _ = make()
    turn(clock, FORWARD)
    board.sense(Inputs(), 0)
    assert fm.state["irq_sections"] == 1 and fm.state["irq_depth"] == 0


# ----- load cells ------------------------------------------------------------------------------


def test_sign_extension_of_24_bit_readings():
    assert hx711.signed24(0x000000) == 0
    assert hx711.signed24(0x000001) == 1
    assert hx711.signed24(0x7FFFFF) == 8388607
    assert hx711.signed24(0x800000) == -8388608
    assert hx711.signed24(0xFFFFFF) == -1


def test_each_hx711_has_its_own_state_machine_on_its_pins():
    make()
    left, right = fake_rp2.MACHINES[0], fake_rp2.MACHINES[1]
    assert left.running and right.running
    assert left.program is right.program  # one program, loaded once into PIO0
    assert left.pins["in_base"].id == 4 and left.pins["sideset_base"].id == 5
    assert right.pins["in_base"].id == 6 and right.pins["sideset_base"].id == 7
    assert left.freq == 1_000_000
    assert fm.PINS[4].pull == fm.Pin.PULL_UP and fm.PINS[5].level == 0


def test_sense_takes_the_newest_reading_of_each_cell():
    board, clock, _ = make()
    inp = Inputs()
    left, right = fake_rp2.MACHINES[0], fake_rp2.MACHINES[1]
    left.push(0x000100)
    left.push(0xFFFF00)  # two came since the last tick: the newer counts
    right.push(0x800000)
    board.sense(inp, 0)
    assert inp.left_new and inp.left_raw == -256
    assert inp.right_new and inp.right_raw == -8388608
    assert left.rx_fifo() == 0


def test_no_reading_leaves_the_inputs_alone():
    board, clock, _ = make()
    inp = Inputs()
    board.sense(inp, 0)
    assert not inp.left_new and not inp.right_new


def test_sense_allocates_nothing():
    board, clock, _ = make()
    inp = Inputs()
    left, right = fake_rp2.MACHINES[0], fake_rp2.MACHINES[1]
    for _ in range(20):
        turn(clock, FORWARD, gap_us=2_000)
        left.push(0x123456)
        right.push(0xFEDCBA)
        locked(board.sense, inp, 0)
        assert inp.n_edges == 4 and inp.left_raw == 0x123456 and inp.right_raw == 0xFEDCBA - (1 << 24)
        inp.n_edges = 0


# ----- e-stop, brake, LED, buzzer --------------------------------------------------------------


def test_the_estop_is_normally_closed_with_a_pull_up():
    board, clock, _ = make()
    inp = Inputs()
    pin = fm.PINS[ESTOP]
    assert pin.mode == fm.Pin.IN and pin.pull == fm.Pin.PULL_UP
    pin.drive(0)  # contact closed to ground: released
    board.sense(inp, 0)
    assert inp.estop is False
    pin.drive(1)  # open: pressed, or a cut wire
    board.sense(inp, 0)
    assert inp.estop is True


def test_brake_duty_mapping():
    assert duty_u16(0) == 0
    assert duty_u16(1_000_000) == 65535
    assert duty_u16(500_000) == 32768
    assert duty_u16(-5) == 0 and duty_u16(2_000_000) == 65535
    prev = 0
    for ppm in range(0, 1_000_001, 997):
        d = duty_u16(ppm)
        assert d >= prev
        assert abs(d * 1_000_000 - ppm * 65535) <= 500_000  # within half a step: rounded
        prev = d


def test_set_brake_drives_the_pwm_and_starts_at_zero():
    board, clock, _ = make()
    pwm = fm.PWMS[BRAKE]
    assert pwm.duty_u16() == 0 and pwm.freq() == board_mod.BRAKE_PWM_HZ
    locked(board.set_brake, 200_000)
    assert pwm.duty_u16() == duty_u16(200_000) == 13107


def test_safe_stop_leaves_duty_zero_and_the_pin_a_low_output():
    board, clock, _ = make()
    board.set_brake(800_000)
    board.beep(3000, 500)
    board.safe_stop()
    pwm, pin = fm.PWMS[BRAKE], fm.PINS[BRAKE]
    assert pwm.duty_u16() == 0
    assert pin.mode == fm.Pin.OUT and pin.level == 0 and not pwm.connected
    assert fm.PWMS[BUZZER].duty_u16() == 0


def test_a_beep_stops_on_a_later_tick():
    board, clock, _ = make()
    inp = Inputs()
    buzzer = fm.PWMS[BUZZER]
    board.beep(3000, 25)
    assert buzzer.duty_u16() == 32768 and buzzer.freq() == 3000
    tick(board, inp, clock)
    tick(board, inp, clock)
    assert buzzer.duty_u16() == 32768
    for _ in range(3):
        tick(board, inp, clock)
    assert buzzer.duty_u16() == 0


def test_the_led_flashes_once_a_second_while_ticks_run():
    board, clock, _ = make()
    inp = Inputs()
    levels = [0]
    for _ in range(300):
        tick(board, inp, clock)
        levels.append(fm.PINS[LED].level)
    rises = sum(1 for i in range(1, 301) if levels[i] and not levels[i - 1])
    assert levels[1] == 1 and rises == 3 and sum(levels) == 15


def test_device_id_is_the_unique_id_in_hex():
    board, clock, _ = make()
    assert board.device_id == "pico-e6614104035c2b2a"
    assert board.edges_per_rev == 24 and board.alive() is True


# ----- the tick's timer and the watchdog ------------------------------------------------------


def test_the_tick_runs_from_a_hard_periodic_timer_every_10ms():
    board, clock, _ = make()
    fn = started(board, Inputs())
    timer = fm.TIMERS[0]
    assert timer.mode == fm.Timer.PERIODIC and timer.period == 10 and timer.hard is True
    assert timer.fire() and fn.n == 1 and fn.times[0] == clock.t
    board.stop_ticks()
    assert not timer.active and not timer.fire()


def test_safe_stop_stops_the_ticks_first():
    board, clock, _ = make()
    fn = started(board, Inputs(), brake=500_000)
    fm.TIMERS[0].fire()
    assert fm.PWMS[BRAKE].duty_u16() == duty_u16(500_000)
    board.safe_stop()
    assert not fm.TIMERS[0].fire() and fn.n == 1  # no tick can load the brake again
    assert fm.PWMS[BRAKE].duty_u16() == 0


def test_the_watchdog_starts_at_the_first_service_with_its_timeout():
    board, clock, _ = make()
    started(board, Inputs())
    assert fm.WDTS == []
    tick(board, Inputs(), clock)
    assert len(fm.WDTS) == 1 and fm.WDTS[0].timeout == ticker.WDT_TIMEOUT_MS == 250  # ticker.py: why


def test_the_watchdog_is_fed_after_every_healthy_tick():
    board, clock, _ = make()
    inp = Inputs()
    for _ in range(50):
        tick(board, inp, clock, work_us=4_000)
    assert fm.WDTS[0].feeds == 50


def test_the_watchdog_is_not_fed_when_no_tick_completed_since_the_last_feed():
    board, clock, _ = make()
    inp = Inputs()
    tick(board, inp, clock)
    wdt = fm.WDTS[0]
    fed = wdt.feeds
    board.service()  # the timer did not fire (stopped, or its handler failed): no feed
    assert wdt.feeds == fed and board._ticker.unhealthy == 1
    assert clock.slept == ticker.SERVICE_WAIT_MS * 1000  # it waited for a tick, boundedly
    tick(board, inp, clock)
    assert wdt.feeds == fed + 1


def test_the_watchdog_is_not_fed_when_the_control_step_did_not_run():
    board, clock, _ = make()
    inp = Inputs()
    tick(board, inp, clock)
    wdt = fm.WDTS[0]
    fed = wdt.feeds
    t = board._ticker
    def sensed_only(now):  # a tick that sensed but never set the brake
        board.sense(inp, 0)

    def braked_only(now):  # one that set the brake without sensing first
        board.set_brake(0)

    t._fn = sensed_only
    fm.TIMERS[0].fire()
    board.service()
    assert wdt.feeds == fed
    t._fn = braked_only
    fm.TIMERS[0].fire()
    board.service()
    assert wdt.feeds == fed
    def healthy(now):
        board.sense(inp, 0)
        board.set_brake(0)

    t._fn = healthy
    fm.TIMERS[0].fire()
    board.service()  # healthy again: fed again
    assert wdt.feeds == fed + 1


def test_a_main_loop_that_stops_stops_the_feeds():
    board, clock, _ = make()
    inp = Inputs()
    tick(board, inp, clock)
    fed = fm.WDTS[0].feeds
    for _ in range(30):  # the ticks go on in their interrupt; the main loop never comes
        fm.TIMERS[0].fire()
    assert fm.WDTS[0].feeds == fed


def test_a_command_after_a_tick_changes_nothing_in_the_policy():
    board, clock, _ = make()
    inp = Inputs()
    for _ in range(5):
        tick(board, inp, clock)
        board.set_brake(0)  # after a command, as guard.py does
    assert fm.WDTS[0].feeds == 5


def test_flash_work_widens_the_watchdog_and_narrows_it_again():
    root = fm.scratch()
    board, clock, _ = make(root)
    tick(board, Inputs(), clock)
    board.save_calibration(1, 2, 3000, 3000)
    board.save_caps(1, [1, 2, 3, 4, 5, 6, 7])
    assert [w.timeout for w in fm.WDTS] == [250, ticker.FLASH_WDT_MS, 250, ticker.FLASH_WDT_MS, 250]
    assert ticker.FLASH_WDT_MS == 2000  # a sector erase takes up to 400 ms, a file write several


def test_a_failed_flash_write_still_narrows_the_watchdog():
    board, clock, _ = make("/nonexistent-dir/")
    tick(board, Inputs(), clock)
    try:
        board.save_calibration(1, 2, 3000, 3000)
        raise AssertionError("the write should have failed")
    except OSError:
        pass
    assert fm.WDTS[-1].timeout == 250


def test_hold_is_interrupts_off():
    board, clock, _ = make()
    state = board.hold()
    assert fm.state["irq_depth"] == 1
    board.release(state)
    assert fm.state["irq_depth"] == 0


def test_ctrl_c_is_turned_off_and_on():
    board, clock, _ = make()
    assert board.kbd_intr is True
    board.interrupts(False)
    assert board.kbd_intr is False
    board.safe_stop()  # the REPL gets Ctrl-C back
    assert board.kbd_intr is True


def test_stop_watchdog_clears_the_rp2040_enable_bit():
    board, clock, _ = make()
    board.stop_watchdog()
    assert fm.MEM32 == {0x4005B000: 1 << 30}


def test_the_tick_path_allocates_nothing():
    board, clock, _ = make()
    inp = Inputs()
    fn = started(board, inp)
    tick(board, inp, clock, brake=123_456)
    for _ in range(150):  # the timer's fire() locks the heap as the hard interrupt does
        clock.advance(TICK)
        fm.TIMERS[0].fire()
    assert fm.PWMS[BRAKE].duty_u16() == duty_u16(123_456) and fn.n == 151


def test_ticks_add_matches_the_clock():
    clock = fm.Clock()
    clock.advance(3_000_000)
    assert clock.t == ticks_add(fm.START_US, 3_000_000)
