"""`softcrank bench` runs and prints every figure: a smoke test, not a benchmark.

The figures themselves are never asserted here (this machine is shared and noisy: they are
read, in docs/performance.md). What is checked: the command runs end to end with --quick
(the firmware on MicroPython, the virtual trainer, the ride log), prints every figure that
docs/performance.md documents and no undocumented one, each as a number, and --json parses.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from softcrank.cli import main

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "performance.md"


def documented_keys(groups=None):
    keys = set(re.findall(r"`((?:tick|cadence|safety|link|estop|ridelog|chip|clinic)\.[a-z0-9_]+)`", DOC.read_text()))
    return {k for k in keys if groups is None or k.split(".")[0] in groups}


def bench(*args):
    run = subprocess.run([sys.executable, "-m", "softcrank", "bench", "--quick", *args],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_the_json_has_every_documented_figure_as_a_number_and_says_where_it_ran():
    result = json.loads(bench("--json"))
    figures = result["figures"]
    assert set(figures) == documented_keys()
    chip = bool(os.environ.get("SOFTCRANK_RP2_FIRMWARE") and os.environ.get("SOFTCRANK_RP2_BOOTROM"))
    for key, figure in figures.items():
        assert figure["what"], key
        if key.startswith("chip.") and not chip:  # the emulated RP2040 needs files the project does not ship
            assert figure["value"] is None and "SOFTCRANK_RP2_FIRMWARE" in figure["what"], key
            continue
        assert isinstance(figure["value"], (int, float)) and not isinstance(figure["value"], bool), key
    assert result["quick"] is True and result["machine"]["cpus"] >= 1 and result["machine"]["micropython"]


def test_the_table_prints_a_row_for_every_figure_of_the_groups_asked_for():
    out = bench("--only", "safety", "--only", "cadence")
    rows = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert documented_keys({"safety", "cadence"}) <= rows
    assert not documented_keys({"tick", "link", "estop", "ridelog", "chip"}) & rows
    assert "QUICK RUN" in out and "docs/performance.md" in out


def test_an_unknown_group_is_refused_with_the_groups_named(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["bench", "--only", "disk"])
    assert exit.value.code == 2 and "ridelog" in capsys.readouterr().err
