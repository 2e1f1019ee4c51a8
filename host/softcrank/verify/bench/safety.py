"""Ticks from a cause to brake zero, counted from the first tick whose inputs carry the cause.

That tick counts as 1, so 1 is the limit: the firmware cannot act on what it has not read.
A reversal counts from the tick with the second backward edge (one edge can be a bounce:
crank.REVERSE_EDGES); the host's ESTOP counts the loop pass that reads its last byte.
"""

from __future__ import annotations

from . import Figure
from .mp import run_group

CAUSES = (
    ("estop_input", "e-stop button"),
    ("estop_command", "host ESTOP command"),
    ("spasm_force", "spasm: force over the cap"),
    ("spasm_reversal", "spasm: sudden reversal"),
    ("fault_rail", "fault: load cell at its rail"),
    ("fault_jump", "fault: load cell jump"),
)


def run(quick: bool) -> list[Figure]:
    raw = run_group("safety", 0.1 if quick else 1.0)
    figures = []
    for key, what in CAUSES:
        counts = raw[key]
        worst = None if None in counts else max(counts)  # None: the brake never reached zero
        figures.append(Figure("safety.%s_ticks" % key, "%s to brake zero, worst of %d" % (what, len(counts)),
                              worst, "ticks", "1"))
    return figures
