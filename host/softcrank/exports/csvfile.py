"""CSV export: every sample as it was recorded, one row each, with a header that names units.

For spreadsheets and analysis scripts: nothing is aggregated, so the row count is the
sample count. Columns:

    rec             the record number (wraps at 2**30)
    time_s          seconds after the session's START, unwrapped (see timeline)
    device_t_s      the device's clock, as sent (wraps at 2**30 ms)
    state           the state letter (docs/protocol.md)
    cadence_rpm     signed: negative is backward pedalling
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

from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import pedal_power_w

from .timeline import timeline

__all__ = ["COLUMNS", "write_csv"]

COLUMNS = ("rec", "time_s", "device_t_s", "state", "cadence_rpm", "force_left_n", "force_right_n",
           "power_left_w", "power_right_w", "resistance_pct", "phase_left_s", "flags")


def write_csv(ridelog: RideLog, session_id: int, out: BinaryIO) -> int:
    """Write the session's samples as CSV (UTF-8, CRLF line ends as RFC 4180 has them) to a
    binary stream; returns how many rows (samples) were written.

    Rows are formatted directly rather than through the csv module, a few times faster: no
    value can need quoting (numbers, and a state letter the protocol defines), and
    test_exports reads the file back with csv.DictReader."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        text.write(",".join(COLUMNS) + "\r\n")
        count, rows = 0, []
        for s, elapsed_ms, _ in timeline(ridelog, session_id):
            left, right = pedal_power_w(s)
            rows.append(_ROW % (s.rec, elapsed_ms / 1000, s.t_ms / 1000, s.state, s.cad_drpm / 10, s.force_l_dn / 10,
                                s.force_r_dn / 10, left, right, s.res_pm / 10, s.left_s, s.flags))
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
