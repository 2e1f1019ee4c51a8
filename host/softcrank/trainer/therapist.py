"""The therapist's PIN and the trainers' CAPS keys: only someone with the PIN can change caps.

What is stored (in the ride log, never the PIN itself; docs/security.md has the threat model
and the arithmetic):

- the PIN's verifier and the key-encryption key (KEK), both from one scrypt run over the PIN
  and, through HKDF, the ride log's second secret, a 256-bit random value kept in the
  operating system's credential store (credentials.py, `keyring`). The ride log alone then
  unlocks nothing: a copied file with the right PIN still cannot sign caps. Where there is no
  credential store (a headless Linux, CI) the PIN must be a passphrase (pinpolicy.py) and
  scrypt costs 4 times more; the demo's throw-away ride log has neither;
- each trainer's key (32 random bytes from `secrets`, written to the trainer's flash by
  `softcrank deploy`), wrapped under the KEK with AES-256-GCM (keywrap.py, `cryptography`).
  Ride logs from before issue 19 (the hand-written XOR pad and HMAC) move to AES-GCM, and to
  the credential store, at the first right PIN: no key is lost.

Wrong PINs slow the next try down and five in a row lock the PIN for 5 minutes (pinpolicy.py),
counted from the audit trail (ride log table auth_audit), which gets a line for every wrong
PIN (with what was being attempted, never the PIN), every try refused while locked, every CAPS
sent, refused or unanswered, every key written and every PIN change; caps the trainer accepted
also go into caps_history and, with their counter and tag, into trainer_caps (capscheck.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Callable, Mapping, Sequence

from softcrank_fw import capsauth, capstore
from softcrank_fw import protocol as P
from softcrank_fw.limits import CAP_LIMITS, MIN_WORK_S, Caps

from ..store.ridelog import RideLog
from . import credentials, keywrap, pinpolicy
from .pinpolicy import MAX_PIN, MIN_PIN, SCRYPT_N, SCRYPT_P, SCRYPT_R, PASSPHRASE_SCRYPT_N

__all__ = ["TherapistError", "PinRefused", "PinLocked", "NoCredential", "BadPin", "NoDeviceKey", "Keys", "send_caps",
           "set_pin", "check_pin", "has_pin", "unlock", "new_key", "caps_tag", "pin_wait", "pin_kind", "MIN_PIN",
           "MAX_PIN", "SCRYPT_N", "SCRYPT_R", "SCRYPT_P"]

_SALT_BYTES = 16
CAP_NAMES = tuple(name for name, _ in P.CAPS_FIELDS if name != "patient")  # the limits; the patient is added when signed
KINDS = {  # therapist_pin.kind -> (scrypt N, the secret's source, in words)
    "keyring": (SCRYPT_N, "the operating system's credential store"),
    "passphrase": (PASSPHRASE_SCRYPT_N, "none: a passphrase"),
    "weak": (PASSPHRASE_SCRYPT_N, "none, and the PIN is below the passphrase policy: change it"),
    "demo": (SCRYPT_N, "none: the demo's ride log"),
}


class TherapistError(Exception):
    """Something only the therapist may do could not be done; the message says why."""


class PinRefused(TherapistError):
    """The PIN was wrong (or none is set): logged in the audit trail, nothing was sent."""


class PinLocked(PinRefused):
    """Too soon after wrong PINs: the PIN was not even tried (logged); `.wait_s` says how long."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class NoCredential(PinRefused):
    """This computer's credential store does not hold the ride log's secret (a copied ride log,
    or another user): no PIN can unlock its keys here."""


class BadPin(TherapistError, ValueError):
    """A new PIN that breaks the rules (pinpolicy.py)."""


class NoDeviceKey(TherapistError):
    """This laptop holds no key for that trainer: `softcrank deploy` writes one."""


def has_pin(ridelog: RideLog) -> bool:
    return ridelog.pin_record() is not None


def pin_kind(ridelog: RideLog) -> str | None:
    """Where the PIN's second secret is, in words (None: no PIN set)."""
    record = ridelog.pin_record()
    if record is None:
        return None
    if record["kind"] == "legacy":
        return "set before the credential store was used: the next right PIN moves the keys there"
    return KINDS[record["kind"]][1]


