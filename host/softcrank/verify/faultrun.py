"""Fault injection end to end: the real firmware on the virtual trainer, driven through the real
host link, with one fault from a scenario file (or from the host side), and a check of what the
firmware did about it against what docs/safety.md promises.

Each `run_*` function rides one session, injects its fault, raises FaultNotHandled if any
promise is broken, and returns its figures (a Result). The safety suite
(tests/host/test_safety_faults.py) runs each once and asserts on the figures as well;
`softcrank safety` runs them all and prints the table (safety.py), from RUNS.

How the figures are measured. Every record the trainer makes reaches `Ride.records` through
the link (telemetry at 50 Hz: a sample every 2 ticks). A fault's onset is the scenario's
`at_s`, on the rider's clock; the controller's `t_ms` runs one tick behind it (the rider has
already stepped 10 ms when the first tick runs), so the onset in `t_ms` is `at_s * 1000 - 10`.
*Onset to zero* is then the ticks from the onset to the event whose tick put the brake to zero
(detection included: a stale load cell is only known to be stale after 500 ms); *event to
zero* is checked to be 0: the first sample at or after the event reads 0 and none is above 0
until the fault is over.

The runs live in faults/: harness.py (the Ride and the checks), world.py (scenario faults),
board.py (firmware and board faults), host.py (the host's side); this module lists them.
"""

from __future__ import annotations

from .faults.board import run_ctrl_c, run_exception, run_hang, run_power_cut
from .faults.harness import (FAULT_CAPS, FAULT_GOALS, RATE_HZ, RESET_CODES, SPEED, FaultNotHandled, Result, Ride,
                             check, scaled, signed)
from .faults.host import run_cable_out, run_host_not_reading, run_unauthorised_caps
from .faults.world import (LOAD_CELL_FAULTS, run_crank_bounce, run_duration_cap, run_estop,
                           run_host_estop, run_load_cell, run_overspeed, run_spasm)

RUNS = [  # (name, run), in the order of docs/safety.md's table
    ("e-stop input", run_estop),
    ("e-stop from the host", run_host_estop),
    ("spasm", run_spasm),
] + [("load cell " + kind, (lambda k=kind: run_load_cell(k))) for kind in ("stale", "rail", "stuck", "jump", "noisy")] + [
    ("overspeed", run_overspeed),
    ("duration cap", run_duration_cap),
    ("crank bounce", run_crank_bounce),
    ("firmware exception", run_exception),
    ("firmware hang (watchdog)", run_hang),
    ("brownout / reset mid-ride", run_power_cut),
    ("Ctrl-C", run_ctrl_c),
    ("USB link cut 30 s", run_cable_out),
    ("host not reading 10 s", run_host_not_reading),
    ("unauthorised caps", run_unauthorised_caps),
]


__all__ = ["FaultNotHandled", "Result", "Ride", "RUNS", "check", "scaled", "signed", "FAULT_CAPS", "FAULT_GOALS",
           "RATE_HZ", "RESET_CODES", "SPEED", "LOAD_CELL_FAULTS", "run_estop", "run_host_estop", "run_spasm",
           "run_load_cell", "run_overspeed", "run_duration_cap", "run_crank_bounce",
           "run_exception", "run_hang", "run_power_cut", "run_ctrl_c", "run_cable_out", "run_host_not_reading",
           "run_unauthorised_caps"]
