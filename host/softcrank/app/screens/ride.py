"""Ride: what the rider sees, readable from a metre away, and the keys to start, pause and stop.

A large cadence figure against the target band (in words too), the force on each pedal with
the left/right share, resistance now against the plan and the cap, the phase and time left,
the last minutes of cadence against the band, and events as they happen. An emergency stop,
a fault or a lost link puts up a banner that cannot be missed.

Keys: s start (sends the plan as GOALS, then START), space pause/resume, x stop (also clears
an e-stop or a fault), e emergency stop. Commands go through workers: a slow or absent
trainer never freezes the screen.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from softcrank_fw import protocol as P

from ...clinical.words import STATE_WORDS, clock
from ..widgets.banners import Banner
from ..widgets.figures import CadenceFigure, ForceBars
from ..widgets.plots import LinePlot
from .base import AppScreen

PEDALLING = frozenset("UWC")
PLOT_EVERY_S = 1.0  # redraw the live plot once a second: plotext builds it whole, and the link shares the CPU
EVENT_LINES = 4


def flag_words(flags: int) -> str:
    words = []
    if flags & P.FLAG_RAMPING:
        words.append("resistance building up gently")
    if flags & P.FLAG_OVERSPEED:
        words.append("TOO FAST: resistance held")
    if flags & P.FLAG_HOST_SILENT:
        words.append("laptop silent: resistance held")
    return "; ".join(words)


class RideScreen(AppScreen):
    MODE = "ride"
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("space", "pause", "Pause/resume"),
        Binding("x", "stop", "Stop"),
        Binding("e", "estop", "EMERGENCY STOP", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._plotted_at = 0.0

    def body(self) -> ComposeResult:
        yield Banner(id="banner")
        with Horizontal(id="ride-top"):
            yield CadenceFigure(id="cadence")
            with Vertical(id="ride-info"):
                yield Static("", id="phase")
                yield ForceBars(id="forces")
                yield Static("", id="resistance")
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
        if t is None:
            self.query_one(CadenceFigure).show(None, lo, hi, False)
            self.query_one(ForceBars).show(None, None)
            self.query_one("#phase", Static).update(self._waiting_words())
            self.query_one("#resistance", Static).update("")
        else:
            self.query_one(CadenceFigure).show(t["cad_drpm"] / 10, lo, hi, state in PEDALLING)
            self.query_one(ForceBars).show(max(t["force_l_dn"], 0) / 10, max(t["force_r_dn"], 0) / 10, affected)
            phase = STATE_WORDS.get(state, state)
            left = ", %s left" % clock(t["left_s"]) if state in "UWCRP" else ""
            extra = flag_words(t["flags"])
            self.query_one("#phase", Static).update("Phase: %s%s\n%s" % (phase.upper(), left, extra or self._keys_hint(state)))
            self.query_one("#resistance", Static).update(self._resistance_words(t, ride))
        self.query_one("#events", Static).update("\n".join(list(ride.events)[-EVENT_LINES:]) or "Events appear here.")
        if time.monotonic() - self._plotted_at >= PLOT_EVERY_S:
            self._plotted_at = time.monotonic()
            self._plot(ride, lo, hi)

    def _waiting_words(self) -> str:
        if self.app.patient is None:
            return "Choose the patient (F3), then the trainer (F2)."
        if self.app.link_state != "connected":
            return "Waiting for the trainer (F2 to choose one)."
        return "Waiting for the first reading from the trainer."

    @staticmethod
    def _keys_hint(state: str) -> str:
        return {"I": "Press s to start.", "D": "Session complete, well done. Press s for another.",
                "P": "Paused: press space to carry on.", "R": "Resting after a spasm: resistance is off.",
                "E": "Press x to clear.", "F": "Press x to clear."}.get(state, "")

    @staticmethod
    def _resistance_words(t, ride) -> str:
        text = "Resistance %.1f %%" % (t["res_pm"] / 10)
        parts = []
        if ride.goals is not None:
            parts.append("plan %d %%" % ride.goals["res_pct"])
        if ride.caps is not None:
            parts.append("cap %d %%" % ride.caps["max_res_pct"])
        return text + (" (%s)" % ", ".join(parts) if parts else "")

    def _banner(self, ride) -> None:
        banner = self.query_one(Banner)
        kind = ride.alarm or ("lost" if ride.link_lost else None)
        if kind is None:
            if banner.kind is not None:
                banner.hide()
        elif banner.kind != kind:
            banner.show(kind)

    def _plot(self, ride, lo, hi) -> None:
        history = list(ride.history)
        plot = self.query_one(LinePlot)
        if not history:
            plot.draw("Cadence, last 3 minutes", "minutes ago", [])
            return
        now = history[-1][0]
        xs = [(t - now) / 60 for t, _, _ in history]
        series = [("cadence", xs, [c for _, c, _ in history], "white")]
        if lo is not None:
            ends = [min(xs), 0.0]
            series += [("band low", ends, [lo, lo], "yellow"), ("band high", ends, [hi, hi], "yellow")]
        top = max([c for _, c, _ in history] + [hi or 0]) + 5
        plot.draw("Cadence (rpm), last 3 minutes, against the target band", "minutes ago", series, (0, top))

    # ----- keys ----------------------------------------------------------------------------------

    def action_start(self) -> None:
        if self.app.patient is None:
            self.notify("Choose the patient first (F3).", severity="warning")
            return
        self.app.start_session()

    def action_pause(self) -> None:
        self.app.send("RESUME" if self.app.ride.state == "P" else "PAUSE")

    def action_stop(self) -> None:
        self.app.send("STOP")

    def action_estop(self) -> None:
        self.app.send("ESTOP")
