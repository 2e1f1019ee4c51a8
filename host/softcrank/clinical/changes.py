"""A change of caps or plan as a therapist confirms it: each value before and after, and which
steps are large enough to ask a second, explicit confirmation.

CLINICAL.md: "start small, build up slowly, never overdo it". A slip of the keyboard (20 -> 100
instead of 20 -> 10) should not reach a patient's legs on one Enter. The progression rule's own
steps are +2 minutes and +5 points (progression.py); a step more than twice that is no longer a
small one, so it is asked about twice:

- resistance (the cap or the plan's) up by more than LARGE_RES_PTS points;
- time (the session cap or the plan's work time) up by more than LARGE_MIN minutes.

Lowering anything is never large: less is the safe direction.
"""

from __future__ import annotations

__all__ = ["LARGE_MIN", "LARGE_RES_PTS", "changes", "large_steps"]

LARGE_RES_PTS = 10  # points of resistance: twice the progression rule's step of 5
LARGE_MIN = 5  # minutes: more than twice the progression rule's step of 2

_RESISTANCE = ("max_res_pct", "res_pct")
_MINUTES = ("max_dur_min", "dur_min")


def changes(before: dict, after: dict) -> list[tuple[str, int, int]]:
    """(name, before, after) of each value that changes, in `after`'s order."""
    return [(name, before.get(name), value) for name, value in after.items() if before.get(name) != value]


def large_steps(before: dict, after: dict, labels: dict[str, str]) -> list[str]:
    """The large steps up, in words ("Resistance cap, % 20 -> 100: +80 points, more than +10")."""
    out = []
    for name, old, new in changes(before, after):
        if old is None:
            continue
        if name in _RESISTANCE and new - old > LARGE_RES_PTS:
            out.append("%s %d -> %d: +%d points, more than +%d" % (labels[name], old, new, new - old, LARGE_RES_PTS))
        elif name in _MINUTES and new - old > LARGE_MIN:
            out.append("%s %d -> %d: +%d minutes, more than +%d" % (labels[name], old, new, new - old, LARGE_MIN))
    return out
