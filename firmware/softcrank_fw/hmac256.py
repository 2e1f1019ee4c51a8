"""HMAC-SHA256 (RFC 2104) on hashlib.sha256 alone, for the firmware and its tests.

MicroPython has `hashlib.sha256` (the docs recommend every board provide it; the rp2 port
does) but no `hmac` module, so the two-pass construction is written out here. It is tested
against CPython's `hmac` and the RFC 4231 vectors on both runtimes (tests/firmware/test_auth.py).

A port built without sha256 leaves `sha256` None: then no tag can be checked, and the
firmware takes no caps at all (safe: it keeps the caps it has).

`equal()` compares in constant time for equal lengths, so the time a refusal takes says
nothing about how many leading characters of a forged tag were right.
"""

from softcrank_fw.compat import const

try:
    from hashlib import sha256
except ImportError:  # a port built without it
    sha256 = None  # type: ignore[misc, assignment]  # checked before every use

_BLOCK = const(64)  # SHA-256's block size, bytes
_B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def hmac_sha256(key, msg):
    """The 32-byte HMAC-SHA256 of msg (bytes) under key (bytes)."""
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    ipad = bytearray(_BLOCK)
    opad = bytearray(_BLOCK)
    for i in range(_BLOCK):
        k = key[i] if i < len(key) else 0
        ipad[i] = k ^ 0x36
        opad[i] = k ^ 0x5C
    inner = sha256(ipad)
    inner.update(msg)
    outer = sha256(opad)
    outer.update(inner.digest())
    return outer.digest()


def b64url(data):
    """data as base64url without padding (RFC 4648 section 5): 16 bytes give 22 characters.
    Built as bytes: on MicroPython each new 1-character string would be interned for good."""
    n = len(data)
    out = bytearray((n * 4 + 2) // 3)
    k = 0
    for i in range(0, n, 3):
        chunk = (data[i] << 16) | ((data[i + 1] << 8) if i + 1 < n else 0) | (data[i + 2] if i + 2 < n else 0)
        for j in range(2 + (i + 1 < n) + (i + 2 < n)):
            out[k] = _B64URL[(chunk >> (18 - 6 * j)) & 0x3F]
            k += 1
    return out.decode()


def equal(a, b):
    """a == b for two str or bytes values, taking the same time wherever they differ."""
    if isinstance(a, str):
        a = a.encode()  # compared as bytes: no 1-character strings (see b64url)
    if isinstance(b, str):
        b = b.encode()
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
