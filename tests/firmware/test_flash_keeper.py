"""When the firmware writes flash, and what a failed write does (softcrank_fw/keeper.py; issue 13).

The real main loop (loop.run) on a board whose flash records every write with the brake level
and the controller's state at that moment, and can be made to fail (OSError, as a full or worn
littlefs raises). A flash erase stops every interrupt on an RP2040, the tick's included, so
no write may happen while the brake may be loaded; a failed write must never end the firmware.
"""

from softcrank_fw import loop
from softcrank_fw import protocol as P
from softcrank_fw.capsauth import tag
from softcrank_fw.compat import ticks_add, ticks_diff
from softcrank_fw.control import DONE, ESTOP, EV_CAPS_REFUSED, EV_TARED, EV_UNSAVED, FAULT, IDLE, Controller
from softcrank_fw.keeper import RETRY_PASSES
from softcrank_sim.rider import Rider
from support import START_US, TEST_KEY

CAPS = [20, 30, 30, 250, 30, 0, 60, 250, 0]  # protocol 3: eight limits, then the patient
NEW_CAPS = [15, 30, 30, 250, 30, 0, 60, 250, 0]
QUIET = (IDLE, DONE, ESTOP, FAULT)


class FlashBoard:
    """A board for loop.run with its tick inline, a rider, a scripted host and a flash that
    can fail."""

    edges_per_rev = 24
    device_id = "test"

    def __init__(self, script=None, fail=False, fail_from=0, fail_until=1 << 29, still=False):
        self.rider = Rider(24, 1, 20.0)
        if still:  # nobody on the trainer: what a TARE needs (docs/safety.md, row 27)
            self.rider.rpm = 0.0
            self.rider.foot_weight_n = 0.0
        self.t_us = START_US
        self.prev_us = START_US
        self.brake = 0
        self.script = script or {}  # pass number -> bytes the host sends then
        self.rx = []
        self.passes = 0
        self.sent = []
        self.fail = fail  # writes fail while fail is set and fail_from <= passes < fail_until
        self.fail_from = fail_from
        self.fail_until = fail_until
        self.writes = []  # (what, brake, state) at each write attempt
        self.kbd = []  # interrupts(on) calls
        self.ctl = None
        self.stored = None

    def reset_cause(self):
        return 0

    def calibration(self):
        return self.rider.tare[0], self.rider.tare[1], self.rider.cpn[0], self.rider.cpn[1]

    def _flash(self, what):
        self.writes.append((what, self.brake, self.ctl.state))
        if self.fail and self.fail_from <= self.passes < self.fail_until:
            raise OSError(28)  # ENOSPC

    def save_calibration(self, tare_l, tare_r, cpn_l, cpn_r):
        self._flash("calibration")
        self.stored = (tare_l, tare_r, cpn_l, cpn_r)

    def device_key(self):
        return TEST_KEY

    def stored_caps(self):
        return P.DEFAULTS_MISSING, 0, None

    def save_caps(self, counter, values):
        self._flash("caps")

    def alive(self):
        return True

    def interrupts(self, on):
        self.kbd.append(on)

    def wait_tick(self, period_us):
        self.passes += 1
        self.rx.extend(self.script.get(self.passes, b""))
        self.prev_us = self.t_us
        self.t_us = ticks_add(self.t_us, period_us)
        return self.t_us

    def sense(self, inp, brake_ppm):
        self.rider.step(self.prev_us, ticks_diff(self.t_us, self.prev_us), brake_ppm, inp)

    def set_brake(self, ppm):
        self.brake = ppm

    def read_byte(self):
        return self.rx.pop(0) if self.rx else -1

    def write(self, buf, n):
        self.sent.append(bytes(buf[:n]))
        return True


def frame(type_, seq, *values):
    return P.encode(type_, seq, list(values))


def caps(values, counter, seq):
    return frame("CAPS", seq, *(list(values) + [counter, tag(TEST_KEY, "test", counter, values)]))


def ride(board, passes):
    ctl = Controller(24)
    board.ctl = ctl
    loop.run(board, passes, ctl)
    return ctl


def beats(script, start, stop, seq=100):
    """A PING a second from pass `start` to `stop`: a host that is there."""
    for p in range(start, stop, 100):
        script[p] = script.get(p, b"") + frame("PING", seq)
        seq += 1
    return script


def answers(board, seq):
    out = []
    for f in board.sent:
        t, _, v = P.decode(f)
        if t in ("A", "N") and v[0] == seq:
            out.append((t, v))
    return out


