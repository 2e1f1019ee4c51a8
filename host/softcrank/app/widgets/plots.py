"""Plots on textual-plotext (Textualize's widget for plotext): lines over time, with a band.

The widgets keep only what they draw: callers hand in decimated series (Review asks the ride
log for at most REVIEW_POINTS points), never every sample of a session.
"""

from __future__ import annotations

from typing import Sequence

from textual_plotext import PlotextPlot

Series = tuple[str, Sequence[float], Sequence[float], str]  # (label, xs, ys, colour)


class LinePlot(PlotextPlot):
    """A titled plot of one or more lines against the same x axis."""

    def draw(self, title: str, xlabel: str, series: Sequence[Series], ylim: tuple[float, float] | None = None,
             bars: bool = False, ticks: Sequence[int] | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel(xlabel)
        for label, xs, ys, colour in series:
            if not xs:
                continue
            if bars:
                plt.bar(list(xs), list(ys), label=label, color=colour, width=0.4)
            else:
                plt.plot(list(xs), list(ys), label=label, color=colour, marker="braille")
        if ylim is not None:
            plt.ylim(*ylim)
        if ticks is not None:  # whole numbers: a session or a week is never 0.83
            plt.xticks(list(ticks), [str(t) for t in ticks])
        self.refresh()
