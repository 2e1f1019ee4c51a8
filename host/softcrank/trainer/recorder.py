"""The recorder: what a Link hands over goes into the ride log, one session at a time.

A Recorder is the sink of a Link (`Link(port, **recorder.link_callbacks())`) for one patient:

- a session begins in the ride log at the trainer's START event, with the goals and caps the
  trainer last reported (its G and C frames, which come with every handshake and every CAPS or
  GOALS answer), and ends at DONE, STOP, e-stop or fault, with the trainer's state letter;
- records between sessions (the idle trainer's telemetry) are not kept, but they count as
  consumed, so the link acknowledges them and a reconnect does not fetch them again;
- `committed()` is what the ride log has on disk: the link ACKs only that, and after a
  reconnect replays from the record after it. A host killed mid-ride therefore loses only
  records the trainer still holds, and a restarted host finds the trainer's unfinished session
  (`RideLog.open_session(device)`) at the handshake, carries on with it and fetches what it lacks;
- when the trainer restarted (the link reports `Lost(reason="restart")`) its records begin
  again from 0: the session it was riding ends with its end not seen (end state None), and
  nothing from before the restart is acknowledged again.

Everything here runs on the link's threads (store and on_frame on the reader, committed on the
supervisor); one lock keeps the recorder's own state consistent, and the RideLog has its own.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..frames import Frame
from ..store.ridelog import RideLog
from .link import Lost

__all__ = ["Recorder", "ENDING_EVENTS"]

log = logging.getLogger(__name__)

# The events after which the trainer's session is over (the trainer is done, idle, or holds the
# brake at zero until cleared). What follows belongs to no session.
ENDING_EVENTS = ("DONE", "STOP", "ESTOP", "FAULT")


class Recorder:
    """Stores one patient's sessions from a Link into a RideLog.

    on_session(session_id, "started" | "resumed" | "ended"): called from the link's threads
    when a session begins in the ride log, an unfinished one is picked up at the handshake, or
    one ends (post a message; do not block).
    on_lost(Lost): records the link could not fetch (also counted in `lost`).
    """

    def __init__(self, ridelog: RideLog, patient_id: int,
                 on_session: Callable[[int, str], object] | None = None,
                 on_lost: Callable[[Lost], object] | None = None) -> None:
        ridelog.patient(patient_id)  # RideLogError if there is no such patient
        self.log = ridelog
        self.patient_id = patient_id
        self.on_session = on_session
        self._on_lost = on_lost
        self.device: str | None = None
        self.session_id: int | None = None  # the session being recorded
        self.last_session_id: int | None = None  # the newest session this recorder began or resumed
        self.resumed: int | None = None  # an unfinished session found at the handshake
        self.lost: list[Lost] = []
        self.store_failures = 0
        self.store_error: Exception | None = None
        self._caps: Frame | None = None
        self._goals: Frame | None = None
        self._versions: tuple[str, int] | None = None  # the trainer's firmware and protocol (HELLO)
        self._start_rec: int | None = None
        self._consumed: int | None = None  # the newest record outside a session
        self._lock = threading.RLock()
        self.newest: Frame | None = None  # the newest record handed over, in a session or not
        self._seen = threading.Condition(self._lock)

    def link_callbacks(self) -> dict:
        """The keyword arguments that make a Link feed this recorder."""
        return {"store": self.store, "committed": self.committed, "on_frame": self.on_frame,
                "on_lost": self.lost_records}

    @property
    def goals(self) -> Frame | None:
        """The goals the trainer last reported (its G frame)."""
        return self._goals

    # ----- the link's callbacks ------------------------------------------------------------

    def on_frame(self, frame: Frame) -> None:
        """Remember the trainer's identity, caps and goals; find its unfinished session."""
        if frame.type == "C":
            self._caps = frame
        elif frame.type == "G":
            self._goals = frame
        elif frame.type == "H":
            self._hello(frame)

    def store(self, frames: list[Frame]) -> None:
        """Records in order, without gaps; after a reconnect some may come again. A failure
        (the disk is full, the ride log refuses a session) is raised to the link, which
        reconnects and hands the records again; `store_error` says what failed, and
        `store_failures` how many times in a row, so a caller can give up on a lasting one."""
        try:
            self._store(frames)
            if frames:
                with self._seen:
                    self.newest = frames[-1]
                    self._seen.notify_all()
        except Exception as e:
            self.store_failures += 1
            self.store_error = e
            raise
        self.store_failures = 0

    def _store(self, frames: list[Frame]) -> None:
        with self._lock:
            batch: list[Frame] = []
            for frame in frames:
                if self.session_id is not None:
                    if rec_diff(frame["rec"], self._start_rec) < 0:
                        continue  # from before this session: consumed long ago
                    if _outside_any_session(frame):  # the session's end was never seen
                        self._flush(batch)
                        self._end(_end_state(frame), frame)
                if frame.type == "E" and frame["event"] == "START":
                    if self.session_id is not None and frame["rec"] == self._start_rec:
                        batch.append(frame)  # this session's START, replayed
                        continue
                    self._flush(batch)
                    self._begin(frame)
                if self.session_id is None:
                    self._consumed = frame["rec"]
                    continue
                batch.append(frame)
                if frame.type == "E" and frame["event"] in ENDING_EVENTS:
                    self._flush(batch)
                    self._end(frame["state"], frame)
            self._flush(batch)

    def wait_for(self, rec: int, timeout: float) -> Frame | None:
        """Wait until record `rec` (or a later one) has been handed over; returns the newest
        record then, or None after `timeout` seconds. After a handshake, `rec` is the one
        before the trainer's next_rec: once it is here, the recorder knows all the trainer
        still holds of what happened meanwhile."""
        with self._seen:
            self._seen.wait_for(lambda: self.newest is not None and rec_diff(self.newest["rec"], rec) >= 0, timeout)
            newest = self.newest
        return newest if newest is not None and rec_diff(newest["rec"], rec) >= 0 else None

    def end_now(self, end_state: str | None) -> None:
        """End the session being recorded without its end record (the trainer says it is over)."""
        with self._lock:
            if self.session_id is not None:
                self._end(end_state, None)

    def committed(self) -> int | None:
        """The newest record that is safe: on disk in the session, or consumed outside one."""
        with self._lock:
            if self.session_id is None:
                return self._consumed
            rec = self.log.last_committed_rec(self.session_id)
            if rec is None:  # nothing on disk yet: everything before START was consumed
                return (self._start_rec - 1) % P.REC_MODULO
            return rec

    def lost_records(self, lost: Lost) -> None:
        with self._lock:
            self.lost.append(lost)
            if lost.reason == "restart":
                # The trainer rebooted: its old numbering is gone, and so is its session.
                if self.session_id is not None:
                    self._end(None, None)
                self._consumed = None
        if self._on_lost is not None:
            self._on_lost(lost)

    # ----- sessions -------------------------------------------------------------------------

    def _hello(self, h: Frame) -> None:
        with self._lock:
            self._versions = (h["fw"], h["proto"])
            if h["device"] != self.device:
                if self.session_id is not None:  # another trainer on the port
                    self._end(None, None)
                self.device = h["device"]
            if self.session_id is not None:
                return
            # An unfinished session: this host (or one before it) stopped mid-ride. The replay
            # from its last committed record brings what is missing, its end too if it ended
            # meanwhile; store() notices a trainer that rebooted since (BOOT, idle records).
            open_ = self.log.open_session(self.device)
            if open_ is None:
                return
            self.session_id = self.last_session_id = self.resumed = open_["id"]
            self._start_rec = open_["start_rec"]
            if open_["patient_id"] != self.patient_id:
                log.warning("carrying on with session %d of patient %d, unfinished on trainer %s",
                            open_["id"], open_["patient_id"], self.device)
        self._announce(open_["id"], "resumed")

    def _begin(self, start: Frame) -> None:
        if self.session_id is not None:  # a START without the previous session's end: it was not seen
            self._end(None, None)
        if self.device is None or self._caps is None or self._goals is None:
            raise RuntimeError("a START arrived before the handshake")  # the link guarantees the order
        sid = self.log.start_session(self.patient_id, self.device, start["rec"],
                                     self._goals, self._caps, *(self._versions or ()))
        self.session_id = self.last_session_id = sid
        self._start_rec = start["rec"]
        self._announce(sid, "started")

    def _end(self, end_state: str | None, last: Frame | None) -> None:
        """End the session; `last` is the record that ended it (consumed), if there is one."""
        sid = self.session_id
        self.session_id = self._start_rec = None
        self._consumed = None if last is None else last["rec"]
        self.log.end_session(sid, end_state)
        self._announce(sid, "ended")

    def _flush(self, batch: list[Frame]) -> None:
        if batch:
            self.log.add_records(self.session_id, batch)
            batch.clear()

    def _announce(self, sid: int, what: str) -> None:
        if self.on_session is not None:
            try:
                self.on_session(sid, what)
            except Exception:
                log.exception("softcrank recorder: on_session failed")


def _outside_any_session(frame: Frame) -> bool:
    """A record the trainer makes only outside a session: it booted, or it is idle, done,
    e-stopped or faulted (the session would have ended with an event we then missed)."""
    if frame.type == "E":
        return frame["event"] == "BOOT"
    return frame["state"] in ("I", "D", "E", "F")


def _end_state(frame: Frame) -> str | None:
    """The end state a record outside a session shows: None if the trainer restarted or idles."""
    if frame.type == "E" or frame["state"] == "I":
        return None
    return frame["state"]
