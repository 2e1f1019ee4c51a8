"""The few MicroPython built-ins the core needs, with CPython stand-ins.

The tick counter wraps at 2**30 everywhere, as it does on a Pico, so timestamps always fit
the 32-bit arrays that hold them and every runtime exercises the wrap-around. On a Pico these
are the real ticks functions. The MicroPython unix port's ticks wrap at 2**62 instead, and
CPython has none, so there the same arithmetic is done here, masked to 2**30.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


_TICKS_MAX = const((1 << 30) - 1)
_TICKS_HALF = const(1 << 29)

try:
    import time as _time

    _native = _time.ticks_add(0, -1) == _TICKS_MAX  # a Pico: the real ones wrap at 2**30
except AttributeError:  # CPython
    _native = False

if _native:
    ticks_add = _time.ticks_add
    ticks_diff = _time.ticks_diff
    ticks_us = _time.ticks_us
else:

    def ticks_us():
        if hasattr(_time, "ticks_us"):
            return _time.ticks_us() & _TICKS_MAX
        return (_time.monotonic_ns() // 1000) & _TICKS_MAX

    def ticks_add(ticks, delta):
        return (ticks + delta) & _TICKS_MAX

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF


try:
    from micropython import heap_lock, heap_unlock
except ImportError:  # CPython (and MicroPython builds without the heap lock)
    heap_lock = None
    heap_unlock = None
