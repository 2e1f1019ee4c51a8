"""The ride's figures: a large cadence against its target band, and the force on each pedal.

Every cue is in words as well as colour: "IN THE BAND", "TOO SLOW: a little faster",
"TOO FAST: slow down"; the force bars say "left" and "right" with newtons and the share.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Digits, Static

from ...clinical.words import balance

BAR_CELLS = 16
BAR_FULL_N = 150.0  # a bar is full at 150 N: the top of what riders push at rehab resistances


def band_words(rpm: float, lo: int, hi: int) -> tuple[str, str]:
    """(words, css class) for cadence against the band."""
    if lo <= rpm <= hi:
        return "IN THE BAND %d-%d rpm: keep going" % (lo, hi), "-in"
    if rpm < lo:
        return "TOO SLOW (band %d-%d rpm): a little faster" % (lo, hi), "-slow"
    return "TOO FAST (band %d-%d rpm): slow down" % (lo, hi), "-fast"


class CadenceFigure(Vertical):
    """Cadence in large digits, the band in words underneath."""

    def compose(self) -> ComposeResult:
        yield Static("Cadence, rpm", classes="caption")
        yield Digits("--.-", id="cadence-digits")
        yield Static("", id="cadence-band")

    def show(self, rpm: float | None, lo: int | None, hi: int | None, pedalling: bool) -> None:
        digits = self.query_one(Digits)
        band = self.query_one("#cadence-band", Static)
        digits.update("--.-" if rpm is None else "%4.1f" % rpm)
        if rpm is None or lo is None or hi is None or not pedalling:
            band.update("target %s" % ("--" if lo is None else "%d-%d rpm" % (lo, hi)))
            band.set_classes("")
            return
        words, css = band_words(rpm, lo, hi)
        band.update(words)
        band.set_classes(css)


def bar(newtons: float) -> str:
    filled = max(0, min(BAR_CELLS, round(BAR_CELLS * newtons / BAR_FULL_N)))
    return "\u2588" * filled + "\u2591" * (BAR_CELLS - filled)


class ForceBars(Static):
    """Left and right pedal force as bars with newtons, and the left/right share."""

    def show(self, left_n: float | None, right_n: float | None, affected: str = "none") -> None:
        if left_n is None or right_n is None:
            self.update("Left  -- N\nRight -- N")
            return
        mark = {"left": (" affected", ""), "right": ("", " affected")}.get(affected, ("", ""))
        share = balance(left_n, right_n)
        self.update("Left  %s %4.0f N%s\nRight %s %4.0f N%s\nShare of the pushing, left/right: %s %%"
                    % (bar(left_n), left_n, mark[0], bar(right_n), right_n, mark[1], share))
