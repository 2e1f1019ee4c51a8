"""The few MicroPython built-ins the core needs, with CPython stand-ins.

On MicroPython these are the real ones. On CPython the tick counter wraps at 2**30, exactly
like MicroPython's, so CPython tests exercise the wrap-around too.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


try:
    from time import ticks_add, ticks_diff, ticks_us
except ImportError:  # CPython
    import time as _time

    TICKS_PERIOD = 1 << 30
    _TICKS_MAX = TICKS_PERIOD - 1
    _TICKS_HALF = TICKS_PERIOD // 2

    def ticks_us():
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
