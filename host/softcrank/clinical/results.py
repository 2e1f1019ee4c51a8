"""A session's results for the rider, in plain words: what the app shows after every session.

Whatever ended it (done, stopped early, e-stop, fault, link lost, a trainer restart), the
results say what happened first, then the figures: riding time against the plan, time in the
band, resistance reached, each leg's work, the share of the work framed by the affected
side, spasms, and the change since the last session. Every figure comes from summary.py
(summary_of, whole, share_whole), as `show`, Review and Progress take them; nothing here
computes one. Encouragement is said only when it is true: a session stopped after 14 s never
reads "well done".
"""

from __future__ import annotations

from typing import NamedTuple

from ..store.ridelog import RideLog
from .summary import ending, share_whole, summary_of, whole
from .words import clock

__all__ = ["Results", "HEADLINES", "SHORT", "session_results"]

# What happened, first, by ending (summary.ENDINGS, plus "restart", which the app knows from
# the link: the ride log has only "its end was not seen").
HEADLINES = {
    "done": "Session complete: you rode the whole plan.",
    "stopped": "Session stopped early, after %s of riding.",
    "e-stop": "EMERGENCY STOP after %s of riding: the resistance went off at once.",
    "fault": "A SENSOR FAULT ended the session after %s of riding: the resistance went off. "
             "Tell the therapist.",
    "link lost": "The link to the trainer was lost after %s of riding: the end of the session was not seen.",
    "restart": "The trainer restarted after %s of riding: the session ended there.",
    "in progress": "The session is still going (%s of riding so far).",
}
# The same, short: what the Ride screen says under the phase once the session has ended.
SHORT = {"done": "Session complete.", "stopped": "Stopped early.", "e-stop": "Emergency stop.",
         "fault": "Sensor fault.", "link lost": "Link lost: end unseen.", "restart": "Trainer restarted:\nsession ended.",
         "in progress": "Still going."}
SIDE_WORDS = {"left": "left", "right": "right"}


class Results(NamedTuple):
    ending: str  # a key of HEADLINES
    headline: str
    rows: list[tuple[str, str]]
    encouragement: list[str]  # empty when nothing encouraging is true

    def lines(self) -> list[str]:
        return [self.headline] + ["  %-22s %s" % row for row in self.rows] + self.encouragement


def session_results(log: RideLog, session_id: int, affected_side: str = "none",
                    restarted: bool = False) -> Results:
    """The results of `session_id`. `restarted`: the app saw the trainer restart end it.
    Reads every sample (once; summary_of caches): call it from a worker."""
    session = log.session(session_id)
    how = ending(session, log.events(session_id))
    if restarted and how == "link lost":
        how = "restart"
    s = summary_of(log, session_id)
    previous = _previous(log, session)
    p = summary_of(log, previous["id"]) if previous is not None else None
    riding = whole(s.riding_s)
    headline = HEADLINES[how] % clock(riding) if "%s" in HEADLINES[how] else HEADLINES[how]
    goals, caps = session["goals"], session["caps"]
    planned = caps["warmup_s"] + 60 * goals["dur_min"] + caps["cooldown_s"]
    rows = [("riding time", "%s of %s planned%s" % (clock(riding), clock(planned), _since(p, riding, "riding_s",
                                                                                             clock_delta=True)))]
    if s.in_band_pct is None:
        rows.append(("in the band", "-- (no pedalling)"))
    else:
        rows.append(("in the band %d-%d rpm" % (goals["cad_lo_rpm"], goals["cad_hi_rpm"]), "%s, %d %% of it%s" % (
            clock(whole(s.in_band_s)), whole(s.in_band_pct), _since(p, whole(s.in_band_pct), "in_band_pct"))))
    rows.append(("resistance reached", "--" if s.res_max_pct is None else "%d %% (plan %d %%, cap %d %%)" % (
        whole(s.res_max_pct), goals["res_pct"], caps["max_res_pct"])))
    rows.append(("each leg's work", "left %.1f kJ, right %.1f kJ" % (s.work_l_j / 1000, s.work_r_j / 1000)))
    rows.append(("work share (50 even)", _share_words(s, p, affected_side)))  # the work phase
    spasms = s.events.get("SPASM", 0)
    rows.append(("spasms", "none" if spasms == 0 else "%d (resistance off each time)" % spasms))
    return Results(how, headline, rows, _encouragement(how, s, p, affected_side))


def _previous(log: RideLog, session: dict) -> dict | None:
    earlier = [x for x in log.sessions(session["patient_id"]) if x["id"] < session["id"] and x["ended_at"]]
    return earlier[-1] if earlier else None


def _since(p, value, field: str, clock_delta: bool = False) -> str:
    """"; last time 4:10" style comparison with the previous session's same figure."""
    if p is None or getattr(p, field) is None:
        return ""
    before = whole(getattr(p, field))
    return "; last time %s" % (clock(before) if clock_delta else "%d %%" % before)


def _affected_share(s, side: str) -> int | None:
    share = share_whole(s)
    if share is None or side not in SIDE_WORDS:
        return None
    return share[0] if side == "left" else share[1]


def _share_words(s, p, side: str) -> str:
    share = share_whole(s)
    if share is None:
        return "-- (no work phase)"
    if side not in SIDE_WORDS:
        return "left %d %%, right %d %% (work phase)" % share
    mine = _affected_share(s, side)
    other = "left" if side == "right" else "right"
    words = "affected %s %d %%, %s %d %%" % (side, mine, other, 100 - mine)
    before = _affected_share(p, side) if p is not None else None
    if before is not None:
        words += "; last time %d %%" % before
    return words


def _encouragement(how: str, s, p, side: str) -> list[str]:
    said = []
    if how == "done":
        said.append("Well done: you finished the whole session.")
    if how in ("done", "stopped") and p is not None:
        if s.in_band_pct is not None and p.in_band_pct is not None and whole(s.in_band_pct) > whole(p.in_band_pct):
            said.append("More of your pedalling was in the band than last time.")
        mine, before = _affected_share(s, side), _affected_share(p, side)
        if mine is not None and before is not None and before < 50 and mine > before:
            said.append("Your affected %s leg did more of the work than last time." % side)
    return said
