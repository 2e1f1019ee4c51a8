"""One session in words, for a person: what `softcrank show` prints and Review shows.

session_report returns the rows (label, value) and the title line; the CLI prints them, the
app puts them on screen. Each figure is computed once, in summary.py.
"""

from __future__ import annotations

from typing import NamedTuple

from ..store.ridelog import RideLog
from .words import event_counts, goals_words
from .summary import PHASE_MEANS, PHASES, ending, share_whole, summary_of, whole


class Report(NamedTuple):
    title: str
    rows: list[tuple[str, str]]

    def lines(self) -> list[str]:
        return [self.title] + ["  %-26s %s" % row for row in self.rows]


# How a session ended (summary.ending) in the words `sessions`, `show` and Review print.
ENDING_WORDS = {"done": "done", "stopped": "stopped early", "e-stop": "e-stop", "fault": "fault",
                "link lost": "ended, its end not seen", "in progress": "in progress"}


def ended(session: dict, log: RideLog | None = None) -> str:
    """How a session ended, in words (summary.ending). Without the ride log a session stopped
    early reads "done" (the trainer reports "done" after a STOP too)."""
    return ENDING_WORDS[ending(session, log.events(session["id"]) if log is not None else [])]


def session_report(log: RideLog, session: dict) -> Report:
    """The summary of `session` (a row of log.sessions()) as a title and labelled rows; each
    label names the phase its figure covers (summary.PHASES)."""
    s = summary_of(log, session["id"])
    rows: list[tuple[str, str]] = []

    def line(label, value):
        rows.append((label, value))

    def num(value, fmt="%.1f", unit=""):
        return "--" if value is None else (fmt % value) + unit

    title = "session %d, %s, %s" % (session["id"], session["started_at"][:19].replace("T", " "), ended(session, log))
    share = share_whole(s)
    line("duration", "%d:%02d (riding %d:%02d, paused %d:%02d)" % (
        *divmod(whole(s.duration_s), 60), *divmod(whole(s.riding_s), 60), *divmod(whole(s.paused_s), 60)))
    line("revolutions", "%.0f" % s.revolutions)
    line("cadence (%s)" % PHASES["cadence"], "average %s, peak %s" % (num(s.cadence_avg_rpm, unit=" rpm"),
                                                                      num(s.cadence_peak_rpm, unit=" rpm")))
    line("in band (%s)" % PHASES["in_band"], "%s (%s)" % (num(s.in_band_s, "%.0f", " s"),
                                                          num(s.in_band_pct and whole(s.in_band_pct), "%d", " %")))
    line("average force", "left %s, right %s" % (num(s.force_avg_l_n, "%.0f", " N"), num(s.force_avg_r_n, "%.0f", " N")))
    line("share of work (%s)" % PHASES["share"], "left %s, right %s" % (("%d %%" % share[0], "%d %%" % share[1])
                                                                       if share else ("--", "--")))
    line("symmetry (%s)" % PHASES["symmetry"], num(s.symmetry_index, "%+.0f", " %")
         + "  (0 is even; + means the left did more)")
    line("resistance", "average %s, highest %s" % (num(s.res_avg_pct, unit=" %"), num(s.res_max_pct, unit=" %")))
    goals = session["goals"]
    line("plan", goals_words(goals))
    line("work done against the plan", "%d:%02d of %d:00 (%d %%)" % (
        *divmod(whole(s.work_s), 60), goals["dur_min"], whole(100 * s.work_s / (60 * goals["dur_min"]))))
    line("events", event_counts(s.events))
    line("backward pedalling", "%s (counted as pedalling)" % num(s.backward_s, "%.0f", " s"))
    line("pedalling", PHASE_MEANS["pedalling"])
    line("records missing", str(s.records_missing))
    line("recorded with", "firmware %s, protocol %s, softcrank %s" % tuple(
        "--" if session.get(k) is None else session[k] for k in ("firmware", "protocol", "app_version")))
    if session.get("notes"):
        line("notes", session["notes"])
    return Report(title, rows)
