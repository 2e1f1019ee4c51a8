"""The next small step of a patient's plan, proposed from the last sessions, with its reason.

CLINICAL.md's rule is "start small, build up slowly, never overdo it". This module is the one
place the software turns it into a proposal; a therapist accepts, edits or declines it, and the
decision goes into the audit trail (store/auth.py, action "progression"). It never changes a
plan by itself, and it never proposes past the caps: raising a cap stays the therapist's act.

The rule (docs/user-guide.md, "Proposals to build up", gives the evidence):

- look at the last RULE_SESSIONS sessions ridden on the current plan (the goals a session
  stored at its start equal the plan's): fewer than that, and there is nothing to propose;
- every one of them completed (summary.ending says "done": not stopped, e-stopped, a fault or a lost link),
  spent at least IN_BAND_MIN_PCT of its pedalling time in the cadence band, and had no spasm
  (no SPASM event, no spasm rest): one spasm pause and the proposal waits;
- the symmetry did not get worse: the last session's imbalance (|symmetry index|) is at most
  SYMMETRY_SLACK_PTS above the first one's of the window;
- then exactly one step: work time + DUR_STEP_MIN minutes if the caps allow more work time,
  otherwise resistance + RES_STEP_PTS points if the resistance cap allows it, each cut to what
  the caps allow. At the caps, nothing is proposed and the reason says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from softcrank_fw.limits import Caps, Goals

from ..store.records import CAP_NAMES, GOAL_NAMES

__all__ = ["DECISIONS", "decide", "decisions", "propose_for", "DUR_STEP_MIN", "IN_BAND_MIN_PCT", "RES_STEP_PTS", "RULE_SESSIONS", "SYMMETRY_SLACK_PTS", "Ridden",
           "Proposal", "propose", "ridden_from"]

RULE_SESSIONS = 3  # three in a row: one good day is not a trend, a week of three sessions is
IN_BAND_MIN_PCT = 80  # "completed in the band": four fifths of the pedalling time at the planned cadence
SYMMETRY_SLACK_PTS = 5  # points of symmetry index a session may differ from another by chance
DUR_STEP_MIN = 2  # the step in work time: 2 minutes is 20 % of the default 10-minute plan
RES_STEP_PTS = 5  # the step in resistance: 5 points of the brake's range


@dataclass(frozen=True)
class Ridden:
    """What the rule reads of one session (its figures come from clinical/summary)."""

    session_id: int
    goals: dict  # the plan in force when it started
    ended: str  # how it ended, one of summary.ENDINGS: "done" when the trainer ended it by itself
    in_band_pct: float | None
    spasms: int  # SPASM events
    rest_s: float  # time in spasm rests
    symmetry_index: float | None  # (L - R) / mean x 100, work phase


@dataclass(frozen=True)
class Proposal:
    """The rule's answer: `after` is None when nothing is proposed; `reason` says why, in words."""

    before: dict
    after: dict | None
    reason: str

    @property
    def changes(self) -> list[str]:
        """The step in words, e.g. ["work time 10 -> 12 min"]."""
        if self.after is None:
            return []
        return ["%s %d -> %d %s" % (_LABELS[name][0], self.before[name], self.after[name], _LABELS[name][1])
                for name in GOAL_NAMES if self.before[name] != self.after[name]]


_LABELS = {"dur_min": ("work time", "min"), "cad_lo_rpm": ("cadence band low end", "rpm"),
           "cad_hi_rpm": ("cadence band high end", "rpm"), "res_pct": ("resistance", "%")}


def ridden_from(session: dict, summary, ended: str) -> Ridden:
    """A Ridden from a ride log session (store/sessions), its Summary and its ending (clinical/summary)."""
    return Ridden(session_id=session["id"], goals=dict(session["goals"]), ended=ended,
                  in_band_pct=summary.in_band_pct, spasms=summary.events.get("SPASM", 0), rest_s=summary.rest_s,
                  symmetry_index=summary.symmetry_index)


