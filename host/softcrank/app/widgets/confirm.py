"""The confirmation of a change of caps or plan: every value before and after, and for a large
step (clinical/changes.py) a second, explicit confirmation before "Confirm" does anything.

Escape or "Cancel" changes nothing. The dialog answers True (confirmed) or False."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static


class ConfirmChange(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, rows: list[tuple[str, object, object]], large: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows
        self.large = large

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.title_text, id="confirm-title")
            width = max(len(label) for label, _, _ in self.rows)
            yield Static("\n".join("%-*s  %s -> %s" % (width, label, before, after)
                                   for label, before, after in self.rows), id="confirm-rows")
            if self.large:
                yield Static("A large step:\n" + "\n".join("- " + line for line in self.large), id="confirm-large")
                yield Checkbox("Yes, I mean this large step", id="confirm-large-ok")
            with Horizontal(id="confirm-buttons"):
                yield Button("Confirm", id="confirm-yes", variant="warning" if self.large else "primary",
                             disabled=bool(self.large))
                yield Button("Cancel (Esc)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-large-ok" if self.large else "#confirm-yes").focus()

    @on(Checkbox.Changed, "#confirm-large-ok")
    def _second(self, event: Checkbox.Changed) -> None:
        self.query_one("#confirm-yes", Button).disabled = not event.value

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        if not self.large or self.query_one("#confirm-large-ok", Checkbox).value:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ConfirmCaps(ModalScreen["str | None"]):
    """Before a ride, the trainer's caps need a therapist (trainer/whose_caps.py): another
    patient's, the firmware's defaults, or caps the ride log cannot account for. Each finding in
    words; the therapist's PIN confirms the caps as they are (the app checks it, logged); Esc
    starts nothing. Answers the PIN, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        from textual.widgets import Input

        with Vertical(id="confirm-box"):
            yield Static("Nothing started: this trainer's caps need a therapist.", id="confirm-title")
            yield Static("\n".join("- " + line[:1].upper() + line[1:] for line in self.lines), id="confirm-rows")
            yield Static("A therapist may set this patient's caps (F7), or confirm the caps as they are for "
                         "this ride with the PIN (logged):", id="confirm-how")
            yield Input(password=True, id="confirm-pin", placeholder="therapist PIN, then Enter")
            with Horizontal(id="confirm-buttons"):
                yield Button("Confirm and start", id="confirm-yes", variant="warning")
                yield Button("Cancel (Esc)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-pin").focus()

    def _pin(self) -> None:
        pin = self.query_one("#confirm-pin").value
        if pin:
            self.dismiss(pin)

    on_input_submitted = _pin

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self._pin()

    @on(Button.Pressed, "#confirm-no")
    def action_cancel(self) -> None:
        self.dismiss(None)
