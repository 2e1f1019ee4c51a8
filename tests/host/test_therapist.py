"""Therapist-only caps on the host: the PIN, the wrapped keys, the audit trail, and caps sent
to the real firmware on the virtual trainer (accepted, persisted across a reboot, refused)."""

import io
import json
import sqlite3
import time

import pytest
import serial

from softcrank import cli
from softcrank.trainer import pinpolicy, therapist
from softcrank.deploy import deploy
from softcrank.frames import Commander, await_frame
from softcrank.trainer.link import CommandRefused, Link
from softcrank.store.ridelog import RideLog
from softcrank.sim.virtual_board import VirtualBoard
from softcrank_fw import protocol as P
from softcrank_fw.limits import CAP_LIMITS

PIN = "482913"
CAPS = {"max_res_pct": 30, "max_dur_min": 20, "max_cad_rpm": 40, "spasm_n": 300, "ramp_pct_min": 6,
        "warmup_s": 120, "cooldown_s": 120, "spasm_r_n": 250}
DEFAULTS = dict(zip(CAPS, [lim[0] for lim in CAP_LIMITS]))


def slow_clock(step_s=30):
    """A ride log clock 30 s apart at every reading: a wrong PIN's short wait (pinpolicy.DELAYS_S,
    16 s at most before the lock) has passed by the next try; test_security.py tests the waits."""
    from datetime import datetime, timedelta, timezone

    t = [datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)]

    def now():
        t[0] += timedelta(seconds=step_s)
        return t[0].isoformat(timespec="milliseconds")
    return now


@pytest.fixture
def log(tmp_path):
    with RideLog(tmp_path / "ride.sqlite", clock=slow_clock()) as log:
        yield log


@pytest.fixture
def patient(log):
    return log.add_patient("Ann B", "right")


def actions(log):
    return [(a["action"], a["outcome"]) for a in log.audit_trail()]


# ----- the PIN and the keys, on the laptop ---------------------------------------------------

def test_the_pin_is_stored_only_as_a_salted_scrypt_verifier(tmp_path, log):
    assert not therapist.has_pin(log)
    therapist.set_pin(log, PIN)
    assert therapist.has_pin(log) and therapist.check_pin(log, PIN)
    record = log.pin_record()
    assert (record["n"], record["r"], record["p"]) == (2 ** 15, 8, 1) and len(record["salt"]) == 16
    log.close()
    raw = (tmp_path / "ride.sqlite").read_bytes() + (tmp_path / "ride.sqlite-wal").read_bytes() \
        if (tmp_path / "ride.sqlite-wal").exists() else (tmp_path / "ride.sqlite").read_bytes()
    assert PIN.encode() not in raw


@pytest.mark.parametrize("bad", ["12345", "", " 123456", "1234567\n", "x" * 65, None])
def test_a_pin_that_breaks_the_rules_is_refused_and_nothing_changes(log, bad):
    with pytest.raises(therapist.BadPin):
        therapist.set_pin(log, bad)
    assert not therapist.has_pin(log)


def test_a_wrong_pin_is_refused_and_logged_without_the_pin(log):
    therapist.set_pin(log, PIN)
    assert not therapist.check_pin(log, "999999", attempt="open the therapist screen")
    assert not therapist.check_pin(log, None)
    line = log.audit_trail()[-2]
    assert (line["action"], line["outcome"], line["detail"]) == ("pin", "refused: wrong PIN", "open the therapist screen")
    assert all("999999" not in json.dumps(a) for a in log.audit_trail())


def test_changing_the_pin_needs_the_old_one_and_re_wraps_every_key(log):
    therapist.set_pin(log, PIN)
    key = therapist.new_key()
    therapist.unlock(log, PIN, "deploy").store_device_key("pico-1", key)
    with pytest.raises(therapist.PinRefused):
        therapist.set_pin(log, "new-pin-1")  # no old PIN given
    with pytest.raises(therapist.PinRefused):
        therapist.set_pin(log, "new-pin-1", "000000")
    assert therapist.check_pin(log, PIN)
    wrapped = log.device_key("pico-1")["wrapped"]
    therapist.set_pin(log, "new-pin-1", PIN)
    assert log.device_key("pico-1")["wrapped"] != wrapped and wrapped != key
    assert therapist.unlock(log, "new-pin-1", "x").device_key("pico-1") == key
    with pytest.raises(therapist.PinRefused):
        therapist.unlock(log, PIN, "x")
    assert ("pin changed", "done") in actions(log)


