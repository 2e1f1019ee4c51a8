"""Exports of one ride-log session to the file formats other tools read: CSV, FIT, TCX.

One module per format, one job each (csvfile, fit, tcx); timeline says when each sample
happened and makes the one-point-a-second view that FIT and TCX carry. Every writer reads the
samples lazily from the ride log and writes as it goes (FIT through the SDK's in-memory
encoder, one record a second), so a 2-hour 50 Hz session never sits in memory as objects.

`export()` writes to a binary stream; `export_file()` writes a file atomically: into a
temporary file beside it, then renamed over it, so a failed export never leaves half a file
and an existing file is only replaced by a complete one. The temporary file is named
`.NAME.PID.RANDOM.part`; an export killed before it could remove its own leaves one, so every
export first removes the ones of NAME in the same folder whose process is gone (and the older
`.NAME.RANDOM.part` ones, from before the PID was in the name). `-o` on a symbolic link writes
through it: the file the link points to is replaced, the link stays. A write that fails names
the user's path, never the temporary file. Both check first that there is
something to export: an unknown session, an empty one as FIT or TCX (both formats need
at least one record), or a session still in progress without `partial=True` (the file would
look complete), is an ExportError before anything is written. A partial export says so in the
file (exports.about). Every export says when the session started, how it ended, which
firmware, protocol and softcrank made it, and the session's figures with their phases.

A stream that may write short (an unbuffered raw file, a pipe) gets a buffer that writes all
or raises: a full disk is an OSError, never a truncated file that looks whole.
"""

from __future__ import annotations

import glob
import io
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from softcrank.store.ridelog import RideLog, RideLogError

from .csvfile import write_csv
from .fit import write_fit
from .tcx import write_tcx

__all__ = ["FORMATS", "ExportError", "export", "export_file"]

# Each format's writer: (ridelog, session_id, binary stream, partial) -> rows, records or trackpoints written.
FORMATS: dict[str, Callable[[RideLog, int, BinaryIO, bool], int]] = {"csv": write_csv, "fit": write_fit,
                                                                     "tcx": write_tcx}


class ExportError(Exception):
    """Nothing to export, or not in that format; nothing was written."""


def check(ridelog: RideLog, session_id: int, fmt: str, partial: bool = False) -> None:
    """Raise ExportError unless the session exists and can be written in `fmt`."""
    if fmt not in FORMATS:
        raise ExportError("unknown export format %r: one of %s" % (fmt, ", ".join(FORMATS)))
    try:
        session = ridelog.session(session_id)
    except RideLogError as exc:
        raise ExportError("%s: `softcrank sessions` lists them" % exc) from None
    if session["ended_at"] is None and not partial:
        raise ExportError("session %d is still in progress: export it once it has ended, or give --partial for "
                          "what is stored so far (the file then says it is partial)" % session_id)
    if fmt != "csv" and next(iter(ridelog.samples(session_id)), None) is None:
        raise ExportError("session %d has no samples: a %s file needs at least one record (CSV export "
                          "writes the header alone)" % (session_id, fmt.upper()))


def export(ridelog: RideLog, session_id: int, fmt: str, out: BinaryIO, partial: bool = False) -> int:
    """Write one session in `fmt` to a binary stream; returns the rows, records or
    trackpoints written. Raises ExportError (nothing written) if there is nothing to export,
    OSError if the stream does not take it all."""
    check(ridelog, session_id, fmt, partial)
    if not isinstance(out, io.RawIOBase):
        return FORMATS[fmt](ridelog, session_id, out, partial)
    whole = io.BufferedWriter(out)  # writes all it is given, or raises
    try:
        count = FORMATS[fmt](ridelog, session_id, whole, partial)
        whole.flush()
    finally:
        whole.detach()  # the caller owns `out`: leave it open
    return count


def export_file(ridelog: RideLog, session_id: int, fmt: str, path: str | os.PathLike, partial: bool = False) -> int:
    """export() into a file, atomically (see the module docstring). An unwritable path raises
    OSError naming `path`, and leaves nothing behind."""
    check(ridelog, session_id, fmt, partial)
    given = Path(path)
    path = Path(os.path.realpath(given)) if given.is_symlink() else given  # through the link, not over it
    remove_leftovers(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=".%s.%d." % (path.name, os.getpid()), suffix=".part", dir=path.parent)
    except OSError as e:
        raise OSError(e.errno, "cannot write %s: %s" % (given, e.strerror or e)) from None
    try:
        with os.fdopen(fd, "wb") as file:
            count = FORMATS[fmt](ridelog, session_id, file, partial)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private; an export is an ordinary file
        os.replace(temp, path)
    except BaseException as e:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise OSError(e.errno, "cannot write %s: %s" % (given, e.strerror or e)) from None
        raise
    return count


_LEFTOVER = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.part$")


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary files that earlier exports to `path` left when they were killed:
    `.NAME.PID.RANDOM.part` whose process is gone, and `.NAME.RANDOM.part` from before the PID
    was in the name. Returns what was removed; one that cannot be removed is left."""
    removed = []
    try:
        candidates = list(path.parent.glob(".%s.*.part" % glob.escape(path.name)))
    except OSError:
        return removed
    for temp in candidates:
        match = _LEFTOVER.match(temp.name)
        if match is None or match["name"] != path.name:
            continue
        if match["pid"] is not None and _alive(int(match["pid"])):
            continue  # another export of the same file, running now
        try:
            temp.unlink()
            removed.append(temp)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not writing it yet: a leftover of a run that had our PID
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
