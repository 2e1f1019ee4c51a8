"""A fake `machine` module for testing softcrank_pico off the board, on CPython and MicroPython.

install() puts it (and fake_rp2) into sys.modules before softcrank_pico is imported; the
MicroPython unix port has a real `machine` of its own, and sys.modules wins over it.

The trick from micropython-lib's usb-device tests: disable_irq() calls micropython.heap_lock()
and enable_irq() calls heap_unlock(), so on MicroPython anything that allocates inside a
critical section raises MemoryError and the test fails right there.

Every Pin and PWM made is kept in PINS / PWMS by GPIO number, so a test can find what the board
made from its pin map: `fake_machine.PINS[14]`.
"""

import sys

try:
    from micropython import heap_lock, heap_unlock
except ImportError:  # CPython: no heap lock; the MicroPython run is the proof
    heap_lock = None
    heap_unlock = None

PWRON_RESET = 1  # the rp2 port's values
WDT_RESET = 3

PINS = {}
PWMS = {}
WDTS = []
TIMERS = []
RESETS = []  # one entry per reset() call
MEM32 = {}  # address -> last value written through mem32
state = {"reset_cause": PWRON_RESET, "irq_depth": 0, "irq_sections": 0, "clock": None}


class Reset(BaseException):
    """What the fake reset() raises: a real one never returns, so neither may this."""


def clear():
    """Forget every pin, PWM, watchdog and reset: a fresh board."""
    PINS.clear()
    PWMS.clear()
    del WDTS[:]
    del TIMERS[:]
    del RESETS[:]
    MEM32.clear()
    while state["irq_depth"] > 0:  # a test that failed inside a critical section
        enable_irq()
    state["reset_cause"] = PWRON_RESET
    state["irq_depth"] = 0
    state["irq_sections"] = 0
    state["clock"] = None


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = -1
        self.pull = -1
        self.level = 0
        self.handler = None
        self.trigger = 0
        self.hard = False
        self.init(mode, pull, value)
        PINS[id] = self

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self.level = 1 if value else 0
        if self.mode == Pin.OUT:
            pwm = PWMS.get(self.id)
            if pwm is not None:
                pwm.connected = False  # the pin is a plain GPIO again, not the PWM's

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        return None

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self.handler = handler
        self.trigger = trigger
        self.hard = hard

    def drive(self, level):
        """The outside world sets the level; an armed IRQ fires if the trigger matches."""
        old = self.level
        self.level = 1 if level else 0
        if self.handler is None or old == self.level:
            return
        edge = Pin.IRQ_RISING if self.level else Pin.IRQ_FALLING
        if self.trigger & edge:
            self.handler(self)


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16
        self.connected = True
        self.deinited = False
        PWMS[pin.id] = self

    def freq(self, hz=None):
        if hz is None:
            return self._freq
        self._freq = hz
        return None

    def duty_u16(self, duty=None):
        if duty is None:
            return self._duty
        if not 0 <= duty <= 65535:
            raise ValueError("duty_u16 out of range")
        self._duty = duty
        return None

    def deinit(self):
        self.deinited = True
        self._duty = 0


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.feeds = 0
        WDTS.append(self)

    def feed(self):
        self.feeds += 1


class Timer:
    """machine.Timer as the rp2 port has it; fire() is one expiry: the callback runs as a hard
    one does (mp_irq_dispatch), with the heap locked on MicroPython."""

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, mode=PERIODIC, period=-1, freq=-1, tick_hz=1000, callback=None, hard=False):
        self.mode = mode
        self.period = period
        self.hard = hard
        self.callback = callback
        self.active = True
        self.fired = 0
        clock = state["clock"]
        self.due = (clock.t + period * 1000) & TICKS_MASK if clock is not None else 0  # for a clock that fires timers
        TIMERS.append(self)

    def deinit(self):
        self.active = False

    def fire(self):
        if not self.active:
            return False
        self.fired += 1
        if heap_lock is not None and self.hard:
            heap_lock()
        try:
            self.callback(self)
        finally:
            if heap_unlock is not None and self.hard:
                heap_unlock()
        return True


def unique_id():
    return b"\xe6\x61\x41\x04\x03\x5c\x2b\x2a"


def reset_cause():
    return state["reset_cause"]


def reset():
    RESETS.append(1)
    raise Reset()


def disable_irq():
    state["irq_depth"] += 1
    if heap_lock is not None:
        heap_lock()
    return 1


