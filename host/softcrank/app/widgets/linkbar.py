"""The bar on every screen: the trainer link's state and the patient, in words.

The link's state comes first, so neither a long patient name nor a long explanation pushes
it off the line. A cue in words as well as colour (CLINICAL.md: riders may not tell red from green): the text
says "connected", "LINK LOST" or "no trainer", and the colour only repeats it.
"""

from __future__ import annotations

from textual.widgets import Static

WORDS = {
    "connected": "Trainer connected",
    "connecting": "Connecting to the trainer",
    "lost": "LINK LOST: reconnecting",
    "closed": "No trainer",
}


PATIENT_CHARS = 32  # a longer name is cut, never the link's state: that comes first


class LinkBar(Static):
    """Watches the app's `link_state`, `link_detail` and `patient_name`."""

    def on_mount(self) -> None:
        for name in ("link_state", "link_detail", "patient_name"):
            self.watch(self.app, name, self._changed, init=False)
        self._changed()

    def _changed(self, _value: object = None) -> None:
        app = self.app
        state = getattr(app, "link_state", "closed")
        patient = getattr(app, "patient_name", "") or "no patient chosen"
        self.set_classes("-%s" % state)
        detail = getattr(app, "link_detail", "")
        if len(patient) > PATIENT_CHARS:
            patient = patient[:PATIENT_CHARS - 3] + "..."
        self.update("%s  |  Patient: %s  |  %s" % (WORDS.get(state, state), patient, detail))
