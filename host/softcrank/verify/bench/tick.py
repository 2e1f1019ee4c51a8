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
    # As long reading as not: a hiccup of this shared machine is as likely to land in either.
    period = tick_period.measure(read_s=1, quiet_s=2) if quick else tick_period.measure(read_s=90, quiet_s=90)
    quiet = period["not_reading"]
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
        Figure("tick.period_max_ms_reading", "worst tick period, host reading 50 Hz telemetry",
               period["reading"]["period_max_us"] / 1000, "ms", "15 ms (late)"),
        Figure("tick.late_ticks_reading", "late ticks (> 15 ms) of %d, host reading" % period["reading"]["ticks"],
               period["reading"]["late"], "", "0"),
        Figure("tick.period_max_ms_not_reading", "worst tick period, host not reading for %.0f s" % period["quiet_s"],
               quiet["period_max_us"] / 1000, "ms", "15 ms (late)"),
        Figure("tick.late_ticks_not_reading", "late ticks (> 15 ms) of %d, host not reading" % quiet["ticks"],
               quiet["late"], "", "0"),
    ]
