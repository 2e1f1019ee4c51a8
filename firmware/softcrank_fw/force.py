"""Pedal force in 0.1 N from a 24-bit load-cell ADC (HX711 class), with plausibility checks.

force_dn = (raw - tare) * 10 // cpn, where cpn is the calibration in counts per newton
(negative if the cell is mounted the other way round). A reading that cannot be right raises
a fault instead of passing a bad number on, and the fault latches until cleared:

- RAIL: the ADC's rail values 0x7FFFFF / -0x800000 (saturated, or a broken wire);
- STALE: no new reading for STALE_MS (at 80 SPS a reading comes every 12.5 ms);
- STUCK: STUCK_READINGS identical raw values in a row (a live 24-bit ADC always has noise);
- JUMP: a change of more than JUMP_DN between two readings 12.5 ms apart;
- RANGE: more than RANGE_DN either way: no rider produces that, a fault does;
- SLOW: fewer than MIN_READINGS_PER_S readings in a second: an HX711 left at 10 SPS (its RATE
  pin low) passes every other check, but sees a spasm up to 100 ms late instead of 12.5 ms.

Tare and calibration average AVERAGE_READINGS readings: about 0.4 s at 80 SPS. A calibration
is taken only if the scale it gives lies within CAL_CPN_MIN..CAL_CPN_MAX, the band around the
reference build's load cells (hardware/README.md, *The load cells and the HX711*): a 50 kg
bar cell at 2 mV/V gives about 8,800 counts per newton, at 1 mV/V 4,400; a 100 kg one at
1 mV/V 2,200. Typing the weight in kilograms where newtons are asked for (10 for 98 N, a use
error in IEC 62366's sense) multiplies the scale by 9.81: 21,600 or more on any of those cells,
outside the band; typing it in tenths or grams divides it by 10 or more: 880 or less, outside
too. Anything else (no weight on the pedal, the weight on the other pedal) fails the same way.
Either way: CAL_FAILED, the old scale kept, forces never read 10 times too low.
"""

from softcrank_fw.compat import const

RAIL_HIGH = const(0x7FFFFF)
RAIL_LOW = const(-0x800000)
STALE_MS = const(500)  # 40 readings missed at 80 SPS
STUCK_READINGS = const(160)  # 2 s of identical values
JUMP_DN = const(8000)  # 800 N in one 12.5 ms step
RANGE_DN = const(25000)  # 2500 N
MIN_READINGS_PER_S = const(40)  # half of 80 SPS: 10 SPS is a wiring fault, jitter is not
AVERAGE_READINGS = const(32)
DEFAULT_CPN = const(1000)  # counts per newton before calibration; see hardware/
CPN_MIN = const(10)
CPN_MAX = const(1_000_000)
CAL_CPN_MIN = const(2_000)  # a 100 kg cell at 1 mV/V (2,200), with 10 % to spare
CAL_CPN_MAX = const(13_000)  # a 50 kg cell at 2 mV/V (8,800) + 48 %; kg for N gives 21,600 or more

FAULT_RAIL = const(1)
FAULT_STALE = const(2)
FAULT_STUCK = const(3)
FAULT_JUMP = const(4)
FAULT_RANGE = const(5)
FAULT_SLOW = const(6)

_IDLE = const(0)
_TARING = const(1)
_CALIBRATING = const(2)

# Values of LoadCell.done: what just finished (the controller reads and resets it).
TARED = const(1)
CALIBRATED = const(2)
CALIBRATION_FAILED = const(-1)


class LoadCell:
    def __init__(self):
        self.tare = 0
        self.cpn = DEFAULT_CPN
        self.dn = 0  # the newest plausible force, 0.1 N
        self.fault = 0  # 0 or a FAULT_* code, latched until clear()
        self._last_raw = 0
        self._same = 0
        self._age_ms = 0
        self._window_ms = 0  # this second so far, and the readings in it
        self._window_n = 0
        self._fresh = False  # no reading since start or clear(): no jump check yet
        self._mode = _IDLE
        self._sum = 0
        self._count = 0
        self._cal_n = 0
        self.done = 0  # TARED, CALIBRATED or CALIBRATION_FAILED when one just finished

    def reading(self, raw):
        """A new raw ADC value (signed 24-bit)."""
        self._age_ms = 0
        self._window_n += 1
        if self.fault:
            return
        if raw >= RAIL_HIGH or raw <= RAIL_LOW:
            self.fault = FAULT_RAIL
            return
        if raw == self._last_raw:
            self._same += 1
            if self._same >= STUCK_READINGS:
                self.fault = FAULT_STUCK
                return
        else:
            self._same = 0
        self._last_raw = raw
        if self._mode != _IDLE:
            self._average(raw)  # the old scale may be far off: judge only raw values now
            return
        dn = (raw - self.tare) * 10 // self.cpn
        if dn > RANGE_DN or dn < -RANGE_DN:
            self.fault = FAULT_RANGE
            return
        if self._fresh and (dn - self.dn > JUMP_DN or self.dn - dn > JUMP_DN):
            self.fault = FAULT_JUMP
            return
        self._fresh = True
        self.dn = dn

    def age(self, dt_ms):
        """Time passes with no reading; call once per tick before any reading."""
        if self._age_ms < STALE_MS:
            self._age_ms += dt_ms
            if self._age_ms >= STALE_MS and not self.fault:
                self.fault = FAULT_STALE
        self._window_ms += dt_ms
        if self._window_ms >= 1000:
            if self._window_n < MIN_READINGS_PER_S and not self.fault:
                self.fault = FAULT_SLOW
            self._window_ms = 0
            self._window_n = 0

    def clear(self):
        """Forget a latched fault; the checks start afresh with the next reading."""
        self.fault = 0
        self._same = 0
        self._fresh = False
        self._age_ms = 0
        self._window_ms = 0
        self._window_n = 0
        self._mode = _IDLE

    def start_tare(self):
        self._begin(_TARING, 0)

    def start_calibration(self, newtons):
        self._begin(_CALIBRATING, newtons)

    def busy(self):
        return self._mode != _IDLE

    def ready(self):
        """A plausible reading since the last clear or calibration, recent, and no tare running."""
        return self._fresh and not self.fault and self._age_ms < STALE_MS and self._mode == _IDLE

    def _begin(self, mode, newtons):
        self._mode = mode
        self._cal_n = newtons
        self._sum = 0
        self._count = 0

    def _average(self, raw):
        self._sum += raw  # 32 readings of at most 2**23: below 2**28
        self._count += 1
        if self._count < AVERAGE_READINGS:
            return
        mean = (self._sum + AVERAGE_READINGS // 2) // AVERAGE_READINGS  # rounded
        if self._mode == _TARING:
            self.tare = mean
        else:
            cpn = (2 * (mean - self.tare) + self._cal_n) // (2 * self._cal_n)  # rounded
            if CAL_CPN_MIN <= abs(cpn) <= CAL_CPN_MAX:
                self.cpn = cpn
            else:
                self._mode = _IDLE
                self.done = CALIBRATION_FAILED  # no load, the wrong load, or kg typed for N
                return
        self.done = TARED if self._mode == _TARING else CALIBRATED
        self._mode = _IDLE
        self._fresh = False  # the scale changed: no jump check against the old one
