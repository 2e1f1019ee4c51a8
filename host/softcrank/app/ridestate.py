"""What the Ride screen shows, kept by the app as messages arrive (UI thread only).

Kept outside the screen so that nothing is missed while another screen is open: coming back
to Ride shows the events and the last minutes of the plot as they happened.
"""

from __future__ import annotations

from collections import deque

from softcrank_fw import protocol as P

from ..clinical.words import event_line
from ..frames import Frame

WINDOW_S = 180  # the live plot shows the last 3 minutes of the trainer's clock
EVENTS_KEPT = 50
ALARM_STATES = {"E": "estop", "F": "fault"}


class RideState:
    def __init__(self) -> None:
        self.latest: Frame | None = None
        self.caps: Frame | None = None
        self.goals: Frame | None = None
        self.events: deque[str] = deque(maxlen=EVENTS_KEPT)
        self.history: deque[tuple[float, float, float]] = deque()  # (t_s, cadence rpm, resistance %)
        self.start_ms: int | None = None
        self.session_id: int | None = None
        self.link_lost = False  # the link was lost and is not back yet

    def telemetry(self, frame: Frame) -> None:
        self.latest = frame
        t_s = frame["t_ms"] / 1000
        if self.history and t_s < self.history[-1][0]:
            self.history.clear()  # the trainer's clock went back: it restarted
        self.history.append((t_s, frame["cad_drpm"] / 10, frame["res_pm"] / 10))
        while self.history and self.history[0][0] < t_s - WINDOW_S:
            self.history.popleft()

    def event(self, frame: Frame) -> str:
        """Note the event; returns its line in words."""
        if frame["event"] == "START":
            self.start_ms = frame["t_ms"]
        elapsed = 0 if self.start_ms is None else (frame["t_ms"] - self.start_ms) % P.REC_MODULO // 1000
        line = event_line(frame, elapsed).strip()
        self.events.append(line)
        return line

    @property
    def state(self) -> str:
        return self.latest["state"] if self.latest is not None else "I"

    @property
    def alarm(self) -> str | None:
        """"estop" or "fault" while the trainer is in that state, else None."""
        return ALARM_STATES.get(self.state)
