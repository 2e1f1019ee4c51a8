"""Recording rides headless: `softcrank ride` and the Recorder behind it, against the virtual
trainer over a pseudo-terminal (the real firmware on MicroPython), with the host killed and
restarted mid-ride, and the Recorder's bookkeeping at a trainer restart."""

import os
import signal
import subprocess
import sys
import time

import pytest

from softcrank.frames import parse
from softcrank.trainer.link import Link, Lost
from softcrank.trainer.recorder import Recorder
from softcrank.trainer.therapist import set_pin
from softcrank.cli.ride import RideError, record_session
from softcrank.store import ridelog as ridelog_module
from softcrank.store.ridelog import RideLog
from softcrank.sim.virtual_board import VirtualBoard
from softcrank_fw import protocol as P

SPEED = 25  # virtual seconds per real second: a 9-minute session in about 22 s
PIN = "482913"


def on_defaults(log, patient_id=1):
    """A virtual trainer holds the firmware's defaults: the therapist confirms them with the PIN
    for the ride, as `softcrank ride --confirm-caps` does (tests/host/test_whose_caps.py shows
    the refusal without it)."""
    from softcrank.trainer import whose_caps

    return lambda link: whose_caps.confirm(log, link, PIN, "the tests' therapist", patient_id)


@pytest.fixture
def ridelog(tmp_path):
    with RideLog(tmp_path / "log.sqlite") as log:
        log.add_patient("Ann B", "right")
        set_pin(log, PIN)  # softcrank ride --confirm-caps asks it: the virtual trainer holds the defaults
        yield log


def stored_recs(log, session):
    """Every record number stored for the session, samples and events, in order."""
    return [s.rec for s in log.samples(session)] + [e.rec for e in log.events(session)]


def test_a_ride_is_recorded_whole_from_start_to_done(ridelog):
    lines = []
    with VirtualBoard(speed=SPEED) as board:
        result = record_session(ridelog, 1, board.port, work_min=1, every_s=60, speed=SPEED, write=lines.append,
                                confirm_caps=on_defaults(ridelog))
    assert result["end_state"] == "D" and result["missing"] == 0 and result["lost"] == []
    (session,) = ridelog.sessions(1)
    assert session["id"] == result["session"] and session["end_state"] == "D"
    assert session["goals"]["dur_min"] == 1 and session["caps"]["max_res_pct"] == 20  # in force at START
    events = [e.event for e in ridelog.events(session["id"])]
    assert events[0] == "START" and events[-1] == "DONE" and "WORK" in events and "COOLDOWN" in events
    assert ridelog.missing_recs(session["id"]) == []
    # 5 min warm-up + 1 min work + 3 min cool-down at 10 Hz
    assert result["samples"] == len(list(ridelog.samples(session["id"]))) >= 9 * 60 * 10 - 20
    assert "session complete, well done" in "\n".join(lines)
    assert any(line.startswith("session %d ended: done" % session["id"]) for line in lines)


def test_a_trainer_riding_a_session_this_log_does_not_know_is_left_alone(ridelog):
    with VirtualBoard(speed=SPEED) as board:
        with Link(board.port) as another_laptop:
            another_laptop.command("START")  # and goes away without stopping it
        with pytest.raises(RideError, match="already in a session that this ride log does not know"):
            record_session(ridelog, 1, board.port, speed=SPEED, write=lambda line: None)
    assert ridelog.sessions() == []


