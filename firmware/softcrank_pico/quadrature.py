"""Crank edges from two quadrature channels, timestamped by a hard IRQ, kept in a ring.

Why a hard IRQ: a soft IRQ is only scheduled, and MicroPython's scheduler queue holds 8
callbacks; when it is full, further edges are dropped without a word. A hard IRQ runs at once,
in interrupt context, so every edge gets its own ticks_us. The price is the rules of interrupt
context, which the handler keeps:

- no allocation (the heap may be mid-collection): the handler is a bound method made once in
  __init__ and kept (each `self._edge` lookup would otherwise build a new bound method), and
  edges go into an array('i') of timestamps and a bytearray of directions allocated here;
- integers only, all below 2**30 (ticks_us wraps there; the write counter is masked to it);
- short: read both pins, one table lookup, two stores.

Latency: MicroPython on an RP2040 enters a hard IRQ handler within some tens of us, so every
timestamp is that late, by much the same amount each time. At the fastest cadence that matters,
300 rpm with 360 edges per revolution (the pin map's maximum), edges come every
1 / (5 rev/s x 360) = 556 us: far apart. While flash is being written (the recorder, once a
second) interrupts wait: an edge in that window is stamped late, and if the crank moved two
steps in it the handler sees no change or both channels changed (counted in `errors`). Edges
can be lost that way; a wrong direction cannot be invented.

Decoding: the handler reads both channels and looks the (previous, new) pair up in a 16-entry
table. One step along A-leads-B (00 -> 10 -> 11 -> 01 -> 00) is forward, the other way is
backward, no change (a bounce that settled back before the handler ran) is nothing, both
channels changed at once is an error. Every quadrature edge of either channel counts, so a
sensor with N pole pairs on both channels gives 4N edges per revolution.

Ring: 256 edges, 14 ticks of the fastest edges above; drain() empties it every tick, copying
what came since the last call into the control loop's Inputs with interrupts disabled, so the
handler can never write a slot while it is read. The window is a few us per edge: a handful of
edges a tick at rehab speeds, 18 at the fastest above. An edge meanwhile waits, stamped late.
"""

from array import array

import machine
from machine import Pin

from softcrank_fw.compat import const, ticks_us

_RING = const(256)  # a power of two, so a slot is `count & _SLOT`
_SLOT = const(_RING - 1)
_COUNT_MASK = const((1 << 30) - 1)  # counters wrap here: always a small int

_NONE = const(0)
_FORWARD = const(1)
_BACKWARD = const(2)
_ERROR = const(3)
# Indexed by previous state << 2 | new state, a state being A << 1 | B.
_STEP = bytes((
    _NONE, _BACKWARD, _FORWARD, _ERROR,  # from 00
    _FORWARD, _NONE, _ERROR, _BACKWARD,  # from 01
    _BACKWARD, _ERROR, _NONE, _FORWARD,  # from 10
    _ERROR, _FORWARD, _BACKWARD, _NONE,  # from 11
))


class Quadrature:
    def __init__(self, pin_a, pin_b, reverse=False):
        """pin_a, pin_b: input Pins; reverse swaps forward and backward (a mirrored mount)."""
        self._a = pin_a
        self._b = pin_b
        self._flip = 1 if reverse else 0
        self._t = array("i", [0] * _RING)  # ticks_us of each edge
        self._fwd = bytearray(_RING)  # 1 forward, 0 backward
        self._head = 0  # edges written, mod 2**30 (the handler's)
        self._tail = 0  # edges drained (drain()'s)
        self._state = (pin_a.value() << 1) | pin_b.value()
        self.errors = 0  # both channels changed between two IRQs: an edge was missed
        self.overruns = 0  # edges lost because drain() was not called for 256 edges
        self._handler = self._edge  # made once: a hard IRQ handler must not allocate
        trigger = Pin.IRQ_RISING | Pin.IRQ_FALLING
        pin_a.irq(handler=self._handler, trigger=trigger, hard=True)
        pin_b.irq(handler=self._handler, trigger=trigger, hard=True)

    def _edge(self, _pin):
        """The hard IRQ handler of both channels."""
        t = ticks_us()
        new = (self._a.value() << 1) | self._b.value()
        step = _STEP[(self._state << 2) | new]
        self._state = new
        if step == _NONE:
            return
        if step == _ERROR:
            self.errors = (self.errors + 1) & _COUNT_MASK
            return
        slot = self._head & _SLOT
        self._t[slot] = t
        self._fwd[slot] = (step & 1) ^ self._flip
        self._head = (self._head + 1) & _COUNT_MASK

    def drain(self, inputs):
        """Move every edge since the last call into inputs.add_edge(); returns how many."""
        irq = machine.disable_irq()
        try:
            head = self._head
            n = (head - self._tail) & _COUNT_MASK
            if n > _RING:
                self.overruns = (self.overruns + n - _RING) & _COUNT_MASK
                n = _RING
            i = (head - n) & _COUNT_MASK
            for _ in range(n):
                slot = i & _SLOT
                inputs.add_edge(self._t[slot], self._fwd[slot])
                i += 1
            self._tail = head
        finally:  # whatever happens, interrupts come back on
            machine.enable_irq(irq)
        return n

    def stop(self):
        self._a.irq(handler=None)
        self._b.irq(handler=None)
