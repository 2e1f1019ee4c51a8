"""The world outside the emulated chip: a rider or a replayed recording, as pin events.

The same riders, scenarios and recordings as the virtual trainer (firmware/softcrank_sim: a
ScenarioRider following a scenario, or a Replay of a raw recording), run here on CPython, and
what they produce is turned into what the Pico's pins would see, at the emulated time it
happens:

- a crank edge steps the quadrature pair (crank_a, crank_b) one state along the Gray code,
  00 -> 10 -> 11 -> 01 -> 00 forward (A leads B) and back the other way, as
  softcrank_pico/quadrature.py decodes it;
- a load-cell reading is a conversion of that side's HX711: its DOUT goes low and the word
  waits for the PIO program to clock it out (harness.mjs models the HX711);
- the e-stop is a level on its GPIO, high when pressed (normally closed to ground).

The world is stepped in STEP_US slices, so readings come every 12.5 ms exactly (80 SPS) and
edges carry the times the rider computed; the brake it feels is the one the chip's PWM
registers drive at the start of each window.
"""

from __future__ import annotations

from softcrank_fw.compat import ticks_diff

STEP_US = 2_500  # divides the HX711's 12 500 us period
_TICKS_MASK = (1 << 30) - 1
_FORWARD = {0b00: 0b10, 0b10: 0b11, 0b11: 0b01, 0b01: 0b00}
_BACKWARD = {v: k for k, v in _FORWARD.items()}


class _Seen:
    """What the world put on the sensors in one slice (the firmware's Inputs, as the rider fills it)."""

    def __init__(self):
        self.edges: list[tuple[int, bool]] = []
        self.left_raw = self.right_raw = 0
        self.left_new = self.right_new = False
        self.estop = False
        self.n_edges = 0

    def add_edge(self, t_us, forward):
        self.edges.append((t_us, bool(forward)))
        self.n_edges += 1


class PinWorld:
    """Turns a world's sensor events into ("p", gpio, level) and ("h", dout_gpio, word) events."""

    def __init__(self, world, gpio: dict[str, int]):
        self.world = world
        self.gpio = gpio
        self.quad = 0b00
        self.estop = None  # the level last driven
        self.estop_override: bool | None = None  # a test's hand on the e-stop
        self.edges = 0

    def start(self) -> list[tuple[int, str, int, int]]:
        """The levels at power-on: crank state 00, e-stop released."""
        g = self.gpio
        self.estop = False
        return [(0, "p", g["crank_a"], 0), (0, "p", g["crank_b"], 0), (0, "p", g["estop"], 0)]

    def window(self, t0_us: int, dt_us: int, brake_ppm: int) -> list[tuple[int, str, int, int]]:
        """The events of [t0_us, t0_us + dt_us) of emulated time (microseconds since power-on)."""
        events: list[tuple[int, str, int, int]] = []
        g = self.gpio
        t = t0_us
        while t < t0_us + dt_us:
            step = min(STEP_US, t0_us + dt_us - t)
            ticks = t & _TICKS_MASK
            seen = _Seen()
            self.world.step(ticks, step, brake_ppm, seen)
            for te, forward in seen.edges:
                at = max(t, t + ticks_diff(te, ticks))
                self.quad = (_FORWARD if forward else _BACKWARD)[self.quad]
                events.append((at, "p", g["crank_a"], self.quad >> 1))
                events.append((at, "p", g["crank_b"], self.quad & 1))
                self.edges += 1
            if seen.left_new:
                events.append((t, "h", g["load_left_dout"], seen.left_raw))
            if seen.right_new:
                events.append((t, "h", g["load_right_dout"], seen.right_raw))
            pressed = seen.estop if self.estop_override is None else self.estop_override
            if pressed != self.estop:
                self.estop = pressed
                events.append((t, "p", g["estop"], 1 if pressed else 0))
            t += step
        events.sort(key=lambda e: e[0])
        return events


