"""A ride starts only on this patient's caps, or with a therapist's confirmation (issue 15 item 3):
on the virtual trainer (the real firmware on MicroPython behind a pty), through `softcrank ride`'s
record_session and the command line."""

import subprocess
import sys

import pytest

from softcrank.cli.ride import RideError, record_session
from softcrank.deploy import deploy
from softcrank.sim.virtual_board import VirtualBoard
from softcrank.store.ridelog import RideLog
from softcrank.trainer import therapist
from softcrank.trainer.link import Link
from softcrank.trainer.therapist import PinRefused
from softcrank.trainer.whose_caps import confirm_other_caps, not_this_patients

SPEED = 25
PIN = "482913"
CAPS = {"max_res_pct": 30, "max_dur_min": 10, "max_cad_rpm": 40, "spasm_n": 300, "ramp_pct_min": 6,
        "warmup_s": 60, "cooldown_s": 60, "spasm_r_n": 250}


@pytest.fixture
def log(tmp_path):
    with RideLog(tmp_path / "ride.sqlite") as log:
        log.add_patient("Ann B", "right")
        log.add_patient("Bob C", "left")
        therapist.set_pin(log, PIN)
        yield log


@pytest.fixture
def board(tmp_path, log):
    with VirtualBoard(flash=tmp_path / "flash", speed=SPEED) as board:
        deploy(board.port, log=lambda line: None, keys=therapist.unlock(log, PIN, "deploy"))
        yield board


def quiet(line):
    pass


def test_a_ride_on_the_firmwares_defaults_is_refused_without_a_therapist(log, board):
    with pytest.raises(RideError, match=r"the firmware's defaults \(no therapist has set caps on this trainer\), "
                                        "not this patient's: a therapist must set"):
        record_session(log, 1, board.port, speed=SPEED, write=quiet)
    assert log.sessions() == []
    with Link(board.port) as link:
        assert link.info["H"]["state"] == "I"  # nothing was started


def test_a_ride_on_another_patients_caps_needs_the_therapists_pin(log, board):
    with Link(board.port) as link:
        therapist.send_caps(link, log, 1, CAPS, PIN, "dr. Rossi")  # signed for Ann B (id 1)
    with Link(board.port) as link:  # a new handshake: its C says whose caps
        c = link.info["C"]
    assert not_this_patients(c, 1, log) is None
    assert not_this_patients(c, 2, log) == "the trainer holds caps set for Ann B, not this patient's"
    with pytest.raises(RideError, match="caps set for Ann B, not this patient's"):
        record_session(log, 2, board.port, speed=SPEED, write=quiet)

    def wrong_pin(device, why):
        confirm_other_caps(log, "000000", 2, device, why)
    with pytest.raises(PinRefused):
        record_session(log, 2, board.port, speed=SPEED, write=quiet, confirm_caps=wrong_pin)
    assert log.sessions() == []
    trail = [(a["action"], a["outcome"]) for a in log.audit_trail()]
    assert ("pin", "refused: wrong PIN") in trail and ("ride", "confirmed on other caps") not in trail

    lines = []

    def right_pin(device, why):
        confirm_other_caps(log, PIN, 2, device, why)
    result = record_session(log, 2, board.port, work_min=1, speed=SPEED, write=lines.append, confirm_caps=right_pin)
    assert result["end_state"] == "D" and log.session(result["session"])["patient_id"] == 2
    assert "riding on other caps, confirmed by the therapist: the trainer holds caps set for Ann B" in "\n".join(lines)
    assert ("ride", "confirmed on other caps") in [(a["action"], a["outcome"]) for a in log.audit_trail()]


def test_the_patients_own_caps_need_no_confirmation_and_the_command_line_says_why_it_refuses(log, board):
    with Link(board.port) as link:
        therapist.send_caps(link, log, 1, CAPS, PIN, "dr. Rossi")
    out = subprocess.run([sys.executable, "-m", "softcrank", "ride", "--db", str(log.path), "--patient", "Bob C",
                          "--port", board.port, "--speed", str(SPEED)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "caps set for Ann B, not this patient's" in out.stderr and "--confirm-caps" in out.stderr
    result = record_session(log, 1, board.port, work_min=1, speed=SPEED, write=quiet)  # Ann B's own caps
    assert result["end_state"] == "D"
