"""The line of screens at the top: which one is open, and the key (or click) for each."""

from __future__ import annotations

from textual.widgets import Static

SCREENS = (("f2", "connect", "Connect"), ("f3", "patient", "Patient"), ("f4", "ride", "Ride"),
           ("f5", "review", "Review"), ("f6", "progress", "Progress"), ("f7", "therapist", "Therapist"))


class NavBar(Static):
    """`current`: the mode this bar sits on."""

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def on_mount(self) -> None:
        parts = []
        for key, mode, name in SCREENS:
            label = "%s %s" % (key.upper(), name)
            if mode == self.current:
                parts.append("[reverse b] %s [/]" % label)
            else:
                parts.append("[@click=app.switch_mode('%s')] %s [/]" % (mode, label))
        self.update("".join(parts) + " [@click=app.show_help] F1 Help [/]")
