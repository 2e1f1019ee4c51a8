"""Pilot tests of the therapist's changes (issue 15 items 1 and 5): every change of caps or plan
shown before and after in a dialog, a large step confirmed twice, results in words, problems
visible at 80x24, keys that land after Shift+Tab; the proposal to build up accepted, edited or
declined, each decision in the audit trail."""

from __future__ import annotations

import asyncio

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Button, Checkbox, Input

from app_helpers import PIN, SPEED, make_app, provision, until
from softcrank.clinical import progression
from softcrank.frames import parse
from softcrank.sim.demo import DEMO_KEY
from softcrank.sim.virtual_board import VirtualBoard
from softcrank_fw import protocol as P
from test_screens_flows import type_into, unlock

CAPS = {"max_res_pct": 30, "max_dur_min": 15, "max_cad_rpm": 30, "spasm_n": 250, "ramp_pct_min": 5,
        "warmup_s": 300, "cooldown_s": 180, "spasm_r_n": 250}
GOALS = [6, 15, 25, 10]


@pytest.fixture
def board():
    with VirtualBoard(speed=SPEED, key=DEMO_KEY) as virtual:
        yield virtual


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def test_a_large_caps_step_is_confirmed_twice_and_said_in_words_at_80x24(log, patient, board):
    provision(log)

    async def scenario():
        app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.link_state == "connected" and app.ride.caps is not None, 30, "the link")
            await unlock(pilot, PIN)
            await until(pilot, lambda: app.screen.query_one("#max_res_pct", Input).value == "20", 10, "the caps")
            # keys land after Shift+Tab from the first field: no scroll container takes the focus
            for _ in range(3):
                await pilot.press("shift+tab")
                assert app.focused is not None and not isinstance(app.focused, VerticalScroll), app.focused
            await pilot.press("tab", "tab", "tab")
            assert app.focused is app.screen.query_one("#max_res_pct", Input)
            await type_into(pilot, "#max_res_pct", "150")
            await pilot.press("ctrl+s")
            await pilot.pause(0.3)
            problem = app.screen.query_one("#problem")
            assert "Resistance cap, % must be 0 to 100" in text(app, "#problem")
            assert problem.region.height >= 1 and problem.region.bottom <= 24  # on screen at 80x24
            await type_into(pilot, "#max_res_pct", "100")
            await type_into(pilot, "#set-by", "Dr Lee")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen.query("#confirm-yes"), 10, "the confirmation")
            assert "Resistance cap, %  20 -> 100" in text(app, "#confirm-rows")
            assert "+80 points, more than +10" in text(app, "#confirm-large")
            assert app.screen.query_one("#confirm-yes", Button).disabled  # the second confirmation first
            await pilot.click("#confirm-yes")
            await pilot.press("escape")  # changed their mind: nothing is sent
            await pilot.pause(0.3)
            assert not app.screen.query("#confirm-yes") and app.ride.caps["max_res_pct"] == 20
            assert log.caps_history(patient) == []
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen.query("#confirm-large-ok"), 10, "the confirmation again")
            await pilot.press("space")  # "Yes, I mean this large step"
            assert app.screen.query_one("#confirm-large-ok", Checkbox).value
            await pilot.press("tab", "enter")
            await until(pilot, lambda: app.ride.caps["max_res_pct"] == 100, 30, "the trainer's caps")
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
            said = [n.message for n in app._notifications]
            assert any(m.startswith("The trainer now holds these caps: resistance at most 100 %") for m in said), said
            assert not any("{" in m or "[" in m for m in said), said  # words, no raw dict or list
        assert log.caps_history(patient)[-1]["caps"]["max_res_pct"] == 100
    asyncio.run(scenario())


def record(type_, rec, t_ms, *values):
    return parse(P.encode(type_, rec % P.SEQ_MODULO, [rec % P.REC_MODULO, t_ms % P.REC_MODULO, *values]))


