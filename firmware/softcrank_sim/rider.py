"""A deterministic virtual rider: crank edges and load-cell counts, as a board would read them.

The rider pedals at `rpm` (negative: backward). Each pedal pushes on its downstroke, a half
sine whose peak grows with the brake, scaled by the leg's strength (the foot-drop side is
weaker), on top of the resting weight of the foot. Load cells answer at 80 SPS with a little
noise from a seeded generator, so a given seed always gives the same ride. `spasm_n` adds a
spike to the left pedal; `fault` makes a sensor misbehave the ways the firmware must catch.
Floats are fine here: this is the world outside the firmware, not its control tick.
"""

import math

from softcrank_fw.compat import ticks_add

ADC_PERIOD_US = 12_500  # 80 samples per second
FOOT_WEIGHT_N = 20.0
PUSH_PEAK_N = 60.0  # at zero resistance
PUSH_PER_BRAKE_N = 400.0  # extra peak push at full brake
NOISE_COUNTS = 40

FAULTS = ("rail", "stuck", "stale", "jump")


class Rider:
    def __init__(self, edges_per_rev=24, seed=1, rpm=20.0, left_strength=1.0, right_strength=0.6,
                 tare=(81_000, -52_000), cpn=(1000, 1000)):
        self.edges_per_rev = edges_per_rev
        self.rpm = rpm
        self.strength = [left_strength, right_strength]
        self.tare = tare
        self.cpn = cpn
        self.spasm_n = 0.0  # extra force on the left pedal, N
        self.fault = None  # one of FAULTS, on the left load cell
        self.estop = False
        self.angle = 0.0  # crank revolutions
        self.force_n = [0.0, 0.0]  # ground truth of the last ADC readings
        self._seed = seed & 0x7FFFFFFF or 1
        self._adc_due = 0  # microseconds of virtual time until the next ADC reading
        self._frozen = None

    def step(self, t_us, dt_us, brake_ppm, inp):
        """Advance dt_us from ticks_us time t_us, writing what the sensors saw into inp."""
        epr = self.edges_per_rev
        a0 = self.angle
        a1 = a0 + self.rpm / 60.0 * dt_us / 1e6
        self.angle = a1
        if a1 != a0:
            lo, hi = (a0, a1) if a1 > a0 else (a1, a0)
            k = math.floor(lo * epr) + 1
            last = math.floor(hi * epr)
            edges = range(k, last + 1) if a1 > a0 else range(last, k - 1, -1)
            for e in edges:
                frac = (e / epr - a0) / (a1 - a0)
                inp.add_edge(ticks_add(t_us, int(frac * dt_us)), a1 > a0)
        self._adc_due -= dt_us
        if self._adc_due <= 0:
            self._adc_due += ADC_PERIOD_US
            self._read_adcs(brake_ppm, inp)
        inp.estop = self.estop

    def _read_adcs(self, brake_ppm, inp):
        push = PUSH_PEAK_N + PUSH_PER_BRAKE_N * brake_ppm / 1e6
        for side in (0, 1):
            phase = 2 * math.pi * (self.angle + 0.5 * side)
            f = FOOT_WEIGHT_N + max(0.0, math.sin(phase)) * push * self.strength[side]
            if side == 0:
                f += self.spasm_n
            self.force_n[side] = f
            raw = self.tare[side] + int(f * self.cpn[side]) + self._noise()
            if side == 0:
                raw = self._faulty(raw)
                if raw is None:
                    continue
                inp.left_raw = raw
                inp.left_new = True
            else:
                inp.right_raw = raw
                inp.right_new = True

    def _faulty(self, raw):
        if self.fault == "rail":
            return 0x7FFFFF
        if self.fault == "stale":
            return None
        if self.fault == "stuck":
            if self._frozen is None:
                self._frozen = raw
            return self._frozen
        if self.fault == "jump":
            return raw + 2_000_000
        return raw

    def _noise(self):
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return (self._seed >> 8) % (2 * NOISE_COUNTS + 1) - NOISE_COUNTS
