"""FIT export: a Garmin FIT activity file, written with Garmin's own FIT SDK (garmin-fit-sdk).

For training platforms and the apps patients already use (Garmin Connect, Strava, Golden
Cheetah...). The file is an activity: file_id, device_info (softcrank as the creator), a
timer start event, one record per second (see timeline), a timer stop and start around each
pause, a timer stop, then one lap, one session and the activity message. Sport: cycling,
sub-sport indoor_cycling.

Each record carries:
- cadence: the second's mean |cadence| in whole rpm, rounded half up (summary.whole) as TCX
  and `show` round it; whole rpm is too coarse for riders at 5-30 rpm, so the developer field
  exact_cadence carries the mean itself. (FIT's fractional_cadence is not used: FIT adds it to
  a cadence rounded down, and tools that ignore it would show 19 where TCX shows 20.);
- power: the second's mean estimated power of both pedals, whole watts;
- left_right_balance: FIT's encoding, the 0x80 bit set ("right") and the right pedal's share
  of that power in % in the low 7 bits; absent when there is no power;
- accumulated_power (joules, FIT's "watts" unit) and total_cycles: the running work and
  revolutions, rounded, so the last record holds the session's totals;
- resistance: the brake, 0..254 of its range (FIT's relative scale);
- developer fields left_pedal_force and right_pedal_force (N, the second's mean as measured):
  per-leg force matters more than power in foot-drop rehab, and FIT has no field for it.
Backward pedalling counts as pedalling (summary.py): its |cadence| and its power go in. FIT
has no direction of pedalling; the session's backward_pedalling_time says how long it was.
The session also carries developer fields, named with the phase they cover (summary.PHASES):
work_phase_symmetry_index, work_phase_left_share and work_phase_right_share (%),
pedalling_avg_exact_cadence (rpm), pedalling_time_in_band and backward_pedalling_time (s);
and what every export says (exports.about): ride_end (done, stopped, e-stop, fault, link lost,
or "in progress (partial export...)"), trainer_firmware, trainer_protocol, and
recorded_by_softcrank. device_info's software_version is the exporting softcrank's version.

Power is an estimate: the trainer has no power meter. Each pedal's power is its force times
its speed along the pedal circle: P = F x 2 x pi x CRANK_LENGTH_M x rpm / 60, with
CRANK_LENGTH_M = 0.17 m (summary.py; the device does not report its crank). The load cell
measures the whole force on the pedal, and only its tangential part turns the crank, so this
overstates the power, the same way for both legs: good for the left/right balance and for
comparing sessions on one trainer, not for comparing with a real power meter. Outside the
pedalling phases (warm-up, work, cool-down) power counts as zero, as in the summary's work.

Lap and session carry the summary's figures (softcrank show): elapsed time (START to the end
event), timer time (riding: the session less its pauses), revolutions, average and peak
cadence (whole rpm, half up), total work (J), average power (work / timer time), the highest
record's power, and the left/right balance: the work phase's share, as `show` has it (0x8000
set, right share x 100).

The SDK's encoder builds the file in memory (the header holds its size): at one record a
second, about 27 bytes a second, 0.2 MB for a 2-hour session, whatever the sample rate.
"""

from __future__ import annotations

import math
import uuid
import zlib
from datetime import datetime, timezone
from typing import BinaryIO

from garmin_fit_sdk import FIT_EPOCH_S, Encoder, Profile

from softcrank import __version__
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import summary_of, whole

from .about import About, about
from .timeline import Second, seconds, session_start

__all__ = ["write_fit"]

_MESG = Profile["mesg_num"]
# A field_description's fit_base_type_id is the FIT profile's fit_base_type value (float32 is
# 136, 0x88: the 0x80 bit says "multi-byte, mind the endianness"), not the SDK's BASE_TYPE
# index (8 for float32). Garmin's decoder masks the value, so either decodes there; fitdecode
# and fitparse look the profile value up, and 8 is not one (KeyError: 8).
FIT_BASE_TYPE = {name: value for value, name in Profile["types"]["fit_base_type"].items()}

# Developer fields: what FIT has no field for. Per-leg force and the symmetry matter most to a
# therapist (CLINICAL.md); the exact cadence, because FIT's own is whole rpm; and what every
# export says of its session (exports.about): how it ended, the versions, the figures with the
# phase each covers in the field's name. Tools that show developer data (Golden Cheetah's
# XDATA, fitdecode, fitparse, Garmin's SDKs) read them by name and unit.
(FORCE_LEFT, FORCE_RIGHT, SYMMETRY_INDEX, CADENCE, AVG_CADENCE, SHARE_LEFT, SHARE_RIGHT, TIME_IN_BAND, BACKWARD,
 RIDE_END, FIRMWARE, PROTOCOL, RECORDED_BY) = range(13)