def good_ride(log, patient, seconds=60):
    """A completed session on the plan, all of it in the band, no spasm."""
    session = log.start_session(patient, "dev", 0, GOALS, list(CAPS.values()))
    frames = [record("E", 0, 0, "U", "START", 0)]
    frames += [record("T", i, i * 100, "W", 200, 1000, 1000, 100, 0, P.FLAG_IN_BAND) for i in range(1, seconds * 10 + 1)]
    frames.append(record("E", seconds * 10 + 1, seconds * 1000, "D", "DONE", 0))
    log.add_records(session, frames)
    log.end_session(session, "D")


def test_the_proposal_is_declined_accepted_or_edited_and_each_decision_is_logged(log, patient):
    provision(log)
    log.set_caps(patient, CAPS, "Dr Lee")
    log.set_plan(patient, GOALS, 3, "Dr Lee")
    for _ in range(3):
        good_ride(log, patient)

    async def scenario():
        app = make_app(log, patient_id=patient)
        async with app.run_test(size=(120, 40)) as pilot:
            await unlock(pilot, PIN)
            await until(pilot, lambda: "Work time 6 -> 8 min" in text(app, "#proposal"), 20, "the proposal")
            assert "no spasm pause" in text(app, "#proposal")
            await type_into(pilot, "#set-by", "Dr Lee")
            await pilot.click("#proposal-decline")
            await until(pilot, lambda: progression.decisions(log, patient), 10, "the decline")
            assert log.current_plan(patient)["goals"]["dur_min"] == 6
            await until(pilot, lambda: app.screen.query_one("#proposal-buttons").display, 10, "the proposal again")
            await pilot.click("#proposal-accept")
            await until(pilot, lambda: app.screen.query("#confirm-yes"), 10, "the confirmation")
            assert "Work, min  6 -> 8" in text(app, "#confirm-rows")
            await pilot.press("enter")
            await until(pilot, lambda: log.current_plan(patient)["goals"]["dur_min"] == 8, 10, "the accepted step")
            # on the new plan no session was ridden yet: nothing more to propose
            await until(pilot, lambda: "0 of the 3" in text(app, "#proposal"), 10, "no proposal")
            assert not app.screen.query_one("#proposal-buttons").display
        assert [d["outcome"] for d in progression.decisions(log, patient)] == ["declined", "accepted"]
    asyncio.run(scenario())


def test_an_edited_proposal_is_saved_as_the_therapists_edit(log, patient):
    provision(log)
    log.set_caps(patient, CAPS, "Dr Lee")
    log.set_plan(patient, GOALS, 3, "Dr Lee")
    for _ in range(3):
        good_ride(log, patient)

    async def scenario():
        app = make_app(log, patient_id=patient)
        async with app.run_test(size=(120, 40)) as pilot:
            await unlock(pilot, PIN)
            await until(pilot, lambda: app.screen.query_one("#proposal-buttons").display, 20, "the proposal")
            await pilot.click("#proposal-edit")
            assert app.screen.query_one("#dur_min", Input).value == "8"  # the proposed step, to edit
            await type_into(pilot, "#dur_min", "7")
            await type_into(pilot, "#set-by", "Dr Lee")
            await pilot.press("ctrl+p")
            await until(pilot, lambda: app.screen.query("#confirm-yes"), 10, "the confirmation")
            await pilot.press("enter")
            await until(pilot, lambda: log.current_plan(patient)["goals"]["dur_min"] == 7, 10, "the edited plan")
        (decision,) = progression.decisions(log, patient)
        assert decision["outcome"] == "edited" and "work time 6 -> 8 min" in decision["detail"]
        assert "set work time 7" in decision["detail"]
    asyncio.run(scenario())


