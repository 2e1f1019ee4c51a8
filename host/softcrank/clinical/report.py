"""One session in words, for a person: what `softcrank show` prints and Review shows.

session_report returns the rows (label, value) and the title line; the CLI prints them, the
app puts them on screen. Each figure is computed once, in summary.py.
"""

from __future__ import annotations

from typing import NamedTuple

from ..store.ridelog import RideLog
from .summary import summary_of
from .words import STATE_WORDS


class Report(NamedTuple):
    title: str
    rows: list[tuple[str, str]]

    def lines(self) -> list[str]:
        return [self.title] + ["  %-26s %s" % row for row in self.rows]


def ended(session: dict, log: RideLog | None = None) -> str:
    """How a session ended, in words. With the ride log, a session stopped early (the trainer
    reports "done" after a STOP too) says so."""
    if session["end_state"] == "D" and log is not None:
        last = log.events(session["id"])[-1:]
        if last and last[0].event == "STOP":
            return "stopped early"
    if session["end_state"]:
        return STATE_WORDS.get(session["end_state"], session["end_state"])
    return "in progress" if session["ended_at"] is None else "ended, its end not seen"


def session_report(log: RideLog, session: dict) -> Report:
    """The summary of `session` (a row of log.sessions()) as a title and labelled rows."""
    s = summary_of(log, session["id"])
    rows: list[tuple[str, str]] = []

    def line(label, value):
        rows.append((label, value))

    def num(value, fmt="%.1f", unit=""):
        return "--" if value is None else (fmt % value) + unit

    title = "session %d, %s, %s" % (session["id"], session["started_at"][:19].replace("T", " "), ended(session, log))
    line("duration", "%d:%02d (riding %d:%02d, paused %d:%02d)" % (
        *divmod(int(s.duration_s), 60), *divmod(int(s.riding_s), 60), *divmod(int(s.paused_s), 60)))
    line("revolutions", "%.0f" % s.revolutions)
    line("cadence", "average %s, peak %s" % (num(s.cadence_avg_rpm, unit=" rpm"), num(s.cadence_peak_rpm, unit=" rpm")))
    line("in the target band", "%s (%s)" % (num(s.in_band_s, "%.0f", " s"), num(s.in_band_pct, "%.0f", " %")))
    line("average force", "left %s, right %s" % (num(s.force_avg_l_n, "%.0f", " N"), num(s.force_avg_r_n, "%.0f", " N")))
    line("share of the work", "left %s, right %s" % (num(s.share_l_pct, "%.0f", " %"), num(s.share_r_pct, "%.0f", " %")))
    line("symmetry index", num(s.symmetry_index, "%+.0f", " %") + "  (0 is even; + means the left did more)")
    line("resistance", "average %s, highest %s" % (num(s.res_avg_pct, unit=" %"), num(s.res_max_pct, unit=" %")))
    line("events", ", ".join("%s %d" % kv for kv in sorted(s.events.items())) or "none")
    line("records missing", str(s.records_missing))
    return Report(title, rows)
