"""The whole firmware rides a 30-minute session, with signed caps, in 176 KB of heap on the 64-bit
unix port (a Pico, 32-bit, leaves ~190 KB). It was 128 KB before authenticated caps, 160 KB before
issue 12's safety watches, 168 KB before the timer tick's guard, the flash keeper, the modelled USB
FIFO and the caps history (170 KB is the smallest that rides): docs/firmware.md, *Memory*.

The image is the one deploy puts on a board: packages compiled to .mpy by mpy-cross."""

import io
import os
import subprocess

from softcrank.boardfiles import image
from softcrank.sim.demo import DEMO_KEY, _pipe_sender, _reader, ride
from softcrank.boardfiles.interpreter import micropython


def test_a_30_minute_session_with_signed_caps_runs_in_176k_of_heap_without_a_memory_error(tmp_path):
    image.build(tmp_path, "sim")
    (tmp_path / "device.key").write_text(DEMO_KEY.hex())  # the caps below are signed with it
    env = dict(os.environ, MICROPYPATH=".frozen" + os.pathsep + str(tmp_path))
    proc = subprocess.Popen([micropython(), "-X", "heapsize=176K", "-m", "softcrank_sim.main", "--speed", "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=tmp_path)
    try:
        result = ride(_pipe_sender(proc), _reader(proc.stdout), 25, 600, io.StringIO().write,
                      [20, 30, 30, 250, 5, 300, 180, 250], timeout_s=300)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    err = proc.stderr.read()
    assert b"MemoryError" not in err, err
    assert result["events"][-1] == ("DONE", 0)
    assert result["elapsed_s"] >= 33 * 60 - 5  # 5 min warm-up + 25 work + 3 cool-down
    assert result["missing"] == 0
