"""Issue 19 and issue 15 item 2 in the app: caps written by hand on the virtual trainer's flash
are flagged before a ride (nothing starts, the therapist confirms with the PIN), and wrong PINs
at the Therapist screen say the wait and the lock in words."""

import asyncio
import json

import pytest
from textual.widgets import Input, Static

from softcrank.sim.demo import DEMO_KEY
from softcrank.sim.virtual_board import VirtualBoard
from softcrank.trainer.link import Link
from softcrank.trainer.therapist import send_caps
from softcrank_fw import capstore

from app_helpers import PIN, SHORT_CAPS, SHORT_PLAN, SPEED, make_app, provision, until


async def unlock(pilot, pin):
    await pilot.press("f7")
    await until(pilot, lambda: pilot.app.screen.query_one("#pin", Input).has_focus, 10, "the PIN prompt")
    await pilot.press(*pin, "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_caps_edited_by_hand_are_flagged_before_a_ride_until_the_therapist_confirms(log, patient, tmp_path):
    provision(log)
    log.set_plan(patient, SHORT_PLAN, 3, "test")
    flash = tmp_path / "flash"
    with VirtualBoard(flash=flash, speed=SPEED, key=DEMO_KEY) as board:
        with Link(board.port) as link:
            send_caps(link, log, patient, SHORT_CAPS, PIN, "Dr Lee")
    doc = json.loads((flash / "caps.json").read_text())
    doc["caps"][0] = 100  # the resistance cap raised by hand, the file's check recomputed
    doc["check"] = capstore.file_check(doc["counter"], doc["caps"], doc["history"])
    (flash / "caps.json").write_text(json.dumps(doc))
    notes = []

    with VirtualBoard(flash=flash, speed=SPEED, key=DEMO_KEY) as board:
        async def scenario():
            app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
            app.notify = lambda message, **kw: notes.append(message)
            async with app.run_test(size=(100, 40)) as pilot:
                await until(pilot, lambda: app.link_state == "connected" and app.ride.caps is not None, 30, "the link")
                assert app.ride.caps["max_res_pct"] == 100
                await pilot.press("f4", "s")
                await until(pilot, lambda: app.screen.query("#confirm-pin"), 30, "the caps flagged")
                flagged = str(app.screen.query_one("#confirm-rows", Static).render())
                await pilot.press("escape")  # no therapist at hand: nothing starts
                await pilot.pause(0.5)
                assert app.ride.state not in ("U", "W")
                assert log.sessions(patient) == []
                await pilot.press("s")
                await until(pilot, lambda: app.screen.query("#confirm-pin"), 30, "the question again")
                await pilot.press(*PIN, "enter")  # a therapist looked at the unit: the caps as they are
                await until(pilot, lambda: app.ride.state in ("U", "W"), 30, "the session started")
                await pilot.press("x")
                await until(pilot, lambda: app.ride.state in "DI", 30, "the session over after stop")
            return flagged
        flagged = asyncio.run(scenario())
    assert "The caps in force differ from what this laptop sent with counter 1" in flagged
    assert any("not confirmed" in n for n in notes)
    trail = [(a["action"], a["outcome"]) for a in log.audit_trail()]
    assert ("caps check", "confirmed by the therapist") in trail
    assert any(action == "caps check" and outcome.startswith("unaccounted") for action, outcome in trail)


def test_wrong_pins_say_the_wait_in_words(log, patient, board):
    provision(log)
    notes = []

    async def scenario():
        app = make_app(log, port=board.port, patient_id=patient, speed=SPEED)
        app.notify = lambda message, **kw: notes.append(message)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.link_state == "connected", 30, "the link")
            await unlock(pilot, "000000")
            await pilot.press(*PIN, "enter")  # the right PIN, too soon
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen.pin is None
            prompt = str(app.screen.query_one("#pin-prompt", Static).render())
            assert "wait" in prompt and "before the next try" in prompt
    asyncio.run(scenario())
    assert "Wrong PIN (1 of 5 before a 5 min lock): the next try in 2 s. Nothing can be changed." in notes
    assert any("1 wrong PIN: wait" in n for n in notes)


@pytest.fixture
def board():
    with VirtualBoard(speed=SPEED, key=DEMO_KEY) as virtual:
        yield virtual