def test_a_laptop_without_the_pin_holds_no_usable_key(log):
    therapist.set_pin(log, PIN)
    key = therapist.new_key()
    therapist.unlock(log, PIN, "deploy").store_device_key("pico-1", key)
    row = log.device_key("pico-1")
    assert key not in row["wrapped"] + row["mac"] + row["nonce"]
    with pytest.raises(therapist.NoDeviceKey):
        therapist.unlock(log, PIN, "x").device_key("pico-2")


def test_a_patient_whose_caps_would_be_refused_is_told_before_any_pin_or_trainer(log, patient):
    with pytest.raises(ValueError, match="max_res_pct must be 0..100"):
        therapist.send_caps(None, log, patient, dict(CAPS, max_res_pct=101), PIN, "dr. Rossi")
    assert actions(log) == []


def test_the_console_says_the_caps_events_in_words():
    from softcrank.clinical.words import event_line
    from softcrank.frames import parse

    def line(event, arg):
        return event_line(parse(P.encode("E", 1, [5, 1000, "I", event, arg])), 61)

    assert line("CAPS_REFUSED", P.REFUSED_STALE) == "  1:01 >> caps change refused: an old request sent again"
    assert line("CAPS_DEFAULTS", P.DEFAULTS_CORRUPT).endswith("built-in caps in force: the stored caps were damaged")
    assert line("CAPS", 1).endswith("therapist's caps restored from the trainer's memory")


# ----- against the real firmware on the virtual trainer --------------------------------------

