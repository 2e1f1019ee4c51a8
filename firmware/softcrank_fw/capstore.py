"""The therapist's caps on flash, with the last accepted CAPS counter and a short history of
accepted caps, in caps.json:

    {"format": 2, "counter": <n>, "caps": [<the CAPS values, the patient last>],
     "history": [[<counter>, <s since boot>, "<tag>"], ...], "check": "<16 hex digits>"}

The history (protocol 4, docs/security.md "Tamper evidence") keeps the last HISTORY_LEN caps
the trainer accepted (a CAL's counter, which saves the caps unchanged, too): each entry's
counter, the seconds since boot when it was saved, and its tag, digest(counter, caps), which
the host computes from its own record of what it sent. The host reads it at every connect
(CAPSLOG) and compares it with the ride log: caps written to flash by hand, a counter that
went back, caps signed with a key this laptop did not write, all show up there. It is
evidence, not a lock: whoever can write this file by hand could write the history too, but not
the ride log on the therapist's laptop. A format-1 file (before protocol 4) loads with an
empty history.

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
writes a new key (which makes every old tag worthless). docs/security.md.
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
FORMAT = const(2)
HISTORY_LEN = const(8)  # 8 entries x about 30 bytes: the file stays under 400 bytes, one littlefs block
_MS_MASK = const((1 << 30) - 1)


def uptime_s():
    """Seconds since boot (a Pico's ticks_ms wraps at 2**30 ms, 12.4 days; so does this)."""
    try:
        from time import ticks_ms
    except ImportError:  # CPython
        from time import monotonic  # type: ignore[attr-defined]  # the stubs are MicroPython's

        return (int(monotonic() * 1000) & _MS_MASK) // 1000
    return (ticks_ms() & _MS_MASK) // 1000  # type: ignore[operator]  # an int on the board


def digest(counter, values):
    """The file's check: 16 hex digits of SHA-256 over its counter and caps."""
    text = "softcrank-capsfile-v1|%d|%s" % (counter, ",".join([str(v) for v in values]))
    h = sha256(text.encode()).digest()
    return "".join(["%02x" % b for b in h[:8]])


def file_check(counter, values, history):
    """Format 2's check: 16 hex digits of SHA-256 over the counter, the caps and the history."""
    text = "softcrank-capsfile-v2|%d|%s|%s" % (counter, ",".join([str(v) for v in values]),
                                               ";".join(["%d,%d,%s" % (e[0], e[1], e[2]) for e in history]))
    h = sha256(text.encode()).digest()
    return "".join(["%02x" % b for b in h[:8]])


def load(path=FILE):
    """(0, counter, caps) from the file; or (DEFAULTS_MISSING or DEFAULTS_CORRUPT, 0, None)."""
    status, counter, values, _ = _read(path)
    return status, counter, values


def load_history(path=FILE):
    """The accepted caps' history, oldest first: [[counter, s since boot, tag], ...]; [] if none."""
    return _read(path)[3]


def _read(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError:
        return P.DEFAULTS_MISSING, 0, None, []  # littlefs and POSIX both: no such file
    except Exception:  # ValueError; a garbled file may raise others on MicroPython
        return P.DEFAULTS_CORRUPT, 0, None, []
    if not isinstance(doc, dict) or doc.get("format") not in (1, FORMAT) or sha256 is None:
        return P.DEFAULTS_CORRUPT, 0, None, []
    counter, values, check = doc.get("counter"), doc.get("caps"), doc.get("check")
    bad = (P.DEFAULTS_CORRUPT, 0, None, [])  # type: tuple
    if not isinstance(counter, int) or isinstance(counter, bool) or not 0 <= counter <= P.INT_MAX:
        return bad
    if not isinstance(values, list):
        return bad
    for v in values:
        if not _int(v):
            return bad
    history = doc.get("history", []) if doc["format"] == FORMAT else []
    if not _history_ok(history):
        return bad
    want = file_check(counter, values, history) if doc["format"] == FORMAT else digest(counter, values)
    if Caps.validate(values) or check != want:
        return bad
    return 0, counter, values, history


def _history_ok(history):
    if not isinstance(history, list) or len(history) > HISTORY_LEN:
        return False
    for e in history:
        if not isinstance(e, list) or len(e) != 3 or not _int(e[0]) or not _int(e[1]) or not isinstance(e[2], str):
            return False
        if not 0 <= e[0] <= P.INT_MAX or not 0 <= e[1] <= P.INT_MAX or len(e[2]) != 16:
            return False
    return True


def save(counter, values, path=FILE):
    """Write the caps and their counter, adding them to the history; raises OSError if the
    flash cannot take it. The one place the history is written: with the caps, in one file."""
    history = load_history(path)
    if not history or history[-1][0] != counter:
        history.append([counter, uptime_s(), digest(counter, values)])
    history = history[-HISTORY_LEN:]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"format": FORMAT, "counter": counter, "caps": list(values), "history": history,
                   "check": file_check(counter, values, history)}, f)
    os.rename(tmp, path)  # littlefs and POSIX replace the old file in one step


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)
