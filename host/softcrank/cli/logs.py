"""The ride log on the command line: patients, sessions, one session's summary, exports.

Each function takes an open RideLog and the parsed arguments, prints for a person (or JSON
for a program) and returns the exit status. Bad input (an unknown patient or session, an
export of an empty session) is a clear message and exit status 2; nothing is written except
by `patients --add` and an export to -o FILE.
"""

from __future__ import annotations

import json
import os
import sys
from typing import BinaryIO, TextIO

from .. import exports
from ..clinical.report import ended, session_report
from ..store.ridelog import RideLog, RideLogError


class NotFound(RideLogError):
    pass


def find_patient(log: RideLog, key: str) -> dict:
    """A patient by id or by name (any case)."""
    for patient in log.patients():
        if str(patient["id"]) == key or patient["name"].lower() == key.lower():
            return patient
    raise NotFound("no patient %r: `softcrank patients` lists them" % key)


def patients(log: RideLog, args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.add:
        pid = log.add_patient(args.add, args.side, args.notes or "")
        print("added patient %d: %s (affected side: %s)" % (pid, args.add, args.side), file=out)
        return 0
    rows = log.patients()
    if not rows:
        print("no patients yet: softcrank patients --add NAME --side left|right|both|none", file=out)
    for p in rows:
        print("%4d  %-24s %-6s %s" % (p["id"], p["name"], p["affected_side"], p["notes"] or ""), file=out)
    return 0


def sessions(log: RideLog, args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    patient_id = find_patient(log, args.patient)["id"] if args.patient else None
    rows = log.sessions(patient_id)
    if args.json:
        json.dump(rows, out, indent=1, default=str)
        out.write("\n")
        return 0
    names = {p["id"]: p["name"] for p in log.patients()}
    if not rows:
        print("no sessions yet", file=out)
    for s in rows:
        print("%4d  %-20s %-24s %s" % (s["id"], s["started_at"][:19].replace("T", " "), names.get(s["patient_id"], "?"),
                                       ended(s, log)), file=out)
    return 0


def _session(log: RideLog, key: str) -> dict:
    try:
        return log.session(int(key))
    except (ValueError, OverflowError, RideLogError):  # OverflowError: beyond SQLite's 64-bit integers
        raise NotFound("no session %r: `softcrank sessions` lists them" % key) from None


def show(log: RideLog, args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    session = _session(log, args.session)
    for text in session_report(log, session).lines():
        print(text, file=out)
    return 0


def export(log: RideLog, args, out: BinaryIO | None = None) -> int:
    """`softcrank export`: one session as CSV, FIT or TCX (exports says what each carries),
    to -o FILE (written atomically) or to standard output, which takes FIT only if it is not
    a terminal."""
    session = _session(log, args.session)
    partial = getattr(args, "partial", False)
    if args.output:
        count = exports.export_file(log, session["id"], args.format, args.output, partial)
        print("wrote %d %s of session %d to %s" % (count, _UNITS[args.format], session["id"], args.output),
              file=sys.stderr)
        return 0
    if out is None:
        sys.stdout.flush()
        out = sys.stdout.buffer
        if args.format == "fit" and sys.stdout.isatty():
            raise exports.ExportError("a FIT file is binary, not for a terminal: give -o FILE (or redirect the output)")
    try:
        exports.export(log, session["id"], args.format, out, partial)
        out.flush()
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs advise
    return 0


def report(log: RideLog, args, out: TextIO | None = None) -> int:
    """`softcrank report`: one patient's printable HTML page (clinical/patient_report), written
    whole to a temporary file beside FILE, then renamed: a failed run leaves no half a page."""
    from ..clinical.patient_report import patient_report

    if args.weeks is not None and args.weeks < 1:
        raise ValueError("--weeks must be 1 or more, got %d" % args.weeks)
    patient = find_patient(log, args.patient)
    page = patient_report(log, patient, args.weeks)
    target = os.path.abspath(args.output)
    tmp = target + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, target)
    print("wrote the report of %s to %s" % (patient["name"], args.output), file=sys.stderr)
    return 0


_UNITS = {"csv": "samples", "fit": "one-second records", "tcx": "one-second trackpoints"}