def test_review_keeps_notes_per_session_shows_the_plan_against_done_and_exports_where_the_user_picks(
        log, history, tmp_path):
    picked = tmp_path / "for the clinic"

    async def scenario():
        app = make_app(log, patient_id=history)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f5")
            await until(pilot, lambda: app.screen.query_one("#sessions").row_count == 2, 20, "the sessions")
            await pilot.press("enter")
            await until(pilot, lambda: "session 2" in text(app, "#summary"), 20, "the summary")
            summary = text(app, "#summary")
            assert "plan" in summary and "work done against the plan" in summary
            app.screen.query_one("#review-tabs").active = "tab-notes"
            await pilot.pause()
            await type_into(pilot, "#notes", "knee sore after 4 min")
            await pilot.press("enter")
            await until(pilot, lambda: log.session(2)["notes"] == "knee sore after 4 min", 10, "the notes")
            await until(pilot, lambda: "knee sore after 4 min" in text(app, "#summary"), 10, "the notes in the summary")
            app.screen.query_one("#review-tabs").active = "tab-export"
            await pilot.pause()
            await type_into(pilot, "#export-folder", str(tmp_path / "ridelog.sqlite"))  # a file, not a folder
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.export_to != tmp_path / "ridelog.sqlite"  # refused, unchanged
            await type_into(pilot, "#export-folder", str(picked))
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.export_dir == picked.resolve()
            app.screen.query_one("#sessions").focus()
            await pilot.press("w")
            await app.workers.wait_for_complete()
        assert log.session(1)["notes"] == ""  # only the chosen session's
    asyncio.run(scenario())
    assert (picked / "session-2.csv").is_file()


def test_a_ride_on_another_patients_caps_starts_only_with_the_therapists_pin(log, patient, board, clock):
    """Issue 15 item 3 in the app, on the virtual trainer: caps set for Bo C, Ann B at the
    pedals; Start asks a therapist (whose caps they are, in words), a wrong PIN starts nothing,
    the right one starts the ride, each logged."""
    from app_helpers import SHORT_CAPS, SHORT_PLAN
    from softcrank.trainer.link import Link
    from softcrank.trainer.therapist import send_caps

    provision(log)
    other = log.add_patient("Bo C", "left")
    log.set_plan(patient, SHORT_PLAN, 3, "test")
    with Link(board.port) as link:
        send_caps(link, log, other, SHORT_CAPS, PIN, "Dr Lee")
    notes = []

    async def scenario():
        app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
        app.notify = lambda message, **kw: notes.append(message)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.link_state == "connected" and app.ride.caps is not None, 30, "the link")
            await pilot.press("f4")
            await until(pilot, lambda: "Caps: another patient's!" in text(app, "#phase"), 30, "whose caps, on Ride")
            await pilot.press("s")
            await until(pilot, lambda: app.screen.query("#confirm-pin"), 30, "the question")
            assert "The trainer holds caps set for Bo C, not this patient's" in text(app, "#confirm-rows")
            assert app.screen.query_one("#confirm-pin").region.bottom <= 24  # the PIN field on screen at 80x24
            await pilot.press(*"000000", "enter")
            await until(pilot, lambda: any("nothing started" in n for n in notes), 30, "the wrong PIN")
            assert app.ride.state not in ("U", "W") and log.sessions(patient) == []
            clock.now = "2026-03-01T10:01:00.000+00:00"  # a wrong PIN's wait (pinpolicy: 2 s) has passed
            await pilot.press("s")
            await until(pilot, lambda: app.screen.query("#confirm-pin"), 30, "the question again")
            await pilot.press(*PIN, "enter")
            await until(pilot, lambda: app.ride.state in ("U", "W"), 30, "the session started")
            await pilot.press("x")
            await until(pilot, lambda: app.ride.state in "DI", 30, "the session over after stop")
    asyncio.run(scenario())
    assert [s["patient_id"] for s in log.sessions()] == [patient]
    trail = [(a["action"], a["outcome"]) for a in log.audit_trail()]
    assert ("caps check", "not this patient's") in trail and ("pin", "refused: wrong PIN") in trail
    assert ("ride", "confirmed on other caps by the therapist") in trail
