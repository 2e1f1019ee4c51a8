"""Issue 12's hazards, each pinned tick by tick (docs/safety.md, rows 24-31): a flexor spasm, a
stall that reverses the crank, a rider who stops, a dead crank sensor, a flat load cell, TARE
and CAL that cannot shift the forces, STOP + START that cannot skip a spasm's rest, and a
train of spasms during a rest. Runs on CPython and on MicroPython (tests/test_micropython.py)."""

from softcrank_fw import protocol as P
from softcrank_fw.compat import ticks_add
from softcrank_fw.control import (
    EV_CAL_FAILED, EV_CALIBRATED, EV_FAULT, EV_PAUSE, EV_REST_END, EV_SPASM, EV_START, FAULT,
    FAULT_CRANK_DEAD, FAULT_FLAT, FAULT_SIDE_LEFT, FAULT_SIDE_RIGHT, PAUSED, REST, SPASM_REST_MS,
    STOPPED_PAUSE_MS, TARE_QUIET_DN, TARE_SHIFT_DN, TARE_STILL_MS, WARMUP, WORK,
)
from softcrank_fw.crank import REVERSAL_STALL_US, Crank
from softcrank_fw.force import CAL_CPN_MAX, CAL_CPN_MIN
from softcrank_fw.ramp import max_rise
from softcrank_fw.watch import FLAT_DN, OTHER_DN, SPAN_WINDOWS, SWING_DN, WINDOW_MS
from support import START_US, Bench


def working(seconds=90, **kw):
    """A session in work with the brake on (no warm-up), after `seconds`."""
    bench = Bench(**kw)
    bench.run(0.1)
    bench.ctl.caps.warmup_s = 0
    assert bench.ctl.start() == 0
    bench.run(seconds)
    assert bench.ctl.state == WORK and bench.ctl.brake > 0
    return bench


def until(bench, cond, max_ticks):
    """Tick until cond(bench) holds after a tick; returns (ticks taken, brake of that tick)."""
    for n in range(1, max_ticks + 1):
        brake = bench.tick()
        if cond(bench):
            return n, brake
    assert False, "not within %d ticks" % max_ticks


def test_the_safety_numbers_of_issue_12_are_what_docs_safety_md_says():
    assert (STOPPED_PAUSE_MS, TARE_STILL_MS, TARE_QUIET_DN, TARE_SHIFT_DN) == (5_000, 1_000, 30, 100)
    assert (WINDOW_MS, SWING_DN, OTHER_DN, FLAT_DN, SPAN_WINDOWS) == (1000, 300, 100, 20, 4)
    assert REVERSAL_STALL_US == 1_000_000 and (CAL_CPN_MIN, CAL_CPN_MAX) == (2_000, 13_000)
    assert (FAULT_CRANK_DEAD, FAULT_FLAT, P.PAUSE_STOPPED, P.SPASM_PULL_L, P.SPASM_PULL_R) == (31, 7, 4, 4, 5)


def test_a_flexor_spasm_unloads_in_the_tick_the_pull_passes_the_threshold_on_either_pedal():
    for side, cause in ((0, P.SPASM_PULL_L), (1, P.SPASM_PULL_R)):
        bench = working()
        ctl = bench.ctl
        bench.rider.spasm_side = side
        bench.rider.spasm_n = -500.0  # the strapped foot pulls the pedal up
        cell = ctl.left if side == 0 else ctl.right
        _, brake = until(bench, lambda b: cell.dn < -b.ctl.caps.spasm_n * 10, 3)
        assert brake == 0 and ctl.state == REST and bench.events(EV_SPASM) == [cause]


def test_each_leg_is_judged_against_its_own_threshold():
    bench = working()
    ctl = bench.ctl
    assert ctl.set_caps([20, 15, 30, 600, 5, 0, 180, 150]) == 0  # the affected right leg: 150 N
    bench.rider.spasm_n = 400.0  # 400 N on the left: under its 600 N
    bench.run(1)
    assert ctl.state == WORK and bench.events(EV_SPASM) == []
    bench.rider.spasm_side = 1
    bench.rider.spasm_n = -200.0  # a 200 N pull on the right: past its 150 N
    _, brake = until(bench, lambda b: b.ctl.right.dn < -1500, 3)
    assert brake == 0 and bench.events(EV_SPASM) == [P.SPASM_PULL_R]


def test_a_pull_within_the_threshold_is_no_spasm():
    bench = working()
    bench.rider.spasm_n = -200.0  # a strapped foot lifting the pedal: 200 N is below 250 N
    bench.run(3)
    assert bench.ctl.state == WORK and bench.events(EV_SPASM) == []


def test_a_stall_then_a_reverse_is_a_spasm_in_the_tick_the_reversal_is_confirmed():
    bench = working()
    ctl = bench.ctl
    bench.rider.rpm = 0.0
    bench.run(0.3)  # the spasm holds the crank...
    bench.rider.rpm = -10.0  # ...then drives it backward: the cadence decayed below 5 rpm by then
    _, brake = until(bench, lambda b: b.ctl.crank.reversals == 1, 100)
    assert brake == 0 and ctl.state == REST and bench.events(EV_SPASM) == [P.SPASM_REVERSAL]