def propose(history: list[Ridden], plan: dict, caps: dict) -> Proposal:
    """The next step of `plan` (the goals by name) under `caps` (the limits by name), from
    `history` (the patient's sessions, oldest first)."""
    plan = {name: plan[name] for name in GOAL_NAMES}
    on_plan = [r for r in history if r.goals == plan]
    if len(on_plan) < RULE_SESSIONS:
        return Proposal(plan, None, "Not yet: %d of the %d sessions the rule needs were ridden on this plan."
                        % (len(on_plan), RULE_SESSIONS))
    window = on_plan[-RULE_SESSIONS:]
    for r in window:
        why = _not_good(r)
        if why:
            return Proposal(plan, None, "Not now: session %d %s." % (r.session_id, why))
    first, last = window[0].symmetry_index, window[-1].symmetry_index
    if first is not None and last is not None and abs(last) > abs(first) + SYMMETRY_SLACK_PTS:
        return Proposal(plan, None, "Not now: the legs grew less even (imbalance %.0f -> %.0f points)."
                        % (abs(first), abs(last)))
    held = _held(caps)
    step = dict(plan)
    step["dur_min"] = plan["dur_min"] + DUR_STEP_MIN
    after = _within(step, held)
    if after.get("dur_min", 0) > plan["dur_min"]:
        what = "work time"
    else:
        step = dict(plan)
        step["res_pct"] = plan["res_pct"] + RES_STEP_PTS
        after = _within(step, held)
        what = "resistance"
        if after.get("res_pct", 0) <= plan["res_pct"]:
            return Proposal(plan, None, "The plan is at the caps (work time and resistance): only the therapist "
                            "can raise the caps.")
    return Proposal(plan, after, "The last %d sessions were completed, at least %d %% in the band, with no spasm "
                    "pause and the legs no less even: one step in %s." % (RULE_SESSIONS, IN_BAND_MIN_PCT, what))


def _not_good(r: Ridden) -> str:
    if r.ended != "done":
        return "was not completed (%s)" % r.ended
    if r.spasms or r.rest_s > 0:
        return "had a spasm pause"
    if r.in_band_pct is None or r.in_band_pct < IN_BAND_MIN_PCT:
        return "was under %d %% in the cadence band" % IN_BAND_MIN_PCT
    return ""


def _held(caps: dict) -> Caps:
    held = Caps()
    held.set([caps[name] for name in CAP_NAMES])
    return held


def _within(goals: dict, caps: Caps) -> dict:
    """The goals the trainer would hold under these caps (the firmware's own clamp)."""
    held = Goals(caps)
    if held.set([goals[name] for name in GOAL_NAMES], caps):
        return {}  # past the goals' own limits: no step
    return dict(zip(GOAL_NAMES, held.values))


DECISIONS = ("accepted", "edited", "declined")


def propose_for(log, patient_id: int) -> Proposal:
    """The rule over the patient's ride log: the current plan, the caps, the sessions' summaries.
    Reads samples: call it from a worker, not the UI thread."""
    from .summary import ending, summary_of

    plan = log.current_plan(patient_id)["goals"]
    sessions = log.sessions(patient_id)
    on_plan = [s for s in sessions if s["goals"] == plan and s["ended_at"] is not None][-RULE_SESSIONS:]
    history = [ridden_from(s, summary_of(log, s["id"]), ending(s, log.events(s["id"]))) for s in on_plan]
    return propose(history, plan, log.current_caps(patient_id))


def decide(log, patient_id: int, proposal: Proposal, decision: str, by: str, goals: dict | None = None,
           sessions_per_week: int | None = None) -> str:
    """The therapist's answer to a proposal, logged in the audit trail (action "progression");
    "accepted" sets the proposed plan, "edited" sets `goals` (checked against the caps like any
    plan), "declined" changes nothing; `sessions_per_week` (edited): None keeps the plan's.
    Returns the outcome in words."""
    if decision not in DECISIONS:
        raise ValueError("a decision is one of %s, got %r" % (", ".join(DECISIONS), decision))
    if proposal.after is None and decision != "declined":
        raise ValueError("there is no proposal to %s: %s" % (decision[:-1], proposal.reason))
    plan = log.current_plan(patient_id)
    new = {"accepted": proposal.after, "edited": goals, "declined": None}[decision]
    if decision == "edited" and not isinstance(goals, dict):
        raise ValueError("an edited proposal needs the goals the therapist chose")
    detail = "proposed %s; %s" % ("; ".join(proposal.changes) or "nothing", proposal.reason)
    if new is not None:
        per_week = plan["sessions_per_week"] if sessions_per_week is None else sessions_per_week
        log.set_plan(patient_id, new, per_week, by)  # refuses goals past the caps
        detail += "; set " + ", ".join("%s %d" % (_LABELS[n][0], new[n]) for n in GOAL_NAMES)
    log.audit("progression", decision, patient_id, None, detail)
    return {"accepted": "The plan now takes the proposed step.", "edited": "The plan now holds your edited step.",
            "declined": "The plan is unchanged; the proposal was declined."}[decision]


def decisions(log, patient_id: int) -> list[dict]:
    """The progression decisions for a patient, oldest first (from the audit trail)."""
    return [row for row in log.audit_trail() if row["action"] == "progression" and row["patient_id"] == patient_id]