def pin_wait(ridelog: RideLog) -> str | None:
    """How long before a PIN is taken, in words (after wrong ones), or None: now."""
    return pinpolicy.wait_words(ridelog.pin_tries(), ridelog.clock_now())


def check_pin(ridelog: RideLog, pin: str, attempt: str = "check the PIN") -> bool:
    """True if `pin` is the therapist's PIN. A wrong one is logged with `attempt`."""
    try:
        unlock(ridelog, pin, attempt)
    except PinRefused:
        return False
    return True


def set_pin(ridelog: RideLog, new_pin: str, old_pin: str | None = None, *, demo: bool = False) -> None:
    """Set the PIN, or change it (then `old_pin` must be right); every trainer key is re-wrapped.

    With a credential store, a new 256-bit secret goes into it; without one, the PIN must be a
    passphrase (BadPin says why). `demo`: the demo's throw-away ride log (no secret, no policy)."""
    try:
        pinpolicy.check_rules(new_pin)
    except pinpolicy.PolicyError as e:
        raise BadPin(str(e)) from None
    kind = "demo" if demo else "keyring" if credentials.available() else "passphrase"
    if kind == "passphrase":
        try:
            pinpolicy.check_passphrase(new_pin)
        except pinpolicy.PolicyError as e:
            raise BadPin(str(e)) from None
    record = ridelog.pin_record()
    if record is not None:
        if old_pin is None:
            ridelog.audit("pin", "refused: the old PIN was not given", detail="change the PIN")
            raise PinRefused("a PIN is set already: give the old one to change it")
        old = unlock(ridelog, old_pin, "change the PIN")
        keys = {row["device_id"]: old.device_key(row["device_id"]) for row in ridelog.device_keys()}
    else:
        keys = {}
    _store(ridelog, new_pin, kind, keys, "pin changed" if record is not None else "pin set")


def _store(ridelog: RideLog, pin: str, kind: str, keys: dict[str, bytes], action: str) -> None:
    """A new salt, secret and KEK for `pin`, and every key re-wrapped under it, in one transaction."""
    old = ridelog.pin_record()
    store_id = "ridelog-" + uuid.uuid4().hex if kind == "keyring" else None
    try:
        secret = credentials.new_secret(store_id) if store_id else b""
    except credentials.CredentialError as e:
        raise TherapistError(str(e)) from None
    salt = secrets.token_bytes(_SALT_BYTES)
    n = KINDS[kind][0]
    verifier, kek = keywrap.derive(pin, salt, n, SCRYPT_R, SCRYPT_P, secret)
    rewrapped = {device: keywrap.wrap(kek, device, key) for device, key in keys.items()}
    ridelog.store_pin({"salt": salt, "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "verifier": verifier, "kind": kind,
                       "store_id": store_id}, rewrapped, action)
    if old is not None and old.get("store_id") and old["store_id"] != store_id:
        credentials.forget(old["store_id"])


def unlock(ridelog: RideLog, pin: str, attempt: str, patient_id: int | None = None,
           device_id: str | None = None) -> "Keys":
    """The trainer keys the PIN unlocks; PinRefused (logged, with `attempt`) if it is wrong,
    PinLocked if wrong PINs came too recently, NoCredential if this computer lacks the secret."""
    record = ridelog.pin_record()
    if record is None:
        ridelog.audit("pin", "refused: no PIN set", patient_id, device_id, attempt)
        raise PinRefused("no therapist PIN is set yet: `softcrank pin` sets one")
    tries = ridelog.pin_tries()
    now = ridelog.clock_now()
    wait = pinpolicy.wait_s(tries, now)
    if wait > 0:
        words = pinpolicy.wait_words(tries, now)
        ridelog.audit("pin", "refused: locked, %s" % pinpolicy.duration(wait), patient_id, device_id, attempt)
        raise PinLocked(words, wait)
    if not isinstance(pin, str):
        pin = ""
    secret = _secret(ridelog, record, patient_id, device_id, attempt)
    verifier, kek = keywrap.derive(pin, record["salt"], record["n"], record["r"], record["p"], secret)
    if not hmac.compare_digest(verifier, record["verifier"]):
        ridelog.audit("pin", "refused: wrong PIN", patient_id, device_id, attempt)
        raise PinRefused(pinpolicy.after_wrong_words(len(tries) + 1))
    if tries:
        ridelog.audit("pin", "accepted", patient_id, device_id, "after %d wrong" % len(tries))
    keys = Keys(ridelog, kek)
    if record["kind"] == "legacy":
        keys = _migrate(ridelog, pin, keys)
    return keys


