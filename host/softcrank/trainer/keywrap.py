"""Wrapping the trainers' keys under the key-encryption key (KEK), with `cryptography`'s
AES-256-GCM, and deriving the KEK from the PIN (docs/security.md, "The ride log's secrets").

- derive(): scrypt(PIN, salt) gives 64 bytes. For a PIN set before issue 19 ('legacy') they
  were split as they always were: 32 for the verifier, 32 the KEK. Since then the 64 bytes and
  the ride log's second secret (32 bytes from the credential store; none in 'passphrase' and
  'demo' records) go through HKDF-SHA256 into the verifier and the KEK: without the secret,
  the verifier says nothing about the PIN, so a copied ride log cannot be guessed offline.
- wrap(): AES-256-GCM under the KEK, a 96-bit random nonce, the trainer's id as associated
  data (a wrapped key moved to another trainer's row fails to open).
- unwrap_legacy(): reads the hand-written scheme of the ride logs before issue 19 (XOR with
  an HMAC-SHA256 pad, then an HMAC tag), only to move those keys to AES-GCM at the next right
  PIN. Nothing is wrapped that way any more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WRAP_LEGACY = 1
WRAP_AESGCM = 2
NONCE_BYTES = 12  # GCM's standard nonce; random: 2**-32 collision odds only after 2**32 wraps under one KEK
_MAXMEM = 256 * 1024 * 1024  # scrypt needs 128 * r * N: 128 MiB at the passphrase's N = 2**17
_HKDF_INFO = b"softcrank-kek-v2"


class Damaged(ValueError):
    """A wrapped key that does not open under this KEK: damaged, swapped or from another PIN."""


def derive(pin: str, salt: bytes, n: int, r: int, p: int, secret: bytes | None) -> tuple[bytes, bytes]:
    """(verifier, KEK). `secret` None: the legacy split; else HKDF over scrypt's output and it."""
    out = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=64)
    if secret is None:
        return out[:32], out[32:]
    both = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=_HKDF_INFO).derive(out + secret)
    return both[:32], both[32:]


def wrap(kek: bytes, device_id: str, key: bytes) -> tuple[bytes, bytes, bytes, int]:
    """(nonce, ciphertext with its 16-byte tag, b"", WRAP_AESGCM): a device_keys row's parts."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce, AESGCM(kek).encrypt(nonce, key, _aad(device_id)), b"", WRAP_AESGCM


def unwrap(kek: bytes, device_id: str, row: dict) -> bytes:
    """The trainer's key from its device_keys row (either scheme); Damaged if it does not open."""
    if row.get("wrap", WRAP_LEGACY) == WRAP_AESGCM:
        try:
            return AESGCM(kek).decrypt(row["nonce"], row["wrapped"], _aad(device_id))
        except (InvalidTag, ValueError) as e:
            raise Damaged(device_id) from e
    return unwrap_legacy(kek, device_id, row["nonce"], row["wrapped"], row["mac"])


def unwrap_legacy(kek: bytes, device_id: str, nonce: bytes, wrapped: bytes, mac: bytes) -> bytes:
    """The pre-issue-19 scheme, read once to migrate (see the module's docstring)."""
    want = hmac.new(kek, b"softcrank-wrap-mac|" + device_id.encode() + b"|" + nonce + wrapped, hashlib.sha256).digest()
    if not hmac.compare_digest(want, mac):
        raise Damaged(device_id)
    pad = hmac.new(kek, b"softcrank-wrap-pad|" + device_id.encode() + b"|" + nonce, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(wrapped, pad))


def _aad(device_id: str) -> bytes:
    return b"softcrank-trainer-key|" + device_id.encode()
