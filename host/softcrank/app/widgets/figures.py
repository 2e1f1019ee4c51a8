"""The ride's figures: cadence against its target band in words, and the force on each pedal.

Every cue is in words as well as colour: "IN THE BAND", "TOO SLOW: go faster",
"TOO FAST: go slower"; the force bars say "left" and "right" with newtons and the share.
"""

from __future__ import annotations

from textual.widgets import Static

from ...clinical.words import balance

BAR_CELLS = 8  # narrow enough for the Ride screen's right column at 80 columns
BAR_FULL_N = 150.0  # a bar is full at 150 N: the top of what riders push at rehab resistances


def band_words(rpm: float, lo: int, hi: int) -> tuple[str, str]:
    """(words, css class) for cadence against the band: at most 19 characters, to fit under
    the large cadence at 80 columns (the band's numbers are in its caption)."""
    if lo <= rpm <= hi:
        return "IN THE BAND: good", "-in"
    if rpm < lo:
        return "TOO SLOW: go faster", "-slow"
    return "TOO FAST: go slower", "-fast"


def bar(newtons: float) -> str:
    filled = max(0, min(BAR_CELLS, round(BAR_CELLS * newtons / BAR_FULL_N)))
    return "\u2588" * filled + "\u2591" * (BAR_CELLS - filled)


class ForceBars(Static):
    """Left and right pedal force as bars with newtons, and the left/right share."""

    def show(self, left_n: float | None, right_n: float | None, affected: str = "none") -> None:
        if left_n is None or right_n is None:
            self.update("Left  -- N\nRight -- N")
            return
        side = " (%s affected)" % affected[0].upper() if affected in ("left", "right") else ""
        self.update("Left  %s %4.0f N\nRight %s %4.0f N\nL/R %s %%%s"
                    % (bar(left_n), left_n, bar(right_n), right_n, balance(left_n, right_n), side))
