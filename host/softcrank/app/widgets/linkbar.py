"""The bar on every screen: the trainer link's state and the patient, in words.

A cue in words as well as colour (CLINICAL.md: riders may not tell red from green): the text
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
        self.update("Patient: %s  |  %s (%s)" % (patient, WORDS.get(state, state), detail))
