"""The link's reader: lines from the port become frames, records reach the sink in order.

A mixin of Link (link.py), which owns the state it uses (see Link.__init__): the reader thread
splits lines, decodes them, hands answers to the command waiting for them, and hands records
(T and E) on in record order without gaps, asking the supervisor for a REPLAY when one is
missing and noticing a trainer that restarted under an open port.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import serial

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..frames import Frame, FrameError, parse
from .errors import Lost

log = logging.getLogger("softcrank.trainer.link")
_MAX_PARTIAL = 4 * P.MAX_FRAME  # a "line" longer than this without a newline is noise: drop it


class RecordReader:
    def _read(self, port: serial.SerialBase, stop: threading.Event) -> None:
        """Read until stopped or the port fails. pyserial raises SerialException (an OSError)
        when a device disappears on POSIX, Windows and macOS alike, and in_waiting an OSError
        straight from the ioctl; nothing else is expected from the port, so nothing else is
        caught there. The port is closed only after this thread ended (_disconnect), so the
        TypeError a read of a port closed under it can give is never seen. A reader that outlived
        its connection (a store() slower than the join) stays quiet about its old port."""
        partial = bytearray()
        while not stop.is_set():
            try:
                data = port.read(port.in_waiting or 1)
            except OSError as e:
                if not stop.is_set():
                    self._lose("%s failed: %s" % (self.port_name, e))
                return
            if not data:
                continue
            partial += data
            *lines, rest = partial.split(b"\n")
            partial = rest if len(rest) <= _MAX_PARTIAL else bytearray()
            try:
                self._handle(lines)
            except Exception as e:  # store() failed: say so; its records are handed again
                if not stop.is_set():
                    self._lose("storing records failed: %r" % e)
                return

    def _handle(self, lines: list) -> None:
        batch: list[Frame] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                frame = parse(line)
            except FrameError:
                self.bad_lines += 1
                continue
            self._last_heard = time.monotonic()
            if frame.type in ("T", "E"):
                self._record(frame, batch)
            else:
                self._answer_in(frame)
                if self._on_frame is not None:
                    _call(self._on_frame, frame)
        if batch:
            if self._store is not None:
                self._store(batch)
            with self._mutex:
                self._last_handed = batch[-1]["rec"]

    def _answer_in(self, frame: Frame) -> None:
        with self._mutex:
            if frame.type not in ("A", "N"):
                if self._waiting is not None:
                    self._answer_frames.append(frame)
                return
            ref = frame["ref"]
            if ref == self._replay_seq:  # records after this frame come from the new cursor
                self._replaying, self._replay_seq = False, None
                self._jump = frame.type == "N" and frame["code"] == "GONE"
            if ref == self._waiting and self._answer is None:
                self._answer = frame
                self._answered.set()
            if ref == self._urgent_seq and self._urgent_answer is None:
                self._urgent_answer = frame
                self._urgent_answered.set()

    def _record(self, frame: Frame, batch: list[Frame]) -> None:
        """Hand the record on if it is the next one the sink needs; ask for a REPLAY on a gap."""
        rec = frame["rec"]
        lost = None
        restarted = False
        with self._mutex:
            if frame.type == "T" and (self._newest_t is None or rec_diff(rec, self._newest_t) > 0):
                self._newest_t = rec
                self._latest.put(frame)
            if self._next is None:
                return  # before the first handshake: we do not know where the sink starts yet
            ahead = rec_diff(rec, self._next)
            if ahead > 0 and self._jump:  # the ring reused the ones we asked for: say so, go on
                lost, self._next, ahead = Lost(self._next, ahead, "overwritten"), rec, 0
            self._jump = False
            if ahead < 0:
                # had it; unless it is a BOOT: the trainer restarted under an open port (a soft
                # reset, the virtual trainer's watchdog) and its records start again. Only once
                # this link has had records past it, and not while a REPLAY is on its way: a
                # trainer that booted before the host opened the port still sends its backlog
                # (its BOOT first) until the handshake's REPLAY moves it on.
                restarted = (frame.type == "E" and frame["event"] == "BOOT" and not self._replaying
                             and self._delivered is not None and rec_diff(rec, self._delivered) <= 0)
                if not restarted:
                    return
            elif ahead > 0:
                if not self._replaying:  # a line went missing: fetch from the first we lack
                    self._replaying = self._replay_wanted = True
                    self._wake.set()
                return
            if not restarted:
                self._next = (rec + 1) % P.REC_MODULO
                fresh = self._delivered is None or rec_diff(rec, self._delivered) > 0
                if fresh:
                    self._delivered = rec
        if restarted:  # reconnect: the handshake sees the new record numbers and reports the restart
            self._lose("the trainer restarted (record %d is its BOOT event)" % rec)
            return
        if lost:
            self._report_lost(lost)
        batch.append(frame)
        if fresh and self._on_frame is not None:
            _call(self._on_frame, frame)

    def _report_lost(self, lost: Lost) -> None:
        self.lost.append(lost)
        if self._on_lost is not None:
            _call(self._on_lost, lost)


def _call(callback: Callable, *args) -> None:
    """Call a caller's callback; a failure there is logged, and the link carries on."""
    try:
        callback(*args)
    except Exception:
        log.exception("softcrank link: %r failed", callback)
