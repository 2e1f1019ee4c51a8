"""Cadence against the simulator's ground truth, and how fast a change is reported.

The information limit of a step: the firmware learns a cadence from the time between edges,
so the first figure wholly at the new cadence is the interval that ends at the second edge
after the step; the control tick sees that edge at the first tick at or after it. For a stop:
"below half" can be known once no edge came for two old gaps, "stopped" (below 3 rpm, the
slowest measured) once none came for a 3 rpm gap (833 ms at 24 edges a revolution).
"""

from __future__ import annotations

import statistics

from . import Figure
from .mp import run_group

STEADY_RPM = (3, 10, 30, 60, 120)


def run(quick: bool) -> list[Figure]:
    raw = run_group("cadence", 0.1 if quick else 1.0)
    figures = []
    for s in raw["steady"]:
        rpm = s["rpm"]
        figures.append(Figure("cadence.err_%drpm" % rpm, "error at a steady %d rpm, worst (%.1f %%; mean %.3f rpm)"
                              % (rpm, 100 * s["max_abs_rpm"] / rpm, s["mean_abs_rpm"]), round(s["max_abs_rpm"], 2),
                              "rpm", "0.1 rpm (resolution)"))
    step_ratios = [s["latency_us"] / s["limit_us"] for s in raw["steps"] if s["latency_us"] and s["limit_us"]]
    unreported = sum(1 for s in raw["steps"] if not s["latency_us"])
    figures += [
        Figure("cadence.step_latency_ms_max", "step change (%d cases) reported within 5 %%, worst latency"
               % len(raw["steps"]), max(s["latency_us"] or 0 for s in raw["steps"]) / 1000, "ms"),
        Figure("cadence.step_ratio_median", "step latency / information limit, median", round(statistics.median(step_ratios), 2),
               "x", "1"),
        Figure("cadence.step_ratio_max", "step latency / information limit, worst", round(max(step_ratios), 2), "x", "1"),
        Figure("cadence.step_unreported", "steps never reported within 30 s", unreported, "", "0"),
    ]
    stops = raw["stops"]
    half = [s["half_us"] / s["half_limit_us"] for s in stops if s["half_us"]]
    zero = [s["zero_us"] / s["zero_limit_us"] for s in stops if s["zero_us"]]
    figures += [
        Figure("cadence.stop_half_ratio_max", "stop: reads below half / limit (2 old gaps), worst",
               round(max(half), 2) if half else None, "x", "1"),
        Figure("cadence.stop_zero_ms_max", "stop: reads 0, worst latency", max(s["zero_us"] or 0 for s in stops) / 1000, "ms",
               "833 ms + last gap"),
        Figure("cadence.stop_zero_ratio_max", "stop: reads 0 / limit (a 3 rpm gap), worst",
               round(max(zero), 2) if zero else None, "x", "1"),
        Figure("cadence.stop_unreported", "stops never read as 0 within 5 s", len(stops) - len(zero), "", "0"),
    ]
    return figures
