"""Deterministic virtual riders: crank edges and load-cell counts, as a board would read them.

`Rider` pedals at exactly `rpm` (negative: backward), whatever the brake: the tests' rider,
for assertions about cadence to the tenth. Each pedal pushes on its downstroke, a half sine
whose peak grows with the brake, scaled by the leg's strength (the foot-drop side is weaker),
on top of the resting weight of the foot, which the pedal carries round: it presses more on the
way down than on the way up (LEG_SWING), so even a leg that pushes nothing moves its pedal's
reading once a revolution, as a strapped leg does (watch.py's flat-cell check relies on it). Load cells answer at 80 SPS with a little noise
from a seeded generator, so a given seed always gives the same ride. `spasm_n` adds a spike
to the left pedal; `fault` makes a sensor misbehave the ways the firmware must catch.

`ScenarioRider` is the virtual trainer's rider: it wants a cadence and pushes as hard as it
must (and can) to hold it against the brake, tires over time, and follows a scenario's
timeline of cadence changes, spasms, faults and e-stop presses.

Faults a scenario can inject (the safety suite, docs/safety.md, uses each): a load cell that
goes to its rail, sticks, goes stale, jumps, turns noisy, or goes flat (`fault`: a broken
excitation or signal wire leaves the ADC's offset and noise, no force at all); a crank sensor that
dies or bounces (`crank_fault`); and a firmware fault, an exception or a hang in the tick,
which the simulated board acts out (`firmware_fault`, softcrank_sim/board.py).

Floats are fine here: this is the world outside the firmware, not its control tick.
"""

import math

from softcrank_fw.compat import ticks_add

ADC_PERIOD_US = 12_500  # 80 samples per second
FOOT_WEIGHT_N = 20.0
PUSH_PEAK_N = 60.0  # at zero resistance
PUSH_PER_BRAKE_N = 400.0  # extra peak push at full brake
NOISE_COUNTS = 40
LEG_SWING = 0.5  # the carried foot's weight on the pedal: +-50 % of it over a revolution

FAULTS = ("rail", "stuck", "stale", "jump", "noisy", "flat")
NOISY_N = 300  # a "noisy" load cell: readings off by up to this many newtons either way
BOUNCE_US = 300  # a bouncing crank contact: a second edge this soon after each real one


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
        self.crank_fault = None  # None, "dead" (no edges at all) or "bounce" (each edge twice)
        self.firmware_fault = None  # None, "exception" or "hang": the board takes it (board.py)
        self.estop = False
        self.angle = 0.0  # crank revolutions
        self.force_n = [0.0, 0.0]  # ground truth of the last ADC readings
        self.spasm_side = 0  # which pedal spasm_n pushes: 0 left, 1 right
        self.fault_side = 0  # which load cell `fault` affects
        self._seed = seed & 0x7FFFFFFF or 1
        self._adc_due = 0  # microseconds of virtual time until the next ADC reading
        self._frozen = None

    def turn(self, dt_us, brake_ppm):
        """How far the crank turns in dt_us, in revolutions: exactly rpm, for this rider."""
        return self.rpm / 60.0 * dt_us / 1e6

    def push_n(self, side, brake_ppm):
        """Peak downstroke push of one leg now, newtons."""
        return (PUSH_PEAK_N + PUSH_PER_BRAKE_N * brake_ppm / 1e6) * self.strength[side]

    def step(self, t_us, dt_us, brake_ppm, inp):
        """Advance dt_us from ticks_us time t_us, writing what the sensors saw into inp."""
        epr = self.edges_per_rev
        a0 = self.angle
        a1 = a0 + self.turn(dt_us, brake_ppm)
        self.angle = a1
        if a1 != a0:
            lo, hi = (a0, a1) if a1 > a0 else (a1, a0)
            k = math.floor(lo * epr) + 1
            last = math.floor(hi * epr)
            edges = range(k, last + 1) if a1 > a0 else range(last, k - 1, -1)
            if self.crank_fault == "dead":
                edges = ()
            for e in edges:
                frac = (e / epr - a0) / (a1 - a0)
                t = ticks_add(t_us, int(frac * dt_us))
                inp.add_edge(t, a1 > a0)
                if self.crank_fault == "bounce":
                    inp.add_edge(ticks_add(t, BOUNCE_US), a1 > a0)
        self._adc_due -= dt_us
        if self._adc_due <= 0:
            self._adc_due += ADC_PERIOD_US
            self._read_adcs(brake_ppm, inp)
        inp.estop = self.estop

    foot_weight_n = FOOT_WEIGHT_N

    def _read_adcs(self, brake_ppm, inp):
        for side in (0, 1):
            phase = 2 * math.pi * (self.angle + 0.5 * side)
            push = self.push_n(side, brake_ppm)
            if self.rpm < 0:
                phase = -phase  # pedalling backward: the push comes on the other half-turn
            f = self.foot_weight_n * (1 + LEG_SWING * math.sin(phase)) + max(0.0, math.sin(phase)) * push
            if side == self.spasm_side:
                f += self.spasm_n
            self.force_n[side] = f
            raw = self.tare[side] + int(f * self.cpn[side]) + self._noise()
            if side == self.fault_side:
                raw = self._faulty(raw)
                if raw is None:
                    continue
            if side == 0:
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
        if self.fault == "flat":
            return self.tare[self.fault_side] + self._noise()  # offset and noise: no bridge signal
        if self.fault == "noisy":
            self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
            span = NOISY_N * self.cpn[self.fault_side]
            return raw + (self._seed >> 4) % (2 * span + 1) - span
        return raw

    def _noise(self):
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return (self._seed >> 8) % (2 * NOISE_COUNTS + 1) - NOISE_COUNTS


