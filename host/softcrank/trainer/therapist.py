"""The therapist's PIN and the trainers' CAPS keys: only someone with the PIN can change caps.

What is stored (in the ride log, never the PIN itself):

- the PIN's verifier: scrypt(PIN, salt) gives 64 bytes; the first 32 are stored to check a
  PIN, the last 32 are the *key-encryption key* (KEK), which is never stored. Both halves
  come from one scrypt call, so checking a PIN and unlocking the keys costs one scrypt run,
  and the work factor can be twice as high for the same wait (why not two calls with two
  salts: an attacker attacks whichever is cheaper; one call at twice the cost is stronger);
- each trainer's key (32 random bytes from `secrets`, written to the trainer's flash by
  `softcrank deploy`), wrapped under the KEK: XOR with HMAC-SHA256(KEK, "pad", device, nonce)
  and authenticated with HMAC-SHA256(KEK, "mac", device, nonce, wrapped). A fresh random
  nonce per wrap makes every pad new, so this is a sound stream cipher plus a MAC from the
  standard library alone. Without the PIN a laptop holds no usable key, so it cannot sign
  CAPS: that is the whole point (docs/host.md, "Security model").

scrypt parameters: N = 2**15, r = 8, p = 1: 32 MiB of memory and about 0.13 s on a 2020s
laptop core (benchmarks/pin_kdf.py prints it): unnoticeable at the screen, and every guess
of an attacker who copied the ride log costs the same. A PIN is 6 to 64 characters, any
printable ones (digits only is fine): 6 digits are 10**6 guesses, about 36 hours of one core;
4 digits would be 22 minutes, too few against a patient who has the laptop.

The audit trail (ride log table auth_audit) gets a line for every wrong PIN (with what was
being attempted, never the PIN), every CAPS sent, refused or unanswered, every key written
and every PIN change; caps the trainer accepted also go into caps_history.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Mapping, Sequence

from softcrank_fw import capsauth
from softcrank_fw import protocol as P
from softcrank_fw.limits import CAP_LIMITS, MIN_WORK_S, Caps

from ..store.ridelog import RideLog

__all__ = ["TherapistError", "PinRefused", "BadPin", "NoDeviceKey", "Keys", "send_caps", "set_pin", "check_pin",
           "has_pin", "unlock", "new_key", "caps_tag", "MIN_PIN", "MAX_PIN", "SCRYPT_N", "SCRYPT_R", "SCRYPT_P"]

SCRYPT_N = 2 ** 15
SCRYPT_R = 8
SCRYPT_P = 1
_MAXMEM = 64 * 1024 * 1024  # scrypt needs 128 * r * N = 32 MiB; the default cap is exactly that, too tight
MIN_PIN = 6
MAX_PIN = 64
_SALT_BYTES = 16
_NONCE_BYTES = 16
CAP_NAMES = tuple(name for name, _ in P.CAPS_FIELDS if name != "patient")  # the limits; the patient is added when signed


class TherapistError(Exception):
    """Something only the therapist may do could not be done; the message says why."""


class PinRefused(TherapistError):
    """The PIN was wrong (or none is set): logged in the audit trail, nothing was sent."""


class BadPin(TherapistError, ValueError):
    """A new PIN that breaks the rules (MIN_PIN..MAX_PIN printable characters)."""


class NoDeviceKey(TherapistError):
    """This laptop holds no key for that trainer: `softcrank deploy` writes one."""


def has_pin(ridelog: RideLog) -> bool:
    return ridelog.pin_record() is not None


def check_pin(ridelog: RideLog, pin: str, attempt: str = "check the PIN") -> bool:
    """True if `pin` is the therapist's PIN. A wrong one is logged with `attempt`."""
    try:
        unlock(ridelog, pin, attempt)
    except PinRefused:
        return False
    return True


