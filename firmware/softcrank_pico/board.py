"""The real board: a Raspberry Pi Pico (RP2040) driving a softcrank trainer.

PicoBoard is the twin of softcrank_sim.board.SimBoard: the board interface softcrank_fw/loop.py
documents, over real pins. Each part has its own module:

| part | module | how |
| --- | --- | --- |
| crank edges | quadrature.py | hard IRQ on both channels, timestamps in a preallocated ring |
| load cells | hx711.py | one PIO state machine per HX711, readings taken from its FIFO |
| tick and watchdog | ticker.py | a hard timer interrupt every 10 ms; the watchdog fed by the main loop after healthy ticks |
| host link | hostio.py | USB stdin/stdout, polled, one byte per write: never waiting on the host |
| buzzer | beeper.py | PWM, stopped on a later tick |
| why we started | resetlog.py | the chip's reset cause plus the firmware's own record |
| calibration | softcrank_fw/calibration.py | calibration.json on flash |
| caps, CAPS key | softcrank_fw/capstore.py, capsauth.py | caps.json and device.key on flash |
| raw recording | recorder.py | optional, events to a text file, written only while the unit is quiet |

Pins come from pinmap.json by name (pins.py). Brake: PWM at BRAKE_PWM_HZ on the MOSFET gate,
high = brake on; e-stop: normally closed to ground with a pull-up, so high means pressed or a
cut wire; status LED: a short flash each second while ticks run.

sense() and set_brake() run in the timer's hard interrupt with the control tick (ticker.py)
and allocate nothing (tests run them under micropython.heap_lock(), as the interrupt does).
Everything else runs in the main loop: service() paces it, feeds the watchdog and collects
the garbage once a second (the tick cannot be delayed by it; collecting on schedule keeps the
automatic collection, which runs wherever an allocation finds the heap full, rare).
hold()/release() are the critical section a command runs in (interrupts off). Flash writes
widen the watchdog for their duration (ticker.flash_window); softcrank_fw/keeper.py decides
when they happen (only with the brake at zero).
"""

import binascii
import gc

import machine
from machine import PWM, Pin

from softcrank_fw.compat import const, ticks_us
from softcrank_fw.force import DEFAULT_CPN
from softcrank_fw import calibration, capsauth, capstore
from softcrank_pico import resetlog
from softcrank_pico.beeper import Beeper
from softcrank_pico.hostio import HostIO
from softcrank_pico.hx711 import HX711, NO_READING
from softcrank_pico.quadrature import Quadrature
from softcrank_pico.recorder import EDGE, ESTOP, LEFT, RIGHT, Recorder
from softcrank_pico.recorder import FILE as RECORDING_FILE
from softcrank_pico.ticker import Ticker, disable_watchdog

BRAKE_PWM_HZ = const(20_000)  # above hearing, so the coil does not whine (hardware/bom.csv)
PPM_FULL = const(1_000_000)  # the controller's brake command: ppm of the brake's range
DUTY_FULL = const(65535)  # duty_u16 for 100 %

_SM_LEFT = const(0)  # PIO0 state machines for the two HX711s; one program, loaded once
_SM_RIGHT = const(1)
_BUZZER_HZ = const(2700)  # the piezo's resonance, where older ears lose least (bom.csv)
_BEAT_TICKS = const(100)  # the LED flashes once a second...
_BEAT_ON = const(5)  # ...for 50 ms
_GC_BEAT = const(50)  # and half a second later the garbage collector runs, in the main loop
_CTRL_C = const(3)  # the REPL's interrupt character


def duty_u16(ppm):
    """Brake duty for `ppm`: round(ppm x 65535 / 10**6), exactly, with every intermediate
    under 2**30 (a Pico's small-int range: no big integers, no allocation).

    65535 / 10**6 = 13107 / 200000. ppm x 13107 could reach 1.3 x 10**10, so ppm is split
    into q x 1000 + r: q x 13107 = 200a + b gives ppm x 13107 = 200000a + 1000b + 13107r,
    and the rounded quotient is a + (1000b + 13107r + 100000) // 200000. The largest
    intermediate is q x 13107 <= 1.32 x 10**7. Out-of-range commands saturate at 0 and 100 %.
    """
    if ppm <= 0:
        return 0
    if ppm >= PPM_FULL:
        return DUTY_FULL
    q = ppm // 1000
    r = ppm - q * 1000
    x = q * 13107
    a = x // 200
    return a + (1000 * (x - a * 200) + 13107 * r + 100000) // 200000


