"""The host's view of the wire protocol: softcrank_fw.protocol, with named fields.

The firmware's module is the one definition of the format; this only adds what is handy on
a laptop: frames as objects whose fields have names, and a sequence counter for commands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from softcrank_fw import protocol as P
from softcrank_fw.protocol import FrameError

__all__ = ["Frame", "FrameError", "Commander", "parse", "await_frame"]


@dataclass(frozen=True)
class Frame:
    type: str
    seq: int
    fields: dict

    def __getitem__(self, name):
        return self.fields[name]


def parse(line: bytes) -> Frame:
    """Decode one line into a Frame; raises FrameError for anything that is not a valid frame."""
    type_, seq, values = P.decode(line)
    names = [name for name, _ in P.spec(type_)]
    return Frame(type_, seq, dict(zip(names, values)))


class Commander:
    """Numbers the host's commands and encodes them."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, type_: str, *values) -> bytes:
        frame = P.encode(type_, self.seq, list(values))
        self.seq = (self.seq + 1) % P.SEQ_MODULO
        return frame


def await_frame(port, match: Callable[[Frame], bool], timeout_s: float) -> Frame | None:
    """Read a serial port until a frame satisfies `match`; None after `timeout_s`.

    Lines that do not decode are skipped: a reconnect can leave half a line."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            frame = parse(port.readline())
        except FrameError:
            continue
        if match(frame):
            return frame
    return None
