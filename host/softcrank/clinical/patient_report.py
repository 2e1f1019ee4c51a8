"""One patient's printable report (`softcrank report`): one HTML page, plots as inline SVG.

Everything on it comes from the ride log through the one definition of each figure: sessions
through trends.session_points (summary.summarize's figures), adherence through trends.weeks,
proposals' decisions through progression.decisions. Nothing is recomputed here; this module
only lays the figures out.

Printed in black and white it must still read: the plots use no colour at all. Each session
is a dot, the rolling average a solid line, the plan a dashed line, and 0 a thin line;
every plot says in its title what its lines are.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from html import escape

from ..store.ridelog import RideLog
from . import progression
from .report import ENDING_WORDS
from .summary import ending, whole
from .trends import ROLLING_SESSIONS, by_affected_side, rolling, session_points, symmetric_limit, weeks

__all__ = ["patient_report"]

W, H, PAD_L, PAD_B, PAD_T = 640, 200, 48, 30, 12  # one plot's box, in SVG user units

_STYLE = """
body { font-family: sans-serif; color: #000; background: #fff; max-width: 52em; margin: 1em auto; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #000; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #000; padding: 2px 4px; text-align: left; vertical-align: top; }
svg { width: 100%; height: auto; } figure { margin: 0.5em 0; break-inside: avoid; }
figcaption { font-weight: bold; font-size: 0.9em; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def patient_report(log: RideLog, patient: dict, weeks_back: int | None = None, today=None) -> str:
    """The page for `patient` (a row of log.patients()), over the last `weeks_back` weeks (all if None)."""
    today = today or datetime.now(timezone.utc).date()
    pid = patient["id"]
    since = today - timedelta(weeks=weeks_back) if weeks_back else None
    all_points = session_points(log, pid)
    points = [p for p in all_points if since is None or p.started >= since]
    sessions = {s["id"]: s for s in log.sessions(pid)}
    plan = log.current_plan(pid)
    week_list = weeks(points, plan["sessions_per_week"], today)
    side = patient.get("affected_side", "none")
    leg = "affected" if side in ("left", "right") else "left"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>softcrank report: %s</title><style>%s</style></head><body>" % (escape(patient["name"]), _STYLE),
           "<h1>%s: sessions %s</h1>" % (escape(patient["name"]), "in the last %d weeks" % weeks_back
                                           if weeks_back else "so far"),
           "<p>Affected side: %s. Report made %s. %d sessions, %d of them reached their work phase (what adherence "
           "counts). Trends are averages of the last %d sessions.</p>"
           % (escape(side), today.isoformat(), len(points), sum(p.reached_work for p in points), ROLLING_SESSIONS)]
    goals = plan["goals"]
    out.append("<h2>The plan</h2><p>%d sessions a week; each: %d minutes of work, cadence %d to %d rpm, "
               "resistance %d %%%s.</p>" % (plan["sessions_per_week"], goals["dur_min"], goals["cad_lo_rpm"],
                                           goals["cad_hi_rpm"], goals["res_pct"],
                                           "" if plan["set_by"] is None else "; set by %s on %s"
                                           % (escape(plan["set_by"]), plan["set_at"][:10])))
    out.append("<h2>Trends</h2>")
    n = list(range(1, len(points) + 1))
    out.append(_plot("Sessions that reached work, a week (bars), against the plan (dashed)", "week",
                     list(range(1, len(week_list) + 1)), [w.sessions for w in week_list], bars=True,
                     plan=float(plan["sessions_per_week"])))
    out.append(_plot("Duration, minutes: each session (dots), average of the last %d (line)" % ROLLING_SESSIONS,
                     "session", n, [p.duration_min for p in points]))
    out.append(_plot("Average cadence, rpm (pedalling): each session (dots), average (line)", "session", n,
                     [p.cadence_avg_rpm for p in points]))
    sym = [by_affected_side(p.symmetry_index, side) for p in points]
    out.append(_plot("Symmetry, %% (work phase): 0 is even, + the %s leg did more; dots and average (line)" % leg,
                     "session", n, sym, centred=True))
    out.append("<h2>Caps history</h2>" + _table(
        ("set", "by", "resistance", "duration", "cadence", "spasm L / R", "reason"),
        [(c["set_at"][:16].replace("T", " "), c["set_by"], "%d %%" % c["caps"]["max_res_pct"],
          "%d min" % c["caps"]["max_dur_min"], "%d rpm" % c["caps"]["max_cad_rpm"],
          "%d / %d N" % (c["caps"]["spasm_n"], c["caps"]["spasm_r_n"]), c["reason"] or "")
         for c in log.caps_history(pid)], "No caps set: the trainer's defaults apply."))
    rows = []
    for i, p in zip(n, points):
        s = sessions[p.session_id]
        rows.append((str(i), p.started.isoformat(), ENDING_WORDS[ending(s, log.events(s["id"]))],
                     "%d min" % whole(p.duration_min), _num(p.cadence_avg_rpm, "%d rpm"),
                     _num(p.in_band_pct, "%d %%"), _num(by_affected_side(p.symmetry_index, side), "%+d %%"),
                     "%.1f kJ" % p.work_kj, s.get("notes") or ""))
    out.append("<h2>Sessions</h2>" + _table(("#", "date", "ended", "duration", "cadence", "in band", "symmetry",
                                               "work", "notes"), rows, "No sessions in this period."))
    out.append("<h2>Proposals to build up, and the therapist's decisions</h2>" + _table(
        ("when", "decision", "what was proposed and why"),
        [(d["at"][:16].replace("T", " "), d["outcome"], d["detail"]) for d in progression.decisions(log, pid)],
        "No decisions yet."))
    out.append("</body></html>")
    return "\n".join(out)


def _nice(top: float) -> float:
    """The smallest 1, 2, 4, 5 or 10 x 10^k at or above `top`: an axis whose middle tick reads well."""
    if top <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(top))
    return next(m * scale for m in (1, 2, 4, 5, 10) if m * scale >= top)


