"""Issue 12's hazards end to end (softcrank/hazardruns.py): each scenario on the virtual trainer,
the real firmware on MicroPython, through the real host link. The runs raise FaultNotHandled on
any broken promise; the asserts pin the figures docs/safety.md records (rows 24-31). The
tick-exact versions are tests/firmware/test_hazards.py, on both runtimes."""

from softcrank.verify import hazardruns
from softcrank_fw.control import SPASM_REST_MS, STOPPED_PAUSE_MS


def no_loss(result):
    assert result.lost == 0 and result.records > 0


def test_a_flexor_spasm_unloads_in_the_tick_rests_and_re_ramps_from_zero():
    result = hazardruns.run_flexor_spasm()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 3  # one 12.5 ms ADC period
    no_loss(result)


def test_a_stall_then_a_reverse_is_a_spasm_unloaded_in_its_tick():
    result = hazardruns.run_stall_reverse()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 100
    no_loss(result)


def test_a_rider_who_stops_is_held_then_paused_unloaded_within_10_s_and_re_ramps():
    result = hazardruns.run_rider_stops()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 1000
    assert STOPPED_PAUSE_MS - 30 <= result.notes["held_ms"] <= STOPPED_PAUSE_MS
    no_loss(result)


def test_a_dead_crank_sensor_with_the_rider_pedalling_on_faults_within_5_s():
    result = hazardruns.run_crank_dead_fault()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 500
    no_loss(result)


def test_a_broken_bridge_wire_faults_within_5_s_and_again_after_a_new_start():
    result = hazardruns.run_load_cell_flat()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 500
    no_loss(result)


def test_a_spasm_train_pauses_and_stop_start_rests_first():
    result = hazardruns.run_spasm_train()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 3
    assert result.notes["rest_after_start_ms"] >= SPASM_REST_MS - 10
    no_loss(result)


def test_tare_is_refused_while_pedalling_and_taken_with_nobody_on_the_trainer():
    result = hazardruns.run_tare_refused()
    assert result.notes == {"refused": "LOADED", "feet_off": "TARED"}
