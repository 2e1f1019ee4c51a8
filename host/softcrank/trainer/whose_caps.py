"""Whose caps the trainer holds (protocol 3: the signed CAPS carries the patient they were set
for, and C and H report it), and the therapist's confirmation to ride on someone else's.

Caps belong to the trainer, not to the patient: a clinic with two trainers, or a patient
moved to another unit, would otherwise ride on limits set for somebody else, or on the
firmware's defaults before any therapist set caps at all. The host never starts a session
on caps that are not this patient's unless a therapist confirms with the PIN; the
confirmation goes into the audit trail. `softcrank ride` and the app ask the same question.
"""

from __future__ import annotations

from ..store.ridelog import RideLog
from .therapist import unlock

__all__ = ["caps_owner", "confirm_other_caps", "not_this_patients"]


def caps_owner(caps, ridelog: RideLog) -> str:
    """Whose caps these are (a C frame or its fields), in words."""
    if caps["counter"] == 0:
        return "the firmware's defaults (no therapist has set caps on this trainer)"
    if caps["patient"] == 0:
        return "caps set for no one named"
    names = {p["id"]: p["name"] for p in ridelog.patients()}
    return "caps set for %s" % names.get(caps["patient"], "patient %d (not in this ride log)" % caps["patient"])


def not_this_patients(caps, patient_id: int, ridelog: RideLog) -> str | None:
    """None when the trainer's caps were set for `patient_id`; otherwise why a ride needs a
    therapist's confirmation, in words."""
    if caps["counter"] != 0 and caps["patient"] == patient_id:
        return None
    return "the trainer holds %s, not this patient's" % caps_owner(caps, ridelog)


def confirm_other_caps(ridelog: RideLog, pin: str, patient_id: int, device_id: str, why: str) -> None:
    """A therapist confirms a ride on caps that are not this patient's: PinRefused (logged) if
    the PIN is wrong; logged in the audit trail either way."""
    unlock(ridelog, pin, "ride on other caps: " + why, patient_id, device_id)
    ridelog.audit("ride", "confirmed on other caps", patient_id, device_id, why)
