"""What the Ride screen shows, kept by the app as messages arrive (UI thread only).

Kept outside the screen so that nothing is missed while another screen is open: coming back
to Ride shows the events and the last minutes of the plot as they happened.
"""

from __future__ import annotations

from collections import deque

from softcrank_fw import protocol as P

from ..clinical.words import clock, event_line, session_left_s
from ..frames import Frame

WINDOW_S = 180  # the live plot shows the last 3 minutes of the trainer's clock
EVENTS_KEPT = 50
ALARM_STATES = {"E": "estop", "F": "fault"}
END_EVENTS = frozenset(("DONE", "STOP", "ESTOP", "FAULT"))


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
        self.last_end: str | None = None  # the last end event: DONE, STOP, ESTOP or FAULT
        self.restarted = False  # the trainer restarted (BOOT, or the link saw its records start again)
        self.ended_words: str | None = None  # how the last session ended, once the results know
        self.phase = "U"  # the last pedalling phase seen (U W C): a pause or a rest resumes it
        self.session_left: int | None = None  # the session's seconds left, as of the newest sample
        self.clock_s = 0.0  # the session clock (seconds since START) of the newest sample

    def telemetry(self, frame: Frame) -> None:
        self.latest = frame
        state = frame["state"]
        if state in ("U", "W", "C"):
            self.phase = state
            self.session_left = session_left_s(state, frame["left_s"], self.goals, self.caps)
        elif state not in ("R", "P"):
            self.session_left = None
        if self.start_ms is not None:
            self.clock_s = (frame["t_ms"] - self.start_ms) % P.REC_MODULO / 1000
        t_s = frame["t_ms"] / 1000
        if self.history and t_s < self.history[-1][0]:
            self.history.clear()  # the trainer's clock went back: it restarted
        self.history.append((t_s, frame["cad_drpm"] / 10, frame["res_pm"] / 10))
        while self.history and self.history[0][0] < t_s - WINDOW_S:
            self.history.popleft()

    def event(self, frame: Frame) -> str:
        """Note the event; returns its line in words."""
        name = frame["event"]
        if name == "START":
            self.start_ms, self.last_end, self.ended_words, self.restarted = frame["t_ms"], None, None, False
        elif name == "BOOT":
            self.start_ms = None  # its clock started again: no session is on
            self.restarted = self.session_id is not None
        elapsed = None if self.start_ms is None else (frame["t_ms"] - self.start_ms) % P.REC_MODULO // 1000
        if name in END_EVENTS:
            self.last_end = name
        line = event_line(frame, elapsed).strip()
        line = line[3:] if line.startswith(">> ") else line  # outside a session: no clock
        self.events.append(line)
        if name in END_EVENTS - {"FAULT", "ESTOP"} or name == "CLEAR":
            self.start_ms = None  # the session is over: later events are not on its clock
        return line

    def note(self, words: str) -> None:
        """A line of the app's own (a refused key, the end of a session) among the events,
        on the session clock if a session is on."""
        self.events.append("%s >> %s" % (clock(int(self.clock_s)), words) if self.start_ms is not None else words)

    @property
    def state(self) -> str:
        return self.latest["state"] if self.latest is not None else "I"

    @property
    def alarm(self) -> str | None:
        """"estop" or "fault" while the trainer is in that state, else None."""
        return ALARM_STATES.get(self.state)
