"""The control tick on MicroPython: time, allocation, heap; and its period with the host not reading."""

from __future__ import annotations

from . import Figure, tick_period
from .mp import run_group

TICK_US = 10_000  # the control period: 100 Hz
PICO_HEAP_KB = 190  # what a Pico leaves for Python (virtual_board.HEAP is 192K)


def run(quick: bool) -> list[Figure]:
    raw = run_group("tick", 0.05 if quick else 1.0)
    ref = min(raw["ref_us"], raw["ref_us_after"])  # the quieter of the two timings
    t = raw["times"]
    alloc = raw["alloc"]
    heap = raw["heap"]
    # The tick's period while the host misbehaves, on the virtual trainer's model of the rp2 USB
    # driver (tick_period.py); and, for comparison, the tick in the loop as before issue 13.
    speed = 30.0 if quick else 10.0
    runs = [(b, "timer", speed) for b in tick_period.BEHAVIOURS] + [("stop", "loop", speed)]
    periods = [(b, ticks, tick_period.measure(b, "spasm+estop", ticks, speed)) for b, ticks, speed in runs]
    return [
        Figure("tick.ref_loop_us", "reference loop (%d turns), MicroPython" % raw["ref_loops"], ref, "us"),
        Figure("tick.mean_us", "control tick, mean (loaded, 50 Hz telemetry)", round(t["mean_us"], 1), "us",
               "10000 us period"),
        Figure("tick.median_us", "control tick, median", t["median_us"], "us", "10000 us period"),
        Figure("tick.median_ratio", "control tick median / reference loop", round(t["median_us"] / ref, 3), "x"),
        Figure("tick.mean_ratio", "control tick mean / reference loop", round(t["mean_us"] / ref, 3), "x"),
        Figure("tick.p99_ratio", "control tick 99th percentile / reference loop", round(t["p99_us"] / ref, 3), "x"),
        Figure("tick.period_share_pct", "share of the 10 ms period the tick takes (this machine)",
               round(100 * t["mean_us"] / TICK_US, 3), "%", "100 %"),
        Figure("tick.alloc_bytes_per_tick", "bytes allocated per control tick (%d ticks)" % alloc["ticks"],
               alloc["tick_bytes"] / alloc["ticks"], "B", "0"),
        Figure("tick.alloc_send_bytes", "bytes allocated sending 50 Hz telemetry after the first second "
               "(%d B in it: one-offs)" % alloc["send_first_s"], alloc["send_bytes"], "B", "0"),
        Figure("tick.heap_firmware_kb", "live heap of the running firmware, peak over a %.0f-minute session"
               % heap["minutes"], round((heap["peak_bytes"] - heap["before_bytes"]) / 1024, 1), "KB",
               "%d KB (a Pico)" % PICO_HEAP_KB),
        Figure("tick.heap_growth_bytes", "live heap growth over the session", heap["last_bytes"] - heap["first_bytes"],
               "B", "0"),
    ] + [figure for b, ticks, result in periods for figure in _period_figures(b, ticks, result)]


def _period_figures(behaviour: str, ticks: str, result: dict) -> list[Figure]:
    what = {"stop": "host not reading for 30 s", "freeze": "host freezing 2.5 s of every 8 s for 2 min",
            "flood": "host flooding commands for 30 s"}[behaviour]
    key = {"stop": "not_reading", "freeze": "freezing", "flood": "flooding"}[behaviour]
    key += "" if ticks == "timer" else "_tick_in_loop"
    if ticks != "timer":
        what += ", tick in the main loop (the firmware before issue 13)"
    stats = result["stats"]
    causes = result["causes"]
    worst = None if None in causes.values() else max(causes.values())
    figures = [
        Figure("tick.period_max_ms_" + key, "worst tick period, " + what, stats["period_max_us"] / 1000, "ms",
               "12 ms (late)"),
        Figure("tick.late_ticks_" + key, "late ticks (> 12 ms) of %d, %s" % (stats["ticks"], what), stats["late"],
               "", "0"),
    ]
    if ticks == "timer":  # the old loop is there for its period only
        figures.append(Figure("tick.cause_ticks_" + key, "spasm / e-stop onset to brake zero, worst, " + what, worst,
                              "ticks", "3 / 1 (a load-cell reading, then the tick)"))
    return figures
