"""Session figures on synthetic rides whose answers are known by hand."""

import dataclasses

import pytest

from softcrank.frames import parse
from softcrank.store.ridelog import RideLog
from softcrank.clinical import summary
from softcrank.clinical.summary import SUMMARY_VERSION, summary_of, PEDAL_TRAVEL_M, Stretch, summarize
from softcrank_fw import protocol as P

CAPS = [20, 15, 30, 250, 5, 300, 180, 250]
GOALS = [10, 15, 25, 10]
PERIOD_MS = 100  # 10 Hz telemetry
IN_BAND = P.FLAG_IN_BAND


@pytest.fixture
def log(tmp_path):
    with RideLog(tmp_path / "ride.sqlite") as log:
        yield log


def ride(log, *stretches, start_rec=0, t0=0, end="DONE", lost=()):
    """A session: START, then each stretch (seconds, sample fields) at 10 Hz, then `end`.

    Sample fields default to 20 rpm, 100 N a pedal, 10 % resistance, in the work phase.
    Records numbered in `lost` never reach the log."""
    patient = log.add_patient("rider-%d" % len(log.patients()), "left")
    session = log.start_session(patient, "dev", start_rec, GOALS, CAPS)
    rec, t = start_rec, t0
    frames = [record("E", rec, t, "U", "START", 0)]
    for seconds, fields in stretches:
        f = {"state": "W", "cad": 200, "left": 1000, "right": 1000, "res": 100, "flags": 0, **fields}
        for _ in range(seconds * 1000 // PERIOD_MS):
            rec += 1
            frames.append(record("T", rec, t, f["state"], f["cad"], f["left"], f["right"], f["res"], 0, f["flags"]))
            t += PERIOD_MS
    if end:
        frames.append(record("E", rec + 1, t, "D", end, 0))
    log.add_records(session, [f for f in frames if f["rec"] not in lost])
    log.flush()
    return session


def record(type_, rec, t_ms, *values):
    return parse(P.encode(type_, rec % P.SEQ_MODULO, [rec % P.REC_MODULO, t_ms % P.REC_MODULO, *values]))


def test_constant_20_rpm_for_60_s_is_20_revolutions(log):
    s = summarize(log, ride(log, (60, {})))
    assert s.samples == 600 and s.records_missing == 0
    assert s.duration_s == s.riding_s == s.work_s == 60
    assert s.revolutions == pytest.approx(20)
    assert s.cadence_avg_rpm == pytest.approx(20) and s.cadence_peak_rpm == 20


def test_a_left_leg_pushing_twice_as_hard_gives_si_66_7_and_a_67_33_share(log):
    s = summarize(log, ride(log, (60, {"left": 2000, "right": 1000})))
    assert s.symmetry_index == pytest.approx(66.667, abs=0.001)
    assert (s.share_l_pct, s.share_r_pct) == (pytest.approx(66.667, abs=0.001), pytest.approx(33.333, abs=0.001))
    assert (s.force_avg_l_n, s.force_avg_r_n) == (pytest.approx(200), pytest.approx(100))
    assert s.work_l_j == pytest.approx(200 * PEDAL_TRAVEL_M * 20)  # force x travel x revolutions
    assert s.work_r_j == pytest.approx(100 * PEDAL_TRAVEL_M * 20)


def test_time_in_the_cadence_band_comes_from_the_in_band_flag(log):
    session = ride(log, (30, {"flags": IN_BAND}), (30, {"cad": 300}), (20, {"state": "C", "flags": IN_BAND}))
    s = summarize(log, session)
    assert s.in_band_s == pytest.approx(50) and s.in_band_pct == pytest.approx(50 / 80 * 100)


def test_pauses_count_in_the_duration_but_not_in_riding_time(log):
    s = summarize(log, ride(log, (20, {"state": "U"}), (30, {}), (10, {"state": "P", "cad": 0}),
                            (5, {"state": "R", "cad": 0}), (30, {}), (15, {"state": "C"})))
    assert s.duration_s == 110 and s.paused_s == 10 and s.rest_s == 5
    assert s.riding_s == 100 and s.work_s == 60
    assert s.revolutions == pytest.approx(95 * 20 / 60)
    assert s.cadence_avg_rpm == pytest.approx(20)  # stopped samples do not drag the average down


def test_the_resistance_profile_is_time_at_each_10_percent(log):
    s = summarize(log, ride(log, (30, {"res": 150}), (30, {"res": 250}), (10, {"state": "P", "res": 0})))
    assert s.res_avg_pct == pytest.approx(20) and s.res_max_pct == 25
    assert s.res_time_s == {**dict.fromkeys(range(0, 100, 10), 0), 10: pytest.approx(30), 20: pytest.approx(30)}


def test_fatigue_shows_as_the_last_third_against_the_first(log):
    session = ride(log, (20, {"state": "U", "cad": 250}), (30, {"cad": 200}), (15, {"state": "P", "cad": 0}),
                   (30, {"cad": 180, "left": 1100}), (30, {"cad": 150, "left": 2000, "right": 1000}))
    s = summarize(log, session)
    assert s.first_third == Stretch(pytest.approx(20), pytest.approx(0))
    assert s.last_third == Stretch(pytest.approx(15), pytest.approx(66.667, abs=0.001))


def test_events_are_counted_by_type(log):
    session = ride(log, (10, {}), end="STOP")
    log.add_records(session, [record("E", 200 + i, 10_000 + i, "W", name, arg)
                              for i, (name, arg) in enumerate([("SPASM", 1), ("SPASM", 3), ("PAUSE", 3)])])
    log.flush()
    assert summarize(log, session).events == {"START": 1, "STOP": 1, "SPASM": 2, "PAUSE": 1}


def test_device_time_wrapping_at_2_30_ms_changes_nothing(log):
    s = summarize(log, ride(log, (60, {}), t0=P.REC_MODULO - 30_000, start_rec=P.REC_MODULO - 300))
    assert s.duration_s == 60 and s.revolutions == pytest.approx(20)


def test_missing_records_are_reported_and_their_time_is_not_guessed(log):
    s = summarize(log, ride(log, (60, {}), end=None, lost=range(101, 401)))  # 30 s the host never got
    assert s.records_missing == 300 and s.samples == 300
    assert s.work_s == pytest.approx(30 + 1 - 0.1)  # the sample before the gap stands for 1 s at most
    assert s.duration_s == pytest.approx(59.9)  # no end event yet: START to the last record


def test_an_empty_session_summarizes_to_zeros_and_nones(log):
    patient = log.add_patient("new", "none")
    s = summarize(log, log.start_session(patient, "dev", 0, GOALS, CAPS))
    assert (s.samples, s.duration_s, s.riding_s, s.revolutions, s.in_band_s, s.work_l_j) == (0, 0, 0, 0, 0, 0)
    assert s.cadence_avg_rpm is s.symmetry_index is s.share_l_pct is s.res_avg_pct is s.in_band_pct is None
    assert s.events == {} and s.first_third == s.last_third == Stretch(None, None)


def test_each_sees_every_sample_once_and_fatigue_false_skips_only_the_thirds(log):
    session = ride(log, (20, {"state": "U"}), (30, {}), (30, {"cad": 150}))
    seen = []
    quick = summarize(log, session, each=lambda sample, dt_ms: seen.append((sample.rec, dt_ms)), fatigue=False)
    full = summarize(log, session)
    assert [rec for rec, _ in seen] == [s.rec for s in log.samples(session)]
    assert sum(dt for _, dt in seen) == 80_000  # each with the time it stands for
    assert quick.first_third == quick.last_third == Stretch(None, None)
    assert full.first_third == Stretch(pytest.approx(20), pytest.approx(0))
    assert quick == dataclasses.replace(full, first_third=quick.first_third, last_third=quick.last_third)


@pytest.fixture
def unkept_log(tmp_path):
    """A ride log that keeps no sums as it stores (as one before schema 8 did)."""
    with RideLog(tmp_path / "unkept.sqlite", keep_sums=False) as log:
        yield log


def test_an_ended_sessions_summary_is_kept_and_used_until_its_records_change(unkept_log):
    log = unkept_log
    session = ride(log, (20, {"state": "U", "cad": 250}), (30, {"cad": 200}), (30, {"cad": 150, "left": 2000}))
    log.end_session(session, "D")
    first = summary_of(log, session)
    assert first == summarize(log, session)  # the same figures, fatigue thirds and profile too
    fingerprint = "v%d|%s" % (SUMMARY_VERSION, log.summary_fingerprint(session))
    assert summary_of(log, session) == first and log.cached_summary(session, fingerprint) is not None
    # A replay fills in a record later: the kept summary is stale, and is computed again.
    log.add_records(session, [record("E", 9999, 99_000, "D", "LOST", 3)])
    log.flush()
    again = summary_of(log, session)
    assert again == summarize(log, session) and again.events["LOST"] == 1 and first.events.get("LOST") is None


def test_an_unfinished_session_is_never_cached(log):
    session = ride(log, (10, {}), end=None)
    assert log.summary_fingerprint(session) is None
    assert summary_of(log, session) == summarize(log, session)
    assert log._read("SELECT COUNT(*) FROM summaries")[0][0] == 0


# ----- one definition of each figure a person reads ---------------------------------------------

def test_backward_pedalling_counts_as_pedalling_in_every_figure_and_is_timed(log):
    """30 s forward at 20 rpm, 30 s backward at 10 rpm (docs/host.md, "Backward pedalling")."""
    s = summarize(log, ride(log, (30, {"cad": 200}), (30, {"cad": -100})))
    assert s.backward_s == pytest.approx(30)
    assert s.cadence_avg_rpm == pytest.approx(15)  # |cadence|, time-weighted: (20 + 10) / 2
    assert s.revolutions == pytest.approx(10 + 5)
    assert s.force_avg_l_n == pytest.approx(100)
    work = 100 * PEDAL_TRAVEL_M * (10 + 5)  # force x travel, for both legs, backward included
    assert s.work_l_j == pytest.approx(work) and s.work_r_j == pytest.approx(work)


def test_share_and_symmetry_cover_the_work_phase_only(log):
    """A warm-up where the right leg does everything, then an even work phase: the share is
    50/50 (the work phase), though the right did more over the whole ride."""
    s = summarize(log, ride(log, (30, {"state": "U", "left": 0, "right": 1000}), (60, {})))
    assert summary.phase("share") == summary.phase("symmetry") == "work phase"
    assert summary.phase("cadence") == summary.phase("in_band") == "pedalling: warm-up, work and cool-down"
    assert s.share_l_pct == pytest.approx(50) and s.symmetry_index == pytest.approx(0)
    assert summary.share_whole(s) == (50, 50)
    assert s.work_r_j > s.work_l_j  # the whole ride's work, which the share does not cover


def test_whole_rounds_half_up_and_shares_add_to_100():
    assert [summary.whole(x) for x in (0.5, 1.5, 2.5, 19.94, 19.49)] == [1, 2, 3, 20, 19]
    s = dataclasses.replace(_blank(), share_l_pct=54.5, share_r_pct=45.5)
    assert summary.share_whole(s) == (55, 45)


@pytest.mark.parametrize("end, state, want", [("DONE", "D", "done"), ("STOP", "D", "stopped"),
                                              ("ESTOP", "E", "e-stop"), ("FAULT", "F", "fault"),
                                              (None, None, "link lost"), (None, "open", "in progress")])
def test_how_a_session_ended_is_one_word(log, end, state, want):
    session = ride(log, (5, {}), end=end)
    if state != "open":
        log.end_session(session, state)
    assert summary.ending(log.session(session), log.events(session)) == want
    assert want in summary.ENDINGS


def _blank():
    return summary.Summary(**{f.name: None for f in dataclasses.fields(summary.Summary)})
