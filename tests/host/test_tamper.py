"""Tamper evidence (issue 19, protocol 4): the trainer's history of accepted caps, read at every
connect and compared with the ride log. caps.json edited by hand on the virtual trainer's flash
(its check recomputed, as anyone with the USB port and mpremote could) is flagged before a
ride, logged, and the ride waits for a therapist's confirmation."""

import json

import pytest

from softcrank import cli
from softcrank.deploy import deploy
from softcrank.sim.virtual_board import VirtualBoard
from softcrank.store.ridelog import RideLog
from softcrank.trainer import capscheck, therapist
from softcrank.trainer.link import Link
from softcrank_fw import capstore

from test_therapist import CAPS, PIN, slow_clock

SPEED = 10


@pytest.fixture
def unit(tmp_path):
    """A ride log with a patient and the PIN, and a virtual trainer deployed with a key and caps."""
    with RideLog(tmp_path / "ride.sqlite", clock=slow_clock()) as log:
        patient = log.add_patient("Ann B", "right")
        therapist.set_pin(log, PIN)
        with VirtualBoard(flash=tmp_path / "flash", speed=SPEED) as board:
            deploy(board.port, log=lambda line: None, keys=therapist.unlock(log, PIN, "deploy"))
            with Link(board.port) as link:
                therapist.send_caps(link, log, patient, CAPS, PIN, "dr. Rossi", "week 1")
                therapist.send_caps(link, log, patient, dict(CAPS, max_res_pct=25), PIN, "dr. Rossi", "week 2")
            yield log, patient, board


def edit_caps_by_hand(flash, **changes):
    """What someone with the USB port could do: rewrite caps.json with a valid check."""
    doc = json.loads((flash / "caps.json").read_text())
    names = ["max_res_pct", "max_dur_min", "max_cad_rpm", "spasm_n", "ramp_pct_min", "warmup_s", "cooldown_s",
             "spasm_r_n", "patient"]
    for name, value in changes.items():
        doc["caps"][names.index(name)] = value
    doc["check"] = capstore.file_check(doc["counter"], doc["caps"], doc["history"])
    (flash / "caps.json").write_text(json.dumps(doc))


def reboot(board):
    flash = board.flash
    board.stop()
    return VirtualBoard(flash=flash, speed=SPEED)


def test_the_trainer_keeps_a_history_of_accepted_caps_that_the_ride_log_accounts_for(unit):
    log, patient, board = unit
    doc = json.loads((board.flash / "caps.json").read_text())
    assert doc["format"] == 2 and [e[0] for e in doc["history"]] == [1, 2]
    with Link(board.port) as link:
        assert [(f["counter"], f["tag"]) for f in link.caps_log] == [(e[0], e[2]) for e in doc["history"]]
        assert capscheck.check(log, link) == []  # every entry is one this laptop sent


def test_caps_edited_by_hand_stop_softcrank_ride_until_a_therapist_confirms(unit, monkeypatch, capsys):
    log, patient, board = unit
    edit_caps_by_hand(board.flash, max_res_pct=100)
    with reboot(board) as board:
        with Link(board.port) as link:
            assert link.info["C"]["max_res_pct"] == 100  # the firmware's own check passes: it was recomputed
        monkeypatch.setattr("sys.argv", ["softcrank", "ride", "--db", str(log.path), "--patient", "Ann B",
                                         "--port", board.port, "--speed", str(SPEED)])
        assert cli.main() == 1
        out, err = capsys.readouterr()
        assert "caps check: the caps in force differ from what this laptop sent with counter 2" in out
        assert "cannot account for" in err and "--confirm-caps" in err
        assert log.sessions(patient) == []  # no ride started
        assert any(a["action"] == "caps check" and a["outcome"].startswith("unaccounted: the caps in force differ")
                   for a in log.audit_trail())
        with Link(board.port) as link:  # a therapist looked at the unit and accepts what it holds
            capscheck.confirm(log, link, PIN, "dr. Rossi")
            assert capscheck.check(log, link) == []
    assert ("caps check", "confirmed by dr. Rossi") in [(a["action"], a["outcome"]) for a in log.audit_trail()]


def test_a_counter_reset_and_caps_from_another_key_are_flagged(unit):
    log, patient, board = unit
    (board.flash / "caps.json").unlink()  # the caps file lost: defaults, counter 0
    with reboot(board) as board:
        with Link(board.port) as link:
            found = capscheck.check(log, link)
    assert any("counter went back from 2 to 0" in line for line in found)
    forged = {"format": 2, "counter": 9, "caps": [100, 60, 120, 1500, 30, 0, 0, 1500, 1],
              "history": [[8, 3, "0123456789abcdef"], [9, 5, capstore.digest(9, [100, 60, 120, 1500, 30, 0, 0, 1500, 1])]]}
    forged["check"] = capstore.file_check(9, forged["caps"], forged["history"])
    (board.flash / "caps.json").write_text(json.dumps(forged))  # as if signed with a key this laptop never wrote
    with reboot(board) as board:
        with Link(board.port) as link:
            found = capscheck.check(log, link)
    assert any("counter 8 (3 s after a boot) that this laptop never sent" in line for line in found)
    assert any("the caps in force (counter 9) were not sent from this laptop" in line for line in found)


def test_confirming_needs_the_pin(unit):
    log, patient, board = unit
    edit_caps_by_hand(board.flash, max_dur_min=60)
    with reboot(board) as board:
        with Link(board.port) as link:
            assert capscheck.check(log, link)
            with pytest.raises(therapist.PinRefused):
                capscheck.confirm(log, link, "000000", "a visitor")
            assert capscheck.check(log, link)
