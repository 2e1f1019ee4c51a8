"""Goals the trainer cut to its caps, in words, before the ride starts.

The firmware clamps every GOALS to its caps (softcrank_fw/limits.py, Goals.clamp) and answers
with the goals it will ride (its G frame): work minutes to what fits in the session cap after
the warm-up, the cadence band's top to the cadence cap (and its low end to the top), the
resistance to the resistance cap. It refuses nothing for being too much, so the host compares
what it asked with the G frame and says what changed: `softcrank ride` prints it, the app's
Ride screen shows it as a one-line notice. Example: caps of 15 minutes with a 5-minute warm-up
leave (15 * 60 - 300) // 60 = 10 minutes of work, so `--work 20` rides 10.
"""

from __future__ import annotations

from ..frames import Frame

__all__ = ["clamped"]


def clamped(asked: dict, got: Frame, caps: Frame) -> str | None:
    """One line naming every goal the trainer cut (asked -> riding, and the cap why), or None
    if it rides what was asked. `asked` holds some of dur_min, cad_lo_rpm, cad_hi_rpm, res_pct."""
    cuts = []
    if asked.get("dur_min") is not None and got["dur_min"] != asked["dur_min"]:
        cuts.append("work %d min instead of %d (the session cap is %d min, with %d min of warm-up)"
                    % (got["dur_min"], asked["dur_min"], caps["max_dur_min"], caps["warmup_s"] // 60))
    if asked.get("cad_hi_rpm") is not None and got["cad_hi_rpm"] != asked["cad_hi_rpm"]:
        cuts.append("cadence up to %d rpm instead of %d (the cadence cap)" % (got["cad_hi_rpm"], asked["cad_hi_rpm"]))
    if asked.get("cad_lo_rpm") is not None and got["cad_lo_rpm"] != asked["cad_lo_rpm"]:
        cuts.append("cadence from %d rpm instead of %d" % (got["cad_lo_rpm"], asked["cad_lo_rpm"]))
    if asked.get("res_pct") is not None and got["res_pct"] != asked["res_pct"]:
        cuts.append("resistance %d %% instead of %d (the resistance cap)" % (got["res_pct"], asked["res_pct"]))
    if not cuts:
        return None
    return "the trainer's caps cut the plan: " + "; ".join(cuts)
