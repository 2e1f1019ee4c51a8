"""Which ride key can apply in which trainer state, and the words when it cannot.

The Ride screen asks refusal() before it sends anything: a key that cannot apply is refused
here, in words, and nothing goes to the trainer (a START refused after its GOALS had gone
would still have changed the stored plan). The trainer's own rules (firmware control.py)
are the same; these only save it a command it would refuse.
"""

from __future__ import annotations

SESSION_ON = frozenset("UWCRP")  # warm-up, work, cool-down, rest, paused


def refusal(key: str, state: str, *, connected: bool, patient: bool, starting: bool = False) -> tuple[str | None, str]:
    """(command to send or None, words saying why not or ""). `state`: the trainer's state
    letter; `starting`: a START of ours is still on its way."""
    if not connected:
        return None, "Not sent: the trainer is not connected (%s)." % ("F2 to choose it" if patient else "F3, then F2")
    if key == "s":
        if not patient:
            return None, "Choose the patient first (F3)."
        if starting:
            return None, "Already starting: wait a moment."
        if state in SESSION_ON:
            return None, "A session is on already: s does nothing (x stops it)."
        if state in "EF":
            return None, "Press x to clear the %s first." % ("emergency stop" if state == "E" else "fault")
        return "START", ""
    if key == "space":
        if state == "P":
            return "RESUME", ""
        if state in "UWCR":
            return "PAUSE", ""
        return None, "Nothing to pause: no session is on."
    if key == "x":
        if state == "I":
            return None, "Nothing to stop: no session is on."
        return "STOP", ""
    raise ValueError("no such ride key: %r" % key)
