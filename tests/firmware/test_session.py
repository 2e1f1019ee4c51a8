"""The session state machine and the control tick, ridden in virtual time."""

from softcrank_fw import protocol as P
from softcrank_fw.control import (
    COOLDOWN, DONE, ESTOP, EV_COOLDOWN, EV_ESTOP, EV_FAULT, EV_HOST_LOST, EV_OVERSPEED,
    EV_PAUSE, EV_REST_END, EV_SPASM, FAULT, FAULT_SIDE_LEFT, HOST_TIMEOUT_MS, IDLE, PAUSED,
    REST, SPASM_REST_MS, WARMUP, WORK,
)
from softcrank_fw.force import FAULT_RAIL, FAULT_STALE, FAULT_STUCK, FAULT_JUMP
from softcrank_fw.ramp import max_rise
from support import Bench


def started(**kw):
    bench = Bench(**kw)
    bench.run(0.1)  # the load cells have answered
    assert bench.ctl.start() == 0
    return bench


def test_a_planned_session_runs_warm_up_work_cool_down_to_done():
    bench = started()
    ctl = bench.ctl
    seen = []

    def watch(b):
        if not seen or seen[-1] != b.ctl.state:
            seen.append(b.ctl.state)

    bench.run(5 * 60 + 10 * 60 + 3 * 60 + 5, watch)  # defaults: 5 + 10 + 3 minutes
    assert seen == [WARMUP, WORK, COOLDOWN, DONE]
    assert ctl.brake == 0
    assert bench.events(EV_COOLDOWN) == [0]  # the plan ended the work, not the cap


def test_work_resistance_is_reached_gently_and_warm_up_is_lighter():
    bench = started()
    ctl = bench.ctl
    ctl.set_goals([10, 15, 25, 20])
    bench.run(290)
    assert ctl.state == WARMUP and ctl.brake == 50_000  # a quarter of 20 %
    bench.run(15)
    assert ctl.state == WORK and ctl.brake < 200_000  # still ramping at 5 %/min
    bench.run(180)
    assert ctl.brake == 200_000


def test_resistance_never_rises_faster_than_the_ramp_in_a_whole_session():
    bench = started()
    bench.ctl.set_goals([10, 15, 25, 20])
    last = [0]

    def check(b):
        assert b.ctl.brake - last[0] <= max_rise(b.ctl.caps.ramp_pct_min, 10)
        assert b.ctl.brake <= b.ctl.caps.max_res_pct * 10_000
        last[0] = b.ctl.brake

    bench.run(15 * 60, check)


def test_the_duration_cap_ends_work_early_and_unloads_the_brake():
    bench = started()
    ctl = bench.ctl
    ctl.set_caps([20, 10, 30, 250, 5, 300, 180, 250])  # 10 min cap with a 5 min warm-up
    ctl.set_goals([60, 15, 25, 20])  # asks for an hour: clamped to 5 minutes
    assert ctl.goals.dur_min == 5
    ctl.goals.values[0] = ctl.goals.dur_min = 60  # even if a goal slipped past the clamp...
    assert bench.run_until(COOLDOWN, 10 * 60 + 1)
    assert ctl.brake == 0 and bench.events(EV_COOLDOWN) == [1]  # ...the cap wins
    assert 10 * 60_000 <= ctl.ride_ms <= 10 * 60_000 + 10


def test_the_e_stop_input_zeroes_the_brake_in_the_same_tick():
    bench = started()
    bench.ctl.caps.warmup_s = 0
    bench.run(120)
    assert bench.ctl.brake > 0
    bench.rider.estop = True
    assert bench.tick() == 0
    assert bench.ctl.state == ESTOP and bench.events(EV_ESTOP) == [0]


def test_e_stop_is_left_only_by_stop_once_the_button_is_released():
    bench = started()
    bench.rider.estop = True
    bench.run(1)
    assert bench.ctl.stop() == P.NAK_STATE and bench.ctl.state == ESTOP
    bench.rider.estop = False
    bench.run(1)
    assert bench.ctl.state == ESTOP  # releasing the button alone does not resume
    assert bench.ctl.stop() == 0 and bench.ctl.state == IDLE


def test_the_host_e_stop_zeroes_the_brake_at_once():
    bench = started()
    bench.ctl.caps.warmup_s = 0
    bench.run(120)
    assert bench.ctl.estop() == 0 and bench.ctl.brake == 0
    assert bench.tick() == 0 and bench.events(EV_ESTOP) == [1]


def test_each_load_cell_fault_zeroes_the_brake_in_the_same_tick():
    for fault, code in (("rail", FAULT_RAIL), ("stuck", FAULT_STUCK), ("stale", FAULT_STALE), ("jump", FAULT_JUMP)):
        bench = started()
        bench.ctl.caps.warmup_s = 0
        bench.run(120)
        assert bench.ctl.brake > 0
        bench.rider.fault = fault
        for _ in range(300):
            brake = bench.tick()
            if bench.ctl.state == FAULT:
                break
        assert bench.ctl.state == FAULT and brake == 0, fault
        assert bench.events(EV_FAULT) == [FAULT_SIDE_LEFT + code], fault


