"""A fixed session, the same bytes every time: the export byte-for-byte test's input.

Every kind of thing an export must get right is in it: three telemetry rates (50, 10 and
1 Hz), every riding state and a pause, backward pedalling, a foot lifting a pedal (negative
force), the in-band flag, records lost (a gap), the device clock wrapping at 2**30 ms, a
spasm, and a start record that is not 0. Built with RideLog from frames, the way the link
stores them, under a fixed clock, so the ride log's timestamps never change.
"""

from softcrank.frames import Frame
from softcrank.store.ridelog import RideLog
from softcrank_fw import protocol as P

CAPS = [30, 60, 40, 250, 5, 60, 60, 250]
GOALS = [20, 10, 30, 15]
START_REC = 1000
T0_MS = P.REC_MODULO - 300_000  # the device clock wraps five minutes into the ride
_T_NAMES = [name for name, _ in P.DEVICE_MESSAGES["T"]]
_E_NAMES = [name for name, _ in P.DEVICE_MESSAGES["E"]]


def _stretches():
    """(seconds, period_ms, state, cadence drpm, left dN, right dN, resistance pm, flags) per stretch."""
    return [
        (60, 20, "U", 180, 600, 420, 50, 0),
        (120, 20, "W", 233, 1310, 870, 215, P.FLAG_IN_BAND),
        (30, 100, "W", -97, 410, -35, 180, 0),  # backward, the right foot lifting its pedal
        (20, 100, "R", 0, 0, 0, 0, 0),
        (40, 100, "P", 0, 12, 7, 0, 0),
        (300, 100, "W", 251, 1404, 1122, 333, P.FLAG_IN_BAND | P.FLAG_RAMPING),
        (90, 1000, "W", 147, 990, 1003, 412, P.FLAG_OVERSPEED),
        (60, 20, "C", 121, 305, 298, 0, P.FLAG_IN_BAND),
    ]


def frames():
    rec, t = START_REC, T0_MS
    out = [_e(rec, t, "U", "START", 0)]
    for n, (seconds, period, state, cad, left, right, res, flags) in enumerate(_stretches()):
        if state == "R":
            rec += 1
            out.append(_e(rec, t, "R", "SPASM", 1))
        for i in range(seconds * 1000 // period):
            rec += 1
            wobble = (i * 37 + n * 11) % 29 - 14  # the numbers move a little, as a rider does
            out.append(_t(rec, t, state, cad + wobble, left + 7 * wobble, right - 5 * wobble, max(res + wobble, 0),
                          max(seconds - i * period // 1000, 0), flags))
            t += period
    rec += 1
    out.append(_e(rec, t, "D", "DONE", 0))
    lost = set(range(START_REC + 4000, START_REC + 4077))  # 77 records the link never got
    return [f for f in out if f["rec"] not in lost]


def _t(rec, t, *values):
    return Frame("T", rec % P.SEQ_MODULO, dict(zip(_T_NAMES, [rec % P.REC_MODULO, t % P.REC_MODULO, *values])))


def _e(rec, t, *values):
    return Frame("E", rec % P.SEQ_MODULO, dict(zip(_E_NAMES, [rec % P.REC_MODULO, t % P.REC_MODULO, *values])))


def build(path, batch=50) -> int:
    """The fixed session in a new ride log at `path`; returns its id."""
    with RideLog(path, clock=lambda: "2026-11-20T09:15:42.250+00:00") as log:
        patient = log.add_patient("Fixed F", "right")
        session = log.start_session(patient, "dev-fixed", START_REC, GOALS, CAPS, firmware="1.2.3", protocol=2)
        all_frames = frames()
        for i in range(0, len(all_frames), batch):
            log.add_records(session, all_frames[i:i + batch])
        log.end_session(session, "D")
    return session
