"""The ride log on the command line: patients, sessions, a session's summary, CSV export."""

import csv
import json

import pytest

from softcrank.cli import main
from softcrank.frames import parse
from softcrank.store.ridelog import RideLog
from softcrank_fw import protocol as P


def frame(type_, rec, *values):
    return parse(P.encode(type_, rec % P.SEQ_MODULO, [rec, *values]))


@pytest.fixture
def db(tmp_path):
    """A ride log with one patient and one 60-second session at 20 rpm, left pushing twice the right."""
    path = tmp_path / "ridelog.sqlite"
    with RideLog(path) as log:
        pid = log.add_patient("Ann B", "right")
        sid = log.start_session(pid, "sim-0001", 100, [10, 15, 25, 10], [20, 15, 30, 250, 5, 300, 180, 250])
        frames = [frame("E", 100, 0, "W", "START", 0)]
        for i in range(1, 601):
            frames.append(frame("T", 100 + i, i * 100, "W", 200, 600, 300, 100, 600 - i // 10, P.FLAG_IN_BAND))
        frames.append(frame("E", 701, 60_100, "D", "DONE", 0))
        log.add_records(sid, frames)
        log.end_session(sid, "D")
    return str(path)


def test_patients_are_listed_and_added(db, capsys):
    assert main(["patients", "--db", db, "--add", "Bo C", "--side", "left"]) == 0
    assert main(["patients", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Ann B" in out and "Bo C" in out and "left" in out


def test_sessions_list_as_text_and_json(db, capsys):
    assert main(["sessions", "--db", db, "--patient", "ann b"]) == 0
    assert "done" in capsys.readouterr().out
    assert main(["sessions", "--db", db, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["device_id"] == "sim-0001" and rows[0]["end_state"] == "D"


def test_show_gives_the_summary_in_words(db, capsys):
    assert main(["show", "1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "revolutions                20" in out
    assert "average 20.0 rpm" in out
    assert "left 67 %, right 33 %" in out
    assert "records missing            0" in out


def test_export_writes_every_sample_with_units(db, tmp_path):
    out = tmp_path / "s1.csv"
    assert main(["export", "1", "--db", db, "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(line for line in out.open() if not line.startswith("#")))  # past the legend
    assert len(rows) == 600
    assert rows[0]["cadence_rpm"] == "20.0" and rows[0]["force_left_n"] == "60.0" and rows[0]["time_s"] == "0.100"


def test_unknown_patients_and_sessions_are_clear_errors(db, capsys):
    assert main(["sessions", "--db", db, "--patient", "nobody"]) == 2
    assert main(["show", "42", "--db", db]) == 2
    assert main(["export", "x", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "no patient 'nobody'" in err and "no session '42'" in err


def test_a_file_that_is_not_a_ride_log_is_refused_and_left_alone(tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database")
    assert main(["sessions", "--db", str(junk)]) == 1
    assert junk.read_bytes() == b"not a database"
    assert "not a SQLite database" in capsys.readouterr().err
