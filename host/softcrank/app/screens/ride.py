"""Ride: what the rider sees, readable from a metre away at 80x24, and the keys to ride.

Two figures five rows tall (widgets/bigfigure.py): the cadence against the target band (in
words too) and the session's time left; beside them the phase, the resistance against the
plan and the cap, and the force on each pedal with the share; before a ride, whose caps the
trainer holds (this patient's, another's, the firmware's defaults: whose_caps.py). Then the last minutes of
cadence against the band (x in minutes and seconds before now, legend off the data), and the
events on the session clock, newest at the bottom, always in view. An emergency stop, a
fault or a lost link puts up a banner that cannot be missed; while the link is lost nothing
on the screen looks live (figures read "--", the plot says why it stopped).

Keys: s start (sends the plan as GOALS, then START), space pause/resume, x stop (also clears
an e-stop or a fault), e emergency stop. A key that cannot apply in the trainer's state is
refused here, in words, before anything is sent (keys.py); the rest go through the
trainer's one command queue (trainer/commands.py), where e and space jump the line.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from softcrank_fw import protocol as P

from ...clinical.words import STATE_WORDS, clock
from ...trainer.whose_caps import owner_short
from ..widgets.banners import Banner
from ..widgets.bigfigure import BigFigure
from ..widgets.figures import ForceBars, band_words
from ..widgets.plots import LinePlot
from .base import AppScreen
from .keys import refusal

PEDALLING = frozenset("UWC")
PLOT_EVERY_S = 1.0  # redraw the live plot once a second: plotext builds it whole, and the link shares the CPU
EVENT_LINES = 3  # #events is 4 rows with its top border: 3 lines, the newest at the bottom


def flag_words(flags: int) -> str:
    words = []
    if flags & P.FLAG_RAMPING:
        words.append("building up gently")
    if flags & P.FLAG_OVERSPEED:
        words.append("TOO FAST: held")
    if flags & P.FLAG_HOST_SILENT:
        words.append("laptop silent: held")
    return "; ".join(words)


def minutes_seconds(seconds: float) -> str:
    """An x-axis tick: -90 -> "-1:30"."""
    sign = "-" if seconds < 0 else ""
    return sign + clock(int(round(abs(seconds))))


class RideScreen(AppScreen):
    MODE = "ride"
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("space", "pause", "Pause/resume"),
        Binding("x", "stop", "Stop"),
        Binding("e", "estop", "EMERGENCY STOP", priority=True),
        Binding("r", "results", "Results"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._plotted_at = 0.0

    def body(self) -> ComposeResult:
        yield Banner(id="banner")
        with Horizontal(id="ride-top"):
            yield BigFigure("Cadence, rpm", id="cadence")
            yield BigFigure("Session time left", id="time-left")
            with Vertical(id="ride-info"):
                yield Static("", id="phase")
                yield Static("", id="resistance")
                yield ForceBars(id="forces")
        yield LinePlot(id="live")
        yield Static("", id="events")

    def on_screen_resume(self) -> None:
        self._plotted_at = 0.0
        self.show_state()

    def show_state(self) -> None:
        """Draw everything from the app's RideState."""
        if not self.query(Banner):
            return  # not composed yet: on_screen_resume draws it all
        ride = self.app.ride
        t = ride.latest
        goals = ride.goals
        lo, hi = (goals["cad_lo_rpm"], goals["cad_hi_rpm"]) if goals is not None else (None, None)
        state = ride.state
        affected = (self.app.patient or {}).get("affected_side", "none")
        self._banner(ride)
        cadence, left = self.query_one("#cadence", BigFigure), self.query_one("#time-left", BigFigure)
        live = t is not None and not ride.link_lost and self.app.link_state == "connected"
        cadence.caption("Cadence, band %s" % ("--" if lo is None else "%d-%d" % (lo, hi)))
        if not live:
            cadence.show("--", "")
            left.show("--", "")
            self.query_one(ForceBars).show(None, None)
            self.query_one("#phase", Static).update(self._waiting_words(ride))
            self.query_one("#resistance", Static).update("")
        else:
            rpm = t["cad_drpm"] / 10
            if state in PEDALLING and lo is not None:
                words, css = band_words(abs(rpm), lo, hi)
            else:
                words, css = "", ""
            cadence.show("%d" % round(abs(rpm)), words, css)
            riding = state in "UWCRP"
            left.show(clock(ride.session_left) if riding and ride.session_left is not None else "--",
                      "%s: %s left" % (STATE_WORDS.get(state, state), clock(t["left_s"])) if riding else "")
            self.query_one(ForceBars).show(max(t["force_l_dn"], 0) / 10, max(t["force_r_dn"], 0) / 10, affected)
            phase = STATE_WORDS.get(state, state)
            extra = flag_words(t["flags"])
            hint = self._keys_hint(state, ride)
            if state == "I" and not ride.ended_words and ride.caps is not None:  # before a ride: whose caps
                hint += "\n" + owner_short(ride.caps, (self.app.patient or {}).get("id"))
            self.query_one("#phase", Static).update("%s\n%s" % (phase.upper(), extra or hint))
            self.query_one("#resistance", Static).update(self._resistance_words(t, ride))
        self.query_one("#events", Static).update("\n".join(list(ride.events)[-EVENT_LINES:]) or "Events appear here.")
        if not live:
            self._plot_stopped(ride)
        elif time.monotonic() - self._plotted_at >= PLOT_EVERY_S:
            self._plotted_at = time.monotonic()
            self._plot(ride, lo, hi)

    def _waiting_words(self, ride) -> str:
        if self.app.patient is None:
            return "Choose the patient (F3), then the trainer (F2)."
        if ride.link_lost or self.app.link_state == "lost":
            return "LINK LOST: no live figures\nuntil the trainer answers again."
        if self.app.link_state != "connected":
            return "Waiting for the trainer\n(F2 to choose one)."
        return "Waiting for the first reading\nfrom the trainer."

    @staticmethod
    def _keys_hint(state: str, ride) -> str:
        if state == "D" or (state == "I" and ride.ended_words):
            return (ride.ended_words or {"DONE": "Session complete.", "STOP": "Stopped early."}.get(
                ride.last_end, "Session over.")) + "\nr: results; s: another"
        return {"I": "Press s to start.", "P": "Paused: space carries on.",
                "R": "Resting after a spasm: resistance off.", "E": "Press x to clear.",
                "F": "Press x to clear."}.get(state, "")

    @staticmethod
    def _resistance_words(t, ride) -> str:
        text = "Resistance %.0f %%" % (t["res_pm"] / 10)
        return text + (" (plan %d %%)" % ride.goals["res_pct"] if ride.goals is not None else "")

    def _banner(self, ride) -> None:
        banner = self.query_one(Banner)
        kind = ride.alarm or ("lost" if ride.link_lost else None)
        self.set_class(kind is not None, "-banner")  # the live plot gives the banner its rows (tcss)
        if kind is None:
            if banner.kind is not None:
                banner.hide()
        elif banner.kind != kind:
            banner.show(kind)

    def _plot_stopped(self, ride) -> None:
        why = "link lost: no live data" if ride.link_lost else "no live data yet"
        self.query_one(LinePlot).draw("Cadence (rpm): %s" % why, "", [])
        self._plotted_at = 0.0

    def _plot(self, ride, lo, hi) -> None:
        history = list(ride.history)
        plot = self.query_one(LinePlot)
        if not history:
            plot.draw("Cadence (rpm), last 3 minutes", "min:s before now", [])
            return
        now = history[-1][0]
        xs = [t - now for t, _, _ in history]
        series = [("cadence", xs, [abs(c) for _, c, _ in history], "white")]
        if lo is not None:
            ends = [min(xs), 0.0]
            series += [("band", ends, [lo, lo], "yellow"), ("", ends, [hi, hi], "yellow")]
        top = max([abs(c) for _, c, _ in history] + [hi or 0]) + 5
        plot.draw("Cadence (rpm) against the target band (the two level lines)", "min:s before now", series,
                  (0, top), xticks=minutes_seconds, legend=False, yticks=[0, lo, hi] if lo is not None else None)

    # ----- keys ----------------------------------------------------------------------------------

    def _refuse(self, words: str) -> None:
        self.app.ride.note(words)
        self.notify(words, severity="warning", timeout=6)
        self.show_state()

    def _key(self, key: str) -> str | None:
        """The command `key` means now, or None after saying in words why it cannot apply."""
        command, words = refusal(key, self.app.ride.state, connected=self.app.link_state == "connected"
                                 and not self.app.ride.link_lost, patient=self.app.patient is not None,
                                 starting=self.app.starting)
        if words:
            self._refuse(words)
        return command

    def action_start(self) -> None:
        if self._key("s"):
            self.app.start_session()

    def action_pause(self) -> None:
        command = self._key("space")
        if command:
            self.app.send(command)

    def action_stop(self) -> None:
        if self._key("x"):
            self.app.send("STOP")

    def action_estop(self) -> None:
        self.app.send("ESTOP")  # never refused here: whatever the state, the trainer takes it

    def action_results(self) -> None:
        self.app.show_results(None)
