"""TCX export: Garmin's Training Center XML (TrainingCenterDatabase v2), written as it goes.

For tools that read TCX but not FIT. One Activity, Sport="Biking", one Lap for the session
and one Trackpoint per second that has samples (the same seconds as the FIT records, see
timeline). A Trackpoint carries its Time (UTC, ISO 8601 with milliseconds), Cadence (the
second's mean, whole rpm: the schema's Cadence is an unsignedByte) and, in Garmin's
ActivityExtension v2 (TPX), Watts: the second's mean estimated power of both pedals, whole
watts. Power is an estimate from pedal force and cadence (see fit.py and docs/host.md).

Whole numbers are rounded half up (summary.whole), as FIT and `show` round them. Backward
pedalling counts as pedalling (summary.py): its |cadence| and power go in; TCX has no
direction of pedalling, and the Notes say how long it lasted.

The Lap carries the summary's figures: TotalTimeSeconds is the riding time (the session less
its pauses, as a device's timer counts), average cadence, and in the LX extension the average
power (work / riding time), the highest trackpoint's power and the peak cadence. Distance and
Calories are required by the schema and written as 0: a stationary trainer goes nowhere, and
softcrank does not estimate energy expenditure. The Activity's Notes say what every export
says (exports.about: start, how it ended, partial or not, versions, the figures with their
phases) and what the watts are.

The XML is written element by element (text through xml.sax.saxutils.escape), never as a
tree. The schema puts the lap's totals before its trackpoints, and both come from one pass
over the samples, so the trackpoints wait in a spool (SPOOL_BYTES in memory, then a
temporary file) until the totals are known: memory stays bounded however long the session.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from datetime import datetime, timedelta
from typing import IO, BinaryIO
from xml.sax.saxutils import escape, quoteattr

from softcrank import __version__
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import CRANK_LENGTH_M, phase, summary_of, whole

from .about import About, about
from .timeline import Second, seconds, session_start

__all__ = ["write_tcx", "TCX_NS", "TPX_NS"]

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TPX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="%s" xmlns:ns3="%s"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="%s http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd">
 <Activities>
  <Activity Sport="Biking">
""" % (TCX_NS, TPX_NS, TCX_NS)
_POINT = ("     <Trackpoint><Time>%s</Time><Cadence>%d</Cadence>"
          "<Extensions><ns3:TPX><ns3:Watts>%d</ns3:Watts></ns3:TPX></Extensions></Trackpoint>\n")
_MAX_CADENCE = 254  # CadenceValue_t is an unsignedByte below 255
# Trackpoints wait in memory up to this size (about 1.5 hours at a point a second), then in a
# temporary file, until the lap's totals ahead of them are known.
SPOOL_BYTES = 1 << 20


def write_tcx(ridelog: RideLog, session_id: int, out: BinaryIO, partial: bool = False) -> int:
    """Write the session as TCX to a binary stream (UTF-8); returns the trackpoint count."""
    session = ridelog.session(session_id)
    start = session_start(session)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="\n") as track:
        points = _Track(track, start)
        seconds(ridelog, session_id, points.write)  # one pass over the samples
        s = summary_of(ridelog, session_id)  # the totals the ride log keeps
        track.seek(0)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
        try:
            _write(text, about(ridelog, session_id, s, partial), start, track, points.max_watts)
            text.flush()
        finally:
            text.detach()  # the caller owns `out`: leave it open
    return points.count


class _Track:
    """Writes each second as a Trackpoint."""

    def __init__(self, track: IO[str], start: datetime) -> None:
        self.track, self.start = track, start
        self.count = self.max_watts = 0

    def write(self, second: Second) -> None:
        watts = whole(second.power_l_w + second.power_r_w)
        self.max_watts = max(self.max_watts, watts)
        self.track.write(_POINT % (_time(self.start + timedelta(seconds=second.at_s)), _rpm(second.cadence_rpm), watts))
        self.count += 1


def _write(text: IO[str], a: About, start: datetime, track: IO[str], max_watts: int) -> None:
    s = a.summary
    work = s.work_l_j + s.work_r_j
    w = text.write
    w(_HEAD)
    w("   <Id>%s</Id>\n" % _time(start))
    w("   <Lap StartTime=%s>\n" % quoteattr(_time(start)))
    w("    <TotalTimeSeconds>%.3f</TotalTimeSeconds>\n" % s.riding_s)
    w("    <DistanceMeters>0</DistanceMeters>\n    <Calories>0</Calories>\n")
    w("    <Intensity>Active</Intensity>\n")
    if s.cadence_avg_rpm is not None:
        w("    <Cadence>%d</Cadence>\n" % _rpm(s.cadence_avg_rpm))
    w("    <TriggerMethod>Manual</TriggerMethod>\n    <Track>\n")
    shutil.copyfileobj(track, text)
    w("    </Track>\n    <Extensions><ns3:LX>")
    if s.cadence_peak_rpm is not None:
        w("<ns3:MaxBikeCadence>%d</ns3:MaxBikeCadence>" % _rpm(s.cadence_peak_rpm))
    if s.riding_s > 0:
        w("<ns3:AvgWatts>%d</ns3:AvgWatts>" % whole(work / s.riding_s))
    w("<ns3:MaxWatts>%d</ns3:MaxWatts></ns3:LX></Extensions>\n   </Lap>\n" % max_watts)
    w("   <Notes>%s</Notes>\n" % escape(_notes(a)))
    w('   <Creator xsi:type="Device_t"><Name>softcrank</Name><UnitId>0</UnitId><ProductID>0</ProductID>'
      "<Version><VersionMajor>%d</VersionMajor><VersionMinor>%d</VersionMinor></Version></Creator>\n"
      % _version())
    w("  </Activity>\n </Activities>\n</TrainingCenterDatabase>\n")


def _time(moment: datetime) -> str:
    """UTC, ISO 8601 with milliseconds and a Z, as Garmin's own files have it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _rpm(rpm: float) -> int:
    return min(whole(abs(rpm)), _MAX_CADENCE)


def _notes(a: About) -> str:
    """What every export says (exports.about), a line each, and what the watts are."""
    s = a.summary
    lines = ["softcrank session %d" % a.session_id]
    lines += ["%s: %s" % item for item in a.lines()]
    lines.append("revolutions: %d; estimated work %.1f kJ (%s). Watts are an estimate from pedal force x pedal "
                 "speed with a %.2f m crank: they overstate what a power meter would read."
                 % (whole(s.revolutions), (s.work_l_j + s.work_r_j) / 1000, phase("work"), CRANK_LENGTH_M))
    return "\n".join(lines)


def _version() -> tuple[int, int]:
    major, minor = (__version__.split(".") + ["0"])[:2]
    return int(major), int(minor)
