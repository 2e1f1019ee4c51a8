"""Printing for a person from several threads, and a reader that goes away.

`Lines` is the one writer of a command's lines: the link's threads (a lost link, records that
could not be fetched) and the main thread (status lines) all call it, and a lock makes each
line whole ("link: connected (...)" never runs into "trainer sim-0001: ..."). A closed pipe
(`softcrank ride | head -3`) is not an error of the ride's: the rest of its lines go to
os.devnull, quietly, and the recording carries on.

`quiet_broken_pipe()` is the entry point's guard for every command: when the reader of
standard output went away (`softcrank show 1 | head -1`), the command ends quietly with exit
status 0, as Python's documentation advises (point stdout at os.devnull, so the interpreter's
own flush at exit does not fail again).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

__all__ = ["Lines", "quiet_broken_pipe"]


class Lines:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed = False  # the reader went away

    def __call__(self, line: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            if self.closed:
                return
            try:
                stream.write(line + "\n")
                stream.flush()
            except BrokenPipeError:
                self.closed = True
                quiet_broken_pipe()


def quiet_broken_pipe() -> None:
    """Standard output's reader is gone: send what is left to os.devnull."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's StringIO): nothing to redirect
        pass
