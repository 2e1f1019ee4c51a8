"""`softcrank ride`: record one session headless, for a unit with no screen attached.

Connects to the trainer, records into the ride log through a Recorder (recorder.py), starts a
session (or carries on with the trainer's unfinished one, after this host was killed or the
laptop restarted), prints what the rider would see as plain lines, and returns when the
session has ended and every record of it is on disk.

What it does by itself, and why:
- a pause the trainer made because the laptop went silent is resumed once the link is back
  (trainer/session.py, which the app follows too): the host caused it, not the rider;
- Ctrl-C (or SIGTERM) stops the session (the brake goes to zero) before it exits;
- a lost link is retried for ever (the trainer carries on safely by itself: it holds the
  resistance after 3 s without the host and pauses after 10 s); Ctrl-C gives up.
"""

from __future__ import annotations

import queue
import signal
import sys
import time
from typing import Callable

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..clinical import words as console
from ..clinical.report import ended
from ..clinical.summary import summary_of
from ..frames import Frame
from ..store.ridelog import RideLog
from ..trainer.link import CommandRefused, Link, LinkError, Lost
from ..trainer.recorder import Recorder
from ..trainer.session import SilenceResume
from ..trainer.timings import link_timings
from ..trainer.whose_caps import not_this_patients
from .signals import _interrupted

__all__ = ["record_session", "RideError"]

SESSION_STATES = ("U", "W", "C", "P", "R")  # the trainer is in a session
_STOP_WAIT_S = 5.0  # after Ctrl-C: how long to wait for the trainer's STOP record
_STORE_FAILURES = 3  # storing failed this many times in a row: it will not get better by retrying


class RideError(RuntimeError):
    """The session could not be started or recorded; the message says why."""


def record_session(ridelog: RideLog, patient_id: int, port: str | None, *, work_min: int | None = None,
                   every_s: int = 30, speed: float = 1.0, write: Callable[[str], object] = print,
                   open_wait_s: float = 15.0, confirm_caps: Callable[[str, str], None] | None = None) -> dict:
    """Record one session; returns {"session": id, "end_state": letter or None, "lost": [...]}.

    `speed`: the trainer's clock runs this many times real time (1 for a real trainer; a
    virtual one started with `softcrank sim --speed X`): the link's heartbeat and timeouts are
    scaled to match, so the trainer's 3 s hold and 10 s pause keep their meaning.

    A new session starts only on caps set for this patient (whose_caps.py); otherwise
    `confirm_caps(device_id, why)` must return (a therapist confirmed with the PIN) or the
    ride is refused with why. A session the trainer is still riding is carried on regardless."""
    frames: queue.Queue = queue.Queue()
    sessions: queue.Queue = queue.Queue()
    recorder = Recorder(ridelog, patient_id, on_session=lambda sid, what: sessions.put((sid, what)))
    callbacks = recorder.link_callbacks()

    def on_frame(frame: Frame) -> None:
        recorder.on_frame(frame)
        if frame.type in ("E", "T"):
            frames.put(frame)

    def on_state(state: str, detail: str) -> None:
        if state in ("lost", "connecting") and detail:
            write("link: %s: %s" % (state, detail))
        elif state == "connected":
            write("link: connected (%s)" % detail)

    def on_lost(lost: Lost) -> None:
        count = "an unknown number of" if lost.count is None else "%d" % lost.count
        why = "the trainer restarted" if lost.reason == "restart" else "the trainer no longer held them"
        write("link: %s records from %d could not be fetched: %s" % (count, lost.first, why))

    callbacks.update(on_frame=on_frame, on_lost=lambda lost: (recorder.lost_records(lost), on_lost(lost)))
    link = Link(port, on_state=on_state, **_timings(speed), **callbacks)
    try:
        link.open(wait=open_wait_s)
    except LinkError as e:
        raise RideError(str(e)) from e
    try:
        session = _begin(link, recorder, sessions, work_min, write, confirm_caps)
        return _follow(link, recorder, session, frames, sessions, every_s, write)
    except KeyboardInterrupt:
        if recorder.session_id is not None:
            _stop(link, recorder, sessions, write)
        raise
    finally:
        link.close()
        ridelog.flush()


