"""The critical sections commands run in on a Pico (softcrank_fw/guard.py).

The tick runs in a timer interrupt there; a command must change the controller inside one
critical section and leave the brake driven. The fake machine's disable_irq() locks the heap
on MicroPython (fake_machine.py), so a command that allocates inside fails here.
"""

import fake_machine as fm

fm.install()

from softcrank_fw import protocol as P  # noqa: E402
from softcrank_fw.control import ESTOP, IDLE, Controller  # noqa: E402
from softcrank_fw.guard import ALLOCATING, COMMANDS, guard  # noqa: E402

LINK = "softcrank_fw/link.py"


class Board:
    """hold() is the fake machine's disable_irq (the heap locked on MicroPython) unless
    locks_heap is False; everything recorded goes into attributes: nothing allocates."""

    def __init__(self, locks_heap=True):
        self.locks_heap = locks_heap
        self.depth = 0
        self.max_depth = 0
        self.brake_depth = -1  # the depth at the last set_brake
        self.brake = -1
        self.sections = 0

    def hold(self):
        state = fm.disable_irq() if self.locks_heap else 0
        self.depth += 1
        if self.depth > self.max_depth:
            self.max_depth = self.depth
        return state

    def release(self, state):
        self.depth -= 1
        self.sections += 1
        if self.locks_heap:
            fm.enable_irq(state)

    def set_brake(self, ppm):
        self.brake_depth = self.depth
        self.brake = ppm


def guarded(locks_heap=True):
    fm.clear()
    ctl = Controller(24)
    board = Board(locks_heap)
    guard(ctl, board)
    return ctl, board


def test_a_command_runs_in_one_critical_section_and_drives_the_brake_inside_it():
    ctl, board = guarded()
    assert ctl.estop() == 0 and ctl.state == ESTOP
    assert board.sections == 1 and board.max_depth == 1 and board.depth == 0
    assert board.brake_depth == 1 and board.brake == 0
    assert fm.state["irq_depth"] == 0


def test_commands_that_do_not_build_lists_allocate_nothing_inside():
    ctl, board = guarded()
    assert ctl.host_seen() is None
    # fake disable_irq locks the heap (MicroPython); a fresh controller has no still second yet: LOADED
    assert ctl.set_rate(20) == 0 and ctl.tare() == P.NAK_LOADED
    assert ctl.stop() == 0 and ctl.state == IDLE
    assert ctl.caps_refused(P.REFUSED_TAG) is None
    ctl.ring.ack(ctl.ring.oldest())
    assert board.sections == 6 and board.depth == 0


def test_the_list_building_commands_are_the_allocating_ones():
    ctl, board = guarded(locks_heap=False)  # a Pico's disable_irq does not lock the heap
    assert ctl.set_goals(list(ctl.goals.values)) == 0  # collected just before, then a few bytes inside
    assert ctl.set_caps(list(ctl.caps.values)) == 0
    assert set(ALLOCATING) <= set(COMMANDS) and board.sections == 2


def test_every_controller_method_the_link_calls_is_guarded():
    try:
        import os

        here = __file__.rsplit("/", 1)[0]
        path = here + "/../../firmware/" + LINK
        os.stat(path)
    except (OSError, NameError, AttributeError):
        return  # no source beside the tests (an installed image): nothing to read
    with open(path) as f:
        text = f.read()
    called = set()
    for marker in ("ctl.", "self.ctl."):
        start = 0
        while True:
            i = text.find(marker, start)
            if i < 0:
                break
            j = i + len(marker)
            k = j
            while k < len(text) and (text[k].isalpha() or text[k] == "_"):
                k += 1
            if k < len(text) and text[k] == "(":
                called.add(text[j:k])
            start = k
    assert called, "no controller calls found in link.py: the test is reading the wrong file"
    assert called <= set(COMMANDS), sorted(called - set(COMMANDS))
