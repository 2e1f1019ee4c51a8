"""The bugs issue 14 lists, each with its test: a background reload never takes the focus
from a name being typed; Connect does not submit a dead port again; choose_patient reads the
ride log off the UI thread; refusals and events read in words; the first-run steps."""

from __future__ import annotations

import asyncio
import threading

from textual.widgets import DataTable, Input

from app_helpers import make_app, until
from softcrank.app.ridestate import RideState
from softcrank.frames import Frame
from softcrank.store.ridelog import RideLog


def test_a_background_reload_does_not_take_the_focus_from_a_name_being_typed(log, patient):
    async def scenario():
        app = make_app(log)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f3")
            table = app.screen.query_one("#patients", DataTable)
            await until(pilot, lambda: table.row_count == 1, 10, "the patient list")
            await pilot.press("a", *"Bo")
            name = app.screen.query_one("#name", Input)
            assert name.has_focus
            app.screen.reload()  # as the demo's history does when a past session is ready
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press(*" C")
            assert name.has_focus and name.value == "Bo C"
    asyncio.run(scenario())


def test_a_port_that_never_answered_is_not_submitted_again(log, patient, tmp_path):
    dead = str(tmp_path / "no-such-port")

    async def scenario():
        app = make_app(log)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f3")
            table = app.screen.query_one("#patients", DataTable)
            await until(pilot, lambda: table.row_count == 1, 10, "the patient list")
            await pilot.press("enter")
            await until(pilot, lambda: app.patient is not None, 10, "the patient")
            app.connect(dead)
            await until(pilot, lambda: app.link_state == "connecting" and "no-such-port" in app.link_detail, 10,
                        "the attempt on the dead port")
            await pilot.press("f3")
            await until(pilot, lambda: table.row_count == 1, 10, "the patient list")
            table.focus()
            await pilot.press("enter")  # choosing the patient again must not reopen the dead port
            await until(pilot, lambda: app.port is None, 10, "the dead port forgotten")
            await app.workers.wait_for_complete()
            await until(pilot, lambda: app.link_state == "closed", 10, "the dead port closed")
            assert app.trainer.link is None
    asyncio.run(scenario())


class WatchedRideLog(RideLog):
    """The real ride log, noting which thread reads the patients."""

    threads: list[str]

    def patients(self, *args, **kwargs):
        self.threads.append(threading.current_thread().name)
        return super().patients(*args, **kwargs)


def test_choose_patient_reads_the_ride_log_off_the_ui_thread(tmp_path):
    with WatchedRideLog(tmp_path / "ridelog.sqlite") as log:
        log.threads = []
        patient = log.add_patient("Ann B", "right", "")

        async def scenario():
            app = make_app(log)
            async with app.run_test(size=(80, 24)) as pilot:
                ui = threading.current_thread().name
                log.threads.clear()
                app.choose_patient(patient, connect=False)
                await until(pilot, lambda: app.patient is not None, 10, "the patient")
                assert log.threads and ui not in log.threads
        asyncio.run(scenario())


def event(name: str, t_ms: int, arg: int = 0, state: str = "I") -> Frame:
    return Frame("E", 0, {"rec": 0, "t_ms": t_ms, "state": state, "event": name, "arg": arg})


def test_events_read_on_the_session_clock_and_never_before_a_start():
    ride = RideState()
    ride.event(event("BOOT", 17834_230_000 % (2 ** 30)))
    assert ride.events[-1] == "trainer started"  # no clock: no session is on
    ride.event(event("START", 1_000_000, state="U"))
    ride.event(event("PAUSE", 1_014_000, arg=0, state="P"))
    assert ride.events[-1].startswith("0:14 >> paused")
    ride.event(event("STOP", 1_020_000, state="D"))
    ride.event(event("CAPS", 1_090_000))
    assert ride.events[-1] == "caps changed"


def test_refusals_read_in_words():
    from softcrank.clinical.words import refusal

    assert refusal("START", "STATE") == "The trainer did not start: not possible right now."
    assert "STATE" not in refusal("START", "STATE")


def test_the_first_run_steps_are_in_order_and_point_at_the_first_not_done():
    from softcrank.app.widgets.firststeps import STEPS, steps_text

    assert [key for key, _ in STEPS] == ["trainer", "patient", "pin", "caps", "ride"]
    lines = steps_text({"trainer": True, "patient": True}).split("\n")
    assert lines[0].startswith("[x] 1.") and lines[1].startswith("[x] 2.")
    assert lines[2].startswith("[ ] 3.") and lines[2].endswith("<- now")
    assert not any(line.endswith("<- now") for line in lines[3:])
