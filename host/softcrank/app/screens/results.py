"""Results: after every session, whatever ended it, what happened in plain words and its figures.

The words and every figure come from clinical/results.py (over summary.py, as `show` and
Review have them): this screen only lays them out. It is pushed over Ride when the ride log
ends a session (done, stopped early, e-stop, fault, link lost, trainer restart), and r on
Ride opens it again for the last session. Enter or Escape goes back to Ride.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...clinical.results import SHORT, Results, session_results
from ...store.ridelog import RideLogError


class ResultsScreen(ModalScreen):
    BINDINGS = [Binding("escape,enter,r", "dismiss", "Back to Ride"),
                Binding("e", "estop", "EMERGENCY STOP", priority=True)]

    def __init__(self, session_id: int, affected_side: str = "none", restarted: bool = False) -> None:
        super().__init__()
        self.session_id, self.affected_side, self.restarted = session_id, affected_side, restarted
        self.results: Results | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="results"):
            yield Static("Session %d: results" % self.session_id, classes="caption")
            yield Static("Adding up the session...", id="results-headline")
            yield DataTable(id="results-rows", show_header=False, cursor_type="none", zebra_stripes=True)
            yield Static("", id="results-praise")
            yield Static("Enter or Escape: back to the ride screen", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("what", "figure")
        self._load()

    @work(thread=True, exclusive=True)
    def _load(self) -> None:
        try:
            results = session_results(self.app.ridelog, self.session_id, self.affected_side, self.restarted)
        except RideLogError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self._show, results)

    def _failed(self, error: str) -> None:
        self.query_one("#results-headline", Static).update("The results cannot be read: %s" % error)

    def _show(self, results: Results) -> None:
        self.results = results
        self.app.ride.ended_words = SHORT[results.ending]  # Ride says it too, under the phase
        self.query_one("#results-headline", Static).update(results.headline)
        self.query_one("#results-headline", Static).set_classes("-%s" % results.ending.replace(" ", "-"))
        table = self.query_one(DataTable)
        for label, value in results.rows:
            table.add_row(label, value)
        self.query_one("#results-praise", Static).update("\n".join(results.encouragement))

    def action_dismiss(self) -> None:
        self.dismiss()

    def action_estop(self) -> None:
        self.app.send("ESTOP")