def test_a_fault_blocks_a_new_session_until_cleared():
    bench = started()
    bench.rider.fault = "rail"
    bench.run(1)
    assert bench.ctl.start() == P.NAK_STATE
    bench.rider.fault = None
    assert bench.ctl.stop() == 0 and bench.ctl.state == IDLE
    bench.run(1)
    assert bench.ctl.state == IDLE and bench.ctl.start() == 0


def test_a_force_spasm_unloads_at_once_rests_then_re_ramps_from_zero():
    bench = started()
    ctl = bench.ctl
    ctl.caps.warmup_s = 0
    bench.run(150)
    assert ctl.brake > 0
    bench.rider.spasm_n = 400.0
    for _ in range(10):
        if bench.tick() == 0:
            break
    assert ctl.state == REST and ctl.brake == 0 and bench.events(EV_SPASM) == [P.SPASM_FORCE_L]
    bench.run(5)
    bench.rider.spasm_n = 0.0
    bench.run(SPASM_REST_MS / 1000 - 0.5)
    assert ctl.state == REST  # the rest counts from when the force eased
    bench.run(1)
    assert ctl.state == WORK and bench.events(EV_REST_END) == [0]
    assert ctl.brake <= max_rise(ctl.caps.ramp_pct_min, 1000)


def test_a_sudden_reversal_is_a_spasm():
    bench = started()
    bench.ctl.caps.warmup_s = 0
    bench.run(60)
    bench.rider.rpm = -20.0
    bench.run(1)
    assert bench.ctl.state == REST and bench.ctl.brake == 0
    assert bench.events(EV_SPASM) == [P.SPASM_REVERSAL]


def test_three_spasms_close_together_pause_the_session():
    bench = started()
    for _ in range(3):
        bench.rider.spasm_n = 400.0
        bench.run(1)
        bench.rider.spasm_n = 0.0
        bench.run(11)
    assert bench.ctl.state == PAUSED and bench.events(EV_PAUSE) == [P.PAUSE_SPASMS]


def test_host_silence_holds_resistance_then_ramps_it_down_and_pauses():
    bench = started(host=False)
    ctl = bench.ctl
    ctl.caps.warmup_s = 0
    peak = [0]

    def track(b):
        peak[0] = max(peak[0], b.ctl.brake)
        if b.ctl.silent_ms < 1000:
            b.ctl.host_seen()

    bench.run(60, track)
    ctl.host_seen()
    held = []

    def silent(b):
        if b.ctl.silent_ms >= 3000 and b.ctl.state == WORK:
            held.append(b.ctl.brake)

    bench.run(HOST_TIMEOUT_MS / 1000 + 2, silent)
    assert held and max(held) <= held[0]  # never rose once the host went quiet
    assert ctl.state == PAUSED and ctl.brake == 0
    assert bench.events(EV_HOST_LOST) == [0] and bench.events(EV_PAUSE) == [P.PAUSE_HOST_SILENT]
    assert ctl.resume() == 0 and ctl.state == WORK


def test_samples_keep_going_into_the_ring_while_the_host_is_silent():
    bench = started(host=False)
    before = bench.ctl.ring.next_rec
    bench.run(60)
    assert bench.ctl.ring.next_rec - before >= 600  # 10 Hz, plus events


def test_overspeed_stops_the_rise_then_pauses():
    bench = started(rpm=45.0)
    bench.ctl.caps.warmup_s = 0
    bench.run(7)
    assert bench.ctl.state == PAUSED and bench.events(EV_PAUSE) == [P.PAUSE_OVERSPEED]
    assert bench.events(EV_OVERSPEED) and bench.ctl.brake == 0


def test_pause_unloads_and_resume_ramps_from_zero_in_the_same_phase():
    bench = started()
    ctl = bench.ctl
    ctl.caps.warmup_s = 0
    bench.run(100)
    phase_ms = ctl.phase_ms
    assert ctl.pause() == 0 and ctl.brake == 0 and ctl.state == PAUSED
    bench.run(30)
    assert ctl.phase_ms == phase_ms  # a pause does not eat the plan
    assert ctl.resume() == 0 and ctl.state == WORK
    bench.tick()
    assert ctl.brake <= max_rise(ctl.caps.ramp_pct_min, 10)


def test_commands_in_the_wrong_state_are_refused():
    bench = Bench()
    ctl = bench.ctl
    assert ctl.pause() == P.NAK_STATE and ctl.resume() == P.NAK_STATE
    bench.run(0.1)
    assert ctl.start() == 0
    assert ctl.start() == P.NAK_STATE and ctl.tare() == P.NAK_STATE
    assert ctl.calibrate("L", 100) == P.NAK_STATE


def test_stop_ends_the_session_then_returns_to_idle():
    bench = started()
    bench.run(10)
    assert bench.ctl.stop() == 0 and bench.ctl.state == DONE and bench.ctl.brake == 0
    assert bench.ctl.stop() == 0 and bench.ctl.state == IDLE


