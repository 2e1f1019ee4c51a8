"""The operating system's credential store, through `keyring`: where the ride log's second
secret lives, so that a copied ride log alone unlocks nothing (docs/security.md).

A credential store counts when keyring's chosen backend is a real one: priority 1 or more
(macOS Keychain, Windows Credential Locker, the Secret Service of a Linux desktop, KWallet),
or one the user chose on purpose through keyring's own configuration (the
`PYTHON_KEYRING_BACKEND` variable or keyringrc.cfg). keyring's fail backend (a headless Linux,
CI) and the plain-text file backends of keyrings.alt (priority under 1: the secret would sit
in a file beside the ride log's user) do not: then the PIN must be a passphrase (pinpolicy.py).
"""

from __future__ import annotations

import secrets

SERVICE = "softcrank ride log"
SECRET_BYTES = 32


class CredentialError(Exception):
    """The credential store could not be read or written; the message says which and why."""


def _keyring():
    try:
        import keyring
    except ImportError:  # the package is a base dependency; a broken install reads as "none"
        return None
    return keyring


def available() -> bool:
    """True if the operating system's credential store can keep the ride log's secret."""
    keyring = _keyring()
    if keyring is None:
        return False
    backend = keyring.get_keyring()
    try:
        from keyring.backends import fail

        if isinstance(backend, fail.Keyring):
            return False
        from keyring import core

        chosen = core.load_env() or core.load_config()
    except Exception:  # an unreadable keyringrc.cfg: keyring's own choice stands
        chosen = None
    if chosen is not None:
        return True
    try:
        return float(backend.priority) >= 1
    except Exception:
        return False


def backend_name() -> str:
    keyring = _keyring()
    if keyring is None:
        return "none (keyring is not installed)"
    backend = keyring.get_keyring()
    return "%s.%s" % (type(backend).__module__, type(backend).__name__)


def new_secret(store_id: str) -> bytes:
    """A new 256-bit secret for the ride log `store_id`, stored in the credential store."""
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        _keyring().set_password(SERVICE, store_id, secret.hex())
    except Exception as e:
        raise CredentialError("the credential store (%s) would not keep the ride log's secret: %s"
                              % (backend_name(), e)) from e
    if read_secret(store_id) != secret:
        raise CredentialError("the credential store (%s) did not keep the ride log's secret" % backend_name())
    return secret


def read_secret(store_id: str) -> bytes | None:
    """The ride log's secret, or None if this computer's credential store does not hold it."""
    keyring = _keyring()
    if keyring is None or not store_id:
        return None
    try:
        text = keyring.get_password(SERVICE, store_id)
    except Exception as e:
        raise CredentialError("the credential store (%s) could not be read: %s" % (backend_name(), e)) from e
    if text is None:
        return None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        return None
    return secret if len(secret) == SECRET_BYTES else None


def forget(store_id: str) -> None:
    """Remove an old secret after a PIN change moved the keys to a new one (never raises)."""
    keyring = _keyring()
    if keyring is None or not store_id:
        return
    try:
        keyring.delete_password(SERVICE, store_id)
    except Exception:
        pass
