"""Therapist: behind a PIN, the patient's caps (sent to the trainer) and session plan, the
proposal to build up (accept, edit, decline), and the caps history.

Every change of caps or plan is shown before and after in a confirmation dialog, and a large
step asks a second, explicit confirmation (widgets/confirm.py, clinical/changes.py). Problems
show in one line at the bottom of the screen, above the key hints, at any terminal size.

Values outside what the firmware accepts cannot be entered: each field takes digits only, up
to its limit's length, and is checked against firmware/softcrank_fw/limits.py (CAP_LIMITS,
GOAL_LIMITS, and the firmware's own Caps/Goals checks for the rules between fields); "Send"
and "Save" refuse, saying which field and why, until everything is in range. The PIN is
forgotten when the screen is left.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.validation import Integer
from textual.widgets import Button, DataTable, Input, Static

from softcrank_fw.limits import CAP_LIMITS, GOAL_LIMITS, Caps, Goals

from ...clinical import progression
from ...clinical.changes import changes, large_steps
from ...clinical.words import caps_words, goals_words
from ...store.ridelog import CAP_NAMES, GOAL_NAMES, SESSIONS_PER_WEEK_MAX, RideLogError
from ...trainer.link import LinkError
from ...trainer import capscheck
from ...trainer.therapist import (MAX_PIN, MIN_PIN, PinRefused, TherapistError, has_pin, pin_wait,
                                   send_caps, set_pin, unlock)
from ..widgets.confirm import ConfirmChange
from .base import AppScreen

LABELS = {
    "max_res_pct": "Resistance cap, %", "max_dur_min": "Session cap, min", "max_cad_rpm": "Cadence cap, rpm",
    "spasm_n": "Spasm, left, N", "spasm_r_n": "Spasm, right, N", "ramp_pct_min": "Ramp, % a minute",
    "warmup_s": "Warm-up, s",
    "cooldown_s": "Cool-down, s", "dur_min": "Work, min", "cad_lo_rpm": "Band low, rpm",
    "cad_hi_rpm": "Band high, rpm", "res_pct": "Work resistance, %", "sessions_per_week": "Sessions a week",
}
LIMITS = dict(zip(CAP_NAMES, CAP_LIMITS), **dict(zip(GOAL_NAMES, GOAL_LIMITS)),
              sessions_per_week=(3, 1, SESSIONS_PER_WEEK_MAX))


def field(name: str) -> Input:
    _, lo, hi = LIMITS[name]
    return Input(placeholder="%d-%d" % (lo, hi), id=name, restrict=r"[0-9]*", max_length=len(str(hi)),
                 validators=[Integer(lo, hi, failure_description="%s must be %d to %d" % (LABELS[name], lo, hi))],
                 type="integer")


def read(inputs: dict[str, Input], names) -> tuple[list[int], str | None]:
    """The values of these fields, or the first problem in words."""
    values = []
    for name in names:
        text = inputs[name].value
        _, lo, hi = LIMITS[name]
        if not text.isdigit() or not lo <= int(text) <= hi:
            return [], "%s must be %d to %d." % (LABELS[name], lo, hi)
        values.append(int(text))
    return values, None


def caps_problem(caps: list[int]) -> str | None:
    """Why the firmware would refuse these caps, or None."""
    if Caps().set(caps):
        return "The warm-up leaves under a minute of work in the session cap: shorten it or raise the cap."
    return None


def plan_problem(goals: list[int], caps: list[int]) -> str | None:
    """Why this plan is not what the trainer would hold under these caps, or None."""
    held_caps = Caps()
    if held_caps.set(caps):
        return caps_problem(caps)
    held = Goals(held_caps)
    if held.set(goals, held_caps):
        return "The band's low end is above its high end."
    if held.values != goals:
        names = [LABELS[n] for n, a, b in zip(GOAL_NAMES, goals, held.values) if a != b]
        return "Above the caps: %s (the trainer would hold %s)." % (", ".join(names), goals_words(held.values))
    return None


class TherapistScreen(AppScreen):
    MODE = "therapist"
    BINDINGS = [Binding("ctrl+s", "send_caps", "Send caps"), Binding("ctrl+p", "save_plan", "Save plan"),
                Binding("ctrl+l", "lock", "Lock"), Binding("ctrl+o", "confirm_caps", "Confirm trainer caps")]

    def __init__(self) -> None:
        super().__init__()
        self.pin: str | None = None
        self.before: dict = {}  # the caps and plan as loaded: what a change is shown against
        self.proposal: progression.Proposal | None = None
        self.editing: progression.Proposal | None = None  # "Edit" pressed: the next saved plan answers it
        self.asking = False  # the confirmation dialog is up

    def body(self) -> ComposeResult:
        with VerticalScroll(id="therapist"):
            with Horizontal(id="pin-row"):
                yield Static("", id="pin-prompt")
                yield Input(password=True, max_length=MAX_PIN, id="pin", placeholder="PIN")
                yield Input(password=True, max_length=MAX_PIN, id="pin2", placeholder="again")
            with VerticalScroll(id="editor"):
                yield Static("Caps: the trainer enforces these, whatever the laptop asks.", classes="caption")
                with Grid(classes="fields"):
                    for name in CAP_NAMES:
                        yield Static(LABELS[name], classes="label")
                        yield field(name)
                with Horizontal(classes="form-row"):
                    yield Input(placeholder="your name", id="set-by", max_length=40)
                    yield Input(placeholder="reason (optional)", id="reason", max_length=120)
                yield Button("Send caps to the trainer (ctrl+s)", id="send-caps", variant="primary")
                yield Static("Session plan: sent as the goals when the rider presses start.", classes="caption")
                with Grid(classes="fields"):
                    for name in GOAL_NAMES + ("sessions_per_week",):
                        yield Static(LABELS[name], classes="label")
                        yield field(name)
                yield Button("Save the plan (ctrl+p)", id="save-plan", variant="primary")
                yield Static("Proposal to build up:", classes="caption")
                yield Static("", id="proposal")
                with Horizontal(id="proposal-buttons", classes="form-row"):
                    yield Button("Accept", id="proposal-accept")
                    yield Button("Edit", id="proposal-edit")
                    yield Button("Decline", id="proposal-decline")
                yield Static("Caps history, newest first:", classes="caption")
                yield DataTable(id="caps-history", cursor_type="row")
        yield Static("", id="problem")

    def on_mount(self) -> None:
        for scroll in self.query(VerticalScroll):  # Tab and Shift+Tab land on fields and buttons only
            scroll.can_focus = False
        self.query_one("#caps-history", DataTable).add_columns("Set at", "By", *[LABELS[n] for n in CAP_NAMES],
                                                                 "Reason")

    def on_screen_resume(self) -> None:
        if self.asking:  # back from our own confirmation dialog: still unlocked
            self.asking = False
        else:
            self.action_lock()

    def on_screen_suspend(self) -> None:
        if not self.asking:  # our own confirmation dialog on top keeps the screen unlocked
            self.action_lock()

    @property
    def inputs(self) -> dict[str, Input]:
        return {i.id: i for i in self.query("#editor Input") if i.id}

    # ----- the PIN ------------------------------------------------------------------------------

    def action_lock(self) -> None:
        self.pin = None
        self.query_one("#editor").display = False
        self.query_one("#pin-row").display = True
        self._ask_pin()

    @work(thread=True, exclusive=True, group="pin")
    def _ask_pin(self) -> None:
        first = not has_pin(self.app.ridelog)
        self.app.call_from_thread(self._prompt, first, None if first else pin_wait(self.app.ridelog))

    def _prompt(self, first: bool, wait: str | None = None) -> None:
        self.query_one("#pin2", Input).display = first
        self.query_one("#pin-prompt", Static).update(
            "No therapist PIN yet: choose one (%d or more characters), twice, then Enter." % MIN_PIN if first
            else "Therapist PIN, then Enter (%s):" % wait if wait else "Therapist PIN, then Enter:")
        for name in ("#pin", "#pin2"):
            self.query_one(name, Input).value = ""
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    @on(Input.Submitted, "#pin2")
    def _pin_entered(self) -> None:
        pin, again = self.query_one("#pin", Input).value, self.query_one("#pin2", Input).value
        if self.query_one("#pin2", Input).display:
            if pin != again or not MIN_PIN <= len(pin) <= MAX_PIN:
                self.notify("The two PINs must match and have %d to %d characters." % (MIN_PIN, MAX_PIN),
                            severity="error")
                return
        self._unlock(pin, self.query_one("#pin2", Input).display)

    @work(thread=True, exclusive=True, group="pin")
    def _unlock(self, pin: str, new: bool) -> None:
        log = self.app.ridelog
        try:
            if new:
                set_pin(log, pin)
            unlock(log, pin, "open the therapist screen")
        except PinRefused as e:  # wrong, too soon after wrong ones, or locked: said in words
            self.app.call_from_thread(self._refused, str(e))
            return
        except (TherapistError, ValueError, RideLogError) as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        self.app.call_from_thread(self._unlocked, pin)

    def _refused(self, why: str) -> None:
        self.notify("%s%s. Nothing can be changed." % (why[:1].upper(), why[1:]), severity="error", timeout=10)
        self.query_one("#pin-prompt", Static).update("Therapist PIN, then Enter (%s):" % why)
        self.query_one("#pin", Input).value = ""

    def action_confirm_caps(self) -> None:
        """Ctrl+O: the therapist accepts the trainer's caps as they are (tamper evidence; logged)."""
        if self.pin is None or not self.app.trainer.connected:
            self.notify("Unlock with the PIN, connected to the trainer, to confirm its caps.", severity="warning")
            return
        self._confirm_caps(self.pin)

    @work(thread=True, exclusive=True, group="pin")
    def _confirm_caps(self, pin: str) -> None:
        try:
            capscheck.confirm(self.app.ridelog, self.app.trainer.link, pin, "the therapist")
        except (TherapistError, RideLogError) as e:
            self.app.call_from_thread(self.notify, str(e), severity="error")
            return
        self.app.call_from_thread(self.notify, "The trainer's caps are confirmed as they are (logged).")

    def _unlocked(self, pin: str) -> None:
        if self.app.patient is None:
            self.notify("Choose the patient first (F3).", severity="warning")
            return
        self.pin = pin
        self.query_one("#pin-row").display = False
        self.query_one("#editor").display = True
        self._load(self.app.patient["id"])

    # ----- caps and plan ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="therapist-load")
    def _load(self, patient_id: int) -> None:
        log = self.app.ridelog
        caps, plan, history = log.current_caps(patient_id), log.current_plan(patient_id), log.caps_history(patient_id)
        try:
            proposal = progression.propose_for(log, patient_id)
        except RideLogError as e:
            proposal = progression.Proposal(plan["goals"], None, "The sessions cannot be read: %s." % e)
        self.app.call_from_thread(self._fill, caps, plan, history, proposal)

    def _fill(self, caps: dict, plan: dict, history: list[dict], proposal: progression.Proposal) -> None:
        inputs = self.inputs
        values = dict(caps, **plan["goals"], sessions_per_week=plan["sessions_per_week"])
        self.before = dict(values)
        for name, value in values.items():
            inputs[name].value = str(value)
        self.proposal, self.editing = proposal, None
        self.query_one("#proposal", Static).update(
            "%s. %s" % ("; ".join(proposal.changes).capitalize(), proposal.reason) if proposal.after else proposal.reason)
        self.query_one("#proposal-buttons").display = proposal.after is not None
        table = self.query_one("#caps-history", DataTable)
        table.clear()
        for entry in reversed(history):
            table.add_row(entry["set_at"][:16].replace("T", " "), entry["set_by"],
                          *[entry["caps"][n] for n in CAP_NAMES], entry["reason"])
        inputs["max_res_pct"].focus()

    def _confirm(self, title: str, after: dict, then) -> None:
        """The change before/after in the dialog; `then()` once the therapist confirms it."""
        rows = [(LABELS[name], old, new) for name, old, new in changes(self.before, after)]
        if not rows:
            self._problem("Nothing to change: these are the values in force.")
            return
        self._problem(None)

        def answered(yes: bool | None) -> None:
            if yes and self.pin is not None:
                then()
            else:
                self.notify("Nothing was changed.")
        self.asking = True
        self.app.push_screen(ConfirmChange(title, rows, large_steps(self.before, after, LABELS)), answered)

    def _problem(self, text: str | None) -> bool:
        self.query_one("#problem", Static).update(text or "")
        if text:
            self.notify(text, severity="error")
        return text is not None

    @on(Button.Pressed, "#send-caps")
    def action_send_caps(self) -> None:
        if self.pin is None:
            return
        caps, problem = read(self.inputs, CAP_NAMES)
        if self._problem(problem or caps_problem(caps)):
            return
        who = self.inputs["set-by"].value.strip()
        if self._problem(None if who else "Type your name: the caps history says who set them."):
            return
        new, pin, reason = dict(zip(CAP_NAMES, caps)), self.pin, self.inputs["reason"].value.strip()
        self._confirm("Send these caps to the trainer?", new, lambda: self._send(new, pin, who, reason))

    @work(thread=True, exclusive=True, group="therapist-send")
    def _send(self, caps: dict, pin: str, who: str, reason: str) -> None:
        app = self.app
        try:
            if app.trainer.link is None:
                raise LinkError("no trainer connected: caps go to the trainer first, then into the log")
            held = send_caps(app.trainer.link, app.ridelog, app.patient["id"], caps, pin, who, reason,
                             send=app.trainer.command)  # through the queue, in order with the rest
        except (TherapistError, LinkError, RideLogError, ValueError) as e:
            app.call_from_thread(self._problem, "Caps not changed: %s" % e)
            return
        app.call_from_thread(self._done, "The trainer now holds these caps: %s." % caps_words(held))
        self._load(app.patient["id"])

    @on(Button.Pressed, "#save-plan")
    def action_save_plan(self) -> None:
        if self.pin is None:
            return
        inputs = self.inputs
        caps, problem = read(inputs, CAP_NAMES)
        goals, per_week = [], []
        if not problem:
            goals, problem = read(inputs, GOAL_NAMES)
        if not problem:
            per_week, problem = read(inputs, ("sessions_per_week",))
        if self._problem(problem or plan_problem(goals, caps)):
            return
        who = inputs["set-by"].value.strip()
        if self._problem(None if who else "Type your name: the plan says who set it."):
            return
        after = dict(zip(GOAL_NAMES, goals), sessions_per_week=per_week[0])
        editing = self.editing
        self._confirm("Save this plan?", after, lambda: self._save_plan(goals, per_week[0], who, editing))

    @work(thread=True, exclusive=True, group="therapist-send")
    def _save_plan(self, goals: list[int], per_week: int, who: str,
                   editing: progression.Proposal | None = None) -> None:
        app = self.app
        try:
            if editing is not None:  # the therapist's edit of the proposal: logged as its answer
                progression.decide(app.ridelog, app.patient["id"], editing, "edited", who,
                                   dict(zip(GOAL_NAMES, goals)), per_week)
            else:
                app.ridelog.set_plan(app.patient["id"], goals, per_week, who)
        except (RideLogError, ValueError) as e:
            app.call_from_thread(self._problem, "Plan not saved: %s" % e)
            return
        app.call_from_thread(self._done, "Plan saved%s: %s, %d sessions a week."
                             % (" (your edit of the proposal, logged)" if editing else "", goals_words(goals), per_week))
        self._load(app.patient["id"])

    def _done(self, words: str) -> None:
        self._problem(None)
        self.notify(words)

    # ----- the proposal to build up -------------------------------------------------------------

    def _who(self) -> str | None:
        who = self.inputs["set-by"].value.strip()
        self._problem(None if who else "Type your name: the decision on the proposal says who made it.")
        return who or None

    @on(Button.Pressed, "#proposal-accept")
    def _accept(self) -> None:
        proposal, who = self.proposal, self._who()
        if self.pin is None or proposal is None or proposal.after is None or who is None:
            return
        after = dict(proposal.after, sessions_per_week=self.before["sessions_per_week"])
        self._confirm("Accept the proposed step?", after, lambda: self._decide(proposal, "accepted", who))

    @on(Button.Pressed, "#proposal-edit")
    def _edit(self) -> None:
        if self.pin is None or self.proposal is None or self.proposal.after is None:
            return
        inputs = self.inputs
        for name in GOAL_NAMES:
            inputs[name].value = str(self.proposal.after[name])
        self.editing = self.proposal
        inputs["dur_min"].focus()
        self.notify("The proposed step is in the plan's fields: change it, then save the plan (ctrl+p).")

    @on(Button.Pressed, "#proposal-decline")
    def _decline(self) -> None:
        proposal, who = self.proposal, self._who()
        if self.pin is None or proposal is None or proposal.after is None or who is None:
            return
        self._decide(proposal, "declined", who)

    @work(thread=True, exclusive=True, group="therapist-send")
    def _decide(self, proposal: progression.Proposal, decision: str, who: str) -> None:
        app = self.app
        try:
            words = progression.decide(app.ridelog, app.patient["id"], proposal, decision, who)
        except (RideLogError, ValueError) as e:
            app.call_from_thread(self._problem, "Nothing changed: %s" % e)
            return
        app.call_from_thread(self._done, words + " (logged)")
        self._load(app.patient["id"])
