"""How each screen looks, at 80x24 and at 120x40 (pytest-textual-snapshot).

Deterministic: the ride log holds captured real sessions with fixed dates, Progress counts
weeks to a fixed day, no trainer is connected (the Ride screen is fed captured telemetry),
the Connect screen's USB scan finds nothing, and Textual's snapshot driver has no cursor blink.
Update after an intended change with `pytest tests/host/app/test_snapshots.py --snapshot-update`,
then look at the SVGs: docs/user-guide.md shows them.
"""

from __future__ import annotations

import pytest

from softcrank.trainer.therapist import set_pin

from app_helpers import captured, make_app

SIZES = {"small": (80, 24), "large": (120, 40)}
PIN = "246810"


def ride_fed(app) -> None:
    """The Ride screen as the captured second ride had it at its end."""
    ride = app.ride
    for frame in captured()[1]:
        if frame.type == "C":
            ride.caps = frame
        elif frame.type == "G":
            ride.goals = frame
        elif frame.type == "T":
            ride.telemetry(frame)
        elif frame.type == "E":
            ride.event(frame)
        if frame.type == "E" and frame["event"] == "REST_END":
            break  # a moment with a spasm in the events and resistance coming back
    app.link_state, app.link_detail = "connected", "/dev/ttyACM0: firmware 0.1.0, protocol 1, device sim-0001"


def screen(mode, press=(), prepare=None):
    async def run_before(pilot):
        if prepare:
            prepare(pilot.app)
        pilot.app.switch_mode(mode)
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        for key in press:
            await pilot.press(key)
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        if mode == "therapist":
            pilot.app.set_focus(None)  # a focused field's cursor blinks: not the same picture twice
            await pilot.pause()
        if hasattr(pilot.app.screen, "show_state"):
            pilot.app.screen.show_state()
            await pilot.pause()
    return run_before


@pytest.fixture(params=sorted(SIZES))
def size(request):
    return SIZES[request.param]


@pytest.mark.parametrize("mode", ["connect", "patient", "review", "progress"])
def test_screens(snap_compare, log, history, size, mode):
    keys = ("enter",) if mode == "review" else ()
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size, run_before=screen(mode, keys))


def test_ride(snap_compare, log, history, size):
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size,
                        run_before=screen("ride", prepare=ride_fed))


def test_ride_emergency_stop(snap_compare, log, history, size):
    def estop(app):
        ride_fed(app)
        last = app.ride.latest
        app.ride.telemetry(type(last)("T", 0, dict(last.fields, state="E", res_pm=0, t_ms=last["t_ms"] + 100)))
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size,
                        run_before=screen("ride", prepare=estop))


def test_therapist_unlocked(snap_compare, log, history, size):
    set_pin(log, PIN)
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size,
                        run_before=screen("therapist", press=tuple(PIN) + ("enter",)))


def test_help(snap_compare, log, history, size):
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size, run_before=screen("ride", ("f1",)))


def test_ride_link_lost(snap_compare, log, history, size):
    """Nothing live-looking while the link is lost: figures "--", the plot says why."""
    def lost(app):
        ride_fed(app)
        app.ride.link_lost = True
        app.link_state, app.link_detail = "lost", "nothing from the trainer for 3.0 s"
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size,
                        run_before=screen("ride", prepare=lost))


def test_results(snap_compare, log, history, size):
    """The results screen after the second captured session (done, with a spasm)."""
    async def run_before(pilot):
        await screen("ride", prepare=ride_fed)(pilot)
        pilot.app.show_results(log.sessions(history)[-1]["id"])
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size, run_before=run_before)


def test_therapist_confirms_a_large_step(snap_compare, log, history, size):
    """The confirmation dialog of a caps change with a large step (issue 15 item 1)."""
    set_pin(log, PIN)

    async def run_before(pilot):
        pilot.app.switch_mode("therapist")
        await pilot.pause()
        await pilot.press(*PIN, "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#max_res_pct").value = "100"
        screen.query_one("#max_dur_min").value = "25"
        screen.query_one("#set-by").value = "Dr Lee"
        await pilot.press("ctrl+s")
        await pilot.pause()
        pilot.app.set_focus(None)
        await pilot.pause()
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size, run_before=run_before)


def test_start_asks_a_therapist_about_the_caps(snap_compare, log, history, size):
    """Start on caps that are not this patient's (issue 15 item 3): the findings and the PIN."""
    from softcrank.app.widgets.confirm import ConfirmCaps

    async def run_before(pilot):
        await screen("ride", prepare=ride_fed)(pilot)
        pilot.app.push_screen(ConfirmCaps(["the trainer holds caps set for Bo C, not this patient's"]))
        await pilot.pause()
        pilot.app.set_focus(None)
        await pilot.pause()
    assert snap_compare(make_app(log, patient_id=history), terminal_size=size, run_before=run_before)