def _secret(ridelog: RideLog, record: dict, patient_id, device_id, attempt) -> bytes | None:
    if record["kind"] == "legacy":
        return None
    if record["kind"] != "keyring":
        return b""
    try:
        secret = credentials.read_secret(record["store_id"])
    except credentials.CredentialError as e:
        ridelog.audit("pin", "refused: %s" % e, patient_id, device_id, attempt)
        raise NoCredential(str(e)) from None
    if secret is None:
        ridelog.audit("pin", "refused: the credential store holds no secret for this ride log", patient_id, device_id,
                      attempt)
        raise NoCredential("this computer's credential store (%s) does not hold this ride log's secret, so no PIN "
                           "unlocks its trainer keys here (a ride log copied from another computer or user): set "
                           "a new PIN and deploy each trainer again" % credentials.backend_name())
    return secret


def _migrate(ridelog: RideLog, pin: str, legacy: "Keys") -> "Keys":
    """A pre-issue-19 record: every key out of the legacy wrapping, into AES-GCM under a KEK
    that needs the credential store's secret (or, without one, stronger scrypt)."""
    keys = {row["device_id"]: legacy.device_key(row["device_id"]) for row in ridelog.device_keys()}
    kind = "keyring" if credentials.available() else "passphrase"
    if kind == "passphrase":
        try:
            pinpolicy.check_passphrase(pin)
        except pinpolicy.PolicyError:
            kind = "weak"
    _store(ridelog, pin, kind, keys, "pin migrated")
    if kind == "weak":
        ridelog.audit("pin", "below the passphrase policy", detail="no credential store here: change the PIN to a "
                      "passphrase with `softcrank pin`")
    record = ridelog.pin_record()
    secret = _secret(ridelog, record, None, None, "migrate the PIN")
    return Keys(ridelog, keywrap.derive(pin, record["salt"], record["n"], record["r"], record["p"], secret)[1])


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
        try:
            return keywrap.unwrap(self._kek, device_id, row)
        except keywrap.Damaged:
            raise NoDeviceKey("the stored key for trainer %s is damaged: `softcrank deploy` writes a new one"
                              % device_id) from None

    def store_device_key(self, device_id: str, key: bytes) -> None:
        self._log.store_device_key(device_id, *keywrap.wrap(self._kek, device_id, key))


def with_patient(values: Sequence[int], patient: int) -> list[int]:
    """CAPS's values on the wire (protocol 3): the limits, then whom they were set for."""
    values = list(values)
    return values + [patient] if len(values) == len(CAP_NAMES) else values


def caps_tag(key: bytes, device_id: str, counter: int, values: Sequence[int]) -> str:
    """The CAPS tag, computed with the standard library's hmac (the firmware has its own)."""
    mac = hmac.new(key, capsauth.message(device_id, counter, values), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[: capsauth.TAG_BYTES]).rstrip(b"=").decode()


def send_caps(link, ridelog: RideLog, patient_id: int, values, pin: str, set_by: str, reason: str = "",
              send: Callable[..., list] | None = None) -> dict:
    """Set the patient's caps on the connected trainer; returns the caps it now reports (its C).
    `send(type, *values)`: how the CAPS frame goes (default link.command; the app passes its
    trainer's ordered command queue, trainer/commands.py, so CAPS waits its turn there).

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
        frames = (send or link.command)("CAPS", *signed, counter, caps_tag(key, device, counter, signed))
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
    ridelog.record_trainer_caps(device, counter, patient_id, signed, capstore.digest(counter, signed))
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
