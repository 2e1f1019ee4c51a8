"""Whose caps the trainer holds (protocol 3: the signed CAPS carries the patient they were set
for, and C and H report it), and the one question asked before every new ride: may this
patient ride on the caps this trainer holds, as they are?

Caps belong to the trainer, not to the patient: a clinic with two trainers, or a patient
moved to another unit, would otherwise ride on limits set for somebody else, or on the
firmware's defaults before any therapist set caps at all. And the caps may be ones this ride
log cannot account for (tamper evidence, capscheck.py). Both are questions for a therapist,
asked together before START (`questions`) and answered together with one PIN (`confirm`):
"a therapist confirms the caps on this trainer as they are". Every question and the answer go
into the audit trail. `softcrank ride --confirm-caps` and the app ask and answer the same way.

What a confirmation keeps: the tamper findings it accepts are recorded as accounted for
(capscheck.accept), so they are not asked again; a ride on another patient's caps or on the
firmware's defaults is confirmed for that ride only (asked again at the next one), since the
next rider on that trainer may be someone else again.
"""

from __future__ import annotations

from typing import NamedTuple

from ..store.ridelog import RideLog
from . import capscheck
from .therapist import unlock

__all__ = ["Questions", "caps_owner", "confirm", "not_this_patients", "owner_short", "questions"]


def caps_owner(caps, ridelog: RideLog) -> str:
    """Whose caps these are (a C frame or its fields), in words."""
    if caps["counter"] == 0:
        return "the firmware's defaults (no therapist has set caps on this trainer)"
    if caps["patient"] == 0:
        return "caps set for no one named"
    names = {p["id"]: p["name"] for p in ridelog.patients()}
    return "caps set for %s" % names.get(caps["patient"], "patient %d (not in this ride log)" % caps["patient"])


def owner_short(caps, patient_id: int | None) -> str:
    """Whose caps, in a few words for the Ride screen (no ride log read: the UI thread)."""
    if caps["counter"] == 0:
        return "Caps: the firmware's defaults!"
    if patient_id is not None and caps["patient"] == patient_id:
        return "Caps: this patient's."
    return "Caps: another patient's!" if caps["patient"] else "Caps: set for no one named!"


def not_this_patients(caps, patient_id: int, ridelog: RideLog) -> str | None:
    """None when the trainer's caps were set for `patient_id`; otherwise why a ride needs a
    therapist's confirmation, in words."""
    if caps["counter"] != 0 and caps["patient"] == patient_id:
        return None
    return "the trainer holds %s, not this patient's" % caps_owner(caps, ridelog)


class Questions(NamedTuple):
    """What a therapist must confirm before a ride on the trainer's caps."""

    tamper: list[str]  # capscheck's findings, each in words
    whose: str | None  # why these caps are not this patient's, or None

    @property
    def lines(self) -> list[str]:
        """Every finding in words, the tamper evidence first."""
        return self.tamper + ([self.whose] if self.whose else [])

    @property
    def short(self) -> str:
        """All of it in one sentence ("" when there is nothing to confirm)."""
        parts = (["the trainer holds caps this ride log cannot account for"] if self.tamper else []) + \
            ([self.whose] if self.whose else [])
        return "; ".join(parts)

    def __bool__(self) -> bool:
        return bool(self.tamper or self.whose)


def questions(ridelog: RideLog, link, patient_id: int) -> Questions:
    """What a therapist must confirm before `patient_id` rides on the connected trainer's caps
    (false: nothing): the tamper findings (capscheck.check, each logged) and whose caps they
    are (logged too)."""
    tamper = capscheck.check(ridelog, link)
    why = not_this_patients(link.info["C"], patient_id, ridelog)
    if why:
        ridelog.audit("caps check", "not this patient's", patient_id, link.info["H"]["device"], why)
    return Questions(tamper, why)


def confirm(ridelog: RideLog, link, pin: str, by: str, patient_id: int | None) -> None:
    """A therapist confirms the trainer's caps as they are, for `patient_id` (None: no ride,
    e.g. from the Therapist screen): one PIN (PinRefused, logged, if wrong; PinLocked while
    locked); then the tamper findings are accounted for and, if the caps are not this
    patient's, the ride on them is logged as confirmed."""
    device = link.info["H"]["device"]
    unlock(ridelog, pin, "confirm the trainer's caps", patient_id, device)
    if capscheck.findings(ridelog, device, link.info["C"], link.caps_log):
        capscheck.accept(ridelog, link, by)
    why = not_this_patients(link.info["C"], patient_id, ridelog) if patient_id is not None else None
    if why:
        ridelog.audit("ride", "confirmed on other caps by %s" % by, patient_id, device, why)