def events(ctl, code):
    ring = ctl.ring
    out = []
    rec = ring.oldest()
    for _ in range(ring.count):
        i = ring.index(rec)
        if ring.kind[i] & 0x80 and ring.a[i] == code:
            out.append(ring.b[i])
        rec = (rec + 1) & ((1 << 30) - 1)
    return out


def test_caps_sent_during_a_ride_apply_at_once_and_reach_flash_only_once_it_has_ended():
    script = beats({5: caps(CAPS, 1, 1) + frame("GOALS", 2, 25, 15, 25, 20), 10: frame("START", 3),
                    1500: caps(NEW_CAPS, 2, 4), 3000: frame("STOP", 5)}, 20, 3200)
    board = FlashBoard(script)
    ctl = ride(board, 3200)
    assert answers(board, 4) == [("A", [4])]  # taken mid-ride...
    assert list(ctl.caps.values) == NEW_CAPS  # ...and in force at once
    assert [w[0] for w in board.writes] == ["caps", "caps"]  # the idle one at once, the ride's after it
    assert all(brake == 0 and state in QUIET for _, brake, state in board.writes)
    assert max(ctl.ring.c) > 0  # the brake was loaded in between: something to protect


def test_no_flash_write_while_the_brake_is_loaded():
    script = beats({5: caps(CAPS, 1, 1) + frame("GOALS", 2, 25, 15, 25, 20), 10: frame("START", 3)}, 20, 1500)
    for p in range(200, 1500, 150):  # caps again and again mid-ride
        script[p] = script.get(p, b"") + caps(NEW_CAPS if p % 300 else CAPS, 2 + p, 10 + p)
    board = FlashBoard(script)
    ride(board, 1500)
    assert [w[0] for w in board.writes] == ["caps"]  # only the one before START


def test_tare_with_a_failing_flash_goes_on_says_so_and_keeps_the_tare():
    board = FlashBoard(beats({150: frame("TARE", 1)}, 20, 950), fail=True, still=True)  # TARE after a still second (row 27)
    ctl = ride(board, 950)  # today's loop ended here with an OSError traceback
    assert answers(board, 1) == [("A", [1])]
    assert events(ctl, EV_TARED) and events(ctl, EV_UNSAVED) == [P.UNSAVED_CALIBRATION]
    assert [w[0] for w in board.writes] == ["calibration"]  # one attempt, then it waits RETRY_PASSES
    assert board.stored is None


def test_a_failed_calibration_write_is_retried_and_then_kept():
    board = FlashBoard(beats({150: frame("TARE", 1)}, 20, RETRY_PASSES + 550), fail=True, fail_until=450,
                       still=True)
    ctl = ride(board, RETRY_PASSES + 550)
    assert [w[0] for w in board.writes] == ["calibration", "calibration"]  # failed, then RETRY_PASSES later kept
    assert board.stored == (ctl.left.tare, ctl.right.tare, ctl.left.cpn, ctl.right.cpn)


def test_caps_while_idle_with_a_failing_flash_are_refused_unsaved_and_change_nothing():
    board = FlashBoard({5: caps(NEW_CAPS, 1, 1)}, fail=True)
    ctl = ride(board, 50)
    assert answers(board, 1) == [("N", [1, "UNSAVED"])]
    assert list(ctl.caps.values) != NEW_CAPS
    assert events(ctl, EV_CAPS_REFUSED) == [P.REFUSED_UNSAVED]


def test_caps_from_a_ride_with_a_failing_flash_stay_in_force_and_the_host_is_told():
    script = beats({5: caps(CAPS, 1, 1) + frame("GOALS", 2, 25, 15, 25, 20), 10: frame("START", 3),
                    500: caps(NEW_CAPS, 2, 4), 800: frame("STOP", 5)}, 20, 1000)
    board = FlashBoard(script, fail=True, fail_from=600)
    ctl = ride(board, 1000)
    assert [w[0] for w in board.writes] == ["caps", "caps"]  # the idle one; the ride's, failed
    assert list(ctl.caps.values) == NEW_CAPS
    assert events(ctl, EV_UNSAVED) == [P.UNSAVED_CAPS]


def test_ctrl_c_is_off_while_a_session_is_under_way_and_on_again_after():
    script = beats({5: caps(CAPS, 1, 1) + frame("GOALS", 2, 25, 15, 25, 20), 10: frame("START", 3),
                    400: frame("PAUSE", 4), 500: frame("STOP", 5)}, 20, 600)
    board = FlashBoard(script)
    ride(board, 600)
    assert board.kbd == [True, False, True]  # quiet at boot; START; STOP (paused still counts as a session)
