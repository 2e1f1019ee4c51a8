"""Telemetry and events as plain lines for a person: words first, never colour alone."""

from __future__ import annotations

from softcrank_fw import protocol as P

from ..frames import Frame

STATE_WORDS = dict(zip(P.STATES, P.STATE_NAMES))

EVENT_WORDS = {
    "BOOT": "trainer started",
    "START": "session started: warm-up, light resistance",
    "WORK": "warm-up done: work phase begins",
    "COOLDOWN": "work done: cool-down, no resistance",
    "DONE": "session complete, well done",
    "PAUSE": "paused",
    "RESUME": "resumed: resistance builds up gently again",
    "STOP": "session stopped",
    "SPASM": "spasm detected: resistance off, resting",
    "REST_END": "rest over: resistance builds up gently again",
    "ESTOP": "EMERGENCY STOP: resistance off",
    "FAULT": "SENSOR FAULT: resistance off",
    "CLEAR": "cleared, ready",
    "OVERSPEED": "too fast: slow down please",
    "HOST_LOST": "link to the laptop lost: resistance will not rise",
    "HOST_BACK": "link to the laptop back",
    "LOST": "telemetry records were lost",
    "TARED": "pedals zeroed",
    "CALIBRATED": "pedal calibrated",
    "CAL_FAILED": "calibration failed: no weight on the pedal?",
    "CAPS": "caps changed",
    "GOALS": "goals changed",
    "CAPS_REFUSED": "caps change refused",
    "CAPS_DEFAULTS": "built-in caps in force",
    "UNSAVED": "could not save to the trainer's memory",
}

def event_counts(counts: dict) -> str:
    """A session's events by how often, in words ("spasm detected 1, work done 1"), in the order
    a session meets them; "none" without any."""
    order = list(EVENT_WORDS)
    names = sorted(counts, key=lambda e: order.index(e) if e in order else len(order))
    return ", ".join("%s %d" % (EVENT_WORDS.get(e, e.lower()).split(":")[0].split(",")[0], counts[e])
                     for e in names) or "none"


CAPS_UNITS = {"max_res_pct": ("resistance at most", "%"), "max_dur_min": ("session at most", "min"),
              "max_cad_rpm": ("cadence at most", "rpm"), "spasm_n": ("spasm threshold left", "N"),
              "spasm_r_n": ("right", "N"), "ramp_pct_min": ("ramp", "%/min"), "warmup_s": ("warm-up", "s"),
              "cooldown_s": ("cool-down", "s")}
GOALS_UNITS = {"dur_min": ("work", "min"), "cad_lo_rpm": ("cadence", "to"), "cad_hi_rpm": ("", "rpm"),
               "res_pct": ("resistance", "%")}


def caps_words(caps) -> str:
    """Caps (by name) in words: "resistance at most 30 %, session at most 15 min, ..."."""
    return ", ".join("%s %d %s" % (CAPS_UNITS[n][0], caps[n], CAPS_UNITS[n][1]) for n in CAPS_UNITS if n in caps)


def goals_words(goals) -> str:
    """A plan's goals (by name, or in protocol order) in words: "work 10 min, cadence 15 to 25 rpm, resistance 10 %"."""
    if not hasattr(goals, "keys"):
        goals = dict(zip(GOALS_UNITS, goals))
    return "work %d min, cadence %d to %d rpm, resistance %d %%" % (
        goals["dur_min"], goals["cad_lo_rpm"], goals["cad_hi_rpm"], goals["res_pct"])


PAUSE_REASONS = {P.PAUSE_HOST: "on request", P.PAUSE_HOST_SILENT: "laptop not answering",
                 P.PAUSE_OVERSPEED: "too fast for too long", P.PAUSE_SPASMS: "several spasms: time for a rest"}
CAPS_REFUSALS = {P.REFUSED_NOKEY: "the trainer has no key", P.REFUSED_TAG: "not signed by the therapist",
                 P.REFUSED_STALE: "an old request sent again", P.REFUSED_UNSAVED: "could not be saved"}
CAPS_DEFAULTS = {P.DEFAULTS_MISSING: "none were ever set", P.DEFAULTS_CORRUPT: "the stored caps were damaged"}
UNSAVED = {P.UNSAVED_CALIBRATION: "the pedal calibration", P.UNSAVED_CAPS: "the caps"}
SPASM_CAUSES = {P.SPASM_FORCE_L: "left pedal", P.SPASM_FORCE_R: "right pedal", P.SPASM_REVERSAL: "sudden reversal"}


