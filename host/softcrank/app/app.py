"""The softcrank app: screens as modes, one trainer, the ride log, and the messages between them.

Small on purpose: each screen lives in screens/, the trainer's threads in trainer.py, the
ride's running state in ridestate.py. The app routes messages from the trainer to whatever
needs them and keeps the few facts every screen shows (link state, patient).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from ..clinical.words import refusal
from ..store.ridelog import GOAL_NAMES, RideLog, RideLogError
from ..trainer import whose_caps
from ..trainer.commands import Job
from ..trainer.link import CommandRefused, LinkError
from ..trainer.therapist import TherapistError
from ..trainer.plan import clamped
from .clinicsync import SYNC_EVERY_S, clinic_url, sync_once
from .messages import (CommandDone, HistoryReady, LinkChanged, Notice, RecordsLost, SessionChanged, Settings, Telemetry,
                       TrainerEvent)
from .ridestate import RideState
from .screens.connect import ConnectScreen, detected_picos
from .screens.help import HelpScreen
from .screens.patient import PatientScreen
from .screens.progress import ProgressScreen
from .screens.results import ResultsScreen
from .screens.review import ReviewScreen
from .screens.ride import RideScreen
from .screens.therapist import TherapistScreen
from .theme import HIGH_CONTRAST
from .trainer import Trainer

HISTORY_STOP_S = 15  # at most one past session's ride: the history stops between records
ALERT_EVENTS = {"ESTOP": "error", "FAULT": "error", "SPASM": "warning", "HOST_LOST": "warning"}


def documents_folder() -> Path:
    """The user's documents folder: ~/Documents if it exists, else the home folder."""
    home = Path.home()
    return home / "Documents" if (home / "Documents").is_dir() else home


SETUP_WAIT_S = 15.0  # Start waits at most this long for on_connect (the demo's caps) before asking about the caps


