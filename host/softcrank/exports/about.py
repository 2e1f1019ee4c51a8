"""What every export says about its session besides the samples, in one place.

When it started (UTC), how it ended (summary.ENDINGS), whether the file is partial (the
session was still in progress: `softcrank export --partial`), the trainer's firmware and
protocol versions and the softcrank that recorded it (from the ride log, empty for sessions
recorded before schema 6), the softcrank that wrote the file, and the session's figures, each
with the phase it covers (summary.PHASES), rounded with summary.whole: the same figures, read
the same way, as `softcrank show`. CSV writes these lines in its header, TCX in the Activity's
Notes, FIT in the session's developer fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from softcrank import __version__
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import PHASE_MEANS, Summary, ending, phase, share_whole, whole

from .timeline import session_start

__all__ = ["About", "about"]

UNKNOWN = "unknown (recorded before softcrank kept it)"


@dataclass(frozen=True)
class About:
    session_id: int
    device_id: str
    started: datetime  # UTC, whole seconds
    ending: str  # one of summary.ENDINGS
    partial: bool  # exported while in progress
    firmware: str | None
    protocol: int | None
    recorded_by: str | None  # softcrank's version when the session was recorded
    exported_by: str
    summary: Summary

    @property
    def ended(self) -> str:
        """How the ride ended, and for a partial export that it is one."""
        if self.partial:
            return "in progress (partial export: what the ride log held when exported)"
        return self.ending

    def lines(self) -> list[tuple[str, str]]:
        """(name, value) for a person: what every export states about the session."""
        s = self.summary
        share = share_whole(s)
        cadence = ("--" if s.cadence_avg_rpm is None
                   else "%.1f rpm (%d whole)" % (s.cadence_avg_rpm, whole(s.cadence_avg_rpm)))
        return [
            ("session", "%d on trainer %s" % (self.session_id, self.device_id)),
            ("started", self.started.strftime("%Y-%m-%dT%H:%M:%SZ")),
            ("ended", self.ended),
            ("firmware", self.firmware or UNKNOWN),
            ("protocol", UNKNOWN if self.protocol is None else str(self.protocol)),
            ("recorded by", "softcrank " + self.recorded_by if self.recorded_by else UNKNOWN),
            ("exported by", "softcrank " + self.exported_by),
            ("riding time", "%.3f s (%s)" % (s.riding_s, PHASE_MEANS["riding"])),
            ("average cadence", "%s (%s)" % (cadence, phase("cadence"))),
            ("time in band", "%.1f s%s (%s)" % (s.in_band_s, "" if s.in_band_pct is None else
                                                ", %d %%" % whole(s.in_band_pct), phase("in_band"))),
            ("share of the work", "%s (%s)" % ("left %d %%, right %d %%" % share if share else "--",
                                               phase("share"))),
            ("symmetry index", "%s (%s)" % ("--" if s.symmetry_index is None else "%+.1f %%" % s.symmetry_index,
                                            phase("symmetry"))),
            ("backward pedalling", "%.1f s, counted as pedalling (|cadence|, its power in the work)" % s.backward_s),
        ]


def about(ridelog: RideLog, session_id: int, summary: Summary, partial: bool = False) -> About:
    session = ridelog.session(session_id)
    return About(session_id=session_id, device_id=session["device_id"], started=session_start(session),
                 ending=ending(session, ridelog.events(session_id)), partial=partial and session["ended_at"] is None,
                 firmware=session.get("firmware"), protocol=session.get("protocol"),
                 recorded_by=session.get("app_version"), exported_by=__version__, summary=summary)