def _timings(speed: float) -> dict:
    if speed <= 0:
        raise RideError("the speed must be above 0, got %r" % speed)
    return link_timings(speed)  # the link's real-time numbers scaled to the trainer's clock


def _begin(link: Link, recorder: Recorder, sessions: queue.Queue, work_min: int | None,
           write: Callable[[str], object], confirm_caps: Callable[[str, str], None] | None = None) -> int:
    """Carry on with the trainer's unfinished session, or start one; returns its id."""
    h = link.info["H"]
    caps, goals = link.info["C"], link.info["G"]
    write("trainer %s: firmware %s, protocol %d" % (h["device"], h["fw"], h["proto"]))
    if recorder.resumed is not None and h["state"] in SESSION_STATES:
        write("carrying on with session %d, which the trainer is still riding" % recorder.resumed)
        return recorder.resumed
    if h["state"] in SESSION_STATES:
        raise RideError("the trainer is already in a session that this ride log does not know "
                        "(another laptop started it?): stop it there first")
    if h["state"] in ("E", "F"):
        raise RideError("the trainer is %s: check the rider and the unit, then clear it with STOP"
                        % console.STATE_WORDS[h["state"]])
    why = not_this_patients(caps, recorder.patient_id, recorder.log)
    if why:
        if confirm_caps is None:
            raise RideError("%s: a therapist must set this patient's caps, or confirm the ride with "
                            "--confirm-caps (asks the PIN)" % why)
        confirm_caps(h["device"], why)  # raises if the therapist did not confirm
        write("riding on other caps, confirmed by the therapist: %s" % why)
    if work_min is not None:
        try:
            goals = link.command("GOALS", work_min, goals["cad_lo_rpm"], goals["cad_hi_rpm"], goals["res_pct"])[0]
        except CommandRefused as e:
            raise RideError("the trainer refused the plan: %s" % e) from e
    write("caps: resistance <= %d %%, cadence <= %d rpm, session <= %d min, ramp %d %%/min"
          % (caps["max_res_pct"], caps["max_cad_rpm"], caps["max_dur_min"], caps["ramp_pct_min"]))
    write("plan: %d min warm-up, %d min work at %d %%, cadence %d-%d rpm, %d min cool-down"
          % (caps["warmup_s"] // 60, goals["dur_min"], goals["res_pct"], goals["cad_lo_rpm"],
             goals["cad_hi_rpm"], caps["cooldown_s"] // 60))
    try:
        link.command("START")
    except CommandRefused as e:
        if e.code == "STATE":
            raise RideError("the trainer cannot start now: the pedals are still being zeroed or a "
                            "sensor is not ready; wait a moment and try again") from e
        raise RideError(str(e)) from e
    deadline = time.monotonic() + 5
    while True:  # the START record reaches the recorder through the link
        _check_storing(recorder)
        try:
            sid, what = sessions.get(timeout=0.2)
        except queue.Empty:
            if time.monotonic() > deadline:
                raise RideError("the trainer accepted START but sent no START record") from None
            continue
        if what == "started":
            write("session %d started" % sid)
            return sid


def _follow(link: Link, recorder: Recorder, session: int, frames: queue.Queue, sessions: queue.Queue,
            every_s: int, write: Callable[[str], object]) -> dict:
    """Print status lines and events until the session has ended."""
    status = console.Status()
    goals = recorder.goals
    start_rec = recorder.log.session(session)["start_rec"]
    start_ms = _start_ms(recorder.log, session)
    silence = SilenceResume.from_log(recorder.log, session)  # a pause from before this host, too
    next_status = 0
    write(console.STATUS_HEADER)
    while not _ended(sessions, session):
        _check_storing(recorder)
        try:
            frame = frames.get(timeout=0.5)
        except queue.Empty:
            continue
        if rec_diff(frame["rec"], start_rec) < 0:
            continue  # the trainer's idle telemetry before START
        if start_ms is None:
            start_ms = frame["t_ms"]
        elapsed = (frame["t_ms"] - start_ms) % P.REC_MODULO // 1000
        if frame.type == "E":
            write(console.event_line(frame, elapsed))
            silence.event(frame)
            continue
        status.add(frame)
        if elapsed >= next_status:
            write(status.line(frame, elapsed, goals))
            next_status = elapsed - elapsed % every_s + every_s
        if silence.due(frame, link):  # paused for this host's silence, and the link is back
            write("%6s >> the link is back: resuming" % console.clock(elapsed))
            try:
                link.command("RESUME")
            except LinkError as e:
                write("could not resume: %s" % e)
    return _report(recorder, session, write)


def _check_storing(recorder: Recorder) -> None:
    if recorder.store_failures >= _STORE_FAILURES:
        raise RideError("cannot store the records in the ride log (%s): the trainer keeps them for "
                        "about 5 minutes; fix this and run softcrank ride again to fetch them"
                        % recorder.store_error)


def _report(recorder: Recorder, session: int, write: Callable[[str], object]) -> dict:
    recorder.log.flush()
    row = recorder.log.session(session)
    summary = summary_of(recorder.log, session)
    write("session %d %s: %s; %d samples stored, %d records missing"
          % (session, "ended" if row["ended_at"] else "left unfinished", ended(row, recorder.log),
             summary.samples, summary.records_missing))
    return {"session": session, "end_state": row["end_state"], "lost": list(recorder.lost),
            "samples": summary.samples, "missing": summary.records_missing}


def _stop(link: Link, recorder: Recorder, sessions: queue.Queue, write: Callable[[str], object]) -> None:
    """Ctrl-C: stop the session and wait a little for its STOP record to be stored."""
    session = recorder.session_id
    write("stopping the session (resistance off)")
    try:
        link.command("STOP")
    except LinkError as e:
        write("could not reach the trainer to stop it (%s): it pauses by itself after 10 s" % e)
        return
    deadline = time.monotonic() + _STOP_WAIT_S
    while time.monotonic() < deadline and not _ended(sessions, session, timeout=0.2):
        pass
    _report(recorder, session, write)


def _ended(sessions: queue.Queue, session: int, timeout: float = 0.0) -> bool:
    try:
        sid, what = sessions.get(timeout=timeout) if timeout else sessions.get_nowait()
    except queue.Empty:
        return False
    return sid == session and what == "ended"


def _start_ms(ridelog: RideLog, session: int) -> int | None:
    """The session's START time on the trainer's clock, if its START record is stored."""
    events = ridelog.events(session)
    return events[0].t_ms if events and events[0].event == "START" else None


def ride_command(args) -> int:
    from . import logs as logcmds
    from ..store.ridelog import RideLog, RideLogError
    from ..trainer.therapist import PinRefused

    signal.signal(signal.SIGTERM, _interrupted)  # a service manager's stop: end the session cleanly
    try:
        with RideLog(args.db) as log:
            patient = logcmds.find_patient(log, args.patient)
            result = record_session(log, patient["id"], args.port, work_min=args.work, every_s=args.every,
                                    speed=args.speed, write=lambda line: print(line, flush=True),
                                    confirm_caps=_pin_confirmation(log, patient["id"]) if args.confirm_caps else None)
    except logcmds.NotFound as e:
        print("softcrank ride: %s" % e, file=sys.stderr)
        return 2
    except (RideError, RideLogError, OSError, PinRefused) as e:
        print("softcrank ride: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0 if result["missing"] == 0 and not result["lost"] else 1


def _pin_confirmation(log: RideLog, patient_id: int) -> Callable[[str, str], None]:
    """--confirm-caps: the therapist's PIN, asked when the caps are not this patient's (from
    the terminal without echo, or one line of standard input when it is not a terminal)."""
    import getpass

    from ..trainer.whose_caps import confirm_other_caps

    def confirm(device_id: str, why: str) -> None:
        print("%s." % why, flush=True)
        pin = getpass.getpass("Therapist's PIN to ride anyway: ") if sys.stdin.isatty() else sys.stdin.readline()
        confirm_other_caps(log, pin.strip(), patient_id, device_id, why)
    return confirm
