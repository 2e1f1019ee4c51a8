"""The progression rule over made-up histories, and its decisions logged in a real ride log."""

import pytest

from softcrank.clinical import progression as pr
from softcrank.clinical.progression import Ridden, propose
from softcrank.store.ridelog import RideLog

CAPS = {"max_res_pct": 30, "max_dur_min": 15, "max_cad_rpm": 30, "spasm_n": 250, "ramp_pct_min": 5,
        "warmup_s": 300, "cooldown_s": 180, "spasm_r_n": 250}
PLAN = {"dur_min": 6, "cad_lo_rpm": 15, "cad_hi_rpm": 25, "res_pct": 10}


def good(n, plan=PLAN, **kw):
    fields = dict(ended="done", in_band_pct=90.0, spasms=0, rest_s=0.0, symmetry_index=-12.0)
    fields.update(kw)
    return Ridden(session_id=n, goals=dict(plan), **fields)


def test_good_sessions_give_exactly_one_step_duration_first_within_the_caps():
    p = propose([good(1), good(2), good(3)], PLAN, CAPS)
    assert p.after == dict(PLAN, dur_min=PLAN["dur_min"] + pr.DUR_STEP_MIN)
    assert p.changes == ["work time 6 -> 8 min"]  # one field moved, one step
    assert "no spasm pause" in p.reason


def test_a_spasm_pause_in_the_last_sessions_proposes_nothing():
    for bad in (good(3, spasms=1), good(3, rest_s=20.0)):
        p = propose([good(1), good(2), bad], PLAN, CAPS)
        assert p.after is None and p.changes == []
        assert "session 3 had a spasm pause" in p.reason


@pytest.mark.parametrize("bad, words", [
    (dict(ended="stopped"), "not completed (stopped)"), (dict(ended="e-stop"), "not completed (e-stop)"),
    (dict(in_band_pct=79.9), "under 80 % in the cadence band"), (dict(in_band_pct=None), "cadence band"),
])
def test_an_incomplete_or_out_of_band_session_proposes_nothing(bad, words):
    p = propose([good(1), good(2, **bad), good(3)], PLAN, CAPS)
    assert p.after is None and words in p.reason


def test_worse_symmetry_proposes_nothing_but_chance_variation_does_not_block():
    assert propose([good(1, symmetry_index=-10.0), good(2), good(3, symmetry_index=-16.0)], PLAN, CAPS).after is None
    assert propose([good(1, symmetry_index=-10.0), good(2), good(3, symmetry_index=15.0)], PLAN, CAPS).after


def test_too_few_sessions_on_this_plan_propose_nothing():
    older = dict(PLAN, dur_min=4)
    p = propose([good(1, plan=older), good(2, plan=older), good(3), good(4)], PLAN, CAPS)
    assert p.after is None and "2 of the 3" in p.reason


def test_at_the_duration_cap_resistance_comes_next_and_at_both_caps_nothing():
    full = dict(PLAN, dur_min=10)  # 15 min cap less a 5 min warm-up: 10 min of work at most
    p = propose([good(i, plan=full) for i in (1, 2, 3)], full, CAPS)
    assert p.after == dict(full, res_pct=15) and p.changes == ["resistance 10 -> 15 %"]
    near = dict(PLAN, dur_min=9)  # the step is cut to the cap, never past it
    assert propose([good(i, plan=near) for i in (1, 2, 3)], near, CAPS).after == dict(near, dur_min=10)
    top = dict(full, res_pct=30)
    p = propose([good(i, plan=top) for i in (1, 2, 3)], top, CAPS)
    assert p.after is None and "only the therapist can raise the caps" in p.reason


def test_every_proposal_is_within_the_caps_whatever_the_plan():
    for dur in range(1, 11):
        for res in range(0, 31, 5):
            plan = dict(PLAN, dur_min=dur, res_pct=res)
            p = propose([good(i, plan=plan) for i in (1, 2, 3)], plan, CAPS)
            if p.after:
                assert p.after["dur_min"] <= 10 and p.after["res_pct"] <= CAPS["max_res_pct"]
                assert len(p.changes) == 1


@pytest.fixture
def log(tmp_path):
    with RideLog(tmp_path / "ride.sqlite") as log:
        yield log


def test_decisions_are_logged_and_accepting_sets_the_plan(log):
    patient = log.add_patient("Ann B", "right")
    log.set_caps(patient, CAPS, "therapist")
    log.set_plan(patient, PLAN, 3, "therapist")
    p = propose([good(1), good(2), good(3)], PLAN, CAPS)
    assert pr.decide(log, patient, p, "declined", "therapist") == "The plan is unchanged; the proposal was declined."
    assert log.current_plan(patient)["goals"] == PLAN
    pr.decide(log, patient, p, "accepted", "therapist")
    assert log.current_plan(patient)["goals"] == p.after
    with pytest.raises(Exception):  # an edit past the caps is refused and logs nothing
        pr.decide(log, patient, p, "edited", "therapist", dict(PLAN, res_pct=60))
    pr.decide(log, patient, p, "edited", "therapist", dict(PLAN, res_pct=15))
    rows = pr.decisions(log, patient)
    assert [r["outcome"] for r in rows] == ["declined", "accepted", "edited"]
    assert "work time 6 -> 8 min" in rows[0]["detail"] and "resistance 15" in rows[2]["detail"]
    with pytest.raises(ValueError, match="maybe"):
        pr.decide(log, patient, p, "maybe", "therapist")


def test_propose_for_reads_the_ride_log(log):
    patient = log.add_patient("Cy D", "left")
    p = pr.propose_for(log, patient)
    assert p.after is None and "0 of the 3" in p.reason
