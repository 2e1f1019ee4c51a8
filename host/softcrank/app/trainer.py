"""The app's trainer: one Link, a Recorder storing the patient's sessions, messages for the UI.

The UI thread never waits on the serial port: open(), command() and close() block (up to a
few seconds) and are called from Textual workers; what the trainer sends arrives through the
link's callbacks on its reader thread and goes to the app as messages (post_message is
thread-safe). Telemetry is pulled by a small pump thread from the link's newest-wins slot
(`wait_latest`) at most PUMP_HZ times a second: a 50 Hz trainer and a slow terminal never
build a queue; events come through on_frame, every one, in order.

With the virtual trainer running `speed` times faster than real time, the firmware's host
timeouts (3 s hold, 10 s pause) are in virtual seconds, so the link's own timings are scaled
the same way (trainer/timings.py, as `softcrank ride` does). A pause the trainer made because
this laptop went silent is resumed once the link is back (trainer/session.py, as `softcrank
ride` does): the pump thread sends the RESUME, never the reader. After every handshake a
thread asks the trainer what happened meanwhile (trainer/recovery.py, as `softcrank ride`
does) and posts its one line as a Notice; a pause whose reason is lost is stopped.
"""

from __future__ import annotations

import threading
from typing import Callable

from textual.message import Message

from ..frames import Frame
from ..trainer.commands import CommandQueue, Job
from ..trainer.link import Link, LinkError
from ..trainer.recovery import recover
from ..trainer.session import SilenceResume
from ..trainer.timings import link_timings
from .messages import LinkChanged, Notice, RecordsLost, SessionChanged, Settings, Telemetry, TrainerEvent

PUMP_HZ = 10  # screen updates a second: a figure changing faster than this is not readable
RIDING_STATES = frozenset("UWCRP")  # a session is on: quitting sends STOP first


class Trainer:
    """Open with a port (None: the Pico on USB) and a patient; `post` receives the messages."""

    def __init__(self, ridelog, post: Callable[[Message], object], speed: float = 1.0) -> None:
        self.ridelog, self.post, self.speed = ridelog, post, speed
        self.link: Link | None = None
        self.recorder = None
        self.port: str | None = None
        self.patient_id: int | None = None
        self.caps: Frame | None = None
        self.goals: Frame | None = None
        self.state = "I"  # the trainer's session state, from the newest telemetry
        self._pump: threading.Thread | None = None
        self._silence = SilenceResume()  # the session's pauses for this laptop's silence
        self._pump_stop = threading.Event()
        self.queue = CommandQueue(lambda: self.link if self.connected else None)  # every command, in order

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.state == "connected"

    def open(self, port: str | None, patient_id: int) -> None:
        """Connect to the trainer on `port`, recording sessions for `patient_id`. Returns at once;
        the link's state arrives as LinkChanged messages."""
        from ..trainer.recorder import Recorder

        self.close()
        recorder = Recorder(self.ridelog, patient_id, on_session=self._session,
                            on_lost=lambda lost: self.post(RecordsLost(lost)))
        callbacks = recorder.link_callbacks()
        recorders_frame = callbacks.pop("on_frame")

        def on_frame(frame: Frame) -> None:
            recorders_frame(frame)  # first: a START is in the ride log before the screen hears of it
            self._frame(frame)

        self.port, self.patient_id, self.recorder = port, patient_id, recorder
        self.link = Link(port, on_frame=on_frame, on_state=self._state, **callbacks, **link_timings(self.speed))
        self._pump_stop = threading.Event()
        self._pump = threading.Thread(target=self._pump_telemetry, args=(self.link, self._pump_stop),
                                      name="softcrank-app-telemetry", daemon=True)
        self._pump.start()
        self.link.open(wait=None)

    def command(self, type_: str, *values) -> list[Frame]:
        """Send a command through the queue and wait for its answer (from a worker). Raises
        LinkError with the reason in words."""
        if self.link is None:
            raise LinkError("no trainer chosen yet: pick one on the Connect screen")
        return self.queue.submit((type_, *values)).result()[0]  # C and G in the answer reach _frame too

    def submit(self, *steps, done=None) -> Job:
        """Queue a job of (type, *values) steps without waiting (the UI thread may call it):
        first come, first served; ESTOP and PAUSE go at once. `done(job)` runs on a queue thread."""
        return self.queue.submit(*steps, done=done)

    def close(self) -> None:
        """Close the link. A session still on is stopped first: nobody would be watching it."""
        link, self.link = self.link, None
        self._pump_stop.set()
        if link is None:
            return
        if link.state == "connected" and self.state in RIDING_STATES:
            try:
                link.command("STOP")
            except LinkError:
                pass  # the trainer pauses by itself after 10 s without the host
        link.close()
        if self._pump is not None:
            self._pump.join(timeout=2)

    # ----- the link's callbacks (reader and supervisor threads) -----------------------------

    def _state(self, state: str, detail: str) -> None:
        self.post(LinkChanged(state, detail))
        if state == "connected" and self.link is not None:
            info = self.link.info
            self.caps, self.goals = info.get("C"), info.get("G")
            self.post(Settings(self.caps, self.goals))
            threading.Thread(target=self._recover, args=(self.link, self.recorder), daemon=True,
                             name="softcrank-app-recover").start()

    def _recover(self, link: Link, recorder) -> None:
        """What happened while the link was away, from the trainer itself (recovery.py)."""
        from ..clinical.report import ended

        session = recorder.session_id if recorder.session_id is not None else recorder.resumed
        if session is None:
            return
        found = recover(link, recorder, session, ending=lambda sid: ended(self.ridelog.session(sid), self.ridelog))
        if found is None:
            return
        self.post(Notice(found.line, "warning" if found.action in ("stop", "ended") else "information"))
        if found.action == "stop":
            try:
                link.command("STOP")
            except LinkError:
                pass  # the trainer stays paused, resistance off; x stops it

    def _session(self, session_id: int, what: str) -> None:
        if what in ("started", "resumed"):
            self._silence = SilenceResume.from_log(self.ridelog, session_id)
        self.post(SessionChanged(session_id, what))

    def _frame(self, frame: Frame) -> None:
        if frame.type == "E":
            self.state = frame["state"]
            self._silence.event(frame)
            if frame["event"] != "LOST":  # one a sample while the ring overwrites: RecordsLost says each gap once
                self.post(TrainerEvent(frame))
        else:
            self._settings(frame)

    def _settings(self, frame: Frame) -> None:
        if frame.type == "C":
            self.caps = frame
        elif frame.type == "G":
            self.goals = frame
        else:
            return
        self.post(Settings(self.caps, self.goals))

    def _pump_telemetry(self, link: Link, stop: threading.Event) -> None:
        while not stop.is_set():
            frame = link.wait_latest(0.5)
            if frame is not None:
                self.state = frame["state"]
                self.post(Telemetry(frame))
                if self._silence.due(frame, link):
                    self._resume(link)
                stop.wait(1 / PUMP_HZ)

    def _resume(self, link: Link) -> None:
        self.queue.submit(("RESUME",))  # if the link went again the trainer stays paused, and space resumes it