class PicoBoard:
    def __init__(self, gpio, edges_per_rev, root="", host=None):
        """gpio: GPIO number by pin name (pins.load()); root: where the board's files live."""
        self.edges_per_rev = edges_per_rev
        self.device_id = device_id()
        self._root = root
        # The brake first, so it is held at zero before anything else can go wrong.
        self._brake_pin = Pin(gpio["brake_pwm"], Pin.OUT, value=0)
        self._brake = PWM(self._brake_pin, freq=BRAKE_PWM_HZ, duty_u16=0)
        self.brake_ppm = 0
        self._reset_code, self.reset_text = resetlog.take(root + resetlog.FILE)
        self._estop = Pin(gpio["estop"], Pin.IN, Pin.PULL_UP)
        self._estop_level = -1  # unknown: the first sense() records the level
        self._led = Pin(gpio["led"], Pin.OUT, value=0)
        self._beat = _BEAT_TICKS - 1  # the first tick flashes
        self._beeper = Beeper(PWM(Pin(gpio["buzzer"], Pin.OUT, value=0), freq=_BUZZER_HZ, duty_u16=0))
        self._left = HX711(_SM_LEFT, _dout(gpio["load_left_dout"]), _sck(gpio["load_left_sck"]))
        self._right = HX711(_SM_RIGHT, _dout(gpio["load_right_dout"]), _sck(gpio["load_right_sck"]))
        self._crank = Quadrature(
            Pin(gpio["crank_a"], Pin.IN, Pin.PULL_UP), Pin(gpio["crank_b"], Pin.IN, Pin.PULL_UP)
        )
        self._ticker = Ticker()
        self._host = host if host is not None else HostIO()
        self.recorder = None  # a Recorder while recording
        self.kbd_intr = True  # Ctrl-C breaks in (interrupts())

    # ----- the board interface (softcrank_fw/loop.py) ---------------------------------------

    def reset_cause(self):
        return self._reset_code

    def calibration(self):
        return calibration.load(self._root + calibration.FILE)

    def save_calibration(self, tare_l, tare_r, cpn_l, cpn_r):
        self._ticker.flash_window(True)
        try:
            calibration.save(tare_l, tare_r, cpn_l, cpn_r, self._root + calibration.FILE)
        finally:
            self._ticker.flash_window(False)

    def device_key(self):
        return capsauth.load_key(self._root + capsauth.KEY_FILE)

    def stored_caps(self):
        return capstore.load(self._root + capstore.FILE)

    def caps_history(self):
        """The accepted caps' history (protocol 4's CAPSLOG), from caps.json on flash."""
        return capstore.load_history(self._root + capstore.FILE)

    def save_caps(self, counter, values):
        self._ticker.flash_window(True)
        try:
            capstore.save(counter, values, self._root + capstore.FILE)
        finally:
            self._ticker.flash_window(False)

    def flush_recording(self):
        """Write the recorder's buffered events (at most once a second); keeper.py calls it
        only while the unit is quiet, so a ride's events wait in RAM (recorder.py)."""
        rec = self.recorder
        if rec is None or not rec.due(ticks_us()):
            return
        self._ticker.flash_window(True)
        try:
            rec.flush(ticks_us())
        finally:
            self._ticker.flash_window(False)

    def alive(self):
        return True  # a Pico runs until it is reset or unplugged

    def start_ticks(self, fn, period_us):
        """fn(ticks_us) every period_us, from a hard timer interrupt (ticker.py)."""
        self._ticker.start(fn, period_us)

    def stop_ticks(self):
        self._ticker.stop()

    def service(self):
        """The main loop's pace and housekeeping: feed the watchdog if the ticks are healthy,
        wait for the next tick, then the beeper, the LED and, once a second, the garbage."""
        self._ticker.service()
        now = ticks_us()
        self._host.new_tick()
        self._beeper.poll(now)
        self._heartbeat()
        if self._beat == _GC_BEAT:
            gc.collect()  # when we choose, not when an allocation in pump() happens to need it

    def hold(self):
        """Enter the critical section: the tick's interrupt waits until release()."""
        return machine.disable_irq()

    def release(self, state):
        machine.enable_irq(state)

    def interrupts(self, on):
        """Ctrl-C (0x03) on the USB serial port raises KeyboardInterrupt only while `on`:
        off during a session, so a stray 0x03 in the data cannot end a ride; on when quiet, so
        mpremote and `softcrank deploy` can break in."""
        try:
            import micropython

            micropython.kbd_intr(_CTRL_C if on else -1)
        except (ImportError, AttributeError):  # CPython, in tests
            pass
        self.kbd_intr = on

    def sense(self, inputs, brake_ppm):
        """Crank edges, the newest load-cell readings and the e-stop into inputs. No allocation."""
        self._ticker.sensed()
        first = inputs.n_edges
        self._crank.drain(inputs)
        now = ticks_us()
        left = self._left.newest()
        if left != NO_READING:
            inputs.left_raw = left
            inputs.left_new = True
        right = self._right.newest()
        if right != NO_READING:
            inputs.right_raw = right
            inputs.right_new = True
        level = self._estop.value()
        inputs.estop = level != 0
        rec = self.recorder
        if rec is not None:
            for i in range(first, inputs.n_edges):
                rec.add(EDGE, inputs.edge_t[i], inputs.edge_fwd[i])
            if left != NO_READING:
                rec.add(LEFT, now, left)
            if right != NO_READING:
                rec.add(RIGHT, now, right)
            if level != self._estop_level:
                rec.add(ESTOP, now, level)
        self._estop_level = level

    def set_brake(self, ppm):
        self._brake.duty_u16(duty_u16(ppm))
        self.brake_ppm = ppm
        self._ticker.stepped()

    def read_byte(self):
        return self._host.read_byte()

    def write(self, buf, n):
        return self._host.write(buf, n)

    # ----- the Pico's own ---------------------------------------------------------------

    def safe_stop(self):
        """Brake off, whatever state the board is in: the ticks stopped (so no tick drives it
        again), duty 0, then the pin a plain low output (so not even a PWM misconfiguration
        can drive it). Also silences the buzzer and gives Ctrl-C back to the REPL."""
        try:
            self._ticker.stop()
            self._brake.duty_u16(0)
        finally:
            self._brake_pin.init(Pin.OUT, value=0)
            self.brake_ppm = 0
            self._beeper.stop()
            self.interrupts(True)

    def flash_window(self):
        """Widen the watchdog for flash work on the way down (main.py's reset record)."""
        self._ticker.flash_window(True)

    def stop_watchdog(self):
        """For the REPL after Ctrl-C or a crash: no reset in the middle of someone's work."""
        disable_watchdog()

    def beep(self, freq, ms):
        """A tone of `freq` Hz for `ms` ms; returns at once (service() ends it)."""
        self._beeper.start(freq, ms, ticks_us())

    def uptime_ticks(self):
        return self._ticker.ticks

    def start_recording(self, path=None):
        """Record raw sensor events from now on (recorder.py)."""
        stored = self.calibration()
        if stored is None:
            stored = (0, 0, DEFAULT_CPN, DEFAULT_CPN)
        setup = (self.edges_per_rev,) + tuple(stored)
        self.recorder = Recorder(path or self._root + RECORDING_FILE, ticks_us(), setup)
        return self.recorder

    def _heartbeat(self):
        beat = self._beat + 1
        if beat >= _BEAT_TICKS:
            beat = 0
        if beat == 0:
            self._led.value(1)
        elif beat == _BEAT_ON:
            self._led.value(0)
        self._beat = beat


def device_id():
    """This Pico's id, from its flash chip's unique id (`softcrank deploy` asks for it)."""
    return "pico-" + binascii.hexlify(machine.unique_id()).decode()


def _dout(gpio):
    return Pin(gpio, Pin.IN, Pin.PULL_UP)  # pulled up: a cut wire reads "never ready", not data


def _sck(gpio):
    return Pin(gpio, Pin.OUT, value=0)  # low: high for over 60 us powers the HX711 down
