"""CSV export: every sample as it was recorded, one row each, under a legend and a header.

For spreadsheets and analysis scripts: nothing is aggregated, so the row count is the
sample count. The file opens with legend lines, each starting with "# ": what every export
says of the session (exports.about: start time, how it ended, versions, the figures and
their phases), every code the rows use (the state letters, the flag bits) and the session's
events with their times. Then the header row and the rows. Readers skip the legend with
`pandas.read_csv(path, comment="#")` or `csv.DictReader(l for l in f if not l.startswith("#"))`.
Columns:

    rec             the record number (wraps at 2**30)
    time_s          seconds after the session's START, unwrapped (see timeline)
    device_t_s      the device's clock, as sent (wraps at 2**30 ms)
    state           the state letter (docs/protocol.md)
    cadence_rpm     signed: negative is backward pedalling (the only export that keeps the sign)
    force_left_n, force_right_n     pedal force, newtons
    power_left_w, power_right_w     estimated pedal power, watts (summary.pedal_power_w)
    resistance_pct  the brake, % of its range
    phase_left_s    seconds left in the phase
    flags           the telemetry flag bits

Numbers are written with the device's resolution (0.1 for cadence, force and resistance,
1 ms for times) and power to 0.01 W, so nothing measured is rounded away.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from softcrank_fw import protocol as P

from softcrank.clinical.words import EVENT_WORDS, event_line
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import summary_of

from .about import about
from .timeline import Clock, start_t_ms, timed_rows

__all__ = ["COLUMNS", "LEGEND_PREFIX", "legend", "write_csv"]

COLUMNS = ("rec", "time_s", "device_t_s", "state", "cadence_rpm", "force_left_n", "force_right_n",
           "power_left_w", "power_right_w", "resistance_pct", "phase_left_s", "flags")
LEGEND_PREFIX = "# "
_UNITS = {"rec": "the record number (wraps at 2**30)", "time_s": "seconds after the session's START",
          "device_t_s": "the trainer's clock, s (wraps at 2**30 ms)", "state": "the state letter (below)",
          "cadence_rpm": "rpm, signed: negative is backward pedalling",
          "force_left_n": "left pedal force, N (negative: the foot lifts the pedal)",
          "force_right_n": "right pedal force, N", "power_left_w": "estimated left pedal power, W (docs/host.md)",
          "power_right_w": "estimated right pedal power, W", "resistance_pct": "the brake, % of its range",
          "phase_left_s": "seconds left in the phase", "flags": "the sum of the flag bits (below)"}
_FLAGS = ((P.FLAG_OVERSPEED, "cadence above the cap"), (P.FLAG_HOST_SILENT, "the laptop has been silent"),
          (P.FLAG_RAMPING, "resistance held back by the ramp limiter"), (P.FLAG_IN_BAND, "cadence in the target band"))


def legend(ridelog: RideLog, session_id: int, partial: bool = False) -> list[str]:
    """The legend lines, without their prefix."""
    lines = ["softcrank CSV export, one row per sample"]
    lines += ["%s: %s" % item for item in about(ridelog, session_id, summary_of(ridelog, session_id), partial).lines()]
    lines += ["column %s: %s" % (name, _UNITS[name]) for name in COLUMNS]
    lines += ["state %s: %s" % item for item in zip(P.STATES, P.STATE_NAMES)]
    lines += ["flag %d: %s" % item for item in _FLAGS]
    events = ridelog.events(session_id)
    clock = Clock(start_t_ms(ridelog, session_id))
    lines += ["event %s: %s" % (name, EVENT_WORDS[name]) for name in sorted({e.event for e in events})
              if name in EVENT_WORDS]
    for e in events:
        lines.append("at %.3f s: %s (rec %d, %s %d)" % (clock(e) / 1000, event_line({"event": e.event, "arg": e.arg}, 0)
                                                        .split(">> ", 1)[1], e.rec, e.event, e.arg))
    return lines


def write_csv(ridelog: RideLog, session_id: int, out: BinaryIO, partial: bool = False) -> int:
    """Write the session's samples as CSV (UTF-8, CRLF line ends as RFC 4180 has them) to a
    binary stream; returns how many rows (samples) were written.

    Rows are formatted directly rather than through the csv module, a few times faster: no
    value can need quoting (numbers, and a state letter the protocol defines), and
    test_exports reads the file back with csv.DictReader."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        text.write("".join("%s%s\r\n" % (LEGEND_PREFIX, line) for line in legend(ridelog, session_id, partial)))
        text.write(",".join(COLUMNS) + "\r\n")
        count, rows = 0, []
        row, append = _ROW, rows.append
        for (rec, t_ms, state, cad, force_l, force_r, res, left_s, flags), elapsed_ms, _, left, right in timed_rows(
                ridelog, session_id):
            append(row % (rec, elapsed_ms / 1000, t_ms / 1000, state, cad / 10, force_l / 10, force_r / 10, left, right,
                          res / 10, left_s, flags))
            if len(rows) == _ROWS_PER_WRITE:
                count += len(rows)
                text.write("".join(rows))
                rows.clear()
        count += len(rows)
        text.write("".join(rows))
        text.flush()
    finally:
        text.detach()  # the caller owns `out`: leave it open
    return count


_ROW = "%d,%.3f,%.3f,%s,%.1f,%.1f,%.1f,%.2f,%.2f,%.1f,%d,%d\r\n"
_ROWS_PER_WRITE = 1000
