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

from test_therapist import slow_clock
from softcrank.trainer import whose_caps
from softcrank.trainer.whose_caps import not_this_patients

SPEED = 25
PIN = "482913"
CAPS = {"max_res_pct": 30, "max_dur_min": 10, "max_cad_rpm": 40, "spasm_n": 300, "ramp_pct_min": 6,
        "warmup_s": 60, "cooldown_s": 60, "spasm_r_n": 250}


@pytest.fixture
def log(tmp_path):
    with RideLog(tmp_path / "ride.sqlite", clock=slow_clock()) as log:  # a wrong PIN's wait has passed
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
                                        r"not this patient's \(above; logged\): a therapist must set"):
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

    def wrong_pin(link):
        whose_caps.confirm(log, link, "000000", "a visitor", 2)
    with pytest.raises(PinRefused):
        record_session(log, 2, board.port, speed=SPEED, write=quiet, confirm_caps=wrong_pin)
    assert log.sessions() == []
    trail = [(a["action"], a["outcome"]) for a in log.audit_trail()]
    assert ("pin", "refused: wrong PIN") in trail and not any(a == "ride" for a, _ in trail)
    assert ("caps check", "not this patient's") in trail  # each refusal is logged

    lines = []

    def right_pin(link):
        whose_caps.confirm(log, link, PIN, "dr. Rossi", 2)
    result = record_session(log, 2, board.port, work_min=1, speed=SPEED, write=lines.append, confirm_caps=right_pin)
    assert result["end_state"] == "D" and log.session(result["session"])["patient_id"] == 2
    said = "\n".join(lines)
    assert "caps check: the trainer holds caps set for Ann B, not this patient's" in said
    assert "the therapist confirmed the trainer's caps as they are for this ride (logged)" in said
    assert ("ride", "confirmed on other caps by dr. Rossi") in [(a["action"], a["outcome"]) for a in log.audit_trail()]
    with pytest.raises(RideError, match="caps set for Ann B"):  # for that ride only: the next one asks again
        record_session(log, 2, board.port, speed=SPEED, write=quiet)


def test_the_patients_own_caps_need_no_confirmation_and_the_command_line_says_why_it_refuses(log, board):
    with Link(board.port) as link:
        therapist.send_caps(link, log, 1, CAPS, PIN, "dr. Rossi")
    out = subprocess.run([sys.executable, "-m", "softcrank", "ride", "--db", str(log.path), "--patient", "Bob C",
                          "--port", board.port, "--speed", str(SPEED)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "caps set for Ann B, not this patient's" in out.stderr and "--confirm-caps" in out.stderr
    result = record_session(log, 1, board.port, work_min=1, speed=SPEED, write=quiet)  # Ann B's own caps
    assert result["end_state"] == "D"


def test_one_pin_confirms_both_findings_from_the_command_line(log, board, tmp_path):
    """Caps the ride log cannot account for (edited on the flash by hand) that are also another
    patient's: `ride --confirm-caps` asks the PIN once (one line on standard input), says both
    findings, logs both and the confirmation, and the ride starts."""
    import json

    from softcrank_fw import capstore

    with Link(board.port) as link:
        therapist.send_caps(link, log, 1, CAPS, PIN, "dr. Rossi")  # Ann B's
    log.close()
    board.stop()
    doc = json.loads((board.flash / "caps.json").read_text())
    doc["caps"][0] = 90  # max_res_pct raised by hand
    doc["check"] = capstore.file_check(doc["counter"], doc["caps"], doc["history"])
    (board.flash / "caps.json").write_text(json.dumps(doc))
    with VirtualBoard(flash=board.flash, speed=SPEED) as again:
        base = [sys.executable, "-m", "softcrank", "ride", "--db", str(log.path), "--patient", "Bob C",
                "--port", again.port, "--speed", str(SPEED), "--work", "1"]
        out = subprocess.run(base, capture_output=True, text=True, timeout=60)
        assert out.returncode == 1
        assert "cannot account for" in out.stdout + out.stderr and "caps set for Ann B" in out.stderr
        out = subprocess.run(base + ["--confirm-caps", "--by", "dr. Rossi", "--pin-stdin"], input=PIN + "\n",
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "confirmed the trainer's caps as they are for this ride" in out.stdout
    with RideLog(log.path) as reopened:
        trail = [(a["action"], a["outcome"]) for a in reopened.audit_trail()]
        assert ("caps check", "confirmed by dr. Rossi") in trail  # the tamper finding, accounted for
        assert ("ride", "confirmed on other caps by dr. Rossi") in trail  # whose caps, for this ride
        assert [s["patient_id"] for s in reopened.sessions()] == [2]
