"""After any outage: what the trainer says happened, and what the host does about it.

`softcrank ride` and the app both call `recover()` after every handshake (the first one of a
restarted host, and every reconnect). The trainer's own answer decides, never the records the
host happens to have: HELLO's H frame gives its state letter and `next_rec`, the record it
will make next. Once the recorder has been handed every record before `next_rec` (or what the
ring still held of them, the rest reported as lost), the host knows all the trainer can still
tell, and the newest of those records says the state now:

- riding (U, W, C, R): the same session carries on;
- paused (P): if the newest PAUSE of the session was for the host's silence, it is resumed
  (SilenceResume in session.py sends the RESUME on live telemetry); if it was the rider's (or
  overspeed, spasms), it is left alone: the rider's rest. If the PAUSE is not in the ride log
  because the ring overwrote it during an outage longer than the ring (3072 records: 5.1 min at
  10 Hz), nobody can say why it paused or who is on the trainer now: the host stops the
  session (resistance off), as the safety rule says in any doubt;
- anything else (idle, done, e-stop, fault, a reboot): the session ended while the host was
  away; the recorder has ended it from its end record or the first record outside it, and the
  one line says how. A new session starts only when the user asks (`softcrank ride --new`, or
  Start in the app).

Nothing here blocks the reader thread: recover() waits on the recorder from the caller's
thread (ride's main thread, an app worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from softcrank_fw import protocol as P

from .recorder import Recorder

__all__ = ["Found", "recover", "CATCH_UP_S", "RIDING", "pause_reason"]

RIDING = ("U", "W", "C", "R")
STATE_WORDS = dict(zip(P.STATES, P.STATE_NAMES))
CATCH_UP_S = 30.0  # real seconds for the replay of a whole ring (3072 records) to reach the recorder
_PAUSE_WORDS = {P.PAUSE_HOST: "the host asked for it", P.PAUSE_HOST_SILENT: "softcrank went quiet",
                P.PAUSE_OVERSPEED: "cadence above the cap", P.PAUSE_SPASMS: "several spasms in a row"}


@dataclass(frozen=True)
class Found:
    """What a handshake found. `action`: "carry on", "resume" (SilenceResume will send it),
    "rest" (the rider's pause: leave it), "stop" (send STOP: the pause's reason is lost),
    "ended" (the session ended while away), "none" (no session of this host's)."""

    action: str
    session: int | None
    line: str  # one line for a person


def pause_reason(ridelog, session: int) -> int | None:
    """The reason of the session's standing pause, from its events in the ride log; None if
    the newest PAUSE/RESUME is a RESUME or none is stored (the PAUSE was overwritten)."""
    ridelog.flush()
    marks = [e for e in ridelog.events(session) if e.event in ("PAUSE", "RESUME")]
    if marks and marks[-1].event == "PAUSE":
        return marks[-1].arg
    return None


def recover(link, recorder: Recorder, session: int | None, timeout: float = CATCH_UP_S,
            ending: Callable[[int], str] | None = None) -> Found | None:
    """After a handshake: wait until the recorder has what the trainer held at HELLO, then say
    what happened to `session` (the one this host was recording, or found unfinished in the
    ride log; None if neither). Returns None if the records did not arrive in `timeout`
    (the link was lost again: the next handshake asks again). `ending(session)` words how a
    session ended (clinical.report.ended; the end state's name without it)."""
    h = link.info["H"]
    newest = recorder.wait_for((h["next_rec"] - 1) % P.REC_MODULO, timeout)
    if newest is None:
        return None
    state = newest["state"]
    if session is None:
        return Found("none", None, "trainer %s is %s" % (h["device"], STATE_WORDS.get(state, state)))
    if recorder.session_id == session and state not in RIDING + ("P",):
        recorder.end_now(None if state == "I" else state)  # its end record is not in what the ring held
    ridelog = recorder.log
    if recorder.session_id != session:
        ridelog.flush()
        how = ending(session) if ending is not None else STATE_WORDS.get(ridelog.session(session)["end_state"],
                                                                           "its end was not seen")
        return Found("ended", session, "session %d ended while softcrank was away: %s" % (session, how))
    if state in RIDING:
        return Found("carry on", session, "session %d carried on: the trainer is still riding it (%s)"
                     % (session, STATE_WORDS.get(state, state)))
    reason = pause_reason(ridelog, session)
    if reason == P.PAUSE_HOST_SILENT:
        return Found("resume", session, "session %d carried on: the trainer paused it because softcrank went "
                                        "quiet; resuming (resistance builds up again from zero)" % session)
    if reason is not None:
        return Found("rest", session, "session %d carried on: paused by the trainer (%s), left paused for the rider"
                     % (session, _PAUSE_WORDS.get(reason, "reason %d" % reason)))
    return Found("stop", session, "session %d was paused while softcrank was away and the trainer no longer holds "
                                  "why (its PAUSE was overwritten): stopping it, resistance off" % session)
