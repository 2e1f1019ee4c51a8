"""Safety invariants of the control tick under random commands, riders and sensor faults.

Every tick of every generated ride is checked: resistance never above the cap, never rising
faster than the ramp, zero in the same tick as an e-stop or a fault, zero in any tick with a
spasm's cause (a push or a pull past the threshold, a sudden reversal) or a fault's, zero once
the riding time reaches the duration cap, and every number small enough to stay a small int on
a Pico. The actions are everything the rider, the sensors and the host can do to the
controller: commands (TARE and CAL too), pushes and pulls, cadence changes (stops, reversals),
load-cell faults (the flat one too), a dead crank sensor, feet on and off the pedals.
"""

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from softcrank_fw import protocol as P
from softcrank_fw.control import DONE, ESTOP, FAULT, Controller
from softcrank_fw.limits import CAP_LIMITS, GOAL_LIMITS
from softcrank_fw.ramp import max_rise
from softcrank_sim.rider import FAULTS
from support import TICK_US, Bench

SMALL_INT = 1 << 30  # a Pico's small ints are 31-bit signed: beyond this, arithmetic allocates


def values_within(limits, slack):
    return st.tuples(*[st.integers(lo - slack, hi + slack) for _, lo, hi in limits]).map(list)


caps = st.one_of(
    values_within(CAP_LIMITS, 0),
    values_within(CAP_LIMITS, 50),  # sometimes out of range: must be refused whole
    st.just([100, 1, 120, 1500, 30, 0, 0, 1500]),  # a short, hard session: the cap comes soon
)
goals = st.one_of(values_within(GOAL_LIMITS, 0), values_within(GOAL_LIMITS, 20))
actions = st.one_of(
    st.tuples(st.sampled_from(["start", "pause", "resume", "stop", "estop", "tare", "quiet", "talk",
                               "press", "release", "mend", "spasm", "pull", "calm", "dead", "alive",
                               "feet_off", "feet_on"])),
    st.tuples(st.just("fault"), st.sampled_from(FAULTS)),
    st.tuples(st.just("caps"), caps),
    st.tuples(st.just("goals"), goals),
    st.tuples(st.just("rpm"), st.floats(-80, 160)),
    st.tuples(st.just("rate"), st.integers(0, 60)),
    st.tuples(st.just("cal"), st.sampled_from(["L", "R", "X"]), st.integers(-5, 3000)),
)
steps = st.lists(st.tuples(actions, st.integers(1, 400)), min_size=1, max_size=25)


def apply(bench, action):
    ctl, rider = bench.ctl, bench.rider
    name = action[0]
    simple = {"start": ctl.start, "pause": ctl.pause, "resume": ctl.resume, "stop": ctl.stop,
              "estop": ctl.estop, "tare": ctl.tare}
    if name in simple:
        simple[name]()
    elif name == "quiet":
        bench.host = False
    elif name == "talk":
        bench.host = True
    elif name in ("press", "release"):
        rider.estop = name == "press"
    elif name == "fault":
        rider.fault = action[1]
    elif name == "mend":
        rider.fault = None
    elif name in ("spasm", "pull", "calm"):
        rider.spasm_n = {"spasm": 600.0, "pull": -600.0, "calm": 0.0}[name]
    elif name in ("dead", "alive"):
        rider.crank_fault = "dead" if name == "dead" else None
    elif name in ("feet_off", "feet_on"):
        rider.foot_weight_n = 0.0 if name == "feet_off" else 20.0
    elif name == "caps":
        ctl.set_caps(action[1])
    elif name == "goals":
        ctl.set_goals(action[1])
    elif name == "rpm":
        rider.rpm = action[1]
    elif name == "rate":
        ctl.set_rate(action[1])
    elif name == "cal":
        ctl.calibrate(action[1], action[2])


def small_ints_only(obj, seen=None):
    """Every int reachable from the controller's state fits a Pico's small int."""
    for name, value in vars(obj).items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            assert -SMALL_INT <= value < SMALL_INT, (type(obj).__name__, name, value)
        elif isinstance(value, list):
            for v in value:
                assert not isinstance(v, int) or -SMALL_INT <= v < SMALL_INT, (name, v)
        elif hasattr(value, "__dict__") and not callable(value):
            small_ints_only(value)


HARD_SESSION = [(("caps", [100, 1, 120, 1500, 30, 0, 0, 1500]), 1), (("goals", [90, 0, 150, 100]), 1),
                (("start",), 400)] + [(("talk",), 400)] * 17


# Rides the random plans seldom make: a pull past the threshold mid-work, a crank sensor that
# dies while the rider pedals on, a flat load cell, a stall and a reverse.
PULL = [(("talk",), 10), (("start",), 400), (("talk",), 400), (("pull",), 60)]
DEAD_CRANK = [(("talk",), 10), (("start",), 400), (("dead",), 400), (("talk",), 400)]
FLAT = [(("talk",), 10), (("start",), 400), (("fault", "flat"), 400), (("talk",), 400)]
STALL_REVERSE = [(("talk",), 10), (("start",), 400), (("talk",), 400), (("rpm", 0.0), 30), (("rpm", -10.0), 200)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
@example(HARD_SESSION)
@example(PULL)
@example(DEAD_CRANK)
@example(FLAT)
@example(STALL_REVERSE)
def test_safety_invariants_hold_in_every_tick(plan):
    bench = Bench()
    ctl = bench.ctl
    reached_cap = False
    for action, ticks in plan:
        apply(bench, action)
        before = ctl.brake  # a command may lower the brake, never raise it
        assert before <= ctl.caps.max_res_pct * 10_000
        for _ in range(ticks):
            last = ctl.brake
            reversals = ctl.crank.reversals
            brake = bench.tick()
            caps = ctl.caps
            limit = caps.spasm_n * 10  # the cause judged here, not by the firmware's own function
            pushed = not -limit <= ctl.left.dn <= limit or not -limit <= ctl.right.dn <= limit
            if pushed or ctl.crank.reversals != reversals or ctl.fault_code() or ctl.watch.fault:
                assert brake == 0, "a spasm or fault cause with the brake on"  # in that very tick
            assert 0 <= brake <= caps.max_res_pct * 10_000
            assert brake - last <= max_rise(caps.ramp_pct_min, TICK_US // 1000)
            if bench.rider.estop or ctl.fault_code() or ctl.state in (ESTOP, FAULT):
                assert brake == 0 and ctl.state in (ESTOP, FAULT)
            if ctl.ride_ms >= caps.max_dur_min * 60_000:
                assert brake == 0
                reached_cap = True
        small_ints_only(ctl)
    if plan == HARD_SESSION:
        assert reached_cap and ctl.state == DONE  # the example really exercises the cap


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 25_000), st.booleans()), max_size=300),
       st.integers(1, 360), st.integers(0, (1 << 30) - 1))
def test_cadence_is_finite_and_bounded_for_any_edge_timing(gaps, epr, start):
    ctl = Controller(epr)
    t = start
    for gap, forward in gaps:
        t = (t + gap) & ((1 << 30) - 1)
        ctl.crank.edge(t, forward)
        drpm = ctl.crank.update(t)
        assert -3000 <= drpm <= 3000


def test_nak_codes_and_events_fit_the_ring():
    assert len(P.EVENTS) < 128 and len(P.STATES) < 16
