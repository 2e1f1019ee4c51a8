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

from ...clinical.trends import (ROLLING_SESSIONS, SessionPoint, Week, by_affected_side, rolling, session_points,
                                symmetric_limit, weeks)
from ...store.ridelog import RideLogError
from ..widgets.plots import LinePlot
from .base import AppScreen


def headline(points: list[SessionPoint], week_list: list[Week], affected: str = "none") -> str:
    """The figures a therapist reads first, in words: adherence counts sessions that reached
    their work phase; trends are rolling averages over the last ROLLING_SESSIONS sessions."""
    if not points:
        return "No sessions yet."
    done = sum(w.sessions for w in week_list)
    planned = sum(w.planned for w in week_list)
    met = sum(1 for w in week_list if w.met)
    short = sum(1 for p in points if not p.reached_work)
    lines = ["%d sessions reached their work phase in %d weeks, against %d planned (%d %%); the plan was met in "
             "%d of %d weeks%s." % (done, len(week_list), planned, round(100 * done / planned), met, len(week_list),
                                   "; %d shorter tries not counted" % short if short else "")]

    def change(name: str, values: list, fmt: str) -> str:
        known = [v for v in rolling(values) if v is not None]
        if len(known) <= ROLLING_SESSIONS:
            return "%s: too few sessions for a trend." % name
        return "%s: %s, against %s %d sessions earlier (average of %d)." % (
            name, fmt % known[-1], fmt % known[-1 - ROLLING_SESSIONS], ROLLING_SESSIONS, ROLLING_SESSIONS)

    lines.append(change("Duration", [p.duration_min for p in points], "%.0f min"))
    lines.append(change("Average cadence", [p.cadence_avg_rpm for p in points], "%.1f rpm"))
    lines.append(change("Symmetry (0 is even, + the %s leg did more)" % _leg(affected),
                        [by_affected_side(p.symmetry_index, affected) for p in points], "%+.0f %%"))
    return "\n".join(lines)


def _leg(affected: str) -> str:
    return "affected" if affected in ("left", "right") else "left"


class ProgressScreen(AppScreen):
    MODE = "progress"
    BINDINGS = [Binding("u", "reload", "Update")]

    def body(self) -> ComposeResult:
        yield Static("Choose the patient first (F3).", id="headline")
        with TabbedContent(id="progress-tabs"):
            with TabPane("Adherence", id="tab-weeks"):
                yield LinePlot(id="plot-weeks")
            with TabPane("Duration", id="tab-duration"):
                yield LinePlot(id="plot-duration")
            with TabPane("Work", id="tab-work"):
                yield LinePlot(id="plot-work")
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
        affected = (self.app.patient or {}).get("affected_side", "none")
        self.query_one("#headline", Static).update(headline(points, week_list, affected))
        if not points:
            return
        n = list(range(1, len(points) + 1))
        week_x = list(range(1, len(week_list) + 1))
        weeks_plot = self.query_one("#plot-weeks", LinePlot)
        weeks_plot.draw("Sessions that reached work, a week (bars), against the plan (line); week 1 = %s"
                        % week_list[0].monday.isoformat(), "week",
                        [("sessions", week_x, [w.sessions for w in week_list], "white")], bars=True, ticks=week_x)
        weeks_plot.plt.plot(week_x, [w.planned for w in week_list], label="plan", color="yellow")
        top = max([w.sessions for w in week_list] + [week_list[0].planned])
        weeks_plot.plt.yticks(_ticks(list(range(0, top + 1))))  # whole sessions on this axis too
        avg = "average of the last %d" % ROLLING_SESSIONS
        self._trend("#plot-duration", "Duration (min) per session", "min", n, [p.duration_min for p in points], avg)
        self._trend("#plot-work", "Pedal work (kJ) per session", "kJ", n, [p.work_kj for p in points], avg)
        self._trend("#plot-trend-cadence", "Average cadence (rpm, pedalling) per session", "rpm", n,
                    [p.cadence_avg_rpm for p in points], avg)
        sym = [by_affected_side(p.symmetry_index, affected) for p in points]
        limit = symmetric_limit(sym)
        plot = self._trend("#plot-symmetry", "Symmetry (work phase): 0 is even, + the %s leg did more"
                           % _leg(affected), "%", n, sym, avg, ylim=(-limit, limit))
        plot.plt.hline(0, color="yellow")

    def _trend(self, selector: str, title: str, unit: str, n: list[int], values: list, avg: str,
               ylim: tuple[float, float] | None = None) -> LinePlot:
        plot = self.query_one(selector, LinePlot)
        plot.draw(title, "session", [(unit, *_known(n, values), "white"), (avg, *_known(n, rolling(values)), "cyan")],
                  ylim=ylim, ticks=_ticks(n))
        return plot


def _ticks(n: list[int]) -> list[int]:
    """Whole-number ticks (sessions, weeks), at most ten of them."""
    step = max(1, -(-len(n) // 10))
    return n[::step]


def _known(xs, ys):
    """The points where there is a figure."""
    pairs = [(x, y) for x, y in zip(xs, ys) if y is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]