def test_the_crank_judges_a_reversal_against_the_travel_before_the_stall():
    def ride(stall_us, back_rpm):
        crank = Crank(24)
        t = START_US
        for _ in range(48):  # two revolutions forward at 20 rpm
            t = ticks_add(t, 125_000)
            crank.edge(t, True)
        t = ticks_add(t, stall_us)
        gap = 60_000_000 // (back_rpm * 24)
        for _ in range(3):
            crank.edge(t, False)
            t = ticks_add(t, gap)
        return crank.reversals

    assert ride(300_000, 10) == 1  # issue 12's case: 0.3 s still, then 10 rpm backward
    assert ride(REVERSAL_STALL_US, 3) == 1  # at the limit, however slowly it goes back
    assert ride(REVERSAL_STALL_US + 1, 20) == 0  # a rider who rested past a second turns back


def test_a_rider_who_stops_is_held_at_once_then_paused_unloaded_and_pedalling_again_re_ramps():
    bench = working(60)  # still ramping towards the 10 % goal: without the hold it would rise
    ctl = bench.ctl
    bench.rider.rpm = 0.0
    n, _ = until(bench, lambda b: b.ctl.crank.drpm == 0, 200)
    held = ctl.brake
    assert n <= 90  # a 3 rpm gap at 24 edges a revolution: 0.83 s
    ticks, brake = until(bench, lambda b: b.ctl.brake > held or b.ctl.state != WORK, 1000)
    assert ctl.state == PAUSED and brake == 0 and bench.events(EV_PAUSE) == [P.PAUSE_STOPPED]
    assert ticks == STOPPED_PAUSE_MS // 10 - 1  # held, never raised, 5 s from the tick that read 0
    assert n + ticks <= 1000  # paused with the brake at zero within 10 s of the last pedal stroke
    bench.rider.rpm = 20.0
    bench.run(1)
    assert ctl.brake == 0  # pedalling alone does not bring the brake back
    assert ctl.resume() == 0
    last = [0]

    def within_ramp(b):
        assert b.ctl.brake - last[0] <= max_rise(b.ctl.caps.ramp_pct_min, 10)
        last[0] = b.ctl.brake

    bench.run(5, within_ramp)  # from zero, under the ramp
    assert 0 < ctl.brake <= max_rise(ctl.caps.ramp_pct_min, 5000)


def test_a_session_whose_rider_has_not_started_pedalling_is_held_at_zero_not_paused():
    bench = Bench(rpm=0.0)
    bench.run(0.1)
    bench.ctl.caps.warmup_s = 0
    assert bench.ctl.start() == 0
    bench.run(30)
    assert bench.ctl.state == WORK and bench.ctl.brake == 0 and bench.events(EV_PAUSE) == []
    bench.rider.rpm = 20.0
    bench.run(10)
    assert 0 < bench.ctl.brake <= max_rise(bench.ctl.caps.ramp_pct_min, 10_000)


def test_a_dead_crank_sensor_with_the_rider_pedalling_on_faults_within_5_s():
    bench = working()
    bench.rider.crank_fault = "dead"
    ticks, brake = until(bench, lambda b: b.ctl.state == FAULT, 500)
    assert brake == 0 and bench.events(EV_FAULT) == [FAULT_CRANK_DEAD]
    assert ticks <= (SPAN_WINDOWS + 1) * WINDOW_MS // 10
    assert bench.ctl.stop() == 0 and bench.ctl.fault_code() == 0  # STOP clears it, as any fault


def test_a_rider_who_stops_with_the_feet_resting_is_no_dead_crank():
    bench = working()
    bench.rider.rpm = 0.0
    bench.run(20)
    assert bench.events(EV_FAULT) == [] and bench.events(EV_PAUSE) == [P.PAUSE_STOPPED]


def test_a_flat_load_cell_while_the_other_leg_pedals_faults_within_5_s_on_either_side():
    for side, code in ((0, FAULT_SIDE_LEFT + FAULT_FLAT), (1, FAULT_SIDE_RIGHT + FAULT_FLAT)):
        bench = working()
        bench.rider.fault_side = side
        bench.rider.fault = "flat"  # a broken excitation wire: offset plus noise
        ticks, brake = until(bench, lambda b: b.ctl.state == FAULT, 500)
        assert brake == 0 and bench.events(EV_FAULT) == [code] and ticks <= 500, side


def test_weak_and_slow_legs_are_not_flat():
    bench = working(right_strength=0.05)  # a foot-drop leg giving almost nothing
    bench.run(60)
    assert bench.events(EV_FAULT) == []


