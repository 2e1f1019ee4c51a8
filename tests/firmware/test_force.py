"""Pedal force from load-cell counts, and the plausibility checks that fault instead of lying."""

from softcrank_fw.force import (
    CALIBRATED, CALIBRATION_FAILED, FAULT_JUMP, FAULT_RAIL, FAULT_RANGE, FAULT_SLOW, FAULT_STALE,
    FAULT_STUCK, STALE_MS, STUCK_READINGS, TARED, LoadCell,
)


def cell(tare=10_000, cpn=500):
    c = LoadCell()
    c.tare = tare
    c.cpn = cpn
    return c


def noisy(c, raw, n):
    for i in range(n):
        c.reading(raw + (i % 3) - 1)


def test_counts_become_tenths_of_a_newton():
    c = cell()
    c.reading(10_000 + 500 * 123)
    assert c.dn == 1230 and c.fault == 0


def test_rail_values_fault():
    for raw in (0x7FFFFF, -0x800000):
        c = cell()
        c.reading(raw)
        assert c.fault == FAULT_RAIL


def test_no_reading_for_too_long_faults():
    c = cell()
    c.reading(10_000)
    for _ in range(STALE_MS // 10 - 1):
        c.age(10)
    assert c.fault == 0
    c.age(10)
    assert c.fault == FAULT_STALE


def test_a_stuck_value_faults_but_a_quiet_noisy_one_does_not():
    c = cell()
    noisy(c, 20_000, 1000)
    assert c.fault == 0
    for _ in range(STUCK_READINGS + 1):
        c.reading(20_000)
    assert c.fault == FAULT_STUCK


def test_an_impossible_jump_faults():
    c = cell()
    c.reading(10_000)
    c.reading(10_000 + 500 * 900)  # 900 N in 12.5 ms
    assert c.fault == FAULT_JUMP


def test_an_impossible_force_faults():
    c = cell(cpn=10)
    c.reading(10_000 + 10 * 2600)
    assert c.fault == FAULT_RANGE


def test_a_fault_latches_until_cleared():
    c = cell()
    c.reading(0x7FFFFF)
    noisy(c, 12_000, 10)
    assert c.fault == FAULT_RAIL and c.dn == 0
    c.clear()
    noisy(c, 12_000, 10)
    assert c.fault == 0 and c.dn == 39


def test_tare_averages_the_unloaded_readings():
    c = cell(tare=0)
    c.start_tare()
    noisy(c, 7_000, 32)
    assert c.done == TARED and not c.busy()
    assert abs(c.tare - 7_000) <= 1


def test_calibration_with_a_known_weight_sets_counts_per_newton():
    c = cell(tare=7_000, cpn=1)
    c.start_calibration(100)
    noisy(c, 7_000 + 100 * 8_842, 32)
    assert c.done == CALIBRATED and c.cpn == 8_842


def test_calibration_with_no_weight_on_the_pedal_fails_and_keeps_the_old_scale():
    c = cell(tare=7_000, cpn=8_842)
    c.start_calibration(100)
    noisy(c, 7_000, 32)
    assert c.done == CALIBRATION_FAILED and c.cpn == 8_842


def ride_readings(c, per_second, seconds):
    """Readings at `per_second` for `seconds`, with time passing in 10 ms ticks."""
    every = 100 // per_second
    for tick in range(seconds * 100):
        c.age(10)
        if tick % every == 0:
            c.reading(10_000 + 500 * 20 + tick % 3)


def test_an_adc_left_at_10_samples_a_second_faults_and_80_does_not():
    c = cell()
    ride_readings(c, 50, 3)  # 50 a second: slower than 80, still well within the check
    assert c.fault == 0
    c = cell()
    ride_readings(c, 10, 3)
    assert c.fault == FAULT_SLOW
