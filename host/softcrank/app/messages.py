"""Messages from the trainer's threads to the app (Textual's post_message is thread-safe).

Telemetry can replace an older Telemetry still waiting in the queue (toolong's trick): at up to
50 Hz a screen that falls behind skips to the newest sample instead of drawing the past.
"""

from __future__ import annotations

from textual.message import Message

from ..frames import Frame
from ..trainer.link import Lost


class LinkChanged(Message):
    """The link's state changed: "connecting", "connected", "lost" or "closed", and why."""

    def __init__(self, state: str, detail: str) -> None:
        super().__init__()
        self.state, self.detail = state, detail


class Telemetry(Message):
    """The newest telemetry sample (a T frame)."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Telemetry)


class TrainerEvent(Message):
    """An event record (an E frame): every one, once, in order."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame


class Settings(Message):
    """The trainer's caps (C) and goals (G), from the handshake or a CAPS/GOALS answer."""

    def __init__(self, caps: Frame | None, goals: Frame | None) -> None:
        super().__init__()
        self.caps, self.goals = caps, goals


class SessionChanged(Message):
    """The recorder started ("started") or ended ("ended") a session in the ride log."""

    def __init__(self, session_id: int, what: str) -> None:
        super().__init__()
        self.session_id, self.what = session_id, what


class Notice(Message):
    """One line for the person at the screen: what a reconnect found, goals the caps cut."""

    def __init__(self, text: str, severity: str = "information") -> None:
        super().__init__()
        self.text, self.severity = text, severity


class RecordsLost(Message):
    """Records the link could not fetch: gone for good, and said so."""

    def __init__(self, lost: Lost) -> None:
        super().__init__()
        self.lost = lost


class CommandDone(Message):
    """A command answered: `error` is None, or why it failed, in words; `code` the trainer's
    N code when it refused (clinical/words.refusal says it for the rider)."""

    def __init__(self, command: str, error: str | None, code: str | None = None) -> None:
        super().__init__()
        self.command, self.error, self.code = command, error, code


class HistoryReady(Message):
    """demo: one more past session is in the ride log (None: all are)."""

    def __init__(self, session_id: int | None) -> None:
        super().__init__()
        self.session_id = session_id
