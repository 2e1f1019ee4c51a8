"""Why the firmware (re)started: the chip's reset cause, and a record the firmware leaves itself.

The chip alone cannot say enough. On the rp2 port, machine.reset() works through the watchdog
(watchdog_reboot), so machine.reset_cause() reads WDT_RESET after a deliberate reset exactly as
after a hang; and a soft reset (Ctrl-D, mpremote) leaves the last hardware cause in place. So
before a deliberate reset, and when it catches an exception or Ctrl-C, the firmware writes
reset.json: {"code": <code>, "text": <a short reason>}. At start-up take() combines the two
and deletes the record, so a record always describes the run just before this one:

| code | name | meaning |
| --- | --- | --- |
| 0 | POWER_ON | no record and no watchdog: power applied (or a soft reset with no record) |
| 1 | WATCHDOG | no record and the chip says watchdog: the loop hung or its ticks were unhealthy (ticker.py) |
| 2 | EXCEPTION | the firmware caught an exception, zeroed the brake and reset (main.py) |
| 3 | DEPLOY | a deliberate reset: reset_now(), e.g. after a deploy |
| 4 | INTERRUPTED | Ctrl-C (KeyboardInterrupt): the REPL took over, then something restarted the firmware |

A record wins over the chip's cause: it says how the last run ended, which the chip cannot.
One limit: a power cut after a record (Ctrl-C, then the cable pulled) reports the record.
The code goes to the host in the EV_BOOT event's argument.
"""

import json
import os

import machine

from softcrank_fw.compat import const

POWER_ON = const(0)
WATCHDOG = const(1)
EXCEPTION = const(2)
DEPLOY = const(3)
INTERRUPTED = const(4)

FILE = "reset.json"
TEXT_MAX = const(80)  # characters of the reason kept: enough for "ValueError: <message>"
_LAST_CODE = const(4)


def record(code, text, path=FILE):
    """Leave a record for the next start. Never raises: it runs on the way down."""
    try:
        with open(path, "w") as f:
            json.dump({"code": code, "text": str(text)[:TEXT_MAX]}, f)
        return True
    except Exception:  # a full or broken filesystem must not mask what we were handling
        return False


def take(path=FILE):
    """(code, text) for this start, from the record if there is one and the chip otherwise;
    the record is deleted, so the next start is judged afresh."""
    code, text = _read(path)
    if code < 0:
        if machine.reset_cause() == machine.WDT_RESET:
            return WATCHDOG, "watchdog"
        return POWER_ON, "power on"
    try:
        os.remove(path)
    except OSError:
        pass
    return code, text


def _read(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):  # absent, or written half when the power went
        return -1, ""
    if not isinstance(doc, dict):
        return -1, ""
    code = doc.get("code")
    text = doc.get("text")
    if not isinstance(code, int) or isinstance(code, bool) or not POWER_ON <= code <= _LAST_CODE:
        return -1, ""
    return code, text if isinstance(text, str) else ""


def reset_now(text="deploy", path=FILE):
    """A deliberate reset that the next start reports as DEPLOY, not as the watchdog."""
    record(DEPLOY, text, path)
    machine.reset()
