"""`softcrank ride`: record one session headless, for a unit with no screen attached.

Connects to the trainer, records into the ride log through a Recorder (recorder.py), starts a
session (or carries on with the trainer's unfinished one, after this host was killed or the
laptop restarted), prints what the rider would see as plain lines, and returns when the
session has ended and every record of it is on disk.

What it does by itself, and why:
- a pause the trainer made because the laptop went silent is resumed once the link is back
  (trainer/session.py, which the app follows too): the host caused it, not the rider;
- Ctrl-C (or SIGTERM) stops the session (the brake goes to zero) before it exits;
- after any outage (this host killed and restarted, the cable out) it asks the trainer what
  happened (trainer/recovery.py: HELLO's state letter and next_rec, not records that may have
  been overwritten) and says it in one line: the same session carried on, or the session that
  ended meanwhile and how (then it exits; `--new` starts another). A pause whose reason the
  trainer no longer holds stops the session (resistance off): nobody can say who is riding;
- a lost link is retried for `give_up_s` real seconds (the trainer carries on safely by itself:
  it holds the resistance after 3 s without the host and pauses after 10 s); then ride exits 1
  with why, and running it again carries on. So it never runs more than a minute after its
  session ended on the trainer, whatever happened;
- every gap is one line naming its first and last record (trainer/errors.py's Lost), never
  the firmware's LOST events (one a sample while the ring overwrites);
- goals the trainer's caps cut are named before the ride starts (trainer/plan.py).
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from typing import Callable

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..clinical import words as console
from ..clinical.report import ended
from ..clinical.summary import summary_of
from ..frames import Frame
from ..store.ridelog import RideLog
from ..trainer.commands import CommandQueue
from ..trainer.link import CommandRefused, Link, LinkError, Lost
from ..trainer.plan import clamped
from ..trainer.recorder import Recorder
from ..trainer.recovery import Found, recover
from ..trainer.session import SilenceResume
from ..trainer.timings import link_timings
from ..trainer.whose_caps import questions
from .output import Lines
from .signals import _interrupted

__all__ = ["record_session", "RideError"]

SESSION_STATES = ("U", "W", "C", "P", "R")  # the trainer is in a session
_STOP_WAIT_S = 5.0  # after Ctrl-C: how long to wait for the trainer's STOP record
_STORE_FAILURES = 3  # storing failed this many times in a row: it will not get better by retrying


class RideError(RuntimeError):
    """The session could not be started or recorded; the message says why."""


class _LinkWatch:
    """The link's state as ride needs it: handshakes so far, and since when it is down."""

    def __init__(self) -> None:
        self.handshakes = 0
        self.down_since: float | None = None
        self.lock = threading.Lock()

    def state(self, state: str) -> None:
        with self.lock:
            if state == "connected":
                self.handshakes += 1
                self.down_since = None
            elif self.down_since is None:
                self.down_since = time.monotonic()


def record_session(ridelog: RideLog, patient_id: int, port: str | None, *, work_min: int | None = None,
                   every_s: int = 30, speed: float = 1.0, write: Callable[[str], object] = print,
                   open_wait_s: float = 15.0, new: bool = False, give_up_s: float = 60.0,
                   confirm_caps: Callable[[Link], None] | None = None) -> dict:
    """Record one session; returns {"session": id, "end_state": letter or None, "lost": [...]}.

    `speed`: the trainer's clock runs this many times real time (1 for a real trainer; a
    virtual one started with `softcrank sim --speed X`): the link's heartbeat and timeouts are
    scaled to match, so the trainer's 3 s hold and 10 s pause keep their meaning.
    `new`: start a session even if the ride log's unfinished one ended while this host was away.
    `give_up_s`: real seconds without the trainer before RideError.
    `confirm_caps(link)`: a therapist's confirmation (whose_caps.confirm, with the PIN) of the
    trainer's caps as they are: a new session starts only on caps set for this patient that the
    ride log can account for (whose_caps.questions); otherwise without it the ride stops before
    START. A session the trainer is still riding is carried on regardless."""
    frames: queue.Queue = queue.Queue()
    sessions: queue.Queue = queue.Queue()
    recorder = Recorder(ridelog, patient_id, on_session=lambda sid, what: sessions.put((sid, what)))
    callbacks = recorder.link_callbacks()
    watch = _LinkWatch()

    def on_frame(frame: Frame) -> None:
        recorder.on_frame(frame)
        if frame.type in ("E", "T"):
            frames.put(frame)

    def on_state(state: str, detail: str) -> None:
        watch.state(state)
        if state in ("lost", "connecting") and detail:
            write("link: %s: %s" % (state, detail))
        elif state == "connected":
            write("link: connected (%s)" % detail)

    def on_lost(lost: Lost) -> None:
        write("link: " + lost.words())

    callbacks.update(on_frame=on_frame, on_lost=lambda lost: (recorder.lost_records(lost), on_lost(lost)))
    link = Link(port, on_state=on_state, **_timings(speed), **callbacks)
    commands = CommandQueue(lambda: link)  # the same ordered queue as the app's (trainer/commands.py)
    try:
        link.open(wait=open_wait_s)
    except LinkError as e:
        commands.close()
        raise RideError(str(e)) from e
    ending = lambda sid: ended(ridelog.session(sid), ridelog)  # noqa: E731
    try:
        session, found = _begin(link, commands, recorder, sessions, work_min, new, ending, write, confirm_caps)
        if found is not None and found.action == "ended":
            return _report(recorder, session, write)
        _act(commands, found, write)
        return _follow(link, commands, recorder, session, frames, sessions, every_s, write, watch, give_up_s, ending)
    except KeyboardInterrupt:
        if recorder.session_id is not None:
            _stop(commands, recorder, sessions, write)
        raise
    finally:
        commands.close()
        link.close()
        ridelog.flush()