def test_tare_is_refused_with_a_load_on_a_pedal_or_while_pedalling_and_changes_nothing():
    bench = Bench(rpm=20.0)
    ctl = bench.ctl
    bench.run(2)
    tares = (ctl.left.tare, ctl.right.tare)
    assert ctl.tare() == P.NAK_LOADED  # pedalling at 20 rpm
    bench.rider.rpm = 0.0
    bench.rider.foot_weight_n = 0.0
    bench.rider.strength = [0.0, 0.0]  # the legs push no more
    bench.rider.spasm_n = 150.0  # 150 N resting on the left pedal, still
    bench.run(2.1)
    assert ctl.tare() == P.NAK_LOADED
    bench.rider.spasm_n = 0.0
    bench.rider.foot_weight_n = 12.0  # a resting foot: more than the 10 N a zero may move
    bench.run(2.1)
    assert ctl.tare() == P.NAK_LOADED
    bench.run(1)
    assert (ctl.left.tare, ctl.right.tare) == tares and not ctl.left.busy()
    bench.rider.foot_weight_n = 0.0
    bench.run(2.1)
    assert ctl.tare() == 0  # feet off, crank still: taken


def test_tare_needs_a_whole_still_second_after_the_last_crank_edge():
    bench = Bench(rpm=20.0)
    bench.rider.foot_weight_n = 0.0
    bench.run(2)
    bench.rider.rpm = 0.0
    bench.rider.strength = [0.0, 0.0]
    n, _ = until(bench, lambda b: b.ctl.tare() == 0, 400)
    assert n * 10 >= TARE_STILL_MS


def test_cal_takes_a_scale_only_within_the_reference_builds_band():
    bench = Bench(rpm=0.0, cpn=(8_800, 8_800))  # the reference build's 50 kg cells at 2 mV/V
    ctl = bench.ctl
    bench.rider.foot_weight_n = 0.0
    bench.rider.spasm_n = 98.1  # 10 kg hangs from the left pedal
    bench.run(2)
    assert ctl.calibrate("L", 10) == 0  # typed in kg: the scale would read 86,000 counts per newton
    bench.run(1)
    assert ctl.left.cpn == 8_800 and bench.events(EV_CAL_FAILED) == [0] and bench.events(EV_CALIBRATED) == []
    assert ctl.calibrate("L", 981) == 0  # in tenths of a newton: 880 counts per newton
    bench.run(1)
    assert ctl.left.cpn == 8_800 and bench.events(EV_CAL_FAILED) == [0, 0]
    assert ctl.calibrate("L", 98) == 0  # newtons, as asked
    bench.run(1)
    assert abs(ctl.left.cpn - 8_800) <= 100 and bench.events(EV_CALIBRATED) == [0]


def test_stop_then_start_after_a_spasm_pause_rests_first_and_keeps_the_spasm_window():
    bench = working()
    ctl = bench.ctl
    for _ in range(3):
        bench.rider.spasm_n = 400.0
        bench.run(0.5)
        bench.rider.spasm_n = 0.0
        bench.run(1.5)
    assert ctl.state == PAUSED and bench.events(EV_PAUSE) == [P.PAUSE_SPASMS]
    assert ctl.stop() == 0 and ctl.stop() == 0
    ctl.caps.warmup_s = 300
    assert ctl.start() == 0
    assert ctl.state == REST and ctl.brake == 0 and bench.events(EV_START)[-1] == 1
    bench.run(SPASM_REST_MS / 1000 - 0.1)
    assert ctl.state == REST and ctl.brake == 0
    bench.run(0.2)
    assert ctl.state == WARMUP and bench.events(EV_REST_END) == [0]
    assert ctl.brake <= max_rise(ctl.caps.ramp_pct_min, 200)


def test_stop_in_a_spasm_rest_does_not_skip_it_but_a_rest_served_is_not_owed_again():
    bench = working()
    ctl = bench.ctl
    bench.rider.spasm_n = 400.0
    bench.run(0.5)
    bench.rider.spasm_n = 0.0
    bench.run(1)
    assert ctl.state == REST
    ctl.stop()
    ctl.stop()
    ctl.caps.warmup_s = 300
    assert ctl.start() == 0 and ctl.state == REST
    bench.run(SPASM_REST_MS / 1000 + 0.1)
    assert ctl.state == WARMUP
    ctl.stop()
    ctl.stop()
    assert ctl.start() == 0 and ctl.state == WARMUP and bench.events(EV_START)[-1] == 0


def test_a_spasm_train_during_a_rest_counts_every_spasm_and_pauses():
    bench = working()
    ctl = bench.ctl
    seen = []
    for i, force in enumerate((400.0, -400.0, 400.0)):  # 1.5 s apart, the 2nd and 3rd in the rest
        bench.rider.spasm_side = i % 2
        bench.rider.spasm_n = force
        _, brake = until(bench, lambda b: len(b.events(EV_SPASM)) == i + 1, 5)
        assert brake == 0
        seen.append(ctl.state)
        bench.run(0.5)
        bench.rider.spasm_n = 0.0
        bench.run(1)
    assert seen == [REST, REST, PAUSED] and bench.events(EV_PAUSE) == [P.PAUSE_SPASMS]
    assert bench.events(EV_SPASM) == [P.SPASM_FORCE_L, P.SPASM_PULL_R, P.SPASM_FORCE_L]
