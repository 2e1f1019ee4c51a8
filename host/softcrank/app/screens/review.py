"""Review: the patient's sessions in a sortable table, newest first; one session's summary
(with its plan against what was done), plots, events, and the therapist's notes; export to a
file (CSV, FIT or TCX: softcrank.exports) in a folder the user picks (Export tab; the
documents folder until then).

Everything is read in workers. A session's plots come from `RideLog.samples(decimate_to=
REVIEW_POINTS)`: SQL averages the samples into at most that many points, so a 2-hour session
at 50 Hz (360,000 samples) gives the widgets 300 points, as a 5-minute one does.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from softcrank_fw import protocol as P

from ...clinical.report import ended, session_report
from ...clinical.trends import session_points
from ...clinical.words import event_line
from ...clinical.summary import whole
from ...exports import ExportError, export_file
from ...store.ridelog import RideLogError
from ...store.sessions import NOTES_MAX
from ..widgets.plots import LinePlot
from .base import AppScreen

REVIEW_POINTS = 300  # about twice the width of a wide terminal: every column gets a point
# Short headings: every column, "Ended" with its longest words ("ended, its end not seen"), fits
# in 80 columns; the user guide says what each one is.
COLUMNS = ("Session", "Date", "Min", "rpm", "In band %", "Sym %", "kJ", "Ended")


class Figure:
    """A table cell: shows a figure as text ("--" when there is none), sorts as a number
    (none below every figure)."""

    def __init__(self, value: float | None, fmt: str = "%.1f") -> None:
        self.value = value
        self.text = "--" if value is None else fmt % value

    def __str__(self) -> str:
        return self.text

    def __lt__(self, other: "Figure") -> bool:
        return (self.value is not None, self.value or 0) < (other.value is not None, other.value or 0)


_num = Figure




class ReviewScreen(AppScreen):
    MODE = "review"
    BINDINGS = [Binding("o", "sort", "Sort"), Binding("w", "export('csv')", "CSV"),
                Binding("f", "export('fit')", "FIT"), Binding("t", "export('tcx')", "TCX"),
                Binding("u", "reload", "Update")]

    def __init__(self) -> None:
        super().__init__()
        self._sort = 0
        self._reverse = True  # newest first: the session a therapist looks for is the last one
        self.session_id: int | None = None

    def body(self) -> ComposeResult:
        yield Static("Choose a session with Enter. o sorts by the next column (again: reverse).", id="review-caption")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        with TabbedContent(id="review-tabs"):
            with TabPane("Summary", id="tab-summary"):
                yield Static("No session chosen.", id="summary")
            with TabPane("Cadence", id="tab-cadence"):
                yield LinePlot(id="plot-cadence")
            with TabPane("Force", id="tab-force"):
                yield LinePlot(id="plot-force")
            with TabPane("Resistance", id="tab-resistance"):
                yield LinePlot(id="plot-resistance")
            with TabPane("Events", id="tab-events"):
                yield Static("", id="events-list")
            with TabPane("Notes", id="tab-notes"):
                yield Static("The therapist's notes on this session (Enter saves them):", classes="caption")
                yield Input(id="notes", max_length=NOTES_MAX, placeholder="notes on the chosen session")
            with TabPane("Export", id="tab-export"):
                yield Static("w: CSV, f: FIT, t: TCX, into this folder (Enter keeps it):", classes="caption")
                yield Input(id="export-folder")

    def on_mount(self) -> None:
        self.query_one("#sessions", DataTable).add_columns(*COLUMNS)
        self.query_one("#export-folder", Input).value = str(self.app.export_dir)

    @on(Input.Submitted, "#export-folder")
    def _folder(self, event: Input.Submitted) -> None:
        """The folder the user typed: it must exist (or be made) and be a folder; else said, unchanged."""
        text = event.value.strip()
        folder = Path(text).expanduser() if text else None
        if folder is None or (folder.exists() and not folder.is_dir()):
            self.notify("Not a folder: %r. Exports still go to %s." % (text, self.app.export_dir), severity="error")
            event.input.value = str(self.app.export_dir)
            return
        self.app.export_to = folder.resolve()
        event.input.value = str(self.app.export_to)
        self.notify("Exports go to %s." % self.app.export_to)

    @on(Input.Submitted, "#notes")
    def _notes(self, event: Input.Submitted) -> None:
        if self.session_id is None:
            self.notify("Choose a session first (Enter on its row).", severity="warning")
            return
        self._save_notes(self.session_id, event.value)

    @work(thread=True, group="review-notes")
    def _save_notes(self, session_id: int, notes: str) -> None:
        try:
            self.app.ridelog.set_notes(session_id, notes)
        except RideLogError as e:
            self.app.call_from_thread(self.notify, "Notes not saved: %s" % e, severity="error")
            return
        self.app.call_from_thread(self.notify, "Notes on session %d saved." % session_id)
        self._load_session(session_id)

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._load_table(self.app.patient["id"] if self.app.patient else None)

    action_reload = reload

    @work(thread=True, exclusive=True, group="review-table")
    def _load_table(self, patient_id: int | None) -> None:
        if patient_id is None:
            self.app.call_from_thread(self._fill, None, [])
            return
        try:
            log = self.app.ridelog
            sessions = {s["id"]: ended(s, log) for s in log.sessions(patient_id)}
            points = session_points(self.app.ridelog, patient_id)
        except RideLogError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        self.app.call_from_thread(self._fill, sessions, points)

    def _fill(self, sessions, points) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        if sessions is None:
            self.query_one("#review-caption", Static).update("Choose the patient first (F3).")
            return
        for p in points:
            table.add_row(p.session_id, p.started.isoformat(), _num(p.duration_min), _num(p.cadence_avg_rpm),
                          _num(p.in_band_pct and whole(p.in_band_pct), "%d"), _num(p.symmetry_index, "%+.0f"),
                          _num(p.work_kj, "%.2f"),
                          sessions[p.session_id], key=str(p.session_id))
        self._apply_sort()
        if self.session_id is not None and str(self.session_id) in [k.value for k in table.rows]:
            table.move_cursor(row=table.get_row_index(str(self.session_id)))
        table.focus()

    def action_sort(self) -> None:
        if self._reverse:
            self._sort, self._reverse = (self._sort + 1) % len(COLUMNS), False
        else:
            self._reverse = True
        self._apply_sort()

    @on(DataTable.HeaderSelected, "#sessions")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        self._reverse = not self._reverse if event.column_index == self._sort else False
        self._sort = event.column_index
        self._apply_sort()

    def _apply_sort(self) -> None:
        table = self.query_one("#sessions", DataTable)
        if not table.columns:
            return
        key = list(table.columns)[self._sort]
        table.sort(key, reverse=self._reverse)
        self.query_one("#review-caption", Static).update(
            "Sorted by %s, %s. o: sort by another column. Enter: open a session."
            % (COLUMNS[self._sort].lower(), "highest first" if self._reverse else "lowest first"))

    @on(DataTable.RowSelected, "#sessions")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.session_id = int(event.row_key.value)
        self._load_session(self.session_id)

    @work(thread=True, exclusive=True, group="review-session")
    def _load_session(self, session_id: int) -> None:
        log = self.app.ridelog
        try:
            summary = "\n".join(session_report(log, log.session(session_id)).lines())
            points = list(log.samples(session_id, decimate_to=REVIEW_POINTS))
            events = log.events(session_id)
            session = log.session(session_id)
        except RideLogError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        self.app.call_from_thread(self._show_session, session_id, summary, points, events, session)

    def _show_session(self, session_id, summary, points, events, session) -> None:
        goals = session["goals"]
        self.query_one("#summary", Static).update(summary.rstrip())
        self.query_one("#notes", Input).value = session["notes"]
        t0 = points[0].t_ms if points else 0
        xs = [(p.t_ms - t0) % P.REC_MODULO / 60000 for p in points]
        ends = [xs[0], xs[-1]] if xs else []
        self.query_one("#plot-cadence", LinePlot).draw(
            "Session %d: cadence (rpm) against the band" % session_id, "minutes",
            [("cadence", xs, [p.cad_drpm / 10 for p in points], "white"),
             ("band low", ends, [goals["cad_lo_rpm"]] * len(ends), "yellow"),
             ("band high", ends, [goals["cad_hi_rpm"]] * len(ends), "yellow")])
        self.query_one("#plot-force", LinePlot).draw(
            "Session %d: force per pedal (N)" % session_id, "minutes",
            [("left", xs, [p.force_l_dn / 10 for p in points], "cyan"),
             ("right", xs, [p.force_r_dn / 10 for p in points], "magenta")])
        self.query_one("#plot-resistance", LinePlot).draw(
            "Session %d: resistance (%% of the brake)" % session_id, "minutes",
            [("resistance", xs, [p.res_pm / 10 for p in points], "white")])
        start = next((e.t_ms for e in events if e.event == "START"), t0)
        lines = [event_line({"event": e.event, "arg": e.arg}, (e.t_ms - start) % P.REC_MODULO // 1000).strip()
                 for e in events]
        self.query_one("#events-list", Static).update("\n".join(lines) or "No events.")

    def action_export(self, fmt: str) -> None:
        if self.session_id is None:
            self.notify("Choose a session first (Enter on its row).", severity="warning")
            return
        self._export(self.session_id, fmt, self.app.export_dir / ("session-%d.%s" % (self.session_id, fmt)))

    @work(thread=True, group="review-export")
    def _export(self, session_id: int, fmt: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            count = export_file(self.app.ridelog, session_id, fmt, path)
        except (ExportError, RideLogError, OSError) as e:
            self.app.call_from_thread(self.notify, "Not exported: %s" % e, severity="error")
            return
        self.app.call_from_thread(self.notify, "Wrote session %d as %s (%d rows or points) to %s"
                                  % (session_id, fmt.upper(), count, path))
