"""Therapist: behind a PIN, the patient's caps (sent to the trainer) and session plan, and the
caps history.

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

from ...clinical.words import caps_words, goals_words
from ...store.ridelog import CAP_NAMES, GOAL_NAMES, SESSIONS_PER_WEEK_MAX, RideLogError
from ...trainer.link import LinkError
from ...trainer import capscheck
from ...trainer.therapist import (MAX_PIN, MIN_PIN, PinRefused, TherapistError, has_pin, pin_wait,
                                   send_caps, set_pin, unlock)
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
                yield Static("", id="problem")
                yield Static("Caps history, newest first:", classes="caption")
                yield DataTable(id="caps-history", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#caps-history", DataTable).add_columns("Set at", "By", *[LABELS[n] for n in CAP_NAMES],
                                                                 "Reason")

    def on_screen_resume(self) -> None:
        self.action_lock()

    def on_screen_suspend(self) -> None:
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
        self.app.call_from_thread(self._fill, caps, plan, history)

    def _fill(self, caps: dict, plan: dict, history: list[dict]) -> None:
        inputs = self.inputs
        values = dict(caps, **plan["goals"], sessions_per_week=plan["sessions_per_week"])
        for name, value in values.items():
            inputs[name].value = str(value)
        table = self.query_one("#caps-history", DataTable)
        table.clear()
        for entry in reversed(history):
            table.add_row(entry["set_at"][:16].replace("T", " "), entry["set_by"],
                          *[entry["caps"][n] for n in CAP_NAMES], entry["reason"])
        inputs["max_res_pct"].focus()

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
        self._send(dict(zip(CAP_NAMES, caps)), self.pin, who, self.inputs["reason"].value.strip())

    @work(thread=True, exclusive=True, group="therapist-send")
    def _send(self, caps: dict, pin: str, who: str, reason: str) -> None:
        app = self.app
        try:
            if app.trainer.link is None:
                raise LinkError("no trainer connected: caps go to the trainer first, then into the log")
            held = send_caps(app.trainer.link, app.ridelog, app.patient["id"], caps, pin, who, reason)
        except (TherapistError, LinkError, RideLogError, ValueError) as e:
            app.call_from_thread(self._problem, "Caps not changed: %s" % e)
            return
        app.call_from_thread(self.notify, "The trainer now holds these caps: %s." % caps_words(held))
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
        self._save_plan(goals, per_week[0], who)

    @work(thread=True, exclusive=True, group="therapist-send")
    def _save_plan(self, goals: list[int], per_week: int, who: str) -> None:
        app = self.app
        try:
            app.ridelog.set_plan(app.patient["id"], goals, per_week, who)
        except RideLogError as e:
            app.call_from_thread(self._problem, "Plan not saved: %s" % e)
            return
        app.call_from_thread(self.notify, "Plan saved: %s, %d sessions a week." % (goals_words(goals), per_week))