def ride_process(db, port, *extra, every_s=60, speed=SPEED):
    proc = subprocess.Popen(
        [sys.executable, "-m", "softcrank", "ride", "--db", str(db), "--patient", "Ann B", "--port", port,
         "--speed", str(speed), "--every", str(every_s), "--confirm-caps", "--pin-stdin", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.stdin.write(PIN + "\n")  # the therapist's confirmation: the virtual trainer holds the defaults
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush it again
    return proc


def test_a_host_killed_mid_ride_is_restarted_and_the_session_ends_whole(ridelog, tmp_path):
    db = ridelog.path
    with VirtualBoard(speed=SPEED) as board:
        first = ride_process(db, board.port, "--work", "2")
        # Wait until the work phase is being recorded, then kill the host without warning.
        with RideLog(db) as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                sessions = watcher.sessions()
                if sessions and any(s.state == "W" for s in watcher.samples(sessions[0]["id"], decimate_to=50)):
                    break
                time.sleep(0.2)
            else:
                first.kill()
                pytest.fail("the ride never reached the work phase:\n" + first.communicate()[0])
            first.send_signal(signal.SIGKILL)
            first.wait()
            session = sessions[0]["id"]
            acknowledged = set(stored_recs(watcher, session))  # what was on disk, so ACKed at most
        # The laptop is back after 20 virtual seconds: the trainer paused by itself at 10.
        time.sleep(20 / SPEED)
        second = ride_process(db, board.port)
        out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    found = [line for line in out.splitlines() if line.startswith("found: ")]
    assert found == ["found: session %d carried on: the trainer paused it because softcrank went quiet; resuming "
                     "(resistance builds up again from zero)" % session], out
    assert "the link is back: resuming" in out
    (row,) = ridelog.sessions()
    assert row["id"] == session and row["end_state"] == "D"
    after = stored_recs(ridelog, session)
    assert acknowledged <= set(after) and len(after) == len(set(after))
    assert ridelog.missing_recs(session) == []
    events = [(e.event, e.arg) for e in ridelog.events(session)]
    assert ("PAUSE", P.PAUSE_HOST_SILENT) in events and ("RESUME", 0) in events and events[-1][0] == "DONE"


def frame(type_, *values):
    return parse(P.encode(type_, 0, list(values)))


def test_a_trainer_restart_ends_its_session_as_not_seen_and_forgets_its_old_records(ridelog):
    recorder = Recorder(ridelog, 1)
    recorder.on_frame(frame("H", P.PROTOCOL_VERSION, "0.1.0", "dev-1", 20, 10, "I", 100, 0))
    recorder.on_frame(frame("C", 20, 15, 30, 250, 5, 300, 180, 250, 0, 0))
    recorder.on_frame(frame("G", 10, 15, 25, 10))
    recorder.store([frame("T", 100, 10000, "I", 0, 0, 0, 0, 0, 0)])
    assert recorder.committed() == 100  # consumed, though outside a session
    recorder.store([frame("E", 101, 10050, "U", "START", 0), frame("T", 102, 10100, "U", 200, 300, 250, 0, 900, 0)])
    session = recorder.session_id
    ridelog.flush()
    assert session is not None and recorder.committed() == 102
    recorder.lost_records(Lost(103, None, "restart"))
    assert recorder.session_id is None and recorder.committed() is None  # nothing of the old numbering
    assert ridelog.session(session)["end_state"] is None and ridelog.session(session)["ended_at"]


def test_a_reboot_seen_in_the_replay_ends_the_resumed_session_there(ridelog):
    """A host restarted after the trainer rebooted and rode on past the old record numbers: the
    BOOT record in the replay shows the old session is over."""
    sid = ridelog.start_session(1, "dev-1", 50, [10, 15, 25, 10], [20, 15, 30, 250, 5, 300, 180, 250])
    ridelog.add_records(sid, [frame("E", 50, 5000, "U", "START", 0)])
    ridelog.flush()
    recorder = Recorder(ridelog, 1)
    recorder.on_frame(frame("H", P.PROTOCOL_VERSION, "0.1.0", "dev-1", 20, 10, "I", 400, 0))
    assert recorder.resumed == sid and recorder.committed() == 50
    recorder.store([frame("E", 51, 0, "I", "BOOT", 0), frame("T", 52, 50, "I", 0, 0, 0, 0, 0, 0)])
    assert recorder.session_id is None and recorder.committed() == 52
    assert ridelog.session(sid)["end_state"] is None and stored_recs(ridelog, sid) == [50]


def test_ride_on_the_command_line_names_an_unknown_patient(tmp_path):
    RideLog(tmp_path / "x.sqlite").close()  # ride opens only an existing log (tests/host/test_cli_paths.py)
    out = subprocess.run([sys.executable, "-m", "softcrank", "ride", "--db", str(tmp_path / "x.sqlite"),
                          "--patient", "Nobody", "--port", os.devnull], capture_output=True, text=True)
    assert out.returncode == 2 and "no patient 'Nobody'" in out.stderr


def test_ctrl_c_or_a_service_stop_ends_the_session_with_the_resistance_off(ridelog):
    with VirtualBoard(speed=SPEED) as board:
        proc = ride_process(ridelog.path, board.port)
        for line in proc.stdout:
            if line.startswith("session 1 started"):
                break
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "stopping the session (resistance off)" in out
    (session,) = ridelog.sessions()
    assert session["end_state"] == "D" and ridelog.events(1)[-1].event == "STOP"  # done, by STOP
    assert "session 1 ended: stopped early" in out
    assert ridelog.missing_recs(1) == []


def test_a_ride_log_that_keeps_refusing_records_ends_the_ride_with_why(ridelog, monkeypatch):
    """A lasting failure to store is not retried for ever: ride says why. Here another program
    takes the ride log's write lock just before START and keeps it."""
    monkeypatch.setattr(ridelog_module, "_BUSY_TIMEOUT_S", 0.2)
    with RideLog(ridelog.path) as log, RideLog(ridelog.path) as other:

        def write(line):
            if line.startswith("plan:"):
                other._db.execute("BEGIN EXCLUSIVE")

        with VirtualBoard(speed=SPEED) as board:
            with pytest.raises(RideError, match="cannot store the records in the ride log .*locked"):
                record_session(log, 1, board.port, speed=SPEED, write=write, confirm_caps=on_defaults(log))
        other._db.execute("ROLLBACK")
    assert ridelog.sessions() == []
