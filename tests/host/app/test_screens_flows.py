"""Pilot tests of the other flows: pick and add a patient, the therapist's caps with and
without the PIN (and values the firmware would refuse), the plan, review and export, progress,
and the demo's past sessions."""

from __future__ import annotations

import asyncio
import csv
import threading

import pytest
from textual.widgets import DataTable, Input, Select

from app_helpers import PIN, SPEED, make_app, provision, until
from softcrank.sim.demo import DEMO_KEY
from softcrank.trainer.therapist import has_pin
from softcrank.sim.demo_history import Past, demo_patient, ride_history
from softcrank.sim.virtual_board import VirtualBoard

async def type_into(pilot, selector: str, text: str) -> None:
    """Click a field, clear it with the keyboard and type."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    await pilot.press("end", *["backspace"] * len(field.value), *text)


def test_pick_a_patient_then_add_one(log, patient):
    async def scenario():
        app = make_app(log)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f3")
            table = app.screen.query_one("#patients", DataTable)
            await until(pilot, lambda: table.row_count == 1, 10, "the patient list")
            await pilot.press("enter")
            await until(pilot, lambda: app.patient is not None, 10, "the patient, read in a worker")
            assert app.patient["name"] == "Ann B"
            assert "Ann B" in str(app.screen.query_one("#linkbar").render())
            assert app.screen.__class__.__name__ == "ConnectScreen"  # no trainer yet: choose one next
            await pilot.press("f3", "a")
            await pilot.press(*"Bo C")
            await pilot.click("#add")
            await pilot.pause()
            assert len(log.patients()) == 1  # no side chosen: refused, nothing written
            app.screen.query_one("#side", Select).value = "left"
            await pilot.click("#add")
            await until(pilot, lambda: table.row_count == 2, 10, "the new patient")
            await type_into(pilot, "#name", "ann b")  # the same name in another case: refused
            app.screen.query_one("#side", Select).value = "left"
            await pilot.click("#add")
            await pilot.pause(0.5)
            await app.workers.wait_for_complete()
        assert sorted(p["name"] for p in log.patients()) == ["Ann B", "Bo C"]
        assert next(p for p in log.patients() if p["name"] == "Bo C")["affected_side"] == "left"
    asyncio.run(scenario())


@pytest.fixture
def board():
    with VirtualBoard(speed=SPEED, key=DEMO_KEY) as virtual:
        yield virtual


async def unlock(pilot, pin: str) -> None:
    await pilot.press("f7")
    await until(pilot, lambda: pilot.app.screen.query_one("#pin", Input).has_focus, 10, "the PIN prompt")
    await pilot.press(*pin, "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_the_first_time_the_therapist_chooses_a_pin_twice(log, patient):
    async def scenario():
        app = make_app(log, patient_id=patient)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f7")
            await until(pilot, lambda: app.screen.query_one("#pin", Input).has_focus, 10, "the PIN prompt")
            await pilot.press(*"12345", "tab", *"12345", "enter")  # too short: refused
            await pilot.pause(0.5)
            assert not has_pin(log)
            await type_into(pilot, "#pin", PIN)
            await type_into(pilot, "#pin2", PIN)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.query_one("#editor").display, 20, "the editor")
        assert has_pin(log)
    asyncio.run(scenario())


def test_the_therapist_sets_caps_with_the_pin(log, patient, board):
    provision(log)

    async def scenario():
        app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.link_state == "connected" and app.ride.caps is not None, 30, "the link")
            queued = []  # what went through the trainer's one command queue (trainer/commands.py)
            submit = app.trainer.queue.submit
            app.trainer.queue.submit = lambda *steps, done=None: queued.extend(s[0] for s in steps) or submit(
                *steps, done=done)
            await unlock(pilot, PIN)
            await until(pilot, lambda: app.screen.query_one("#editor").display, 20, "the editor")
            await until(pilot, lambda: app.screen.query_one("#max_res_pct", Input).value == "20", 10, "the caps")
            await type_into(pilot, "#max_res_pct", "15")
            await type_into(pilot, "#warmup_s", "60")
            await type_into(pilot, "#set-by", "Dr Lee")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen.query("#confirm-yes"), 10, "the confirmation")
            await pilot.press("enter")  # a step down: one confirmation
            await until(pilot, lambda: app.ride.caps["max_res_pct"] == 15, 30, "the trainer's caps")
            assert "CAPS" in queued  # in order with every other command, not around the queue
        entry = log.caps_history(patient)[-1]
        assert entry["caps"]["max_res_pct"] == 15 and entry["caps"]["warmup_s"] == 60 and entry["set_by"] == "Dr Lee"
    asyncio.run(scenario())


def test_without_the_right_pin_nothing_can_be_changed(log, patient, board):
    provision(log)

    async def scenario():
        app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.link_state == "connected" and app.ride.caps is not None, 30, "the link")
            await unlock(pilot, "000000")
            assert not app.screen.query_one("#editor").display
            assert app.screen.pin is None
            await pilot.press("ctrl+s", "ctrl+p")
            await pilot.pause(0.5)
            assert app.ride.caps["max_res_pct"] == 20
        assert log.caps_history(patient) == []
    asyncio.run(scenario())


def test_values_the_firmware_refuses_cannot_be_entered_or_sent(log, patient, board):
    provision(log)

    async def scenario():
        app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.link_state == "connected" and app.ride.caps is not None, 30, "the link")
            await unlock(pilot, PIN)
            await until(pilot, lambda: app.screen.query_one("#max_res_pct", Input).value == "20", 10, "the caps")
            await type_into(pilot, "#max_res_pct", "x5-")
            assert app.screen.query_one("#max_res_pct", Input).value == "5"  # digits only
            await type_into(pilot, "#max_res_pct", "1500")
            assert app.screen.query_one("#max_res_pct", Input).value == "150"  # no longer than 100
            await type_into(pilot, "#set-by", "Dr Lee")
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert "Resistance cap, % must be 0 to 100" in str(app.screen.query_one("#problem").render())
            await type_into(pilot, "#max_res_pct", "20")
            await type_into(pilot, "#max_dur_min", "5")
            await type_into(pilot, "#warmup_s", "300")  # leaves no minute of work in 5: the firmware says no
            await pilot.press("ctrl+s")
            await pilot.pause(0.5)
            assert "warm-up" in str(app.screen.query_one("#problem").render())
            await type_into(pilot, "#warmup_s", "120")
            await type_into(pilot, "#res_pct", "30")  # the plan above the 20 % cap
            await pilot.press("ctrl+p")
            await pilot.pause(0.5)
            assert "Above the caps" in str(app.screen.query_one("#problem").render())
            await type_into(pilot, "#res_pct", "12")
            await type_into(pilot, "#dur_min", "3")
            await type_into(pilot, "#sessions_per_week", "4")
            await pilot.press("ctrl+p")
            await until(pilot, lambda: app.screen.query("#confirm-yes"), 10, "the confirmation")
            await pilot.press("enter")
            await until(pilot, lambda: log.current_plan(patient)["sessions_per_week"] == 4, 10, "the plan")
            assert app.ride.caps["max_res_pct"] == 20 and app.ride.caps["warmup_s"] == 300  # the trainer's defaults
        assert log.caps_history(patient) == []
        assert log.current_plan(patient)["goals"] == {"dur_min": 3, "cad_lo_rpm": 15, "cad_hi_rpm": 25, "res_pct": 12}
    asyncio.run(scenario())


def test_review_opens_a_session_and_exports_it(log, history):
    async def scenario():
        app = make_app(log, patient_id=history)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f5")
            table = app.screen.query_one("#sessions", DataTable)
            await until(pilot, lambda: table.row_count == 2, 20, "the sessions")
            assert table.get_row_at(0)[0] == 2  # newest first, the cursor on it
            await pilot.press("enter")
            await until(pilot, lambda: "session 2" in str(app.screen.query_one("#summary").render()), 20, "the summary")
            assert "spasm detected 1" in str(app.screen.query_one("#summary").render())
            await pilot.press("w")
            await app.workers.wait_for_complete()
            return app.export_dir / "session-2.csv"
    path = asyncio.run(scenario())
    rows = list(csv.DictReader(line for line in open(path) if not line.startswith("#")))  # past the legend
    assert len(rows) == sum(1 for _ in log.samples(2))
    assert rows[0].keys() >= {"time_s", "cadence_rpm", "force_left_n", "force_right_n"}


def test_progress_shows_sessions_against_the_plan(log, history):
    async def scenario():
        app = make_app(log, patient_id=history)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f6")
            await until(pilot, lambda: "weeks, against" in str(app.screen.query_one("#headline").render()), 30, "progress")
            return str(app.screen.query_one("#headline").render())
    text = asyncio.run(scenario())
    assert text.startswith("2 sessions reached their work phase in 3 weeks, against 9 planned")


def test_the_demos_past_sessions_are_ridden_on_the_firmware_and_appear_in_review(tmp_path):
    path = tmp_path / "demo.sqlite"
    patient_id = demo_patient(path)
    from softcrank.store.ridelog import RideLog

    with RideLog(path) as log:
        def history(each, stop):
            ride_history(path, patient_id, history=(Past(3, "steady", 1, 1),), speed=SPEED * 3,
                         on_session=each, stop=stop)

        async def scenario():
            app = make_app(log, patient_id=patient_id, history=history)
            async with app.run_test(size=(100, 40)) as pilot:
                await pilot.press("f5")
                table = app.screen.query_one("#sessions", DataTable)
                await until(pilot, lambda: table.row_count == 1 and table.get_row_at(0)[-1] == "done", 120,
                            "the ridden session in Review, done")
        asyncio.run(scenario())
        session = log.sessions(patient_id)[0]
        assert session["end_state"] == "D" and session["device_id"].endswith("-past")
        assert sum(1 for _ in log.samples(session["id"])) > 5 * 60 * 10 * 0.9  # 5 min at 10 Hz
        assert log.missing_recs(session["id"]) == []


def test_closing_the_app_stops_the_demo_history_between_records(tmp_path):
    path = tmp_path / "demo.sqlite"
    patient_id = demo_patient(path)
    stop = threading.Event()
    stop.set()
    assert ride_history(path, patient_id, stop=stop) == []
