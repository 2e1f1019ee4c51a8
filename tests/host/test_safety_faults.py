"""The fault-injection suite, end to end: each fault of docs/safety.md's table injected into the
real firmware on the virtual trainer (real MicroPython, a real pseudo-terminal, the real host
link), from a scenario file or from the host's side. Each run checks what the table promises
(softcrank/faultrun.py raises FaultNotHandled otherwise); the asserts here pin the figures the
table records. The unit-level versions of the same promises are in tests/firmware/
(test_session.py, test_force.py, test_crank.py, test_pico_main.py, test_pico_board.py) and
tests/properties/; this suite shows them hold through the whole stack."""

import pytest

from softcrank.verify import faultrun
from softcrank_fw.control import OVERSPEED_PAUSE_MS
from softcrank_fw.force import STALE_MS, STUCK_READINGS


def no_loss(result):
    assert result.lost == 0 and result.records > 0


def test_e_stop_input_zeroes_the_brake_in_the_tick_and_holds_until_stop():
    result = faultrun.run_estop()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 1
    no_loss(result)


def test_e_stop_from_the_host_zeroes_the_brake():
    result = faultrun.run_host_estop()
    assert result.event_to_zero_ticks == 0
    no_loss(result)


def test_a_spasm_unloads_in_the_tick_rests_and_re_ramps_from_zero():
    result = faultrun.run_spasm()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= 3  # one 12.5 ms ADC period
    no_loss(result)


@pytest.mark.parametrize("kind,bound", [("stale", STALE_MS // 10 + 2), ("rail", 3),
                                        ("stuck", STUCK_READINGS * 125 // 100 + 3), ("jump", 3), ("noisy", 100)])
def test_a_load_cell_fault_unloads_the_brake_when_detected(kind, bound):
    result = faultrun.run_load_cell(kind)
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= bound
    assert result.notes["event"] == "FAULT" or kind == "noisy"  # noise is caught as a spasm or a jump
    no_loss(result)


def test_overspeed_holds_resistance_then_pauses_unloaded():
    result = faultrun.run_overspeed()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks <= OVERSPEED_PAUSE_MS // 10
    assert result.notes["cadence_drpm"] > 300
    no_loss(result)


def test_the_duration_cap_ends_work_and_unloads_in_the_same_tick():
    result = faultrun.run_duration_cap()
    assert result.event_to_zero_ticks == 0 and result.onset_to_zero_ticks == 0
    no_loss(result)


def test_a_bouncing_crank_contact_reads_the_true_cadence_and_no_spasm():
    result = faultrun.run_crank_bounce()
    assert 19 <= result.notes["mean_cadence_rpm"] <= 21
    no_loss(result)


def test_an_exception_in_the_tick_resets_the_board_idle_with_the_brake_off():
    result = faultrun.run_exception()
    assert result.reboots == 1
    no_loss(result)


def test_a_hung_loop_is_reset_by_the_watchdog_within_its_timeout():
    result = faultrun.run_hang()
    assert result.reboots == 1 and 2.0 <= result.notes["watchdog_s"] <= 2.5
    no_loss(result)


def test_a_brownout_mid_ride_boots_idle_and_the_link_reconnects():
    result = faultrun.run_power_cut()
    assert result.reboots == 1
    no_loss(result)


def test_ctrl_c_leaves_the_brake_off_the_watchdog_stopped_and_the_repl_up():
    assert faultrun.run_ctrl_c().event_to_zero_ticks == 0


def test_the_cable_out_for_30_s_holds_then_pauses_unloaded_and_loses_no_record():
    result = faultrun.run_cable_out(30)
    assert result.event_to_zero_ticks == 0 and result.notes["replayed"] > 30 * 50
    no_loss(result)


def test_the_simulated_boards_reset_codes_are_the_picos():
    """softcrank_pico/resetlog.py imports machine, so its table is read from its source."""
    import pathlib
    import re

    from softcrank_sim import resets

    text = (pathlib.Path(faultrun.__file__).resolve().parents[3] / "firmware" / "softcrank_pico" / "resetlog.py").read_text()
    codes = dict(re.findall(r"^([A-Z_]+) = const\((\d)\)", text, re.MULTILINE))
    assert {k: int(v) for k, v in codes.items() if k in faultrun.RESET_CODES} == faultrun.RESET_CODES
    assert (resets.POWER_ON, resets.WATCHDOG, resets.EXCEPTION, resets.INTERRUPTED) == (0, 1, 2, 4)


def test_a_host_that_stops_reading_for_10_s_changes_nothing_and_loses_no_record():
    result = faultrun.run_host_not_reading(10)
    assert result.notes["queued_kb"] > 40 and result.records > 1000


def test_forged_replayed_and_stale_caps_mid_ride_are_refused_and_change_nothing():
    result = faultrun.run_unauthorised_caps()
    assert result.notes["refused"] == 4
    no_loss(result)
