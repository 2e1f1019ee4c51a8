"""Only the therapist can change the caps: CAPS frames carry a tag only the trainer's key gives.

The tag is HMAC-SHA256 under the trainer's own 32-byte key (`device.key` on its flash, written
by `softcrank deploy`), truncated to its first 128 bits (RFC 2104 section 5 allows keeping
half the output; NIST SP 800-107 too) and sent as 22 base64url characters: one protocol
token. The MAC covers (see `message`):

    softcrank-caps-v1|<device id>|<counter>|<the seven caps values, comma-separated>

- the domain string, so a tag made for anything else never passes as a caps tag;
- the device id, so caps signed for one trainer are refused by another with the same key;
- the counter, which must be above the last one accepted: an old frame replayed is refused;
- the values, the patient they were set for among them (protocol 3); not the frame's seq, so
  a resend of the same frame stays valid (the link answers a resend by its seq without
  applying it twice).

`CAL` is signed the same way (protocol 3), over `softcrank-cal-v1|<device id>|<counter>|<side>|
<newtons>`, with the same counter: a scale sets what every force reads, as much a limit as a
threshold, so it takes the therapist's key too (docs/safety.md, row 27).

`check()` decides on a CAPS frame; the link keeps the last accepted counter, and saves the
counter and the caps together (capstore.py) before applying them.
"""

from softcrank_fw import protocol as P
from softcrank_fw.compat import const
from softcrank_fw.hmac256 import b64url, equal, hmac_sha256, sha256

DOMAIN = "softcrank-caps-v1"
CAL_DOMAIN = "softcrank-cal-v1"
KEY_FILE = "device.key"
KEY_BYTES = const(32)
TAG_BYTES = const(16)  # 128 bits
TAG_CHARS = const(22)  # base64url of 16 bytes, without padding


def message(device_id, counter, values):
    """The bytes the tag authenticates. Device ids are tokens, so '|' cannot occur in one."""
    return (DOMAIN + "|" + device_id + "|" + str(counter) + "|" + ",".join([str(v) for v in values])).encode()


def tag(key, device_id, counter, values):
    """The CAPS tag for these values, as the host computes it too."""
    return b64url(hmac_sha256(key, message(device_id, counter, values))[:TAG_BYTES])


def cal_message(device_id, counter, side, newtons):
    """The bytes a CAL tag authenticates."""
    return (CAL_DOMAIN + "|" + device_id + "|" + str(counter) + "|" + side + "|" + str(newtons)).encode()


def cal_tag(key, device_id, counter, side, newtons):
    """The CAL tag, as the host computes it too."""
    return b64url(hmac_sha256(key, cal_message(device_id, counter, side, newtons))[:TAG_BYTES])


def load_key(path=KEY_FILE):
    """The trainer's key from its file (64 hex digits), or None if it is absent or malformed."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if len(text) != 2 * KEY_BYTES:
        return None
    digits = text.lower().encode()
    key = bytearray(KEY_BYTES)
    for i in range(KEY_BYTES):
        hi = _HEX.find(digits[2 * i : 2 * i + 1])
        lo = _HEX.find(digits[2 * i + 1 : 2 * i + 2])
        if hi < 0 or lo < 0:
            return None
        key[i] = (hi << 4) | lo
    return bytes(key)


_HEX = b"0123456789abcdef"


def check(key, last, device_id, values, counter, tag_text):
    """(0, 0) if a CAPS frame is authentic and new, else (NAK code, REFUSED_* reason).

    key: the trainer's key, or None: without a key (or without sha256) no CAPS passes.
    last: the last accepted counter, as stored with the caps (0 when none ever was)."""
    if key is None or sha256 is None:
        return P.NAK_NOKEY, P.REFUSED_NOKEY
    return _judge(tag(key, device_id, counter, values), last, counter, tag_text)


def check_cal(key, last, device_id, side, newtons, counter, tag_text):
    """As check(), for a CAL frame."""
    if key is None or sha256 is None:
        return P.NAK_NOKEY, P.REFUSED_NOKEY
    return _judge(cal_tag(key, device_id, counter, side, newtons), last, counter, tag_text)


def _judge(want, last, counter, tag_text):
    if len(tag_text) != TAG_CHARS or not equal(want, tag_text):
        return P.NAK_AUTH, P.REFUSED_TAG
    if counter <= last:
        return P.NAK_STALE, P.REFUSED_STALE
    return 0, 0
