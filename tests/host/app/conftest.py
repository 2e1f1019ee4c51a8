"""Fixtures of the app's tests: a ride log, a patient, the patient with two real sessions."""

import pytest

from app_helpers import FixedClock, add_captured_sessions
from softcrank.store.ridelog import RideLog


@pytest.fixture
def clock():
    return FixedClock("2026-03-01")


@pytest.fixture
def log(tmp_path, clock):
    with RideLog(tmp_path / "ridelog.sqlite", clock=clock) as ridelog:
        yield ridelog


@pytest.fixture
def patient(log):
    return log.add_patient("Ann B", "right", "foot drop after a stroke")


@pytest.fixture
def history(log, clock, patient):
    """Ann B with the two captured sessions."""
    add_captured_sessions(log, clock, patient)
    return patient
