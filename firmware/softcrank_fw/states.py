"""The controller's constants: session states, event codes, and the safety numbers of
the tick and the host's commands, each named once with its reason (control.py, commands.py)."""

from softcrank_fw.compat import const


# States: indexes into protocol.STATES.
IDLE = const(0)
WARMUP = const(1)
WORK = const(2)
COOLDOWN = const(3)
DONE = const(4)
PAUSED = const(5)
REST = const(6)
ESTOP = const(7)
FAULT = const(8)

# Event codes: indexes into protocol.EVENTS.
EV_START = const(1)
EV_WORK = const(2)
EV_COOLDOWN = const(3)
EV_DONE = const(4)
EV_PAUSE = const(5)
EV_RESUME = const(6)
EV_STOP = const(7)
EV_SPASM = const(8)
EV_REST_END = const(9)
EV_ESTOP = const(10)
EV_FAULT = const(11)
EV_CLEAR = const(12)
EV_OVERSPEED = const(13)
EV_HOST_LOST = const(14)
EV_HOST_BACK = const(15)
EV_LOST = const(16)
EV_TARED = const(17)
EV_CALIBRATED = const(18)
EV_CAPS = const(19)
EV_GOALS = const(20)
EV_BOOT = const(21)
EV_CAL_FAILED = const(22)
EV_CAPS_REFUSED = const(23)
EV_CAPS_DEFAULTS = const(24)

SPASM_REST_MS = const(10_000)  # rest, unloaded, after a spasm before re-ramping
SPASM_PAUSE_COUNT = const(3)  # this many spasms with less than SPASM_WINDOW_MS between them pause
SPASM_WINDOW_MS = const(300_000)
HOST_HOLD_MS = const(3_000)  # three missed 1 s heartbeats: resistance stops rising
HOST_TIMEOUT_MS = const(10_000)  # then it ramps down and the session pauses
HOST_RAMPDOWN_PCT_S = const(20)  # 20 %/s: a gentle release, 1 s from the default cap
OVERSPEED_PAUSE_MS = const(5_000)
# A rider who stops pedalling (tired, distracted, fainting) in warm-up or work: resistance
# stops rising as soon as the cadence reads 0 (no edge for a 3 rpm gap: 0.83 s at 24 edges a
# revolution), and 5 s later the session pauses with the brake at zero. The pause is what makes
# pedalling again start from zero under the ramp (RESUME), never at the resistance of before;
# 5 s + 0.83 s is well inside the 10 s issue 12 allows, and long enough that a rider changing
# grip or looking round does not lose a session to it. A session that has not turned yet
# (START given, feet still going in) is held at zero, not paused.
STOPPED_PAUSE_MS = const(5_000)
# TARE only with the pedals unloaded and still (docs/safety.md, row 28): no crank edge for
# TARE_STILL_MS, both pedals within TARE_QUIET_DN peak to peak over the last whole second, and,
# once a unit has a zero, no pedal reading more than TARE_SHIFT_DN from it. 10 N is 2.5 times
# the zero drift of a 100 kg bar cell over a 20 degree day (0.02 %/degree of ~1000 N), and
# about what a resting adult foot weighs: a TARE with a foot or a hand on a pedal is refused.
TARE_STILL_MS = const(1_000)
TARE_QUIET_DN = const(30)  # 3 N peak to peak: a still pedal reads within a fraction of a newton
TARE_SHIFT_DN = const(100)  # 10 N
WARMUP_SHARE_PCT = const(25)  # warm-up resistance, as a share of the work resistance
DEFAULT_RATE_HZ = const(10)
MAX_RATE_HZ = const(50)
MAX_TICK_US = const(250_000)  # a longer gap between ticks counts as this long
MAX_CAL_NEWTONS = const(2000)
FAULT_SIDE_LEFT = const(10)  # FAULT event arg: 10 + LoadCell fault code for the left pedal
FAULT_SIDE_RIGHT = const(20)  # ... 20 + code for the right
FAULT_FLAT = const(7)  # a flat load cell (watch.py): FAULT_SIDE_LEFT/RIGHT + 7
FAULT_CRANK_DEAD = const(31)  # FAULT event arg: the crank sensor gives no edge while the pedals pedal


def riding(state):
    """Warm-up, work, cool-down or a spasm rest: a session under way and not paused."""
    return WARMUP <= state <= COOLDOWN or state == REST