def events_on(port_path, name, timeout=20):
    """The args of every `name` event the trainer's ring holds (HELLO, then REPLAY from 0)."""
    found = {}  # by rec: a record can come live and again in the replay
    with serial.serial_for_url(port_path, baudrate=115200, timeout=0.3) as port:
        send = Commander()
        port.write(send("HELLO", P.PROTOCOL_VERSION))
        hello = await_frame(port, lambda f: f.type == "H", 5)
        port.write(send("REPLAY", 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = await_frame(port, lambda f: f.type in ("E", "T"), 1)
            if f is None or f["rec"] >= hello["next_rec"]:
                break  # caught up with what the ring held at the handshake
            if f.type == "E" and f["event"] == name:
                found[f["rec"]] = f["arg"]
    return [found[rec] for rec in sorted(found)]


@pytest.fixture
def provisioned(tmp_path, log):
    """A virtual trainer that `softcrank deploy` gave a key, the PIN set first."""
    therapist.set_pin(log, PIN)
    flash = tmp_path / "flash"
    with VirtualBoard(flash=flash, speed=10) as board:
        hello = deploy(board.port, log=lambda line: None, keys=therapist.unlock(log, PIN, "deploy"))
        yield board, hello["device"]


def test_deploy_writes_a_new_key_to_the_board_and_keeps_it_wrapped_here(provisioned, log):
    board, device = provisioned
    on_board = bytes.fromhex((board.flash / "device.key").read_text().strip())
    assert therapist.unlock(log, PIN, "x").device_key(device) == on_board and len(on_board) == 32
    assert not (board.flash / "device.key.tmp").exists()
    assert ("key", "written to the trainer") in actions(log)


def test_signed_caps_are_accepted_recorded_and_survive_a_reboot(provisioned, log, patient):
    board, device = provisioned
    with Link(board.port) as link:
        now = therapist.send_caps(link, log, patient, CAPS, PIN, "dr. Rossi", "week 3: doing well")
        assert now == CAPS
        goals = link.command("GOALS", 10, 15, 25, 25)  # goals within the caps need no PIN
        assert goals[0]["res_pct"] == 25
        again = therapist.send_caps(link, log, patient, dict(CAPS, max_res_pct=25), PIN, "dr. Rossi")
        assert again["max_res_pct"] == 25
    history = log.caps_history(patient)
    assert [h["caps"]["max_res_pct"] for h in history] == [30, 25] and history[0]["reason"] == "week 3: doing well"
    assert [o for a, o in actions(log) if a == "caps"] == ["accepted, counter 1", "accepted, counter 2"]
    stored = json.loads((board.flash / "caps.json").read_text())
    assert stored["counter"] == 2 and stored["caps"][0] == 25
    flash = board.flash
    board.stop()
    with VirtualBoard(flash=flash, speed=10) as rebooted:  # power off and on: no host needed for the caps
        with Link(rebooted.port) as link:
            c = link.info["C"]
        assert c["max_res_pct"] == 25 and c["counter"] == 2 and c["patient"] == patient  # whose caps
        assert link.info["H"]["patient"] == patient
        assert events_on(rebooted.port, "CAPS") == [1]  # restored from flash at start-up


def test_a_wrong_pin_sends_nothing(provisioned, log, patient):
    board, device = provisioned
    with Link(board.port) as link:
        with pytest.raises(therapist.PinRefused):
            therapist.send_caps(link, log, patient, CAPS, "000000", "dr. Rossi")
        assert link.command("PING") == []
    assert ("pin", "refused: wrong PIN") in actions(log) and log.caps_history(patient) == []
    assert not (board.flash / "caps.json").exists()
    assert events_on(board.port, "CAPS_REFUSED") == [] and events_on(board.port, "CAPS") == []


def test_a_replayed_frame_and_a_forged_one_are_refused_by_the_trainer_and_logged(provisioned, log, patient):
    board, device = provisioned
    key = therapist.unlock(log, PIN, "test").device_key(device)
    sink = []
    with Link(board.port, store=sink.extend) as link:
        therapist.send_caps(link, log, patient, CAPS, PIN, "dr. Rossi")
        values = therapist.with_patient(list(CAPS.values()), patient)
        recorded = values + [1, therapist.caps_tag(key, device, 1, values)]  # what an eavesdropper saw
        with pytest.raises(CommandRefused) as replay:
            link.command("CAPS", *recorded)
        assert replay.value.code == "STALE"
        raised = [100] + values[1:]
        with pytest.raises(CommandRefused) as forged:
            link.command("CAPS", *(raised + [2, recorded[-1]]))  # a raise with an old tag
        assert forged.value.code == "AUTH"
        with pytest.raises(CommandRefused) as no_tag:
            link.command("CAPS", *(raised + [2, "-"]))
        assert no_tag.value.code == "AUTH"
        therapist.unlock(log, PIN, "test").store_device_key(device, therapist.new_key())  # the wrong key
        with pytest.raises(CommandRefused) as wrong_key:
            therapist.send_caps(link, log, patient, dict(CAPS, max_res_pct=40), PIN, "dr. Rossi")
        assert wrong_key.value.code == "AUTH"
        assert link.info["C"]["max_res_pct"] == CAPS["max_res_pct"]  # the accepted ones; no refusal moved them
        time.sleep(1)  # the refusal events arrive as records
    refused = [f["arg"] for f in sink if f.type == "E" and f["event"] == "CAPS_REFUSED"]
    assert refused == [P.REFUSED_STALE, P.REFUSED_TAG, P.REFUSED_TAG, P.REFUSED_TAG]
    assert json.loads((board.flash / "caps.json").read_text())["caps"] == values
    outcomes = [o for a, o in actions(log) if a == "caps"]
    assert outcomes[0] == "accepted, counter 1" and outcomes[-1].startswith("refused by the trainer: AUTH")


def test_a_trainer_without_a_key_refuses_caps(tmp_path, log, patient):
    therapist.set_pin(log, PIN)
    with VirtualBoard(speed=10) as board:  # never deployed with a PIN: no device.key
        with Link(board.port) as link:
            therapist.unlock(log, PIN, "x").store_device_key(link.info["H"]["device"], therapist.new_key())
            with pytest.raises(CommandRefused) as refused:
                therapist.send_caps(link, log, patient, CAPS, PIN, "dr. Rossi")
        assert refused.value.code == "NOKEY"
        assert events_on(board.port, "CAPS_REFUSED") == [P.REFUSED_NOKEY]
    assert [o for a, o in actions(log) if a == "caps"][0].startswith("refused by the trainer: NOKEY")


@pytest.mark.parametrize("content", ["{not json", '{"format": 1, "counter": 5, "caps": [90, 15, 30, 250, 5, 300, 180, 250], '
                                     '"check": "0000000000000000"}'])
def test_a_corrupt_caps_file_on_flash_gives_the_defaults_and_an_event(tmp_path, content):
    flash = tmp_path / "flash"
    with VirtualBoard(flash=flash, speed=10):
        pass  # a first boot puts the firmware on the flash
    (flash / "caps.json").write_text(content)
    with VirtualBoard(flash=flash, speed=10) as board:
        with Link(board.port) as link:
            c = link.info["C"]
        assert {name: c[name] for name in DEFAULTS} == DEFAULTS and c["counter"] == 0
        assert events_on(board.port, "CAPS_DEFAULTS") == [P.DEFAULTS_CORRUPT]


def test_a_missing_caps_file_gives_the_defaults_and_says_so():
    with VirtualBoard(speed=10) as board:
        assert events_on(board.port, "CAPS_DEFAULTS") == [P.DEFAULTS_MISSING]


# ----- the command line ----------------------------------------------------------------------

def run_cli(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pin_and_caps_on_the_command_line(provisioned, log, patient, monkeypatch, capsys):
    board, device = provisioned
    db = str(log.path)
    code, out, err = run_cli(monkeypatch, capsys, ["pin", "--db", db, "--pin-stdin"], PIN + "\n123\n")
    assert code == 2 and "6 to 64 characters" in err
    code, out, err = run_cli(monkeypatch, capsys, ["caps", "--db", db, "--patient", "ann b", "--port", board.port,
                                                   "--max-res", "35", "--reason", "progress", "--pin-stdin"], "000000\n")
    assert code == 1 and "wrong PIN (1 of 5 before a 5 min lock): the next try in 2 s" in err
    code, out, err = run_cli(monkeypatch, capsys, ["caps", "--db", db, "--patient", "ann b", "--port", board.port,
                                                   "--max-res", "35", "--pin-stdin"], PIN + "\n")
    assert code == 1 and "1 wrong PIN: wait" in err and "before the next try" in err  # the right PIN, too soon
    code, out, err = run_cli(monkeypatch, capsys, ["caps", "--db", db, "--patient", "ann b", "--port", board.port,
                                                   "--max-res", "101", "--pin-stdin"], PIN + "\n")
    assert code == 2 and "max_res_pct must be 0..100" in err
    time.sleep(pinpolicy.DELAYS_S[1])  # the wait after one wrong PIN (the CLI reads the real clock)
    code, out, err = run_cli(monkeypatch, capsys, ["caps", "--db", db, "--patient", "ann b", "--port", board.port,
                                                   "--max-res", "35", "--reason", "progress", "--pin-stdin"], PIN + "\n")
    assert code == 0, err
    assert "max_res_pct      35" in out and "max_cad_rpm      30" in out  # unset options keep the current caps
    code, out, err = run_cli(monkeypatch, capsys, ["pin", "--db", db, "--pin-stdin"], PIN + "\nnew-pin-2\n")
    assert code == 0 and "re-wrapped" in out
    code, out, err = run_cli(monkeypatch, capsys, ["caps", "--db", db, "--patient", "1", "--port", board.port,
                                                   "--max-cad", "35", "--pin-stdin"], "new-pin-2\n")
    assert code == 0 and "max_res_pct      35" in out and "max_cad_rpm      35" in out


def test_a_protocol_version_mismatch_reads_clearly_on_the_command_line(tmp_path, log, patient, monkeypatch, capsys):
    flash = tmp_path / "flash"
    with VirtualBoard(flash=flash, speed=10):
        pass
    (flash / "softcrank_fw" / "protocol.mpy").unlink(missing_ok=True)  # firmware speaking protocol 1
    text = open(P.__file__).read().replace("PROTOCOL_VERSION = const(4)", "PROTOCOL_VERSION = const(1)")
    assert "const(1)" in text
    (flash / "softcrank_fw" / "protocol.py").write_text(text)
    therapist.set_pin(log, PIN)
    with VirtualBoard(flash=flash, speed=10) as board:
        code, out, err = run_cli(monkeypatch, capsys, ["caps", "--db", str(log.path), "--patient", "Ann B", "--port",
                                                       board.port, "--max-res", "25", "--pin-stdin"], PIN + "\n")
    assert code == 1
    assert "the trainer speaks protocol 1, this softcrank speaks 4: update the trainer's firmware (softcrank deploy)" in err
    assert log.caps_history(patient) == []
