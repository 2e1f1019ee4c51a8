"""The load cells' tare and scale, kept on flash in calibration.json so a unit calibrated once
stays calibrated across power cycles:

    {"format": 1, "tare": [<left>, <right>], "cpn": [<left>, <right>]}

tare in raw ADC counts, cpn in counts per newton (negative for a cell mounted the other way
round). load() checks every value against what the firmware itself would accept
(softcrank_fw.force) and returns None for anything else: a missing, half-written or edited
file leaves the defaults in place and the unit asks to be calibrated, never misreads force.
"""

import json
import os

from softcrank_fw.compat import const
from softcrank_fw.force import CPN_MAX, CPN_MIN

FILE = "calibration.json"
FORMAT = const(1)
_RAW_MIN = const(-0x800000)  # the 24-bit ADC's range
_RAW_MAX = const(0x7FFFFF)


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(doc, key):
    pair = doc.get(key)
    if isinstance(pair, list) and len(pair) == 2 and _int(pair[0]) and _int(pair[1]):
        return pair
    return None


def load(path=FILE):
    """(tare_l, tare_r, cpn_l, cpn_r), or None if the file is absent or not valid."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    tare = _pair(doc, "tare")
    cpn = _pair(doc, "cpn")
    if tare is None or cpn is None:
        return None
    for t in tare:
        if not _RAW_MIN <= t <= _RAW_MAX:
            return None
    for c in cpn:
        if not CPN_MIN <= abs(c) <= CPN_MAX:
            return None
    return tare[0], tare[1], cpn[0], cpn[1]


def save(tare_l, tare_r, cpn_l, cpn_r, path=FILE):
    """Write a new calibration: to a temporary file first, then renamed over the old one, so
    a power cut mid-write leaves the old calibration, not half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"format": FORMAT, "tare": [tare_l, tare_r], "cpn": [cpn_l, cpn_r]}, f)
    os.rename(tmp, path)  # littlefs and POSIX replace the old file in one step