def test_telemetry_reports_cadence_forces_and_symmetry_inputs():
    bench = started(rpm=20.0, left_strength=1.0, right_strength=0.5)
    bench.run(30)
    ring = bench.ctl.ring
    left = right = 0
    for back in range(1, 31):  # the last 3 s: one whole revolution at 20 rpm
        i = ring.index((ring.next_rec - back) & ((1 << 30) - 1))
        assert not ring.kind[i] & 0x80
        assert abs(ring.a[i] - 200) <= 3  # cadence, 0.1 rpm
        assert ring.f[i] & P.FLAG_IN_BAND
        left += ring.b[i]
        right += ring.c[i]
    assert left > right * 13 // 10 > 0  # the weaker right leg pushes less


def test_tare_and_calibration_run_from_the_tick():
    bench = Bench(rpm=0.0)
    ctl = bench.ctl
    ctl.left.tare = 0  # never zeroed: its first zero may be anywhere
    bench.rider.foot_weight_n = 0.0  # feet off the pedals
    bench.run(1.1)  # a whole second of still, quiet pedals
    assert ctl.tare() == 0
    bench.run(1)
    assert abs(ctl.left.tare - bench.rider.tare[0]) < 100


def test_a_spasm_held_through_pause_and_resume_keeps_the_brake_at_zero():
    bench = started()
    ctl = bench.ctl
    ctl.caps.warmup_s = 0
    bench.run(120)
    bench.rider.spasm_n = 600.0  # the leg stays in spasm
    bench.run(0.5)
    assert ctl.state == REST
    assert ctl.pause() == 0
    assert ctl.resume() == P.NAK_STATE and ctl.state == PAUSED  # not while the spasm lasts
    bench.rider.spasm_n = 0.0
    bench.run(1)
    assert ctl.resume() == 0 and ctl.state == REST  # back into the rest, not to work
    bench.run(SPASM_REST_MS / 1000 - 1)
    assert ctl.state == REST and ctl.brake == 0
    bench.run(1.5)
    assert ctl.state == WORK


def test_start_and_resume_are_refused_while_a_pedal_is_in_spasm():
    bench = Bench()
    ctl = bench.ctl
    bench.rider.spasm_n = 600.0
    bench.run(1)
    assert ctl.start() == P.NAK_STATE
    bench.rider.spasm_n = 0.0
    bench.run(1)
    assert ctl.start() == 0
    bench.run(1)
    ctl.pause()
    bench.rider.spasm_n = 600.0
    bench.run(1)
    assert ctl.resume() == P.NAK_STATE and ctl.state == PAUSED


def test_a_force_above_the_threshold_is_a_spasm_even_without_a_fresh_crossing():
    bench = started()
    ctl = bench.ctl
    ctl.caps.warmup_s = 0
    bench.run(60)
    ctl.pause()
    bench.rider.spasm_n = 600.0  # the spasm starts while paused...
    bench.run(0.05)
    ctl._resume = WORK
    ctl.state = WORK  # ...and the session is somehow riding again
    bench.tick()
    assert ctl.state == REST and ctl.brake == 0


def test_start_is_refused_while_the_pedals_are_being_tared():
    bench = Bench().feet_off()
    assert bench.ctl.tare() == 0
    assert bench.ctl.start() == P.NAK_STATE
    bench.run(1)
    assert bench.ctl.start() == 0


def test_start_is_refused_until_a_cleared_load_cell_reads_again():
    bench = Bench()
    bench.rider.fault = "stale"
    bench.run(1)
    assert bench.ctl.state == FAULT
    assert bench.ctl.stop() == 0 and bench.ctl.state == IDLE
    assert bench.ctl.start() == P.NAK_STATE  # no fresh reading from the dead cell yet
    bench.rider.fault = None
    bench.run(0.1)
    assert bench.ctl.start() == 0


def test_lowering_the_resistance_cap_lowers_the_brake_at_once():
    bench = started()
    ctl = bench.ctl
    ctl.caps.warmup_s = 0
    ctl.set_goals([10, 15, 25, 20])
    bench.run(241)  # 4 min at 5 %/min, from the first turn of the crank (held at 0 until it turns)
    assert ctl.brake == 200_000
    assert ctl.set_caps([5, 15, 30, 250, 5, 0, 180, 250]) == 0
    assert ctl.brake == 50_000  # before the next tick


def test_a_spasm_in_cool_down_does_not_restart_it():
    bench = started()
    ctl = bench.ctl
    ctl.set_caps([20, 6, 30, 250, 5, 300, 180, 250])
    assert bench.run_until(COOLDOWN, 6 * 60 + 1)
    bench.run(60)
    bench.rider.spasm_n = 600.0
    bench.run(1)
    bench.rider.spasm_n = 0.0
    assert bench.run_until(COOLDOWN, 12)
    assert len(bench.events(EV_COOLDOWN)) == 1  # one cool-down, not a second one
    assert ctl.phase_ms >= 60_000
