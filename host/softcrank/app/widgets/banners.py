"""Banners that cannot be missed: emergency stop, sensor fault, link lost.

Several lines tall, full width, in reverse colours, with what happened and what to do in
words. Hidden (display: none) when there is nothing to say, so they take no room then.
"""

from __future__ import annotations

from textual.widgets import Static

MESSAGES = {
    "estop": "EMERGENCY STOP: resistance is off.\nWhen everyone is safe, press x to clear it (the session ends).",
    "fault": "SENSOR FAULT: resistance is off.\nStop pedalling and call the therapist; x clears it (the session ends).",
    "lost": "LINK TO THE TRAINER LOST: reconnecting...\nThe trainer holds resistance, and pauses after 10 seconds.",
}


class Banner(Static):
    """show(kind) with a kind of MESSAGES, or hide()."""

    def show(self, kind: str) -> None:
        self.update(MESSAGES[kind])
        self.set_classes("-shown -%s" % kind)

    def hide(self) -> None:
        self.update("")
        self.set_classes("")

    @property
    def kind(self) -> str | None:
        for kind in MESSAGES:
            if self.has_class("-" + kind):
                return kind
        return None