def _num(value, fmt: str) -> str:
    return "--" if value is None else fmt % whole(value)


def _table(head, rows, empty: str) -> str:
    if not rows:
        return "<p>%s</p>" % escape(empty)
    return "<table><tr>%s</tr>%s</table>" % ("".join("<th>%s</th>" % escape(h) for h in head), "".join(
        "<tr>%s</tr>" % "".join("<td>%s</td>" % escape(str(c)) for c in row) for row in rows))


def _plot(title: str, xlabel: str, xs: list[int], ys: list, bars: bool = False, centred: bool = False,
          plan: float | None = None) -> str:
    """A black-and-white SVG plot: dots (or bars) for the values, a solid line for their rolling
    average, a dashed line for the plan; whole-number x ticks; centred: an axis symmetric about 0."""
    known = [y for y in ys if y is not None]
    if not known:
        return "<figure><figcaption>%s</figcaption><p>No figures yet.</p></figure>" % escape(title)
    if centred:
        lo, hi = -symmetric_limit(ys), symmetric_limit(ys)
    else:
        lo, hi = 0.0, _nice(max(known + [plan or 0]) * 1.1)
    x_max = max(xs) + (0.5 if bars else 0)
    x_min = min(xs) - (0.5 if bars else 0)

    def px(x):
        return PAD_L + (x - x_min) / max(x_max - x_min, 1) * (W - PAD_L - 10)

    def py(y):
        return PAD_T + (hi - y) / (hi - lo) * (H - PAD_T - PAD_B)

    parts = ['<svg viewBox="0 0 %d %d" role="img" aria-label="%s" font-size="11">' % (W, H, escape(title)),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (PAD_L, PAD_T, PAD_L, H - PAD_B),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (PAD_L, H - PAD_B, W - 10, H - PAD_B)]
    for frac in (0, 0.5, 1):
        y = lo + frac * (hi - lo)
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (PAD_L - 4, py(y) + 4, round(y, 2)))
    step = max(1, -(-len(xs) // 12))
    for x in xs[::step]:
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(x), H - PAD_B + 13, x))
    parts.append('<text x="%d" y="%d" text-anchor="middle">%s</text>' % ((W + PAD_L) // 2, H - 2, escape(xlabel)))
    if centred:
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-width="0.5"/>'
                     % (PAD_L, py(0), W - 10, py(0)))
    if plan is not None:
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="6 4"/>'
                     % (PAD_L, py(plan), W - 10, py(plan)))
    for x, y in zip(xs, ys):
        if y is None:
            continue
        if bars:
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="black"/>'
                         % (px(x) - 8, py(y), 16, py(0) - py(y)))
        else:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="black"/>' % (px(x), py(y)))
    if not bars:
        line = [(x, y) for x, y in zip(xs, rolling(ys)) if y is not None]
        parts.append('<polyline fill="none" stroke="black" stroke-width="2" points="%s"/>'
                     % " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in line))
    parts.append("</svg>")
    return "<figure><figcaption>%s</figcaption>%s</figure>" % (escape(title), "".join(parts))
