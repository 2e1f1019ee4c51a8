"""The therapist's caps on flash, with the last accepted CAPS counter, in caps.json:

    {"format": 1, "counter": <n>, "caps": [<the CAPS values, the patient last>], "check": "<16 hex digits>"}

so caps set once are enforced after every reboot with no host attached, and a CAPS frame
replayed after a reboot is still refused (the counter survives with the caps it belongs to:
one file, written whole).

`check` is the first 64 bits of SHA-256 over the counter and the values: a file half-written,
bit-rotted or edited by hand fails it. load() also checks every value as a CAPS frame would be
checked (limits.Caps), so a file from an older firmware with looser limits, or from protocol 2
(seven values: one spasm threshold, no patient), is refused too: the defaults, and the
therapist sets the caps again, for the patient.
Anything that fails means the built-in defaults (the conservative CAP_LIMITS defaults) and a
CAPS_DEFAULTS event saying why. Saving writes a temporary file and renames it over the old
one: a power cut mid-write leaves the old caps, not half a file.

The counter, when the file is lost: it restarts at 0, so a recorded old CAPS frame would pass
again, until the therapist sets caps again (which raises the counter) or `softcrank deploy`
writes a new key (which makes every old tag worthless). docs/host.md, "Security model".
"""

import json
import os

from softcrank_fw import protocol as P
from softcrank_fw.compat import const
from softcrank_fw.limits import Caps

try:
    from hashlib import sha256
except ImportError:  # a port built without it: no file passes its check
    sha256 = None  # type: ignore[misc, assignment]  # checked before every use

FILE = "caps.json"
FORMAT = const(1)


def digest(counter, values):
    """The file's check: 16 hex digits of SHA-256 over its counter and caps."""
    text = "softcrank-capsfile-v1|%d|%s" % (counter, ",".join([str(v) for v in values]))
    h = sha256(text.encode()).digest()
    return "".join(["%02x" % b for b in h[:8]])


def load(path=FILE):
    """(0, counter, caps) from the file; or (DEFAULTS_MISSING or DEFAULTS_CORRUPT, 0, None)."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError:
        return P.DEFAULTS_MISSING, 0, None  # littlefs and POSIX both: no such file
    except Exception:  # ValueError; a garbled file may raise others on MicroPython
        return P.DEFAULTS_CORRUPT, 0, None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or sha256 is None:
        return P.DEFAULTS_CORRUPT, 0, None
    counter, values, check = doc.get("counter"), doc.get("caps"), doc.get("check")
    if not isinstance(counter, int) or isinstance(counter, bool) or not 0 <= counter <= P.INT_MAX:
        return P.DEFAULTS_CORRUPT, 0, None
    if not isinstance(values, list):
        return P.DEFAULTS_CORRUPT, 0, None
    for v in values:
        if not _int(v):
            return P.DEFAULTS_CORRUPT, 0, None
    if Caps.validate(values) or check != digest(counter, values):
        return P.DEFAULTS_CORRUPT, 0, None
    return 0, counter, values


def save(counter, values, path=FILE):
    """Write the caps and their counter; raises OSError if the flash cannot take it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"format": FORMAT, "counter": counter, "caps": list(values),
                   "check": digest(counter, values)}, f)
    os.rename(tmp, path)  # littlefs and POSIX replace the old file in one step


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)
