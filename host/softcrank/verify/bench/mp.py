"""Running mp_firmware.py on the MicroPython interpreter and reading its JSON back."""

from __future__ import annotations

import json
import pathlib
import subprocess

from ...boardfiles.interpreter import environment, micropython

SCRIPT = pathlib.Path(__file__).resolve().parent / "mp_firmware.py"
HEAP = "2M"  # room for the benchmark's own bookkeeping; the firmware's live heap is measured apart
TIMEOUT_S = 1800


class BenchError(RuntimeError):
    pass


def run_group(group: str, scale: float) -> dict:
    """The raw figures of one firmware group (tick, cadence, safety), measured on MicroPython."""
    run = subprocess.run([micropython(), "-X", "heapsize=" + HEAP, str(SCRIPT), group, repr(scale)],
                         capture_output=True, text=True, timeout=TIMEOUT_S, env=environment())
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        raise BenchError("the %s benchmark failed on MicroPython: %s" % (group, (run.stderr or run.stdout).strip()[-800:]))
    return json.loads(lines[-1])