BRAKE_N_AT_60RPM = 600.0  # pedal-equivalent drag of the full brake at 60 rpm (eddy current: grows with speed)
FRICTION_N = 4.0  # drag of the drivetrain alone
MASS_N_S = 120.0  # pedal-equivalent inertia: newtons of net push per rev/s^2
EFFORT_GAIN = 2.0  # extra effort per rev/s short of the wanted cadence
MUSCLE_S = 0.4  # how quickly effort follows what the rider wants: a muscle's time constant


class ScenarioRider(Rider):
    """A rider who wants a cadence and pushes against the brake to hold it."""

    def __init__(self, scenario, tare=(81_000, -52_000), cpn=(1000, 1000)):
        r = scenario.rider
        super().__init__(scenario.edges_per_rev, scenario.seed, r["cadence_rpm"],
                         r["left_strength"], r["right_strength"], tare, cpn)
        self.scenario = scenario
        self.max_push_n = r["max_push_n"]
        self.fatigue_per_min = [r["left_fatigue_per_min"], r["right_fatigue_per_min"]]
        self.foot_weight_n = r["foot_weight_n"]
        self.speed = 0.0  # revolutions per second, signed
        self.effort = 0.0  # 0..1 of what the legs can give
        self.fit = [1.0, 1.0]  # what is left of each leg's strength
        self.elapsed_s = 0.0
        self._next = 0  # index of the next scenario event
        self._spasm_until = 0.0
        self._stall = None  # (until_s, reverse_rpm, end_s) while a spasm stalls and drives the crank

    def turn(self, dt_us, brake_ppm):
        dt = dt_us / 1e6
        self._timeline(dt)
        if self._stall is not None:  # a spasm holds the crank, then drives it: not the rider's push
            until_s, reverse_rpm, end_s = self._stall
            if self.elapsed_s >= end_s:
                self._stall = None
            else:
                self.speed = 0.0 if self.elapsed_s < until_s else reverse_rpm / 60.0
                return self.speed * dt
        want = self.rpm / 60.0
        # The rider pushes what holding the wanted cadence against this drag takes (they feel
        # the brake), plus a little more when short of it, as far as tired legs allow.
        # Average push over a revolution: each leg's half sine averages peak / pi.
        capacity = self.max_push_n * (self.strength[0] * self.fit[0] + self.strength[1] * self.fit[1]) / math.pi
        need = FRICTION_N + BRAKE_N_AT_60RPM * brake_ppm / 1e6 * abs(want)
        aim = 0.0 if want == 0 or capacity <= 0 else need / capacity + EFFORT_GAIN * (abs(want) - abs(self.speed))
        aim = min(1.0, max(0.0, aim))
        self.effort += (aim - self.effort) * min(1.0, dt / MUSCLE_S)
        drive = (self.push_n(0, brake_ppm) + self.push_n(1, brake_ppm)) / math.pi
        drag = FRICTION_N + BRAKE_N_AT_60RPM * brake_ppm / 1e6 * abs(self.speed)
        direction = 1.0 if want > 0 or (want == 0 and self.speed > 0) else -1.0
        if want == 0:
            drive = 0.0
        accel = (direction * drive - (drag if self.speed > 0 else -drag if self.speed < 0 else 0.0)) / MASS_N_S
        new = self.speed + accel * dt
        if self.speed != 0 and (new > 0) != (self.speed > 0) and want * self.speed <= 0:
            new = 0.0  # drag stops the crank; it does not turn it backward
        self.speed = new
        if self.speed != 0:
            for side in (0, 1):
                self.fit[side] = max(0.2, self.fit[side] - self.fatigue_per_min[side] * self.effort * dt / 60.0)
        return self.speed * dt

    def push_n(self, side, brake_ppm):
        return self.effort * self.max_push_n * self.strength[side] * self.fit[side]

    def _timeline(self, dt):
        self.elapsed_s += dt
        events = self.scenario.events
        while self._next < len(events) and events[self._next].at_s <= self.elapsed_s:
            self._apply(events[self._next])
            self._next += 1
        if self.spasm_n and self.elapsed_s >= self._spasm_until:
            self.spasm_n = 0.0

    def _apply(self, event):
        value = event.value
        if event.action == "cadence_rpm":
            self.rpm = float(value)
        elif event.action == "strength":
            for side, name in ((0, "left"), (1, "right")):
                if name in value:
                    self.strength[side] = float(value[name])
        elif event.action == "spasm":
            self.spasm_side = 0 if value["side"] == "left" else 1
            self.spasm_n = float(value["force_n"])
            self._spasm_until = self.elapsed_s + value["duration_s"]
        elif event.action == "fault":
            self.fault = None if value is None else value["kind"]
            self._frozen = None
            if value is not None:
                self.fault_side = 0 if value["side"] == "left" else 1
        elif event.action == "stall":
            start = self.elapsed_s
            self._stall = (start + value["stall_s"], float(value["reverse_rpm"]),
                           start + value["stall_s"] + value["duration_s"])
        elif event.action == "feet":
            self.foot_weight_n = float(value["weight_n"])
        elif event.action == "estop":
            self.estop = value
        elif event.action == "crank":
            self.crank_fault = None if value is None else value["kind"]
        elif event.action == "firmware":
            self.firmware_fault = value
