"""Why the simulated board (re)started: the same codes a Pico reports (softcrank_pico/resetlog.py).

Two sources, as on a Pico. The firmware leaves itself a record, reset.json, when it catches an
exception or Ctrl-C (main.py). The "chip" is the virtual board around the interpreter
(host/softcrank/virtual_board.py): when its watchdog resets the board it writes the file
CHIP = "chip_reset" into the flash folder, as an RP2040 sets its reset-reason register. At
start-up take() reads both, the record first, and deletes them, so each start is judged afresh.
"""

import json
import os

from softcrank_fw.compat import const

POWER_ON = const(0)  # the codes of softcrank_pico/resetlog.py (tests/host/test_safety_faults.py checks)
WATCHDOG = const(1)
EXCEPTION = const(2)
INTERRUPTED = const(4)

RECORD = "reset.json"
CHIP = "chip_reset"
TEXT_MAX = const(80)


def record(code, text, path=RECORD):
    """Leave a record for the next start. Never raises: it runs on the way down."""
    try:
        with open(path, "w") as f:
            json.dump({"code": code, "text": str(text)[:TEXT_MAX]}, f)
        return True
    except Exception:
        return False


def take(path=RECORD, chip=CHIP):
    """The reset code for this start: the firmware's record, else the chip's, else POWER_ON."""
    code = _remove(path, _record_code)
    chip_code = _remove(chip, _chip_code)
    if code >= 0:
        return code
    return chip_code if chip_code >= 0 else POWER_ON


def _record_code(f):
    doc = json.load(f)
    code = doc.get("code") if isinstance(doc, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= INTERRUPTED else -1


def _chip_code(f):
    return WATCHDOG if f.read().strip() == "watchdog" else -1


def _remove(path, read):
    """read(file) of the file at path, or -1 if it is absent or unreadable; the file is deleted."""
    try:
        with open(path) as f:
            code = read(f)
    except (OSError, ValueError):
        return -1
    try:
        os.remove(path)
    except OSError:
        pass
    return code