def enable_irq(s=1):
    if heap_unlock is not None:
        heap_unlock()
    state["irq_depth"] -= 1
    state["irq_sections"] += 1


class _Mem:
    def __getitem__(self, address):
        return MEM32.get(address, 0)

    def __setitem__(self, address, value):
        MEM32[address] = value


mem32 = _Mem()


def install():
    """Put the fakes into sys.modules and drop any softcrank_pico modules imported before."""
    import fake_rp2

    sys.modules["machine"] = sys.modules[__name__]
    sys.modules["rp2"] = fake_rp2
    for name in list(sys.modules):
        if name.startswith("softcrank_pico"):
            del sys.modules[name]
    clear()
    fake_rp2.clear()


# ----- the rest of the fake world: a clock, a host, files, a pin map ----------------------

TICKS_MASK = (1 << 30) - 1
START_US = (1 << 30) - 2_000_000  # 2 s before ticks_us wraps: every test crosses the wrap


class Clock:
    """ticks_us and sleep_us for the board's modules: time moves only when a test moves it,
    or when the board sleeps. With fires_timers, periodic Timers made after it fire at their
    due times as the clock passes them, as the hardware timer would (use_clock(...) and then
    clock.fires_timers = True)."""

    def __init__(self, t=START_US):
        self.t = t
        self.slept = 0
        self.fires_timers = False
        state["clock"] = self

    def ticks_us(self):
        return self.t

    def sleep_us(self, us):
        self.slept += us
        self.advance(us)

    def sleep_ms(self, ms):
        self.sleep_us(ms * 1000)

    def advance(self, us):
        """No comprehension in here: one would make `us` a closure cell, allocated at every
        call, and tests advance the clock with the heap locked."""
        while self.fires_timers:  # the timers due on the way fire, in order, each at its time
            first = None
            first_d = us + 1
            for tm in TIMERS:
                if tm.active and tm.period > 0:
                    d = _diff(tm.due, self.t)
                    if d < first_d:
                        first, first_d = tm, d
            if first is None:
                break
            self.t = first.due
            us -= first_d
            first.due = (first.due + first.period * 1000) & TICKS_MASK
            first.fire()
        self.t = (self.t + us) & TICKS_MASK


def _diff(a, b):
    return ((a - b + (1 << 29)) & TICKS_MASK) - (1 << 29)


def use_clock(clock, *modules):
    """Point every given module's ticks_us (and sleep_us and sleep_ms, where it has them) at
    the clock."""
    for module in modules:
        module.ticks_us = clock.ticks_us
        if hasattr(module, "sleep_us"):
            module.sleep_us = clock.sleep_us
        if hasattr(module, "sleep_ms"):
            module.sleep_ms = clock.sleep_ms


class Host:
    """The board's host link, without USB: bytes to read, frames written."""

    def __init__(self, data=b""):
        self.rx = list(data)
        self.sent = []
        self.ticks = 0

    def new_tick(self):
        self.ticks += 1

    def read_byte(self):
        return self.rx.pop(0) if self.rx else -1

    def write(self, buf, n):
        self.sent.append(bytes(buf[:n]))
        return True


PINMAP = {
    "format": 1,
    "edges_per_rev": 24,
    "pins": {
        "crank_a": {"gpio": 2, "mode": "input"},
        "crank_b": {"gpio": 3, "mode": "input"},
        "load_left_dout": {"gpio": 4, "mode": "input"},
        "load_left_sck": {"gpio": 5, "mode": "output"},
        "load_right_dout": {"gpio": 6, "mode": "input"},
        "load_right_sck": {"gpio": 7, "mode": "output"},
        "estop": {"gpio": 10, "mode": "input"},
        "brake_pwm": {"gpio": 14, "mode": "pwm"},
        "led": {"gpio": 25, "mode": "output"},
        "buzzer": {"gpio": 18, "mode": "pwm"},
    },
}


def scratch():
    """An empty directory for the board's files, one per runtime; returns it with a '/'."""
    import os

    path = "/tmp/softcrank-pico-tests-" + sys.implementation.name
    try:
        os.mkdir(path)
    except OSError:
        pass
    for name in os.listdir(path):
        os.remove(path + "/" + name)
    return path + "/"


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def fresh_pico(*modules):
    """Fake machine and rp2 back to power-on, with a new virtual clock installed into
    `modules` (the softcrank_pico modules that read the time); returns the clock."""
    import fake_rp2

    clear()
    fake_rp2.clear()
    clock = Clock()
    use_clock(clock, *modules)
    return clock
