"""Plots on textual-plotext (Textualize's widget for plotext): lines over time, with a band.

The widgets keep only what they draw: callers hand in decimated series (Review asks the ride
log for at most REVIEW_POINTS points), never every sample of a session.
"""

from __future__ import annotations

from typing import Callable, Sequence

from textual_plotext import PlotextPlot

Series = tuple[str, Sequence[float], Sequence[float], str]  # (label, xs, ys, colour)


class LinePlot(PlotextPlot):
    """A titled plot of one or more lines against the same x axis."""

    def draw(self, title: str, xlabel: str, series: Sequence[Series], ylim: tuple[float, float] | None = None,
             bars: bool = False, xticks: Callable[[float], str] | None = None, legend: bool = True,
             yticks: Sequence[float] | None = None, ticks: Sequence[int] | None = None) -> None:
        """`xticks(x)`: the label of a tick at x (ticks at whole steps of XTICK_STEPS_S); legend
        False: no labels on the plot (say in the title what each line is), so none covers the data.
        `ticks`: x ticks at these whole numbers (a session or a week is never 0.83)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel(xlabel)
        for label, xs, ys, colour in series:
            if not xs:
                continue
            label = label if legend else None
            if bars:
                plt.bar(list(xs), list(ys), label=label, color=colour, width=0.4)
            else:
                plt.plot(list(xs), list(ys), label=label, color=colour, marker="braille")
        if ylim is not None:
            plt.ylim(*ylim)
        if ticks is not None:  # whole numbers: a session or a week is never 0.83
            plt.xticks(list(ticks), [str(t) for t in ticks])
        if yticks is not None:
            plt.yticks(list(yticks), ["%g" % y for y in yticks])
        xs_all = [x for _, xs, _, _ in series for x in xs]
        if xticks is not None and xs_all:
            positions = tick_positions(min(xs_all), max(xs_all))
            plt.xticks(positions, [xticks(x) for x in positions])
        self.refresh()


XTICK_STEPS_S = (10, 15, 30, 60, 120)  # a tick every so many seconds: at most 5 ticks on the axis


def tick_positions(low: float, high: float, most: int = 5) -> list[float]:
    """Ticks at whole multiples of the smallest step that gives at most `most` of them."""
    span = max(high - low, 1.0)
    step = next((s for s in XTICK_STEPS_S if span / s <= most - 1), XTICK_STEPS_S[-1])
    first = -(-low // step) * step
    ticks = []
    x = first
    while x <= high + 1e-9:
        ticks.append(x)
        x += step
    return ticks or [high]
