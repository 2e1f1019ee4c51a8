"""The handshake and where a connection resumes: HELLO, its check, and the REPLAY start.

A mixin of Link (link.py), which owns the state it uses (see Link.__init__).
"""

from __future__ import annotations

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..frames import Frame
from .errors import LinkError, Lost, ProtocolMismatch


class Handshake:
    def _check_hello(self, info: dict, answer: Frame) -> None:
        h = info.get("H")
        if h is None:
            raise LinkError("the answer to HELLO had no H frame")
        if h["proto"] != P.PROTOCOL_VERSION:
            newer = "softcrank (pip install -U softcrank)" if h["proto"] > P.PROTOCOL_VERSION \
                else "the trainer's firmware (softcrank deploy)"
            raise ProtocolMismatch("the trainer speaks protocol %d, this softcrank speaks %d: update %s"
                                   % (h["proto"], P.PROTOCOL_VERSION, newer))
        if answer.type == "N":
            raise ProtocolMismatch("the trainer refused the handshake: %s" % answer["code"])

    def _resume_point(self, h: Frame) -> int:
        """The first record the sink lacks: after the committed one, else where this link began,
        else (a first connection with nothing stored) the trainer's next record."""
        committed = self._callers_committed()
        with self._mutex:
            if self._committed is None:
                committed = self._last_handed  # read here: the reader may be handing records over
            if committed is not None:
                start = (committed + 1) % P.REC_MODULO
                if self._next is not None and rec_diff(start, self._next) > 0:
                    start = self._next  # never skip records the sink was not handed
            elif self._first is not None:
                start = self._first
            else:
                start = h["next_rec"]
            restarted = self._device not in (None, h["device"]) or rec_diff(h["next_rec"], start) < 0
            lost = None
            if restarted:  # the trainer has fewer records than the sink: it rebooted (or it is another)
                # The first record missing is the one after the newest handed over (those are in
                # the sink's batch, committed soon), not after the newest committed.
                first = self._next if self._next is not None and rec_diff(self._next, start) > 0 else start
                lost = Lost(first, None, "restart")
                start = 0
                self._newest_t = self._delivered = self._last_handed = None
                self._first = 0  # its new numbering: a reconnect before anything was handed starts here too
            self._device = h["device"]
            self._next = start
            if self._first is None:
                self._first = start
        if lost:
            self._report_lost(lost)
        return start