_APP_ID = list(uuid.uuid5(uuid.NAMESPACE_URL, "softcrank:fit-developer-fields").bytes)  # fixed: one app
_DEVELOPER_DATA_ID = {"mesg_num": _MESG["DEVELOPER_DATA_ID"], "application_id": _APP_ID,
                      "application_version": 1, "developer_data_index": 0}


def _field(number: int, name: str, units: str, mesg: str, base_type: str = "float32") -> dict:
    return {"developer_data_id_mesg": _DEVELOPER_DATA_ID,
            "field_description_mesg": {"mesg_num": _MESG["FIELD_DESCRIPTION"], "developer_data_index": 0,
                                       "field_definition_number": number,
                                       "fit_base_type_id": FIT_BASE_TYPE[base_type],
                                       "field_name": name, "units": units, "native_mesg_num": _MESG[mesg]}}


DEVELOPER_FIELDS = {
    FORCE_LEFT: _field(FORCE_LEFT, "left_pedal_force", "N", "RECORD"),  # the second's mean, as measured
    FORCE_RIGHT: _field(FORCE_RIGHT, "right_pedal_force", "N", "RECORD"),
    CADENCE: _field(CADENCE, "exact_cadence", "rpm", "RECORD"),  # the second's mean |cadence|
    # The session's figures (summary.py, summary.PHASES): the name says the phase.
    SYMMETRY_INDEX: _field(SYMMETRY_INDEX, "work_phase_symmetry_index", "%", "SESSION"),
    SHARE_LEFT: _field(SHARE_LEFT, "work_phase_left_share", "%", "SESSION"),
    SHARE_RIGHT: _field(SHARE_RIGHT, "work_phase_right_share", "%", "SESSION"),
    AVG_CADENCE: _field(AVG_CADENCE, "pedalling_avg_exact_cadence", "rpm", "SESSION"),
    TIME_IN_BAND: _field(TIME_IN_BAND, "pedalling_time_in_band", "s", "SESSION"),
    BACKWARD: _field(BACKWARD, "backward_pedalling_time", "s", "SESSION"),
    RIDE_END: _field(RIDE_END, "ride_end", "", "SESSION", "string"),  # summary.ENDINGS, or "in progress (partial...)"
    FIRMWARE: _field(FIRMWARE, "trainer_firmware", "", "SESSION", "string"),
    PROTOCOL: _field(PROTOCOL, "trainer_protocol", "", "SESSION", "uint8"),
    RECORDED_BY: _field(RECORDED_BY, "recorded_by_softcrank", "", "SESSION", "string"),
}
# Written in number order: Garmin's decoder keys a message's developer fields by the order their
# descriptions came in, so number and order must agree for its keys to be these numbers.
DEVELOPER_FIELDS = dict(sorted(DEVELOPER_FIELDS.items()))
_MAX_UINT8 = 254  # 255 is FIT's "invalid"
_MAX_UINT16 = 65534


def write_fit(ridelog: RideLog, session_id: int, out: BinaryIO, partial: bool = False) -> int:
    """Write the session as a FIT activity file to a binary stream; returns the record count."""
    session = ridelog.session(session_id)
    start = session_start(session)
    t0 = int(start.timestamp()) - FIT_EPOCH_S  # FIT time: seconds since 1989-12-31 00:00 UTC
    serial = zlib.crc32(session["device_id"].encode()) or 1  # uint32z: 0 is "invalid"
    fit = Encoder(field_descriptions=DEVELOPER_FIELDS)
    fit.on_mesg(_MESG["FILE_ID"], {"type": "activity", "manufacturer": "development", "product": 0,
                                   "serial_number": serial, "time_created": t0, "product_name": "softcrank"})
    fit.write_mesg(_DEVELOPER_DATA_ID)
    for field in DEVELOPER_FIELDS.values():
        fit.write_mesg(field["field_description_mesg"])
    fit.on_mesg(_MESG["DEVICE_INFO"], {"timestamp": t0, "device_index": "creator", "manufacturer": "development",
                                       "product": 0, "serial_number": serial, "product_name": "softcrank",
                                       "software_version": _version_number()})
    fit.on_mesg(_MESG["EVENT"], {"timestamp": t0, "event": "timer", "event_type": "start"})
    records = _Records(fit, t0)
    seconds(ridelog, session_id, records.write)  # one pass over the samples
    summary = summary_of(ridelog, session_id)  # the totals the ride log keeps
    end = max(records.last, t0 + math.ceil(summary.duration_s))
    fit.on_mesg(_MESG["EVENT"], {"timestamp": end, "event": "timer", "event_type": "stop_all"})
    totals = _totals(about(ridelog, session_id, summary, partial), t0, end, records.max_power)
    lap = {name: value for name, value in totals.items() if name != "developer_fields"}  # the session's
    fit.on_mesg(_MESG["LAP"], {**lap, "message_index": 0, "event": "lap", "event_type": "stop",
                               "lap_trigger": "session_end"})
    fit.on_mesg(_MESG["SESSION"], {**totals, "message_index": 0, "event": "session", "event_type": "stop",
                                   "first_lap_index": 0, "num_laps": 1})
    fit.on_mesg(_MESG["ACTIVITY"], {"timestamp": end, "total_timer_time": summary.riding_s, "num_sessions": 1,
                                    "type": "manual", "event": "activity", "event_type": "stop",
                                    "local_timestamp": end + _utc_offset_s(end)})
    out.write(fit.close())  # a short write raises: exports.export gives `out` a buffer that writes it all
    return records.count


