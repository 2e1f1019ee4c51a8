"""Exports of one ride-log session to the file formats other tools read: CSV, FIT, TCX.

One module per format, one job each (csvfile, fit, tcx); timeline says when each sample
happened and makes the one-point-a-second view that FIT and TCX carry. Every writer reads the
samples lazily from the ride log and writes as it goes (FIT through the SDK's in-memory
encoder, one record a second), so a 2-hour 50 Hz session never sits in memory as objects.

`export()` writes to a binary stream; `export_file()` writes a file atomically: into a
temporary file beside it, then renamed over it, so a failed export never leaves half a file
and an existing file is only replaced by a complete one. Both check first that there is
something to export: an unknown session, or an empty one as FIT or TCX (both formats need
at least one record), is an ExportError before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from softcrank.store.ridelog import RideLog, RideLogError

from .csvfile import write_csv
from .fit import write_fit
from .tcx import write_tcx

__all__ = ["FORMATS", "ExportError", "export", "export_file"]

# Each format's writer: (ridelog, session_id, binary stream) -> rows, records or trackpoints written.
FORMATS: dict[str, Callable[[RideLog, int, BinaryIO], int]] = {"csv": write_csv, "fit": write_fit, "tcx": write_tcx}


class ExportError(Exception):
    """Nothing to export, or not in that format; nothing was written."""


def check(ridelog: RideLog, session_id: int, fmt: str) -> None:
    """Raise ExportError unless the session exists and can be written in `fmt`."""
    if fmt not in FORMATS:
        raise ExportError("unknown export format %r: one of %s" % (fmt, ", ".join(FORMATS)))
    try:
        ridelog.session(session_id)
    except RideLogError as exc:
        raise ExportError("%s: `softcrank sessions` lists them" % exc) from None
    if fmt != "csv" and next(iter(ridelog.samples(session_id)), None) is None:
        raise ExportError("session %d has no samples: a %s file needs at least one record (CSV export "
                          "writes the header alone)" % (session_id, fmt.upper()))


def export(ridelog: RideLog, session_id: int, fmt: str, out: BinaryIO) -> int:
    """Write one session in `fmt` to a binary stream; returns the rows, records or
    trackpoints written. Raises ExportError (nothing written) if there is nothing to export."""
    check(ridelog, session_id, fmt)
    return FORMATS[fmt](ridelog, session_id, out)


def export_file(ridelog: RideLog, session_id: int, fmt: str, path: str | os.PathLike) -> int:
    """export() into a file, atomically (see the module docstring). An unwritable path raises
    OSError, and leaves nothing behind."""
    check(ridelog, session_id, fmt)
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=".%s." % path.name, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            count = FORMATS[fmt](ridelog, session_id, file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private; an export is an ordinary file
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    return count


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
