"""Tamper evidence: the caps a trainer holds, and its own history of accepted caps (protocol 4's
CAPSLOG, softcrank_fw/capstore.py), against what this laptop's ride log says it sent.

An RP2040 keeps no secret from someone with its USB port (docs/security.md): caps.json can be
rewritten by hand, its check recomputed, device.key read or replaced. What such a person cannot
change is the ride log on the therapist's laptop. So at every connect the host accounts for the
trainer's caps: each history entry (counter, tag) must be one this laptop saw accepted
(ride log table trainer_caps), the caps in force must be the ones sent with their counter, and
the counter must not have gone back. Whatever cannot be accounted for is a finding: shown to the
therapist, logged in the audit trail, and a ride does not start on it until a therapist with
the PIN confirms (confirm(); the confirmed entries are then accounted for).
"""

from __future__ import annotations

from softcrank_fw import capstore
from softcrank_fw import protocol as P

from ..store.ridelog import RideLog

CAPS_NAMES = tuple(name for name, _ in P.CAPS_FIELDS)


def findings(ridelog: RideLog, device: str, caps: dict, history: list[dict]) -> list[str]:
    """What about the trainer's caps this ride log cannot account for, in words ([]: all of it).

    `caps`: the trainer's C frame (the caps by name and `counter`); `history`: its L frames."""
    sent = {row["counter"]: row for row in ridelog.trainer_caps(device)}
    found = []
    counter = caps["counter"]
    for entry in history:
        if entry["counter"] == counter:
            continue  # the caps in force: judged below, by their values
        row = sent.get(entry["counter"])
        if row is None:
            found.append("the trainer accepted caps with counter %d (%d s after a boot) that this laptop never sent"
                         % (entry["counter"], entry["uptime_s"]))
        elif row["tag"] != entry["tag"]:
            found.append("the trainer's caps with counter %d are not the ones this laptop sent with it"
                         % entry["counter"])
    values = [caps[name] for name in CAPS_NAMES]
    if counter > 0:
        row = sent.get(counter)
        if row is None:
            found.append("the caps in force (counter %d) were not sent from this laptop" % counter)
        elif row["tag"] != capstore.digest(counter, values):
            found.append("the caps in force differ from what this laptop sent with counter %d (changed on the "
                         "trainer's flash by hand?)" % counter)
    newest = max(sent, default=0)
    if counter < newest:
        found.append("the trainer's caps counter went back from %d to %d (its caps file was lost or replaced, "
                     "or it was re-flashed): an old recorded CAPS frame could pass again" % (newest, counter))
    return found


def check(ridelog: RideLog, link) -> list[str]:
    """findings() for the connected trainer, each logged in the audit trail."""
    device = link.info["H"]["device"]
    found = findings(ridelog, device, link.info["C"], link.caps_log)
    for line in found:
        ridelog.audit("caps check", "unaccounted: " + line, None, device, "")
    return found


def confirm(ridelog: RideLog, link, pin: str, by: str) -> None:
    """A therapist accepts the trainer's caps as they are (PinRefused if the PIN is wrong): the
    entries are recorded as accounted for, and the confirmation is logged. (Before a ride,
    whose_caps.confirm asks the one PIN for this and for whose caps they are.)"""
    from .therapist import unlock

    unlock(ridelog, pin, "confirm the trainer's caps", None, link.info["H"]["device"])
    accept(ridelog, link, by)


def accept(ridelog: RideLog, link, by: str) -> None:
    """The trainer's caps as they are, recorded as accounted for, the confirmation logged; only
    after the therapist's PIN was checked (confirm, whose_caps.confirm)."""
    device = link.info["H"]["device"]
    caps = link.info["C"]
    values = [caps[name] for name in CAPS_NAMES]
    sent = {row["counter"] for row in ridelog.trainer_caps(device)}
    for entry in link.caps_log:
        if entry["counter"] not in sent and entry["counter"] != caps["counter"]:
            ridelog.record_trainer_caps(device, entry["counter"], None, [], entry["tag"])
    if caps["counter"] > 0:
        ridelog.record_trainer_caps(device, caps["counter"], caps["patient"] or None, values,
                                    capstore.digest(caps["counter"], values))
    ridelog.audit("caps check", "confirmed by %s" % by, None, device, "the trainer's caps as they are")
