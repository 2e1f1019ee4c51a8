"""The first-run path: the five steps to a first ride, in order, each ticked once it is done.

A fresh install opens on Connect; this says what to do there and after: the trainer, the
patient, the therapist's PIN, the patient's caps, the ride. What is done is read from the
app and the ride log (in a worker: the ride log is never read on the UI thread).
"""

from __future__ import annotations

from textual import work
from textual.widgets import Static

from ...store.ridelog import RideLogError
from ...trainer.therapist import has_pin

STEPS = (
    ("trainer", "Choose the trainer below (a Pico on USB or the virtual one)"),
    ("patient", "Choose or add the patient (F3)"),
    ("pin", "Therapist: choose a PIN (F7)"),
    ("caps", "Therapist: set the patient's caps and plan (F7, with the PIN)"),
    ("ride", "Ride (F4): s starts the session"),
)


def steps_text(done: dict[str, bool]) -> str:
    """The steps as lines: "[x] 1. ..." when done, "[ ] 2. ..." when not; the first not done
    is marked "next"."""
    lines, marked = [], False
    for i, (key, words) in enumerate(STEPS, 1):
        mark = "[x]" if done.get(key) else "[ ]"
        nxt = ""
        if not done.get(key) and not marked:
            nxt, marked = "  <- now", True
        lines.append("%s %d. %s%s" % (mark, i, words, nxt))
    return "\n".join(lines)


class FirstSteps(Static):
    """refresh_steps() reads what is done and redraws."""

    def on_mount(self) -> None:
        for name in ("link_state", "patient_name"):
            self.watch(self.app, name, lambda _value: self.refresh_steps(), init=False)
        self.refresh_steps()

    @work(thread=True, exclusive=True)
    def refresh_steps(self) -> None:
        app = self.app
        patient = app.patient
        try:
            pin = has_pin(app.ridelog)
            caps = bool(patient and app.ridelog.caps_history(patient["id"]))
            rode = bool(patient and app.ridelog.sessions(patient["id"]))
        except RideLogError:
            pin = caps = rode = False
        done = {"trainer": app.link_state == "connected", "patient": patient is not None, "pin": pin,
                "caps": caps, "ride": rode}
        app.call_from_thread(self.update, "First time? In this order:\n" + steps_text(done))
