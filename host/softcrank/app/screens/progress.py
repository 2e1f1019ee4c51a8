"""Progress: one patient's trends across sessions, and adherence to the plan week by week.

The figures are summary.summarize's for each session (softcrank.clinical.trends), read in a worker.
A therapist reading a month should need a minute: the headline says sessions against the
plan and how cadence and symmetry moved, the tabs show the trends.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static, TabbedContent, TabPane

from ...clinical.trends import SessionPoint, Week, session_points, weeks
from ...store.ridelog import RideLogError
from ..widgets.plots import LinePlot
from .base import AppScreen


def headline(points: list[SessionPoint], week_list: list[Week]) -> str:
    """The figures a therapist reads first, in words."""
    if not points:
        return "No sessions yet."
    done = sum(w.sessions for w in week_list)
    planned = sum(w.planned for w in week_list)
    met = sum(1 for w in week_list if w.met)
    lines = ["%d sessions in %d weeks, against %d planned (%d %%); the plan was met in %d of %d weeks."
             % (done, len(week_list), planned, round(100 * done / planned), met, len(week_list))]

    def change(name: str, attr: str, fmt: str) -> str:
        values = [getattr(p, attr) for p in points if getattr(p, attr) is not None]
        if len(values) < 2:
            return "%s: too few sessions to compare." % name
        return "%s: %s in the first session, %s in the last." % (name, fmt % values[0], fmt % values[-1])

    lines.append(change("Duration", "duration_min", "%.0f min"))
    lines.append(change("Average cadence (pedalling)", "cadence_avg_rpm", "%.1f rpm"))
    lines.append(change("Symmetry index (work phase; 0 is even)", "symmetry_index", "%+.0f %%"))
    return "\n".join(lines)


class ProgressScreen(AppScreen):
    MODE = "progress"
    BINDINGS = [Binding("u", "reload", "Update")]

    def body(self) -> ComposeResult:
        yield Static("Choose the patient first (F3).", id="headline")
        with TabbedContent(id="progress-tabs"):
            with TabPane("Adherence", id="tab-weeks"):
                yield LinePlot(id="plot-weeks")
            with TabPane("Duration & work", id="tab-duration"):
                yield LinePlot(id="plot-duration")
            with TabPane("Cadence", id="tab-cadence"):
                yield LinePlot(id="plot-trend-cadence")
            with TabPane("Symmetry", id="tab-symmetry"):
                yield LinePlot(id="plot-symmetry")

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        if self.app.patient is None:
            return
        self.query_one("#headline", Static).update("Reading the sessions...")
        self._load(self.app.patient["id"])

    action_reload = reload

    @work(thread=True, exclusive=True)
    def _load(self, patient_id: int) -> None:
        try:
            points = session_points(self.app.ridelog, patient_id)
            per_week = self.app.ridelog.current_plan(patient_id)["sessions_per_week"]
        except RideLogError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        self.app.call_from_thread(self._show, points, weeks(points, per_week, self.app_today()))

    def app_today(self):
        return getattr(self.app, "today", None)

    def _show(self, points: list[SessionPoint], week_list: list[Week]) -> None:
        self.query_one("#headline", Static).update(headline(points, week_list))
        if not points:
            return
        first = points[0].started
        days = [(p.started - first).days for p in points]
        week_x = list(range(1, len(week_list) + 1))
        self.query_one("#plot-weeks", LinePlot).draw(
            "Sessions a week (bars) against the plan (line), week 1 = %s" % week_list[0].monday.isoformat(), "week",
            [("sessions", week_x, [w.sessions for w in week_list], "white")], bars=True)
        self.query_one("#plot-weeks", LinePlot).plt.plot(week_x, [w.planned for w in week_list], label="plan",
                                                         color="yellow")
        self.query_one("#plot-duration", LinePlot).draw(
            "Duration (min) and pedal work (kJ) per session", "days since the first session",
            [("minutes", days, [p.duration_min for p in points], "white"),
             ("work kJ", days, [p.work_kj for p in points], "cyan")])
        self.query_one("#plot-trend-cadence", LinePlot).draw(
            "Average cadence (rpm, pedalling) per session", "days since the first session",
            [("cadence", *_known(days, [p.cadence_avg_rpm for p in points]), "white")])
        self.query_one("#plot-symmetry", LinePlot).draw(
            "Symmetry index per session (work phase; 0 is even; + the left did more)", "days since the first session",
            [("symmetry %", *_known(days, [p.symmetry_index for p in points]), "white")])


def _known(xs, ys):
    """The points where there is a figure."""
    pairs = [(x, y) for x, y in zip(xs, ys) if y is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]
