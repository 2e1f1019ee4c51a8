"""The therapist's PIN and authenticated caps, as the app uses them.

softcrank.therapist (branch caps-auth) is the real thing: scrypt PINs in the ride log and caps
authenticated to the device. Until it is merged, this module gives the same five names with
the same contract, so the Therapist screen and its tests are written once. DELETE the
fallback below when softcrank.therapist is on main: the import then always succeeds.
"""

from __future__ import annotations

try:
    from softcrank.therapist import PinRefused, check_pin, has_pin, send_caps, set_pin
except ImportError:  # the fallback until caps-auth is merged (see the module doc)
    import hashlib
    import hmac
    import os
    from pathlib import Path

    from softcrank.ridelog import CAP_NAMES

    class PinRefused(Exception):  # type: ignore[no-redef]
        """The PIN was wrong (or none is set): nothing was changed."""

    def _pin_file(ridelog) -> Path:
        return Path(str(ridelog.path) + ".pin")

    def _hash(pin: str, salt: bytes) -> bytes:
        return hashlib.scrypt(pin.encode(), salt=salt, n=2 ** 14, r=8, p=1)

    def has_pin(ridelog) -> bool:  # type: ignore[no-redef]
        return _pin_file(ridelog).exists()

    def check_pin(ridelog, pin: str) -> bool:  # type: ignore[no-redef]
        if not has_pin(ridelog):
            return False
        data = _pin_file(ridelog).read_bytes()
        return hmac.compare_digest(_hash(pin, data[:16]), data[16:])

    def set_pin(ridelog, new_pin: str, old_pin: str | None = None) -> None:  # type: ignore[no-redef]
        if has_pin(ridelog) and not check_pin(ridelog, old_pin or ""):
            raise PinRefused("the old PIN is wrong")
        if not (isinstance(new_pin, str) and new_pin.isdigit() and 4 <= len(new_pin) <= 12):
            raise ValueError("a PIN is 4 to 12 digits")
        salt = os.urandom(16)
        _pin_file(ridelog).write_bytes(salt + _hash(new_pin, salt))

    def send_caps(link, ridelog, patient_id: int, values, pin: str, set_by: str,  # type: ignore[no-redef]
                  reason: str = "") -> dict:
        if not check_pin(ridelog, pin):
            raise PinRefused("wrong PIN: the caps were not changed")
        values = [values[name] for name in CAP_NAMES] if isinstance(values, dict) else list(values)
        frames = link.command("CAPS", *values)
        caps = next((f for f in frames if f.type == "C"), None)
        held = dict(caps.fields) if caps is not None else dict(zip(CAP_NAMES, values))
        ridelog.set_caps(patient_id, held, set_by, reason)
        return held

__all__ = ["PinRefused", "check_pin", "has_pin", "send_caps", "set_pin"]