class SoftcrankApp(App):
    """`ridelog`: the open ride log. `port`: connect to it at start (the virtual trainer's in
    the demo); `patient_id`: start with that patient; `speed`: the virtual trainer's time
    scale (link timings follow it); `history(each, stop)`: run in a worker at start to ride
    past sessions (the demo), calling each(session_id) after each, ending soon once `stop` is set; `virtual_board`: makes a
    VirtualBoard for the Connect screen; `on_connect(trainer)`: run once in a worker when the
    trainer first connects (the demo sends its caps)."""

    CSS_PATH = Path(__file__).parent / "softcrank.tcss"
    TITLE = "softcrank"
    ENABLE_COMMAND_PALETTE = False
    MODES = {"connect": ConnectScreen, "patient": PatientScreen, "ride": RideScreen, "review": ReviewScreen,
             "progress": ProgressScreen, "therapist": TherapistScreen}
    BINDINGS = [
        Binding("f1", "show_help", "Help"),
        Binding("question_mark", "show_help", "Help", show=False),
        Binding("f2", "switch_mode('connect')", "Connect", show=False),
        Binding("f3", "switch_mode('patient')", "Patient", show=False),
        Binding("f4", "switch_mode('ride')", "Ride", show=False),
        Binding("f5", "switch_mode('review')", "Review", show=False),
        Binding("f6", "switch_mode('progress')", "Progress", show=False),
        Binding("f7", "switch_mode('therapist')", "Therapist", show=False),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    link_state = reactive("closed")
    link_detail = reactive("no trainer chosen yet")
    patient_name = reactive("")

    def __init__(self, ridelog: RideLog, *, port: str | None = None, patient_id: int | None = None,
                 speed: float = 1.0,
                 history: Callable[[Callable[[int], None], threading.Event], object] | None = None,
                 virtual_board: Callable[[], object] | None = None,
                 on_connect: Callable[[Trainer], object] | None = None) -> None:
        super().__init__()
        self.ridelog = ridelog
        self.ride = RideState()
        self.trainer = Trainer(ridelog, self.post_message, speed)
        self.port = port
        self.patient: dict | None = None
        self._start_patient = patient_id
        self._history = history
        self._virtual_board = virtual_board  # makes a VirtualBoard for the Connect screen's choice
        self.board = None  # the virtual trainer this app started, if any
        self._on_connect = on_connect  # run once in a worker at the first connection (the demo's caps)
        self._setup_done = threading.Event()  # set once on_connect has run (or when there is none)
        if on_connect is None:
            self._setup_done.set()
        self._stop_history = threading.Event()  # tells the history worker to stop
        self._history_done = threading.Event()
        if history is None:
            self._history_done.set()
        self.find_trainers = detected_picos  # the Connect screen's list; tests fix it
        self.today = None  # Progress counts weeks up to this date (None: today); tests fix it
        self.export_to: Path | None = None  # the export folder the user picked; tests fix it
        self.starting = False  # a GOALS + START of ours is on its way: s again is refused
        self._port_tried = False  # a connection to self.port was attempted: if it is not up, the port is dead
        self.last_session: int | None = None  # the session the results screen shows (r on Ride)
        self._results_due: int | None = None  # a session ended during an e-stop or fault: results once cleared

    @property
    def export_dir(self) -> Path:
        """Where Review writes a session's file: the folder the user chose (export_to), else
        the user's documents folder (~/Documents if it exists, else home). Never beside the
        ride log (a clinic store has no folder; the demo's ride log is in a temporary folder,
        deleted on quit)."""
        return self.export_to or documents_folder()

    def on_mount(self) -> None:
        self.register_theme(HIGH_CONTRAST)
        self.theme = HIGH_CONTRAST.name
        if self._history is not None:
            self._ride_history()
        if clinic_url(self.ridelog) is not None:  # a clinic store is configured: sync in a worker
            self._clinic_sync()
            self.set_interval(SYNC_EVERY_S, self._clinic_sync)
        if self._start_patient is not None and self.port is not None:
            self.switch_mode("ride")  # the patient is read in a worker, then the trainer connects
            self.choose_patient(self._start_patient)
        else:
            if self._start_patient is not None:
                self.choose_patient(self._start_patient, connect=False)
            self.switch_mode("connect")

    # ----- patient and trainer ----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="patient")
    def choose_patient(self, patient_id: int, connect: bool = True) -> None:
        """Make `patient_id` the current patient (read in a worker: the ride log is never read
        on the UI thread); reconnect so the recorder stores for them."""
        try:
            patient = next((p for p in self.ridelog.patients() if p["id"] == patient_id), None)
        except RideLogError as e:
            self.call_from_thread(self.notify, "The patient cannot be read: %s" % e, severity="error")
            return
        self.call_from_thread(self._patient_chosen, patient_id, patient, connect)

    def _patient_chosen(self, patient_id: int, patient: dict | None, connect: bool) -> None:
        if patient is None:
            self.notify("There is no patient %r." % patient_id, severity="error")
            return
        self.patient = patient
        self.patient_name = "%s (affected side: %s)" % (patient["name"], patient["affected_side"])
        if not connect or self.port is None:
            return
        if self._port_tried and self.link_state != "connected":
            # that port never answered: do not submit it again, let the therapist choose
            self.notify("%s did not answer: choose the trainer again (F2)." % self.port, severity="warning")
            self.port, self._port_tried = None, False
            self.link_detail = "choose the trainer (F2)"
            self._close_trainer()
            return
        self.connect(self.port)

    def connect(self, port: str | None) -> None:
        """Connect to the trainer on `port` (None: the Pico on USB) once a patient is chosen."""
        self.port = port
        if self.patient is None:
            self.link_detail = "choose the patient first"
            self.switch_mode("patient")
            return
        self._port_tried = True
        self._open_trainer(port, self.patient["id"])

    @work(thread=True, exclusive=True, group="trainer")
    def _open_trainer(self, port: str | None, patient_id: int) -> None:
        self.trainer.open(port, patient_id)

    @work(thread=True, exclusive=True, group="trainer")
    def _close_trainer(self) -> None:
        self.trainer.close()

    @work(thread=True, exclusive=True, group="trainer")
    def start_virtual_trainer(self) -> None:
        """The Connect screen's "virtual trainer": start one and connect to it."""
        if self.board is None:
            self.board = self._virtual_board()
            self.board.start()
        self.call_from_thread(self.connect, self.board.port)

    def send(self, type_: str, *values) -> Job:
        """Queue a command for the trainer (trainer/commands.py: in order; ESTOP and PAUSE
        at once); the answer comes back as CommandDone. Never blocks."""
        return self.trainer.submit((type_, *values), done=self._job_done)

    def _job_done(self, job: Job) -> None:
        """From a queue thread: the job's outcome as a message, a refusal with its N code."""
        code = job.exception.code if isinstance(job.exception, CommandRefused) else None
        command = job.exception.type if isinstance(job.exception, CommandRefused) else job.steps[-1][0]
        self.post_message(CommandDone(command, job.error, code))

    def start_session(self) -> None:
        """Send the patient's plan as GOALS (the trainer clamps it to its caps), then START, as
        one job of the queue. The plan is read in a worker."""
        self.starting = True
        self._start_with_plan(self.patient["id"])

    @work(thread=True, group="commands")
    def _start_with_plan(self, patient_id: int, pin: str | None = None) -> None:
        """Only on this patient's caps that the ride log accounts for; else a therapist confirms
        them as they are with the PIN first (whose_caps.py: the one question and answer that
        `softcrank ride --confirm-caps` has; `pin` is that answer). Then GOALS + START."""
        try:
            if self.trainer.link is not None and self.trainer.link.state == "connected":
                if pin is None:
                    # the demo's caps may still be on their way to the trainer: ask about the caps it holds then
                    self._setup_done.wait(SETUP_WAIT_S)
                    found = whose_caps.questions(self.ridelog, self.trainer.link, patient_id)  # each logged
                    if found:
                        self.call_from_thread(self._ask_caps, patient_id, found.lines)
                        return
                else:
                    try:
                        whose_caps.confirm(self.ridelog, self.trainer.link, pin, "the therapist", patient_id)
                    except TherapistError as e:  # wrong, too soon after wrong ones, or locked: in words
                        self.post_message(CommandDone("START", "nothing started: %s" % e))
                        return
                    self.post_message(Notice("The therapist confirmed the trainer's caps for this ride (logged).",
                                             "information"))
            plan = self.ridelog.current_plan(patient_id)
        except (LinkError, RideLogError) as e:
            self.post_message(CommandDone("START", str(e)))
            return
        asked = plan["goals"]
        self.trainer.submit(("GOALS", *[asked[name] for name in GOAL_NAMES]), ("START",),
                            done=lambda job: self._started(job, asked))

    def _started(self, job: Job, asked: dict) -> None:
        """From a queue thread: GOALS + START answered; a plan the caps cut is said in words."""
        goals = [f for f in (job.frames[0] if job.frames else []) if f.type == "G"]
        cut = clamped(asked, goals[-1], self.trainer.caps) if goals and self.trainer.caps else None
        if cut:
            self.post_message(Notice(cut[0].upper() + cut[1:] + ".", "warning"))
        self._job_done(job)

    def _ask_caps(self, patient_id: int, lines: list[str]) -> None:
        """The trainer's caps need a therapist before this ride: ask for the PIN."""
        from .widgets.confirm import ConfirmCaps

        def answered(pin: str | None) -> None:
            if pin:
                self._start_with_plan(patient_id, pin)
            else:
                self.starting = False
                self.notify("Nothing started: the trainer's caps were not confirmed.", severity="warning")
        self.push_screen(ConfirmCaps(lines), answered)

    @work(thread=True, group="commands")
    def _first_connect(self, setup: Callable[[Trainer], object]) -> None:
        try:
            setup(self.trainer)
        except Exception as e:  # the demo's setup failed: say so, the app carries on
            self.post_message(CommandDone("setup", str(e)))
        finally:
            self._setup_done.set()

    @work(thread=True, exclusive=True, group="clinic")
    def _clinic_sync(self) -> None:
        url = clinic_url(self.ridelog)
        if url is not None:
            ok, line = sync_once(self.ridelog.path, url)
            self.call_from_thread(self.notify, line, severity="information" if ok else "warning")

    @work(thread=True, group="history")
    def _ride_history(self) -> None:
        try:
            self._history(lambda session_id: self.post_message(HistoryReady(session_id)), self._stop_history)
            if not self._stop_history.is_set():
                self.post_message(HistoryReady(None))
        finally:
            self._history_done.set()

    # ----- messages from the trainer ------------------------------------------------------

    def on_link_changed(self, message: LinkChanged) -> None:
        lost = self.ride.link_lost and message.state == "connecting"  # reconnecting after a loss: still lost
        self.link_state, self.link_detail = "lost" if lost else message.state, message.detail
        if message.state in ("lost", "connected", "closed"):
            self.ride.link_lost = message.state == "lost"
        if message.state == "lost" or (message.state == "connecting" and self.ride.link_lost):
            self.ride.link_lost = True  # reconnecting after a loss: still nothing live
        if message.state == "connected" and self._on_connect is not None:
            setup, self._on_connect = self._on_connect, None
            self._first_connect(setup)
        self._tell_ride()

    def on_telemetry(self, message: Telemetry) -> None:
        self.ride.telemetry(message.frame)
        self._tell_ride()
        self._results_when_clear()

    def on_trainer_event(self, message: TrainerEvent) -> None:
        line = self.ride.event(message.frame)
        severity = ALERT_EVENTS.get(message.frame["event"])
        if severity and self._showing() is not None and not isinstance(self._showing(), RideScreen):
            self.notify(line, severity=severity, timeout=10)
        self._tell_ride()

    def on_settings(self, message: Settings) -> None:
        self.ride.caps, self.ride.goals = message.caps, message.goals
        self._tell_ride()

    def on_session_changed(self, message: SessionChanged) -> None:
        self.ride.session_id = None if message.what == "ended" else message.session_id
        if message.what == "ended":
            self.last_session = message.session_id
            self.ride.ended_words = None
            if self.patient is not None and self.trainer.patient_id == self.patient["id"]:
                self._results_due = message.session_id
                self._results_when_clear()
            self._tell_ride()

    def _results_when_clear(self) -> None:
        """The results of the session that just ended, once no e-stop or fault banner is up:
        its "press x to clear" must stay in view until it is done. The recorder can end the
        session on the ESTOP or FAULT event before a telemetry frame shows the trainer's E or F,
        so such an end waits for the trainer to be idle again, not only for no alarm."""
        ride = self.ride
        alarmed = ride.alarm is not None or (ride.last_end in ("ESTOP", "FAULT") and ride.state not in "ID")
        if self._results_due is not None and not alarmed:
            due, self._results_due = self._results_due, None
            self.show_results(due)

    def show_results(self, session_id: int | None) -> None:
        """The results screen of `session_id` (None: the last session that ended here)."""
        session_id = self.last_session if session_id is None else session_id
        if session_id is None:
            self.notify("No session has ended here yet: its results come up when one does.")
            return
        if isinstance(self.screen, ResultsScreen):
            self.screen.dismiss()
        side = (self.patient or {}).get("affected_side", "none")
        self.push_screen(ResultsScreen(session_id, side, self.ride.restarted))

    def on_records_lost(self, message: RecordsLost) -> None:
        lost = message.lost
        if lost.reason == "restart":
            self.ride.restarted = True
            self.ride.note("the trainer restarted: its session ended there")
            if isinstance(self.screen, ResultsScreen) and self.screen.session_id == self.last_session:
                self.show_results(self.last_session)  # the same results, saying it was a restart
            self._tell_ride()
            return
        words = lost.words()
        self.notify(words[0].upper() + words[1:] + ".", severity="warning", timeout=10)

    def on_notice(self, message: Notice) -> None:
        self.notify(message.text[0].upper() + message.text[1:], severity=message.severity, timeout=15)

    def on_command_done(self, message: CommandDone) -> None:
        if message.command in ("START", "GOALS"):
            self.starting = False
        if message.error:
            words = refusal(message.command, message.code) if message.code else "%s not done: %s" % (
                message.command, message.error)
            self.ride.note(words)
            self.notify(words, severity="error", timeout=8)
            self._tell_ride()

    def on_history_ready(self, message: HistoryReady) -> None:
        if message.session_id is None:
            self.notify("The demo's past sessions are ready: Review (F5) and Progress (F6).")
        if hasattr(self._showing(), "reload"):
            self.screen.reload()

    def _showing(self):
        """The screen on top, or None while the app is closing: the link's worker threads may
        still post a message after the last screen has gone."""
        return self.screen_stack[-1] if self.screen_stack else None

    def _tell_ride(self) -> None:
        if isinstance(self._showing(), RideScreen):
            self.screen.show_state()

    # ----- actions ------------------------------------------------------------------------------

    def action_show_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def on_unmount(self) -> None:
        self._stop_history.set()
        self.trainer.close()
        self.trainer.queue.close()
        self._history_done.wait(HISTORY_STOP_S)
        if self.board is not None:
            self.board.stop()
