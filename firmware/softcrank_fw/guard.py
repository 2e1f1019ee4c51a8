"""The critical sections a command runs in, on a board whose timer preempts the main loop.

A Pico's tick runs in a hard timer interrupt (softcrank_pico/ticker.py), which can come
between any two bytecodes of the main loop. A command (link.py) changes the controller in
several steps (a state, a ring event, the brake); a tick in the middle would see half of it.
So guard() replaces each controller method a command may call (COMMANDS: every one link.py
calls) with one that runs inside the board's critical section (hold()/release(): interrupts
off) and drives the brake before leaving it, so a host's ESTOP or PAUSE acts before the next
tick. The tick itself calls none of them. A method link.py starts calling must be added here.
"""

import gc

# The controller's methods a command may call: each runs inside the board's critical section.
COMMANDS = ("host_seen", "set_goals", "start", "pause", "resume", "stop", "estop", "tare",
            "calibrate", "calibration_refused", "set_rate", "set_caps", "caps_refused", "caps_defaults",
            "records_lost")
ALLOCATING = ("set_goals", "set_caps")  # these build small lists (see _guarded)


def guard(ctl, board):
    """Make each of the controller's command methods run inside the board's critical section,
    and drive the brake before leaving it: a command and a tick never interleave. The ring's
    ack (the link's ACK) too."""
    for name in COMMANDS:
        setattr(ctl, name, _guarded(board, ctl, getattr(ctl, name), name in ALLOCATING))
    ring = ctl.ring
    ring.ack = _guarded(board, ctl, ring.ack)


def _guarded(board, ctl, method, allocates=False):
    """The command inside the critical section. Nothing in it allocates (a star call would:
    the arguments are unpacked first), except the two commands in ALLOCATING, which build
    small lists: for them the garbage is collected just before, so their few bytes cannot
    start a collection with interrupts off."""

    def call(*args):
        n = len(args)
        a = args[0] if n > 0 else None
        b = args[1] if n > 1 else None
        if allocates:
            gc.collect()
        state = board.hold()
        try:
            if n == 0:
                return method()
            if n == 1:
                return method(a)
            return method(a, b)
        finally:
            board.set_brake(ctl.brake)
            board.release(state)

    return call