def _account_for_caps(link: Link, recorder: Recorder, write: Callable[[str], object],
                      confirm_caps: Callable[[Link], None] | None) -> None:
    """No ride on caps the ride log cannot account for (trainer/capscheck.py), nor on another
    patient's caps or the firmware's defaults (trainer/whose_caps.py), unless a therapist
    confirms the caps as they are: one question, one PIN, each finding and the answer logged."""
    found = questions(recorder.log, link, recorder.patient_id)
    if not found:
        return
    for line in found.lines:
        write("caps check: %s" % line)
    if confirm_caps is None:
        raise RideError("%s (above; logged): a therapist must set this patient's caps with `softcrank caps`, or "
                        "check the unit and confirm the caps as they are with `softcrank ride --confirm-caps` "
                        "(asks the PIN)" % found.short)
    confirm_caps(link)
    write("caps check: the therapist confirmed the trainer's caps as they are for this ride (logged)")


def _timings(speed: float) -> dict:
    if speed <= 0:
        raise RideError("the speed must be above 0, got %r" % speed)
    return link_timings(speed)  # the link's real-time numbers scaled to the trainer's clock


def _begin(link: Link, commands: CommandQueue, recorder: Recorder, sessions: queue.Queue, work_min: int | None, new: bool,
           ending: Callable[[int], str], write: Callable[[str], object],
           confirm_caps: Callable[[Link], None] | None = None) -> tuple[int, Found | None]:
    """Carry on with the ride log's unfinished session, report how it ended while this host
    was away, or start one; returns the session's id and what the handshake found."""
    h = link.info["H"]
    caps, goals = link.info["C"], link.info["G"]
    write("trainer %s: firmware %s, protocol %d" % (h["device"], h["fw"], h["proto"]))
    state = h["state"]
    if recorder.resumed is not None:
        found = recover(link, recorder, recorder.resumed, ending=ending)
        if found is None:
            raise RideError("the trainer's records since session %d did not arrive: run softcrank ride "
                            "again to carry on" % recorder.resumed)
        if found.action != "ended":
            write("found: " + found.line)
            return found.session, found
        if not new:
            write("found: %s; nothing more to record (softcrank ride --new starts another session)" % found.line)
            return found.session, found
        write("found: %s; starting a new session (--new)" % found.line)
        state = recorder.newest["state"] if recorder.newest is not None else state
    if state in SESSION_STATES:
        raise RideError("the trainer is already in a session that this ride log does not know "
                        "(another laptop started it?): stop it there first")
    if state in ("E", "F"):
        raise RideError("the trainer is %s: check the rider and the unit, then clear it with STOP"
                        % console.STATE_WORDS[state])
    _account_for_caps(link, recorder, write, confirm_caps)
    if work_min is not None:
        try:
            goals = commands.command("GOALS", work_min, goals["cad_lo_rpm"], goals["cad_hi_rpm"], goals["res_pct"])[0]
        except CommandRefused as e:
            raise RideError("the trainer refused the plan: %s" % e) from e
    write("caps: resistance <= %d %%, cadence <= %d rpm, session <= %d min, ramp %d %%/min"
          % (caps["max_res_pct"], caps["max_cad_rpm"], caps["max_dur_min"], caps["ramp_pct_min"]))
    cut = clamped({"dur_min": work_min}, goals, caps)
    if cut:
        write(cut)
    write("plan: %d min warm-up, %d min work at %d %%, cadence %d-%d rpm, %d min cool-down"
          % (caps["warmup_s"] // 60, goals["dur_min"], goals["res_pct"], goals["cad_lo_rpm"],
             goals["cad_hi_rpm"], caps["cooldown_s"] // 60))
    try:
        commands.command("START")
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
            return sid, None


def _act(commands: CommandQueue, found: Found | None, write: Callable[[str], object]) -> None:
    """What a handshake's finding asks of the host: only "stop" is sent from here (a "resume"
    is SilenceResume's, on live telemetry)."""
    if found is None or found.action != "stop":
        return
    try:
        commands.command("STOP")
    except LinkError as e:
        write("could not stop the session (%s): the trainer keeps it paused, resistance off" % e)


def _follow(link: Link, commands: CommandQueue, recorder: Recorder, session: int, frames: queue.Queue, sessions: queue.Queue,
            every_s: int, write: Callable[[str], object], watch: _LinkWatch, give_up_s: float,
            ending: Callable[[int], str]) -> dict:
    """Print status lines and events until the session has ended."""
    status = console.Status()
    goals = recorder.goals
    start_rec = recorder.log.session(session)["start_rec"]
    start_ms = _start_ms(recorder.log, session)
    silence = SilenceResume.from_log(recorder.log, session)  # a pause from before this host, too
    next_status = 0
    handshakes = watch.handshakes
    write(console.STATUS_HEADER)
    while not _ended(sessions, session):
        _check_storing(recorder)
        with watch.lock:
            down_since, now_handshakes = watch.down_since, watch.handshakes
        if down_since is not None and time.monotonic() - down_since > give_up_s:
            raise RideError("the trainer has not answered for %.0f s (%s): giving up; session %d is kept, and "
                            "softcrank ride carries on with it once the trainer is back"
                            % (time.monotonic() - down_since, link.detail, session))
        if now_handshakes != handshakes and link.state == "connected":
            handshakes = now_handshakes  # the link came back: ask the trainer what happened meanwhile
            found = recover(link, recorder, session, ending=ending)
            if found is not None:
                write("found: " + found.line)
                if found.action == "ended":
                    break
                _act(link, found, write)
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
            silence.event(frame)
            if frame["event"] != "LOST":  # the link's own line names each gap once, with its range
                write(console.event_line(frame, elapsed))
            continue
        status.add(frame)
        if elapsed >= next_status:
            write(status.line(frame, elapsed, goals))
            next_status = elapsed - elapsed % every_s + every_s
        if silence.due(frame, link):  # paused for this host's silence, and the link is back
            write("%6s >> the link is back: resuming" % console.clock(elapsed))
            try:
                commands.command("RESUME")
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


def _stop(commands: CommandQueue, recorder: Recorder, sessions: queue.Queue, write: Callable[[str], object]) -> None:
    """Ctrl-C: stop the session and wait a little for its STOP record to be stored."""
    session = recorder.session_id
    write("stopping the session (resistance off)")
    try:
        commands.command("STOP")
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
    from ..store.opening import open_store
    from ..store.ridelog import RideLogError
    from ..trainer.therapist import TherapistError
    from .caps import Refused

    signal.signal(signal.SIGTERM, _interrupted)  # a service manager's stop: end the session cleanly
    try:
        with open_store(args.db, create=False) as log:  # a file or a clinic store's URL; a mistyped --db is no new log
            patient = logcmds.find_patient(log, args.patient)
            confirm = None
            if args.confirm_caps:
                from ..trainer import whose_caps
                from .caps import read_pin

                def confirm(link):  # one PIN for both questions (whose_caps.py); both logged
                    whose_caps.confirm(log, link, read_pin("therapist PIN: ", args.pin_stdin), args.by, patient["id"])
            result = record_session(log, patient["id"], args.port, work_min=args.work, every_s=args.every,
                                    speed=args.speed, write=Lines(), new=args.new, give_up_s=args.give_up,
                                    confirm_caps=confirm)
    except logcmds.NotFound as e:
        print("softcrank ride: %s" % e, file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # main's guard: a quiet exit 0
    except (RideError, RideLogError, OSError, TherapistError, Refused) as e:
        print("softcrank ride: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0 if result["missing"] == 0 and not result["lost"] else 1

