"""Runs the benchmark groups and prints their figures as a table or as JSON."""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import TextIO

from ...boardfiles.interpreter import micropython
from . import GROUPS, Figure


def machine() -> dict:
    """What the figures were measured on: they mean little without it."""
    try:
        mp = subprocess.run([micropython(), "-c", "import sys; print(sys.implementation.version)"],
                            capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        mp = "?"
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "system": platform.system(),
            "python": platform.python_version(), "micropython": mp,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def run(groups=GROUPS, quick: bool = False, progress: TextIO | None = None) -> dict:
    """{"machine", "quick", "seconds", "figures": [Figure...]} for the groups asked for."""
    figures: list[Figure] = []
    started = time.monotonic()
    for group in groups:
        if progress:
            print("softcrank bench: %s..." % group, file=progress, flush=True)
        module = importlib.import_module("softcrank.verify.bench." + group)
        figures += module.run(quick)
    return {"machine": machine(), "quick": quick, "seconds": round(time.monotonic() - started, 1), "figures": figures}


def as_json(result: dict) -> str:
    figures = {f.key: {k: v for k, v in f.as_dict().items() if k != "key"} for f in result["figures"]}
    return json.dumps(dict(result, figures=figures), indent=1)


def as_table(result: dict) -> str:
    rows = [("figure", "value", "limit", "what")]
    for f in result["figures"]:
        value = "--" if f.value is None else ("%g" % f.value if isinstance(f.value, float) else str(f.value))
        rows.append((f.key, (value + " " + f.unit).strip(), f.limit, f.what))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["%-*s  %*s  %-*s  %s" % (widths[0], r[0], widths[1], r[1], widths[2], r[2], r[3]) for r in rows]
    m = result["machine"]
    lines.append("")
    lines.append("%s%d CPUs (%s %s), Python %s, MicroPython %s, %s; %.0f s%s" % (
        "QUICK RUN (sizes shrunk; not figures to quote): " if result["quick"] else "",
        m["cpus"] or 0, m["system"], m["machine"], m["python"], m["micropython"], m["date"], result["seconds"],
        "; limits and arithmetic: docs/performance.md"))
    return "\n".join(lines)


def main(groups, quick: bool, json_out: bool, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    result = run(groups, quick, progress=sys.stderr)
    print(as_json(result) if json_out else as_table(result), file=out)
    return 0
