"""A fake `rp2` module: PIO programs are not assembled and state machines run nothing.

asm_pio returns the program function untouched (its body, the PIO DSL, is never called). A
StateMachine has an RX FIFO that a test fills with push(word), the way the PIO program would;
rx_fifo() and get() read it like the real one, without allocating.
"""

MACHINES = {}  # state machine id -> the last StateMachine made with it

_FIFO_DEPTH = 4  # words, as on an RP2040 without FIFO joining


def clear():
    MACHINES.clear()


class PIO:
    OUT_LOW = 0
    OUT_HIGH = 1
    IN_LOW = 0
    IN_HIGH = 1
    SHIFT_LEFT = 0
    SHIFT_RIGHT = 1
    JOIN_NONE = 0
    JOIN_TX = 1
    JOIN_RX = 2


def asm_pio(**config):
    def assemble(program):
        return program

    return assemble


class StateMachine:
    def __init__(self, id, program=None, freq=-1, **pins):
        self.id = id
        self.program = program
        self.freq = freq
        self.pins = pins
        self.running = False
        self._fifo = [0] * _FIFO_DEPTH
        self._start = 0
        self._count = 0
        self.dropped = 0
        MACHINES[id] = self

    def active(self, value=None):
        if value is None:
            return self.running
        self.running = bool(value)
        return self.running

    def push(self, word):
        """What the PIO program's `push(noblock)` does: a full FIFO drops the new word."""
        if self._count == _FIFO_DEPTH:
            self.dropped += 1
            return
        self._fifo[(self._start + self._count) % _FIFO_DEPTH] = word
        self._count += 1

    def rx_fifo(self):
        return self._count

    def get(self):
        if not self._count:
            raise RuntimeError("a real get() would block forever here")
        word = self._fifo[self._start]
        self._start = (self._start + 1) % _FIFO_DEPTH
        self._count -= 1
        return word
