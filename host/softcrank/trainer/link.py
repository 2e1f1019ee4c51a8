"""The host's serial link to a trainer: handshake, commands, heartbeat, records, reconnects.

One Link owns one port, opened with pyserial's `serial_for_url` (a Pico's /dev/ttyACM0, the
virtual trainer's pseudo-terminal, `loop://`), or found by the Pico's USB ids. Two threads:

- the *reader*, one per connection (the shape of pyserial's serial.threaded.ReaderThread):
  reads what has arrived with a 0.1 s per-read timeout, splits lines, decodes them with
  frames.parse and skips the ones that do not decode (a reconnect can leave half a line, a
  board in its REPL prints text). It hands records to the sink, telemetry to a newest-wins
  slot and answers to the command waiting for them, and never waits for anybody;
- the *supervisor*: opens the port, says HELLO, fetches the records the sink lacks with
  REPLAY, sends the heartbeat, notices a lost link and reconnects with back-off.

States (reported to `on_state(state, detail)`): "closed" -> open() -> "connecting" ->
"connected" -> (cable out) "lost" -> "connecting" -> ... -> close() -> "closed". A protocol
mismatch is the one error that ends the retrying: the link goes "closed" and `error` says why.

The numbers, and why: timings.py.

Commands go one at a time: the firmware remembers only the last command's seq for resends,
so a second command in flight would make a resend of the first look new and apply it twice.
The one exception is an urgent command (ESTOP, PAUSE: `command(..., urgent=True)`): it goes
on the wire at once, without waiting for the command, heartbeat or REPLAY in flight. That
one is then overtaken: it is never sent again (its resend would look new to the firmware)
and raises Overtaken if its answer had not come; a REPLAY overtaken is asked again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Sequence

import serial

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from ..frames import Commander, Frame
from .errors import CommandRefused, LinkError, Lost, Overtaken, ProtocolMismatch
from .handshake import Handshake
from .latest import Latest
from .records import RecordReader, _call
from .timings import ANSWER_TIMEOUT_S, BACKOFF_MAX_S, BACKOFF_MIN_S, HEARTBEAT_S, RETRIES, SILENCE_S

__all__ = ["Link", "LinkError", "CommandRefused", "Overtaken", "ProtocolMismatch", "Lost", "Latest", "STATES", "URGENT"]

log = logging.getLogger(__name__)

STATES = ("connecting", "connected", "lost", "closed")
READ_TIMEOUT_S = 0.1  # per read: how soon the reader notices it should stop
WRITE_TIMEOUT_S = 1.0  # a device that takes nothing for 1 s is gone (SerialTimeoutException)
OPEN_WAIT_S = 10.0
BAUDRATE = 115200  # ignored on USB; what a UART-connected unit needs
_LINK_OWNED = ("HELLO", "REPLAY", "ACK")  # the link's own bookkeeping: not for callers
URGENT = frozenset(("ESTOP", "PAUSE"))  # may overtake the command in flight (see the module doc)


class _Retry(Exception):
    """This attempt to connect failed; the supervisor tries again after a back-off."""


class Link(Handshake, RecordReader):
    """A link to one trainer. open() (or `with`) starts it; close() ends it.

    port: a device path or pyserial URL; None finds the one Pico on USB (2E8A:0005), again at
        every reconnect (a Pico plugged back in may come back under another name).
    store(frames): the sink for records (T and E frames), called from the reader thread with
        each batch, in record order, without gaps. After a reconnect the records after the
        last committed one are handed again: store them keyed by `rec`. Keep it quick: a
        store() slower than `silence_s` looks like a lost link. If it raises, the link counts
        as lost, and the records from the last committed one on come again.
    committed() -> rec or None: the newest record the sink has made safe; only those are
        ACKed, and a reconnect replays from the one after. Default: whatever was handed over.
    on_frame(frame): every frame as it arrives (answers, K after a TARE...), records once each
        in record order. Called from the reader thread: post a message, do not block.
    on_state(state, detail): every change of state or of its explanation.
    on_lost(Lost): records that are gone for good; never silent.
    An exception in on_frame, on_state or on_lost is logged (logging, "softcrank.trainer.link") and
    the link carries on; one in store() or committed() counts as a lost link (see store).
    """

    def __init__(self, port: str | None = None, on_frame: Callable[[Frame], object] | None = None,
                 store: Callable[[list[Frame]], object] | None = None,
                 committed: Callable[[], int | None] | None = None,
                 on_state: Callable[[str, str], object] | None = None,
                 on_lost: Callable[[Lost], object] | None = None,
                 heartbeat_s: float = HEARTBEAT_S, silence_s: float = SILENCE_S,
                 answer_timeout_s: float = ANSWER_TIMEOUT_S, retries: int = RETRIES,
                 baudrate: int = BAUDRATE) -> None:
        self.port = port
        self.port_name = port or ""  # the port in use
        self._on_frame = on_frame
        self._store = store
        self._committed = committed
        self._on_state = on_state
        self._on_lost = on_lost
        self.heartbeat_s, self.silence_s = heartbeat_s, silence_s
        self.answer_timeout_s, self.retries, self.baudrate = answer_timeout_s, retries, baudrate
        self.state, self.detail = "closed", "not opened yet"
        self.error: LinkError | None = None  # why the link closed itself
        self.info: dict[str, Frame] = {}  # the last handshake's H, C, G and K
        self.caps_log: list[Frame] = []  # the trainer's accepted caps (L frames, protocol 4's CAPSLOG)
        self.lost: list[Lost] = []
        self.bad_lines = 0
        self._state_cond = threading.Condition()
        self._seq = Commander()
        self._serial: serial.SerialBase | None = None
        self._reader: threading.Thread | None = None
        self._reader_stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._closing = threading.Event()
        self._wake = threading.Event()  # the supervisor has something to do
        self._command_lock = threading.Lock()  # one command in flight (see the module doc)
        self._urgent_lock = threading.Lock()  # one urgent command at a time, beside the one in flight
        self._overtaken = 0  # counts urgent commands: an exchange that sees it change stops resending
        self._urgent_seq: int | None = None  # the urgent command waiting for its answer
        self._urgent_answer: Frame | None = None
        self._urgent_answered = threading.Event()
        self._write_lock = threading.Lock()
        self._mutex = threading.Lock()  # the bookkeeping below, shared by the reader and others
        self._loss: str | None = None  # why the current connection failed
        self._last_sent = self._last_heard = 0.0
        # the command waiting for its answer
        self._waiting: int | None = None
        self._answer_frames: list[Frame] = []
        self._answer: Frame | None = None
        self._answered = threading.Event()
        # records
        self._next: int | None = None  # the next rec the sink needs; None before the first handshake
        self._first: int | None = None  # the first rec this link wanted
        self._last_handed: int | None = None  # the newest rec store() has returned from
        self._delivered: int | None = None  # the newest rec given to on_frame
        self._newest_t: int | None = None  # the newest telemetry rec seen
        self._replaying = False  # a REPLAY is on its way: records ahead of _next are not a new gap
        self._replay_seq: int | None = None
        self._replay_wanted = False
        self._jump = False  # REPLAY said GONE: the next record starts at the ring's oldest
        self._device: str | None = None
        self._latest = Latest()

    # ----- life cycle ---------------------------------------------------------------------

    def __enter__(self) -> "Link":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self, wait: float | None = OPEN_WAIT_S) -> "Link":
        """Start connecting. With `wait`, block until connected and raise LinkError if that does
        not happen in time (or ProtocolMismatch at once); with None, return at once."""
        if self._supervisor is not None:
            raise LinkError("the link is already open")
        self._closing.clear()
        self.error = None
        self._set_state("connecting", self._opening())
        self._supervisor = threading.Thread(target=self._supervise, name="softcrank-link", daemon=True)
        self._supervisor.start()
        if wait is not None and not self.wait_connected(wait):
            error = self.error or LinkError("no trainer answered on %s within %.0f s (%s)"
                                            % (self.port or "USB", wait, self.detail))
            self.close()
            raise error
        return self

    def close(self) -> None:
        """Stop the threads and close the port. A session on the trainer is not stopped: send
        STOP first if that is meant; otherwise the trainer pauses it after 10 s of silence."""
        self._closing.set()
        self._wake.set()
        sup = self._supervisor
        if sup is not None and sup is not threading.current_thread():
            sup.join(timeout=5)
        self._supervisor = None
        if self.state != "closed":
            self._set_state("closed", self.detail if self.error else "closed by the host")

    def wait_connected(self, timeout: float | None = None) -> bool:
        """True once connected; False after `timeout` or when the link closed."""
        with self._state_cond:
            self._state_cond.wait_for(lambda: self.state in ("connected", "closed"), timeout)
            return self.state == "connected"

    # ----- what callers use ---------------------------------------------------------------

    def command(self, type_: str, *values, timeout: float | None = None, retries: int | None = None,
                urgent: bool = False) -> list[Frame]:
        """Send a command and wait for its answer; returns the frames that came before the A
        (a CAPS answer carries C and G). Without an answer in `timeout` the same frame (same
        seq) goes again, up to `retries` times: the firmware answers a resend without applying
        it twice. Raises CommandRefused on N, LinkError if not connected or no answer came.
        `urgent` (ESTOP, PAUSE only): on the wire at once, overtaking the command in flight."""
        if type_ in _LINK_OWNED:
            raise ValueError("%s is the link's own business (handshake, replay, heartbeat)" % type_)
        if self._reader is threading.current_thread():
            raise LinkError("command() from the reader thread (a callback) would wait for itself")
        if self.state != "connected":
            raise LinkError("not connected to the trainer (%s: %s)" % (self.state, self.detail))
        if urgent:
            if type_ not in URGENT:
                raise ValueError("only %s may overtake the command in flight, not %s" % (", ".join(sorted(URGENT)), type_))
            frames, answer = self._urgent(type_, values, timeout, retries)
        else:
            frames, answer = self._exchange(type_, values, timeout, retries)
        if answer.type == "N":
            raise CommandRefused(type_, answer["code"])
        for frame in frames:  # an answer's new caps, goals or calibration replace the handshake's
            if frame.type in ("C", "G", "K") and self.info:
                self.info = dict(self.info, **{frame.type: frame})
        return frames

    def latest(self) -> Frame | None:
        """The newest telemetry sample (T) received, or None."""
        return self._latest.peek()

    def wait_latest(self, timeout: float | None = None) -> Frame | None:
        """The newest telemetry sample not taken yet, waiting up to `timeout`; None if none came.
        Samples that came in between are skipped: a slow screen sees fewer, never older ones."""
        return self._latest.take(timeout)

    # ----- the supervisor: connect, serve, reconnect -----------------------------------------

    def _supervise(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._closing.is_set():
            try:
                self._connect()
            except ProtocolMismatch as e:
                self.error = e
                self._disconnect()
                self._set_state("closed", str(e))
                return
            except _Retry as e:
                self._disconnect()
                self._set_state("connecting", "%s; trying again in %.1f s" % (e, backoff))
                self._closing.wait(backoff)
                backoff = min(2 * backoff, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_MIN_S
            reason = self._serve()
            self._disconnect()
            if reason:
                self._set_state("lost", reason)
                self._closing.wait(backoff)
        self._disconnect()
        self._set_state("closed", "closed by the host")

    def _connect(self) -> None:
        """Open the port, handshake, and ask for the records the sink lacks. Raises _Retry."""
        self._set_state("connecting", self._opening())
        try:
            if self.port is None:
                from .ports import find_port  # PortNotFound (a RuntimeError) when no Pico is there

                self.port_name = find_port()
            self._serial = serial.serial_for_url(self.port_name, baudrate=self.baudrate, timeout=READ_TIMEOUT_S,
                                                 write_timeout=WRITE_TIMEOUT_S, exclusive=True)
        except (OSError, ValueError, RuntimeError) as e:  # SerialException is an OSError
            raise _Retry(str(e)) from e
        with self._mutex:
            self._loss = None
            self._replaying, self._replay_seq, self._jump = True, None, False  # until REPLAY: no new gaps
        self._last_heard = time.monotonic()
        self._reader_stop = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(self._serial, self._reader_stop),
                                        name="softcrank-link-reader", daemon=True)
        self._reader.start()
        self._set_state("connecting", "handshake on %s" % self.port_name)
        try:
            # The handshake waits the real-time answer timeout even at a virtual trainer's speed:
            # a restarted host finds the port full of the trainer's backlog, which arrives before
            # the answer, and nothing hurries while the host is away anyway.
            wait = max(self.answer_timeout_s, ANSWER_TIMEOUT_S)
            frames, answer = self._exchange("HELLO", [P.PROTOCOL_VERSION], timeout=wait)
            info = {f.type: f for f in frames}
            self._check_hello(info, answer)
            start = self._resume_point(info["H"])
            frames, _ = self._exchange("CAPSLOG", [])  # tamper evidence: trainer/capscheck.py
            caps_log = [f for f in frames if f.type == "L"]
            _, answer = self._exchange("REPLAY", [start], timeout=wait)  # GONE is handled by the reader, in stream order
            if answer.type == "N" and answer["code"] != "GONE":
                raise LinkError("the trainer refused REPLAY %d: %s" % (start, answer["code"]))
        except LinkError as e:
            if isinstance(e, ProtocolMismatch):
                raise
            raise _Retry("%s: %s" % (self.port_name, e)) from e
        self.info = info
        self.caps_log = caps_log
        h = info["H"]
        self._set_state("connected", "%s: firmware %s, protocol %d, device %s"
                        % (self.port_name, h["fw"], h["proto"], h["device"]))

    def _opening(self) -> str:
        return "opening %s" % (self.port or "the Pico on USB")

    def _serve(self) -> str | None:
        """Heartbeat and gap-filling while connected; returns why the connection ended, or
        None when closing. Sleeps until the next beat is due or the reader wakes it."""
        while True:
            self._wake.clear()
            if self._closing.is_set():
                return None
            if self._loss:
                return self._loss
            now = time.monotonic()
            if now - self._last_heard > self.silence_s:
                return "nothing from the trainer for %.1f s" % (now - self._last_heard)
            with self._mutex:
                replay, self._replay_wanted = self._replay_wanted, False
                start = self._next
            try:
                if replay:
                    self._exchange("REPLAY", [start])
                elif now - self._last_sent >= self.heartbeat_s:
                    self._beat()
            except LinkError:
                with self._mutex:  # no answer: the next gap asks again; silence decides if we are lost
                    self._replaying, self._replay_seq = False, None
            due = min(self._last_sent + self.heartbeat_s, self._last_heard + self.silence_s)
            self._wake.wait(max(0.0, due - time.monotonic()))

    def _beat(self) -> None:
        """ACK the newest committed record (that is the heartbeat), or PING if there is none.
        No resends: another beat follows soon."""
        ack = self._ack_point()
        if ack is None:
            self._exchange("PING", [], retries=0)
        else:
            self._exchange("ACK", [ack], retries=0)

    def _ack_point(self) -> int | None:
        """The committed record to ACK, if it is one this link had; else None (send PING)."""
        committed = self._callers_committed() if self._committed is not None else self._last_handed
        with self._mutex:
            if committed is None or self._next is None or rec_diff(committed, self._next) >= 0:
                return None
        return committed

    def _callers_committed(self) -> int | None:
        if self._committed is None:
            return None
        try:
            return self._committed()
        except Exception as e:  # as a failed store(): the link is lost, and tries again
            self._lose("committed() failed: %r" % e)
            raise LinkError("committed() failed: %r" % e) from e

    def _disconnect(self) -> None:
        self._reader_stop.set()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=2 * READ_TIMEOUT_S + 1)
        self._reader = None
        with self._write_lock:
            ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except OSError:
                pass  # the device is gone already

    def _set_state(self, state: str, detail: str) -> None:
        with self._state_cond:
            changed = (state, detail) != (self.state, self.detail)
            self.state, self.detail = state, detail
            self._state_cond.notify_all()
        if changed and self._on_state is not None:
            _call(self._on_state, state, detail)

    # ----- sending --------------------------------------------------------------------------

    def _exchange(self, type_: str, values: Sequence, timeout: float | None = None,
                  retries: int | None = None) -> tuple[list[Frame], Frame]:
        """Send one command and wait for its A or N, resending the same frame after each timeout."""
        timeout = self.answer_timeout_s if timeout is None else timeout
        retries = self.retries if retries is None else retries
        with self._command_lock:
            with self._mutex:
                seq = self._seq.seq
                frame = self._seq(type_, *values)
                generation = self._overtaken
                self._waiting, self._answer_frames, self._answer = seq, [], None
                self._answered.clear()
                if type_ == "REPLAY":
                    self._replaying, self._replay_seq = True, seq
            try:
                for _ in range(retries + 1):
                    if self._loss:
                        break  # the connection failed: no point waiting out the timeouts
                    if not self._write(frame, unless_overtaken=generation):
                        if type_ == "REPLAY":
                            with self._mutex:
                                self._replaying, self._replay_seq, self._replay_wanted = False, None, True
                        raise Overtaken(type_)
                    if self._answered.wait(timeout):
                        break
                else:
                    raise LinkError("no answer to %s after %d tries" % (type_, retries + 1))
                with self._mutex:
                    if self._answer is None:
                        raise LinkError("the link was lost waiting for the answer to %s (%s)" % (type_, self._loss))
                    return self._answer_frames, self._answer
            finally:
                with self._mutex:
                    self._waiting = None

    def _urgent(self, type_: str, values: Sequence, timeout: float | None,
                retries: int | None) -> tuple[list[Frame], Frame]:
        """Send an urgent command now, overtaking the exchange in flight (it sends nothing more)."""
        timeout = self.answer_timeout_s if timeout is None else timeout
        retries = self.retries if retries is None else retries
        with self._urgent_lock:
            with self._mutex:
                self._overtaken += 1
                seq = self._seq.seq
                frame = self._seq(type_, *values)
                self._urgent_seq, self._urgent_answer = seq, None
                self._urgent_answered.clear()
            try:
                for _ in range(retries + 1):
                    if self._loss:
                        break
                    self._write(frame)  # the newest seq: the firmware still knows a resend of it
                    if self._urgent_answered.wait(timeout):
                        break
                else:
                    raise LinkError("no answer to %s after %d tries" % (type_, retries + 1))
                with self._mutex:
                    if self._urgent_answer is None:
                        raise LinkError("the link was lost waiting for the answer to %s (%s)" % (type_, self._loss))
                    return [], self._urgent_answer
            finally:
                with self._mutex:
                    self._urgent_seq = None

    def _write(self, data: bytes, unless_overtaken: int | None = None) -> bool:
        """Write `data`; False, writing nothing, when an urgent command came after generation
        `unless_overtaken` (checked under the write lock: no urgent frame slips in between)."""
        with self._write_lock:
            if unless_overtaken is not None:
                with self._mutex:
                    if self._overtaken != unless_overtaken or self._urgent_seq is not None:
                        return False
            if self._serial is None:
                raise LinkError("the port is closed")
            try:
                self._serial.write(data)
            except OSError as e:  # SerialException (a timeout too) is an OSError
                self._lose("cannot write to %s: %s" % (self.port_name, e))
                raise LinkError(str(e)) from e
            self._last_sent = time.monotonic()
        return True

    def _lose(self, reason: str) -> None:
        """The connection failed: wake the supervisor and the command waiting for an answer."""
        with self._mutex:
            self._loss = self._loss or reason
        self._answered.set()
        self._urgent_answered.set()
        self._wake.set()