def set_pin(ridelog: RideLog, new_pin: str, old_pin: str | None = None) -> None:
    """Set the PIN, or change it (then `old_pin` must be right); every trainer key is re-wrapped."""
    _check_rules(new_pin)
    record = ridelog.pin_record()
    rewrapped = {}
    if record is not None:
        if old_pin is None:
            ridelog.audit("pin", "refused: the old PIN was not given", detail="change the PIN")
            raise PinRefused("a PIN is set already: give the old one to change it")
        old = unlock(ridelog, old_pin, "change the PIN")
        keys = {row["device_id"]: old.device_key(row["device_id"]) for row in ridelog.device_keys()}
    else:
        keys = {}
    salt = secrets.token_bytes(_SALT_BYTES)
    verifier, kek = _derive(new_pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    new = Keys(ridelog, kek)
    rewrapped = {device: new._wrap(device, key) for device, key in keys.items()}
    ridelog.store_pin({"salt": salt, "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "verifier": verifier}, rewrapped,
                      "pin changed" if record is not None else "pin set")


def unlock(ridelog: RideLog, pin: str, attempt: str, patient_id: int | None = None,
           device_id: str | None = None) -> "Keys":
    """The trainer keys the PIN unlocks; PinRefused (logged, with `attempt`) if it is wrong."""
    record = ridelog.pin_record()
    if record is None:
        ridelog.audit("pin", "refused: no PIN set", patient_id, device_id, attempt)
        raise PinRefused("no therapist PIN is set yet: `softcrank pin` sets one")
    if not isinstance(pin, str):
        pin = ""
    verifier, kek = _derive(pin, record["salt"], record["n"], record["r"], record["p"])
    if not hmac.compare_digest(verifier, record["verifier"]):
        ridelog.audit("pin", "refused: wrong PIN", patient_id, device_id, attempt)
        raise PinRefused("wrong PIN")
    return Keys(ridelog, kek)


def new_key() -> bytes:
    """A new trainer key: 32 bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(capsauth.KEY_BYTES)


class Keys:
    """The trainer keys, unlocked by the PIN for one operation; keep it no longer."""

    def __init__(self, ridelog: RideLog, kek: bytes) -> None:
        self._log = ridelog
        self._kek = kek

    def device_key(self, device_id: str) -> bytes:
        row = self._log.device_key(device_id)
        if row is None:
            raise NoDeviceKey("this laptop holds no key for trainer %s: `softcrank deploy` writes one" % device_id)
        mac = self._mac(device_id, row["nonce"], row["wrapped"])
        if not hmac.compare_digest(mac, row["mac"]):
            raise NoDeviceKey("the stored key for trainer %s is damaged: `softcrank deploy` writes a new one" % device_id)
        return bytes(a ^ b for a, b in zip(row["wrapped"], self._pad(device_id, row["nonce"])))

    def store_device_key(self, device_id: str, key: bytes) -> None:
        self._log.store_device_key(device_id, *self._wrap(device_id, key))

    def _wrap(self, device_id: str, key: bytes) -> tuple[bytes, bytes, bytes]:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        wrapped = bytes(a ^ b for a, b in zip(key, self._pad(device_id, nonce)))
        return nonce, wrapped, self._mac(device_id, nonce, wrapped)

    def _pad(self, device_id: str, nonce: bytes) -> bytes:
        return hmac.new(self._kek, b"softcrank-wrap-pad|" + device_id.encode() + b"|" + nonce, hashlib.sha256).digest()

    def _mac(self, device_id: str, nonce: bytes, wrapped: bytes) -> bytes:
        return hmac.new(self._kek, b"softcrank-wrap-mac|" + device_id.encode() + b"|" + nonce + wrapped,
                        hashlib.sha256).digest()


def with_patient(values: Sequence[int], patient: int) -> list[int]:
    """CAPS's values on the wire (protocol 3): the limits, then whom they were set for."""
    values = list(values)
    return values + [patient] if len(values) == len(CAP_NAMES) else values


def caps_tag(key: bytes, device_id: str, counter: int, values: Sequence[int]) -> str:
    """The CAPS tag, computed with the standard library's hmac (the firmware has its own)."""
    mac = hmac.new(key, capsauth.message(device_id, counter, values), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[: capsauth.TAG_BYTES]).rstrip(b"=").decode()


def send_caps(link, ridelog: RideLog, patient_id: int, values, pin: str, set_by: str, reason: str = "") -> dict:
    """Set the patient's caps on the connected trainer; returns the caps it now reports (its C).

    `values`: the caps by name (a mapping) or in protocol order, without the patient: the
    frame says they were set for `patient_id` (protocol 3), so the trainer can report whose
    caps it holds (its C and H frames). Checked first (ValueError
    if the trainer would refuse them), then the PIN (PinRefused: logged, nothing sent), then
    sent signed with a counter above any the trainer or this laptop used; the trainer's refusal
    is logged and raised as CommandRefused. Accepted caps go into the patient's caps_history."""
    from .errors import NAK_MEANINGS, CommandRefused, LinkError  # here: the link needs pyserial

    caps = caps_values(values)
    ridelog.caps_history(patient_id)  # RideLogError now if there is no such patient
    h, c = link.info.get("H"), link.info.get("C")
    if link.state != "connected" or h is None or c is None:
        raise LinkError("not connected to a trainer")
    device = h["device"]
    detail = json.dumps({"caps": dict(zip(CAP_NAMES, caps)), "set_by": set_by, "reason": reason})
    keys = unlock(ridelog, pin, "set caps " + detail, patient_id, device)
    try:
        key = keys.device_key(device)
    except NoDeviceKey as e:
        ridelog.audit("caps", "not sent: %s" % e, patient_id, device, detail)
        raise
    row = ridelog.device_key(device)
    counter = max(c["counter"], row["last_counter"] if row else 0) + 1
    ridelog.use_counter(device, counter)
    try:
        signed = with_patient(caps, patient_id)
        frames = link.command("CAPS", *signed, counter, caps_tag(key, device, counter, signed))
    except CommandRefused as e:
        ridelog.audit("caps", "refused by the trainer: %s (%s)" % (e.code, NAK_MEANINGS.get(e.code, "?")), patient_id,
                      device, detail)
        raise
    except LinkError as e:
        ridelog.audit("caps", "no answer: %s" % e, patient_id, device, detail)
        raise
    reported = [f for f in frames if f.type == "C"]
    now = {name: reported[-1][name] for name in CAP_NAMES} if reported else dict(zip(CAP_NAMES, caps))
    ridelog.set_caps(patient_id, now, set_by, reason)
    ridelog.audit("caps", "accepted, counter %d" % counter, patient_id, device, detail)
    return now


def caps_values(values) -> list[int]:
    """The caps in protocol order (the limits, not the patient), if the trainer would take them;
    else ValueError saying why."""
    if isinstance(values, Mapping):
        missing = [name for name in CAP_NAMES if name not in values]
        extra = [name for name in values if name not in CAP_NAMES]
        if missing or extra:
            raise ValueError("caps need exactly %s (missing %s, unknown %s)" % (", ".join(CAP_NAMES), missing, extra))
        values = [values[name] for name in CAP_NAMES]
    values = list(values)
    if len(values) != len(CAP_NAMES) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError("caps need %d integers (%s), got %r" % (len(CAP_NAMES), ", ".join(CAP_NAMES), values))
    if Caps.validate(values):
        for name, value, (_, lo, hi) in zip(CAP_NAMES, values, CAP_LIMITS):
            if not lo <= value <= hi:
                raise ValueError("%s must be %d..%d, got %d" % (name, lo, hi, value))
        raise ValueError("a %d s warm-up leaves under %d s of work in %d minutes" % (values[5], MIN_WORK_S, values[1]))
    return values


def _check_rules(pin: object) -> None:
    if not isinstance(pin, str) or not MIN_PIN <= len(pin) <= MAX_PIN:
        raise BadPin("a PIN is %d to %d characters" % (MIN_PIN, MAX_PIN))
    if not pin.isprintable() or pin != pin.strip():
        raise BadPin("a PIN is printable characters, with no spaces at either end")


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    """(verifier, key-encryption key) from one scrypt run."""
    out = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=64)
    return out[:32], out[32:]