class _Records:
    """Writes each second as a record, with a timer stop and start around each pause."""

    def __init__(self, fit: Encoder, t0: int) -> None:
        self.fit, self.t0 = fit, t0
        self.count = self.max_power = 0
        self.last = t0
        self.paused = False

    def write(self, second: Second) -> None:
        self.last = self.t0 + second.at_s
        if (second.state == "P") != self.paused:
            self.paused = not self.paused
            self.fit.on_mesg(_MESG["EVENT"], {"timestamp": self.last, "event": "timer",
                                              "event_type": "stop" if self.paused else "start"})
        record = _record(second, self.last)
        self.max_power = max(self.max_power, record["power"])
        self.fit.on_mesg(_MESG["RECORD"], record)
        self.count += 1


def _record(second: Second, timestamp: int) -> dict:
    power = second.power_l_w + second.power_r_w
    record = {"timestamp": timestamp, "cadence": _rpm(second.cadence_rpm),
              "developer_fields": {FORCE_LEFT: second.force_l_n, FORCE_RIGHT: second.force_r_n,
                                   CADENCE: second.cadence_rpm},
              "power": min(whole(power), _MAX_UINT16), "accumulated_power": whole(second.work_j),
              "total_cycles": whole(second.revolutions),
              "resistance": min(whole(second.resistance_pct * 254 / 100), _MAX_UINT8)}
    if power > 0:
        record["left_right_balance"] = 0x80 | whole(100 * second.power_r_w / power)
    return record


def _totals(a: About, t0: int, end: int, max_power: int) -> dict:
    """The lap's and the session's figures: the summary's (see the module docstring)."""
    s = a.summary
    work = s.work_l_j + s.work_r_j
    totals = {"timestamp": end, "start_time": t0, "sport": "cycling", "sub_sport": "indoor_cycling",
              "total_elapsed_time": s.duration_s, "total_timer_time": s.riding_s,
              "total_cycles": whole(s.revolutions), "total_work": whole(work), "max_power": max_power}
    developer = {TIME_IN_BAND: s.in_band_s, BACKWARD: s.backward_s, RIDE_END: a.ended}
    for name, rpm in (("avg", s.cadence_avg_rpm), ("max", s.cadence_peak_rpm)):
        if rpm is not None:
            totals[name + "_cadence"] = _rpm(rpm)
    if s.cadence_avg_rpm is not None:
        developer[AVG_CADENCE] = s.cadence_avg_rpm
    if s.riding_s > 0:
        totals["avg_power"] = min(whole(work / s.riding_s), _MAX_UINT16)
    if s.share_r_pct is not None and s.share_l_pct is not None:  # FIT's balance: 0x8000 "right", its share x 100
        totals["left_right_balance"] = 0x8000 | whole(100 * s.share_r_pct)
        developer[SHARE_LEFT], developer[SHARE_RIGHT] = s.share_l_pct, s.share_r_pct
    if s.symmetry_index is not None:
        developer[SYMMETRY_INDEX] = s.symmetry_index
    if a.firmware:
        developer[FIRMWARE] = a.firmware
    if a.protocol is not None:
        developer[PROTOCOL] = a.protocol
    if a.recorded_by:
        developer[RECORDED_BY] = a.recorded_by
    totals["developer_fields"] = developer
    return totals


def _rpm(rpm: float) -> int:
    """FIT's whole-rpm cadence (summary.whole, as TCX and `show` round), capped below "invalid"."""
    return min(whole(abs(rpm)), _MAX_UINT8)


def _version_number() -> float:
    """softcrank's version as FIT's software_version (uint16 in hundredths): "0.1.0" reads 0.1,
    "1.12.3" reads 1.12 (the patch level does not fit there)."""
    major, minor = (__version__.split(".") + ["0"])[:2]
    return float("%d.%s" % (int(major), minor[:2]))


def _utc_offset_s(fit_time: int) -> int:
    """This computer's UTC offset at that moment, for the activity's local_timestamp."""
    moment = datetime.fromtimestamp(fit_time + FIT_EPOCH_S, timezone.utc).astimezone()
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset else 0
