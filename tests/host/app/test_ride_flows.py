"""Pilot tests of the Ride screen against the virtual trainer (the real firmware on MicroPython):
a session to done, pause and resume, the emergency stop banner, the link lost and back.

The trainer runs SPEED times faster than real time with caps of a 1-minute warm-up and
cool-down, so a whole session takes about 10 s; the app's link timings follow the speed.
"""

from __future__ import annotations

import asyncio

import pytest

from app_helpers import PIN, SHORT_CAPS, SHORT_PLAN, SIM_DEVICE, SPEED, make_app, provision, until
from softcrank.sim.demo import DEMO_KEY
from softcrank.trainer.therapist import send_caps
from softcrank.app.widgets.banners import Banner
from softcrank.sim.virtual_board import VirtualBoard

@pytest.fixture
def board():
    with VirtualBoard(speed=SPEED, key=DEMO_KEY) as virtual:
        yield virtual


def ride_app(log, patient, board):
    provision(log)
    log.set_plan(patient, SHORT_PLAN, 3, "test")
    return make_app(log, port=board.port, patient_id=patient, speed=SPEED,
                    on_connect=lambda trainer: send_caps(trainer.link, log, patient, SHORT_CAPS, PIN, "test"))


async def ready(pilot):
    app = pilot.app
    await until(pilot, lambda: app.link_state == "connected", 30, "the link")
    await until(pilot, lambda: app.ride.caps is not None and app.ride.caps["warmup_s"] == 60, 30, "the short caps")
    await until(pilot, lambda: app.ride.latest is not None, 30, "telemetry")
    # The trainer's C frame can reach the screen before send_caps has written the accepted caps
    # into the ride log; a Start in between would rightly find caps this laptop cannot account for.
    await until(pilot, lambda: app.ridelog.trainer_caps(SIM_DEVICE), 30, "the caps in the ride log")


def results_headline(app) -> str:
    """The results screen's headline once it has its figures, else ""."""
    from softcrank.app.screens.results import ResultsScreen

    screen = app.screen
    return screen.results.headline if isinstance(screen, ResultsScreen) and screen.results else ""


def banner(app) -> str | None:
    """The Ride screen's banner, or None (also while the screen is still being composed)."""
    banners = app.screen.query(Banner)
    return banners.first().kind if banners else None


def test_a_session_rides_to_done_and_lands_in_the_ride_log(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state == "U", 30, "the warm-up")
            assert "WARM-UP" in str(app.screen.query_one("#phase").render())
            await until(pilot, lambda: app.ride.state == "D", 120, "the session's end")
            await until(pilot, lambda: app.ride.session_id is None and log.sessions(patient), 30, "the recorder")
            assert any("session complete" in line for line in app.ride.events)
            await until(pilot, lambda: results_headline(app).startswith("Session complete"), 30, "the results")
            await pilot.press("escape")
            assert "complete" in str(app.screen.query_one("#events").render())
        session = log.sessions(patient)[-1]
        assert session["end_state"] == "D" and session["goals"] == SHORT_PLAN
        assert log.missing_recs(session["id"]) == []
        assert [e.event for e in log.events(session["id"])][0] == "START"
    asyncio.run(scenario())


def test_space_pauses_and_resumes_and_x_stops(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state in "UW", 30, "riding")
            await pilot.press("space")
            await until(pilot, lambda: app.ride.state == "P", 30, "paused")
            await pilot.press("space")
            await until(pilot, lambda: app.ride.state in "UW", 30, "riding again")
            await pilot.press("x")
            await until(pilot, lambda: app.ride.state in "DI", 30, "the session over after stop")
            await until(pilot, lambda: app.ride.session_id is None, 30, "the session's end in the log")
        events = [e.event for e in log.events(log.sessions(patient)[-1]["id"])]
        assert events.index("PAUSE") < events.index("RESUME") < events.index("STOP")
    asyncio.run(scenario())


def test_the_emergency_stop_key_puts_up_the_banner_and_x_clears_it(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state in "UW", 30, "riding")
            assert banner(app) is None
            await pilot.press("e")
            await until(pilot, lambda: banner(app) == "estop", 30, "the e-stop banner")
            assert "EMERGENCY STOP" in str(app.screen.query_one(Banner).render())
            assert app.ride.latest["res_pm"] == 0
            await pilot.press("x")
            await until(pilot, lambda: banner(app) is None and app.ride.state == "I", 30, "cleared")
        assert log.sessions(patient)[-1]["end_state"] == "E"
    asyncio.run(scenario())


def test_a_pulled_cable_puts_up_the_link_lost_banner_until_it_is_back(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            board.unplug()
            await until(pilot, lambda: banner(app) == "lost", 30, "the link-lost banner")
            assert "LINK LOST" in str(app.screen.query_one("#linkbar").render())
            board.plug()
            await until(pilot, lambda: app.link_state == "connected" and banner(app) is None, 60, "the link back")
    asyncio.run(scenario())


def test_a_pause_for_a_silent_laptop_is_resumed_once_the_link_is_back(log, patient, board):
    """As `softcrank ride` does (trainer/session.py): the trainer paused because the laptop went
    silent, not because the rider asked, so the app resumes it when the link is back."""
    from softcrank_fw import protocol as P

    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state in "UW", 30, "riding")
            board.unplug()
            await until(pilot, lambda: banner(app) == "lost", 30, "the link-lost banner")
            await asyncio.sleep(20 / SPEED)  # 20 virtual seconds: the trainer paused at 10
            board.plug()
            await until(pilot, lambda: app.link_state == "connected", 60, "the link back")
            await until(pilot, lambda: app.ride.state in "UW", 30, "riding again without a key pressed")
            await pilot.press("x")
            await until(pilot, lambda: app.ride.session_id is None, 30, "the session's end in the log")
        events = [(e.event, e.arg) for e in log.events(log.sessions(patient)[-1]["id"])]
        assert ("PAUSE", P.PAUSE_HOST_SILENT) in events
        assert events.index(("PAUSE", P.PAUSE_HOST_SILENT)) < events.index(("RESUME", 0))
    asyncio.run(scenario())
