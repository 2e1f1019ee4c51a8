"""The app's Review and Progress on the clinic store (PostgreSQL), as on the laptop's file."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from app_helpers import make_app, until
from softcrank.store.pglog import PgRideLog
from softcrank.store.sync import sync


def review_and_progress(log, patient_id):
    async def scenario():
        app = make_app(log, patient_id=patient_id)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f5")
            table = app.screen.query_one("#sessions", DataTable)
            await until(pilot, lambda: table.row_count == 2, 20, "the sessions")
            await pilot.press("enter")
            await until(pilot, lambda: "session" in str(app.screen.query_one("#summary").render()), 20, "the summary")
            summary = str(app.screen.query_one("#summary").render())
            await pilot.press("f6")
            await until(pilot, lambda: "work phase in" in str(app.screen.query_one("#headline").render()), 30, "progress")
            return summary, str(app.screen.query_one("#headline").render())
    return asyncio.run(scenario())


def test_review_and_progress_read_the_clinic_store_as_the_file(log, history, clock, pg_url):
    with PgRideLog(pg_url, clock=clock) as clinic:
        sync(log, clinic)
        there = [p["id"] for p in clinic.patients() if p["name"] == "Ann B"][0]
        summary, headline = review_and_progress(clinic, there)
    mine_summary, mine_headline = review_and_progress(log, history)
    assert headline == mine_headline and headline.startswith("2 sessions reached their work phase in 3 weeks")
    assert summary.split("\n")[1:] == mine_summary.split("\n")[1:]  # the first line names the store's own id
    assert "revolutions" in summary and "records missing            0" in summary
