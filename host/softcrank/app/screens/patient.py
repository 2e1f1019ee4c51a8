"""Patient: pick who is riding, or add someone (a name or a pseudonym, the affected side, notes)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Select, Static

from ...store.ridelog import SIDES, RideLogError
from .base import AppScreen

SIDE_WORDS = {"left": "left foot drop", "right": "right foot drop", "both": "both sides", "none": "neither side"}


class PatientScreen(AppScreen):
    MODE = "patient"
    BINDINGS = [Binding("a", "focus_add", "Add a patient"), Binding("l", "focus_list", "List")]

    def body(self) -> ComposeResult:
        yield Static("Who is riding? Choose with Enter, or press a to add someone.", classes="intro")
        yield DataTable(id="patients", cursor_type="row", zebra_stripes=True)
        with Vertical(id="add-patient"):
            yield Static("Add a patient (a pseudonym is fine):", classes="caption")
            with Horizontal(classes="form-row"):
                yield Input(placeholder="name or pseudonym", id="name", max_length=60)
                yield Select([(SIDE_WORDS[s], s) for s in SIDES], prompt="affected side", id="side")
            with Horizontal(classes="form-row"):
                yield Input(placeholder="notes for the therapist (optional)", id="notes", max_length=200)
                yield Button("Add", id="add", variant="primary")

    def on_mount(self) -> None:
        table = self.query_one("#patients", DataTable)
        table.add_columns("Name", "Affected side", "Notes")
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True)
    def _load(self) -> None:
        try:
            rows = self.app.ridelog.patients()
        except RideLogError as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        self.app.call_from_thread(self._fill, rows)

    def _fill(self, rows: list[dict]) -> None:
        table = self.query_one("#patients", DataTable)
        table.clear()
        for p in rows:
            table.add_row(p["name"], SIDE_WORDS[p["affected_side"]], p["notes"], key=str(p["id"]))
        current = self.app.patient
        if current is not None and str(current["id"]) in [k.value for k in table.rows]:
            table.move_cursor(row=table.get_row_index(str(current["id"])))
        if self.focused is not None:
            return  # a background reload never takes the focus from where someone is typing
        if rows:
            table.focus()
        else:
            self.query_one("#name", Input).focus()

    @on(DataTable.RowSelected, "#patients")
    def _picked(self, event: DataTable.RowSelected) -> None:
        self.app.choose_patient(int(event.row_key.value))
        self.app.switch_mode("ride" if self.app.port is not None else "connect")

    @on(Button.Pressed, "#add")
    @on(Input.Submitted, "#notes")
    @on(Input.Submitted, "#name")
    def _add(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        select = self.query_one("#side", Select)
        side = select.value
        if not name:
            self.notify("Type a name or a pseudonym first.", severity="warning")
            self.query_one("#name", Input).focus()
            return
        if select.is_blank():
            self.notify("Choose the affected side (or 'neither side').", severity="warning")
            self.query_one("#side", Select).focus()
            return
        self._insert(name, str(side), self.query_one("#notes", Input).value.strip())

    @work(thread=True, exclusive=True)
    def _insert(self, name: str, side: str, notes: str) -> None:
        try:
            patient_id = self.app.ridelog.add_patient(name, side, notes)
        except RideLogError as e:
            self.app.call_from_thread(self.notify, "Not added: %s" % e, severity="error")
            return
        self.app.call_from_thread(self._added, patient_id, name)

    def _added(self, patient_id: int, name: str) -> None:
        for field in ("#name", "#notes"):
            self.query_one(field, Input).value = ""
        self.query_one("#side", Select).clear()
        self.notify("Added %s." % name)
        self.reload()

    def action_focus_add(self) -> None:
        self.query_one("#name", Input).focus()

    def action_focus_list(self) -> None:
        self.query_one("#patients", DataTable).focus()
