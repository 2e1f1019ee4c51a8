"""`softcrank report`: one patient's page, from a real ride log of synthetic rides."""

import re
from xml.etree import ElementTree

from softcrank.cli import main
from softcrank.clinical import progression
from softcrank.clinical.summary import summary_of, whole
from softcrank.frames import parse
from softcrank.store.ridelog import RideLog
from softcrank_fw import protocol as P

CAPS = {"max_res_pct": 30, "max_dur_min": 15, "max_cad_rpm": 30, "spasm_n": 250, "ramp_pct_min": 5,
        "warmup_s": 300, "cooldown_s": 180, "spasm_r_n": 250}
GOALS = [6, 15, 25, 10]


def record(type_, rec, t_ms, *values):
    return parse(P.encode(type_, rec % P.SEQ_MODULO, [rec % P.REC_MODULO, t_ms % P.REC_MODULO, *values]))


def ride(log, patient, seconds, left=1000, right=1000, end="DONE"):
    session = log.start_session(patient, "dev", 0, GOALS, CAPS)
    frames = [record("E", 0, 0, "U", "START", 0)]
    for i in range(1, seconds * 10 + 1):
        frames.append(record("T", i, i * 100, "W", 200, left, right, 100, 0, P.FLAG_IN_BAND))
    frames.append(record("E", seconds * 10 + 1, seconds * 1000, "D", end, 0))
    log.add_records(session, frames)
    log.end_session(session, "D")
    return session


def test_the_report_holds_plan_caps_sessions_plots_and_decisions(tmp_path, capsys):
    db = tmp_path / "ride.sqlite"
    with RideLog(db) as log:
        patient = log.add_patient("Ann B", "right")
        log.set_caps(patient, CAPS, "therapist", "week 3")
        log.set_plan(patient, GOALS, 3, "therapist")
        sessions = [ride(log, patient, 30 + 10 * i, right=800) for i in range(4)]
        p = progression.propose_for(log, patient)
        progression.decide(log, patient, p, "declined", "therapist")
        cadence = whole(summary_of(log, sessions[0]).cadence_avg_rpm)
    out = tmp_path / "ann.html"
    assert main(["report", "--db", str(db), "--patient", "Ann B", "-o", str(out)]) == 0
    page = out.read_text()
    assert "6 minutes of work, cadence 15 to 25 rpm, resistance 10 %" in page  # the plan in words
    assert "week 3" in page and "30 %" in page  # the caps history with its reason
    assert page.count("<svg") == 4
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        ElementTree.fromstring(svg)  # each plot is well-formed SVG
        assert not re.search(r'(fill|stroke)="(?!black|none)', svg)  # black and white only
    assert "%d rpm" % cadence in page  # the figure is summary's, rounded by whole()
    assert "+ the affected leg did more" in page and "declined" in page
    assert "4 sessions, 4 of them reached their work phase" in page


def test_a_bad_patient_or_weeks_is_one_line_and_writes_nothing(tmp_path, capsys):
    db = tmp_path / "ride.sqlite"
    with RideLog(db) as log:
        log.add_patient("Ann B", "right")
    out = tmp_path / "x.html"
    assert main(["report", "--db", str(db), "--patient", "Bob", "-o", str(out)]) == 2
    assert "no patient 'Bob'" in capsys.readouterr().err and not out.exists()
    assert main(["report", "--db", str(db), "--patient", "Ann B", "--weeks", "0", "-o", str(out)]) == 2
    assert "--weeks must be 1 or more, got 0" in capsys.readouterr().err and not out.exists()


def test_notes_are_kept_per_session_and_printed_in_the_report(tmp_path):
    db = tmp_path / "ride.sqlite"
    with RideLog(db) as log:
        patient = log.add_patient("Ann B", "right")
        session = ride(log, patient, 20)
        assert log.session(session)["notes"] == ""  # schema 11: every session has notes, empty at first
        log.set_notes(session, "  tired after work; <b>shoes</b> changed  ")
        assert log.session(session)["notes"] == "tired after work; <b>shoes</b> changed"
        for bad in (None, "x" * 2001):
            try:
                log.set_notes(session, bad)
            except Exception as e:
                assert "notes must be text" in str(e)
            else:
                raise AssertionError("accepted %r" % (bad,))
        assert log.session(session)["notes"] == "tired after work; <b>shoes</b> changed"  # unchanged
    out = tmp_path / "r.html"
    assert main(["report", "--db", str(db), "--patient", "1", "-o", str(out)]) == 0
    assert "tired after work; &lt;b&gt;shoes&lt;/b&gt; changed" in out.read_text()  # escaped, not markup
