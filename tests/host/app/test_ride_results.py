"""Issue 14 on the Ride screen, against the virtual trainer (the real firmware on MicroPython):
the results after every session, told truthfully; nothing live while the link is lost; keys
refused before anything is sent; events on the session clock with the newest in view; the
large figures at 80x24."""

from __future__ import annotations

import asyncio
import re

from app_helpers import SPEED, until
from test_ride_flows import banner, board, ready, results_headline, ride_app  # noqa: F401 (board: a fixture)

from softcrank.app.widgets.bigfigure import ROWS, big


def screen_text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query("Static"))


def test_a_ride_stopped_in_the_warm_up_says_so_with_its_figures_and_never_well_done(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state == "U", 30, "the warm-up")
            await asyncio.sleep(14 / SPEED)  # 14 virtual seconds into the warm-up
            await pilot.press("x")
            await until(pilot, lambda: results_headline(app), 60, "the results")
            results = app.screen.results
            assert results.ending == "stopped"
            assert re.fullmatch(r"Session stopped early, after 0:\d\d of riding\.", results.headline)  # in the warm-up
            labels = [label for label, _ in results.rows]
            assert labels == ["riding time", "in the band 15-25 rpm", "resistance reached", "each leg's work",
                              "work share (50 even)", "spasms"]
            assert results.encouragement == []
            text = screen_text(app)
            assert "well done" not in text.lower() and "Session stopped early" in text
            await pilot.press("escape")
            phase = str(app.screen.query_one("#phase").render())
            assert "Stopped early" in phase and "well done" not in phase.lower()
    asyncio.run(scenario())


def test_s_during_a_ride_is_refused_and_sends_nothing(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state == "U" and app.ride.session_id, 30, "the warm-up")
            await pilot.press("s")
            assert "A session is on already" in app.ride.events[-1]
            assert app.ride.events[-1] in str(app.screen.query_one("#events").render())  # the newest in view
            await pilot.press("x")
            await until(pilot, lambda: app.ride.session_id is None, 30, "the session's end")
        events = [e.event for e in log.events(log.sessions(patient)[-1]["id"])]
        assert "GOALS" not in events and events.count("START") == 1
    asyncio.run(scenario())


def test_keys_that_cannot_apply_are_refused_in_words(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("space")
            assert app.ride.events[-1] == "Nothing to pause: no session is on."
            await pilot.press("x")
            assert app.ride.events[-1] == "Nothing to stop: no session is on."
        assert log.sessions(patient) == []
    asyncio.run(scenario())


def test_a_lost_link_shows_nothing_live(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state == "U", 30, "the warm-up")
            board.unplug()
            await until(pilot, lambda: banner(app) == "lost", 30, "the link-lost banner")
            for figure in ("#cadence", "#time-left"):
                assert str(app.screen.query_one(figure).query_one(".big-digits").render()).strip() == big("--").strip()
            phase = str(app.screen.query_one("#phase").render())
            assert "LINK LOST" in phase and "WARM-UP" not in phase
            assert "keep going" not in screen_text(app) and "IN THE BAND" not in screen_text(app)
            assert str(app.screen.query_one("#linkbar").render()).startswith("LINK LOST")
            board.plug()
            await until(pilot, lambda: app.link_state == "connected" and banner(app) is None, 60, "the link back")
    asyncio.run(scenario())


def test_a_trainer_restart_ends_the_session_and_both_screens_say_so(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state in "UW" and app.ride.session_id, 30, "riding")
            board.power_cut()
            await until(pilot, lambda: "restarted" in results_headline(app), 60, "the results of a restart")
            assert app.screen.results.ending == "restart"
            await pilot.press("escape")
            assert any("trainer restarted" in line for line in app.ride.events)
            await until(pilot, lambda: "restarted" in str(app.screen.query_one("#phase").render()), 30,
                        "the ride screen saying so")
        assert log.sessions(patient)[-1]["end_state"] is None
    asyncio.run(scenario())


def test_the_cadence_and_the_sessions_time_left_are_five_rows_tall_at_80x24(log, patient, board):
    async def scenario():
        app = ride_app(log, patient, board)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.ride.state == "U" and app.ride.session_left, 30, "the warm-up")
            await pilot.pause(0.3)
            for figure in ("#cadence", "#time-left"):
                digits = app.screen.query_one(figure).query_one(".big-digits")
                assert digits.region.height >= 5 and digits.region.right <= 80
                inked = [row for row in str(digits.render()).split("\n") if row.strip()]
                assert len(inked) >= 5
            assert ROWS == 5
            left = str(app.screen.query_one("#time-left").query_one(".big-digits").render())
            assert left != big("--")  # the session's time left, not only the phase's
    asyncio.run(scenario())