# A command the trainer refused (its N code), in words for the rider: what it could not do, why.
COMMAND_WORDS = {"START": "start", "PAUSE": "pause", "RESUME": "carry on", "STOP": "stop", "ESTOP": "stop at once",
                 "GOALS": "take the plan", "CAPS": "take the caps", "TARE": "zero the pedals"}
REFUSAL_WHY = {"STATE": "not possible right now", "RANGE": "a value is outside what it accepts",
               "AUTH": "not signed by the therapist", "NOKEY": "it has no therapist's key yet",
               "BADCRC": "the message arrived damaged", "STALE": "an old request was sent again",
               "UNSAVED": "it could not save it"}


def refusal(command: str, code: str) -> str:
    """"The trainer did not start: not possible right now." for an N answer to START."""
    return "The trainer did not %s: %s." % (COMMAND_WORDS.get(command, command.lower()),
                                           REFUSAL_WHY.get(code, "it answered %s" % code))


def clock(seconds: int) -> str:
    return "%d:%02d" % divmod(max(0, seconds), 60)


def session_left_s(state: str, left_s: int, goals: Frame | None, caps: Frame | None) -> int | None:
    """The session's time left in seconds: the phase's time left (the trainer's left_s) plus
    the phases still to come as planned (work dur_min, cool-down cooldown_s). `state` is the
    pedalling phase (U W C; for a pause or a rest, the one it resumes). None if not known."""
    if goals is None or caps is None or state not in ("U", "W", "C"):
        return None
    after = {"U": 60 * goals["dur_min"] + caps["cooldown_s"], "W": caps["cooldown_s"], "C": 0}[state]
    return max(0, left_s) + after


def event_line(e: Frame, elapsed_s: int | None) -> str:
    words = EVENT_WORDS.get(e["event"], e["event"].lower())
    arg = e["arg"]
    if e["event"] == "PAUSE":
        words += ": " + PAUSE_REASONS.get(arg, "reason %d" % arg)
    elif e["event"] == "SPASM":
        words += " (" + SPASM_CAUSES.get(arg, "cause %d" % arg) + ")"
    elif e["event"] == "OVERSPEED":
        words += " (%.1f rpm)" % (arg / 10)
    elif e["event"] == "FAULT":
        words += " (code %d)" % arg
    elif e["event"] == "CAPS_REFUSED":
        words += ": " + CAPS_REFUSALS.get(arg, "reason %d" % arg)
    elif e["event"] == "CAPS_DEFAULTS":
        words += ": " + CAPS_DEFAULTS.get(arg, "reason %d" % arg)
    elif e["event"] == "UNSAVED":
        words += ": %s (in force until it restarts; it keeps trying)" % UNSAVED.get(arg, "file %d" % arg)
    elif e["event"] == "CAPS" and arg == 1:
        words = "therapist's caps restored from the trainer's memory"
    return "%6s >> %s" % ("" if elapsed_s is None else clock(elapsed_s), words)


def balance(left_dn: float, right_dn: float) -> str:
    """Left/right share of the pushing in per cent, e.g. '60/40'."""
    left, right = max(left_dn, 0), max(right_dn, 0)
    if left + right == 0:
        return "--/--"
    share = round(100 * left / (left + right))
    return "%d/%d" % (share, 100 - share)


STATUS_HEADER = "  time phase       left    cadence          force: left  right   L/R  resistance"


class Status:
    """Averages telemetry between status lines, so a line is not one crank angle's snapshot."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.drpm = self.left_dn = self.right_dn = 0

    def add(self, t: Frame) -> None:
        self.n += 1
        self.drpm += t["cad_drpm"]
        self.left_dn += t["force_l_dn"]
        self.right_dn += t["force_r_dn"]

    def line(self, t: Frame, elapsed_s: int, goals: Frame | None) -> str:
        """One line, under 80 columns, lined up with STATUS_HEADER; starts a new average."""
        n = max(self.n, 1)
        rpm, left, right = self.drpm / n / 10, self.left_dn / n, self.right_dn / n
        self._reset()
        band = ""
        if goals is not None and t["state"] in ("U", "W", "C"):
            if goals["cad_lo_rpm"] <= abs(rpm) <= goals["cad_hi_rpm"]:
                band = "in band"
            else:
                band = "too slow" if abs(rpm) < goals["cad_lo_rpm"] else "too fast"
        return "%6s %-10s %5s  %5.1f rpm %-8s  %5.0f N %5.0f N  %5s  %5.1f %%" % (
            clock(elapsed_s), STATE_WORDS.get(t["state"], t["state"]), clock(t["left_s"]), rpm, band,
            left / 10, right / 10, balance(left, right), t["res_pm"] / 10)
