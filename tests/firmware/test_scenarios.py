"""Scenario files, the virtual rider's physics, and replaying a real unit's recording."""

from softcrank_fw.control import COOLDOWN, DONE, Controller, Inputs, REST, WORK
from softcrank_fw.compat import ticks_add
from softcrank_sim import scenario as S
from softcrank_sim.replay import RecordingError, Replay
from softcrank_sim.rider import ScenarioRider
from support import START_US, TICK_US, Bench, raises


def error_of(doc):
    try:
        S.parse(doc)
    except S.ScenarioError as e:
        return str(e)
    return None


def test_a_minimal_scenario_gets_gentle_defaults():
    sc = S.parse({"format": 1})
    assert sc.rider["cadence_rpm"] == 20 and sc.rider["right_strength"] < sc.rider["left_strength"]
    assert sc.edges_per_rev == 24 and sc.events == []


def test_bad_scenarios_are_refused_saying_where_and_why():
    assert "format" in error_of({"format": 2})
    assert "unknown key 'cadense_rpm'" in error_of({"format": 1, "rider": {"cadense_rpm": 20}})
    assert "rider.cadence_rpm must be between" in error_of({"format": 1, "rider": {"cadence_rpm": 400}})
    assert "events[0] needs \"at_s\"" in error_of({"format": 1, "events": [{"cadence_rpm": 3}]})
    assert "exactly one of" in error_of({"format": 1, "events": [{"at_s": 1, "cadence_rpm": 3, "estop": True}]})
    assert "events[0].spasm needs \"force_n\"" in error_of(
        {"format": 1, "events": [{"at_s": 1, "spasm": {"side": "left", "duration_s": 1}}]})
    assert "\"left\" or \"right\"" in error_of(
        {"format": 1, "events": [{"at_s": 1, "fault": {"side": "middle", "kind": "stale"}}]})
    assert "must be a number" in error_of({"format": 1, "rider": {"max_push_n": "lots"}})
    assert "edges_per_rev" in error_of({"format": 1, "edges_per_rev": 0})


def test_scenario_events_are_put_in_time_order():
    sc = S.parse({"format": 1, "events": [{"at_s": 9, "estop": True}, {"at_s": 2, "cadence_rpm": 10}]})
    assert [e.at_s for e in sc.events] == [2, 9]


class ScenarioBench(Bench):
    def __init__(self, doc, host=True):
        sc = S.parse(doc)
        Bench.__init__(self, sc.edges_per_rev, host=host)
        self.rider = ScenarioRider(sc)
        self.ctl.left.tare, self.ctl.right.tare = self.rider.tare
        self.ctl.left.cpn, self.ctl.right.cpn = self.rider.cpn


def mean_force(bench, seconds):
    total = [0.0, 0.0]
    n = int(seconds * 100)
    for _ in range(n):
        bench.tick()
        total[0] += bench.ctl.left.dn
        total[1] += bench.ctl.right.dn
    return total[0] / n / 10, total[1] / n / 10


def test_the_rider_holds_the_cadence_and_pushes_harder_against_more_brake():
    bench = ScenarioBench({"format": 1, "rider": {"cadence_rpm": 20}})
    ctl = bench.ctl
    ctl.set_caps([40, 30, 30, 1500, 30, 0, 60, 1500])
    ctl.set_goals([20, 10, 30, 5])
    bench.run(0.1)
    ctl.start()
    bench.run(60)
    light = mean_force(bench, 6)
    assert abs(ctl.crank.drpm - 200) <= 10
    ctl.set_goals([20, 10, 30, 40])
    bench.run(120)
    heavy = mean_force(bench, 6)
    assert abs(ctl.crank.drpm - 200) <= 15
    assert heavy[0] > light[0] * 2 and heavy[1] > light[1] * 2
    assert heavy[0] > heavy[1]  # the weaker right leg


def test_the_weaker_leg_tires_faster_and_the_pushing_grows_less_even():
    bench = ScenarioBench({"format": 1, "rider": {"right_fatigue_per_min": 0.05}})
    bench.run(0.1)
    bench.ctl.start()
    bench.run(60)
    early = mean_force(bench, 6)
    bench.run(600)
    late = mean_force(bench, 6)
    assert late[1] / late[0] < early[1] / early[0]


def test_a_scenario_spasm_is_caught_and_the_session_still_ends_done():
    bench = ScenarioBench({"format": 1, "events": [{"at_s": 90, "spasm": {"side": "right", "force_n": 500, "duration_s": 1}}]})
    ctl = bench.ctl
    ctl.set_caps([20, 5, 30, 250, 10, 60, 60, 250])
    ctl.set_goals([2, 15, 25, 15])
    bench.run(0.1)
    ctl.start()
    seen = []

    def watch(b):
        if not seen or seen[-1] != b.ctl.state:
            seen.append(b.ctl.state)

    bench.run(5 * 60, watch)
    assert REST in seen and seen[-1] == DONE and COOLDOWN in seen and WORK in seen


def test_backward_pedalling_from_a_standstill_is_not_a_spasm():
    bench = ScenarioBench({"format": 1, "rider": {"cadence_rpm": 0},
                           "events": [{"at_s": 2, "cadence_rpm": -15}]})
    bench.run(0.1)
    bench.ctl.start()
    bench.run(30)
    assert bench.ctl.crank.drpm < -100 and bench.ctl.state != REST


def test_a_recording_replays_into_the_same_cadence_and_forces():
    lines = ["softcrank-recording 1", "# made by hand", "c 4 1000 2000 100 100"]
    t = (1 << 30) - 500_000  # the unit's ticks wrap during the recording
    for i in range(40):  # 4 edges a revolution every 0.75 s: 20 rpm
        t = (t + 750_000) & ((1 << 30) - 1)
        lines.append("e %d 1" % t)
        lines.append("l %d %d" % (t, 1000 + 100 * 80))
        lines.append("r %d %d" % (t, 2000 + 100 * 40))
    replay = Replay.parse(lines)
    ctl = Controller(replay.edges_per_rev)
    ctl.left.tare, ctl.right.tare = replay.tare
    ctl.left.cpn, ctl.right.cpn = replay.cpn
    inp = Inputs()
    now = START_US
    for _ in range(2900):
        replay.step(now, TICK_US, ctl.brake, inp)
        now = ticks_add(now, TICK_US)
        ctl.tick(now, inp)
    assert abs(ctl.crank.drpm - 200) <= 1
    assert ctl.left.dn == 800 and ctl.right.dn == 400


def test_a_file_that_is_not_a_recording_is_refused():
    assert raises(RecordingError, Replay.parse, ["hello"])
    assert raises(RecordingError, Replay.parse, ["softcrank-recording 1", "e 12 forward"])
    assert raises(RecordingError, Replay.parse, ["softcrank-recording 1", "z 1 2"])
