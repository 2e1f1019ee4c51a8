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

The numbers, and why:

- HEARTBEAT_S = 0.5: the trainer stops resistance rising after 3 s without a valid command
  from the host and pauses the session after 10 s (docs/protocol.md). A beat every 0.5 s
  means five beats in a row must go missing (or the laptop stall for 2.5 s) before the rider
  even feels the hold. Cost: two frames of about 20 bytes and their answers a second, under
  1 % of a 115200-baud UART.
- SILENCE_S = 3.0: the trainer sends telemetry always, at 1..50 Hz, idle too. Nothing valid
  for 3 s is at least three missed samples at the slowest rate: the link is gone, even when
  the port raises nothing (a wedged hub, the virtual trainer's unplug()).
- ANSWER_TIMEOUT_S = 0.5 and RETRIES = 3: the firmware answers within its 10 ms control tick,
  before it sends that tick's records, so 0.5 s is 50 ticks of slack; four tries take 2 s,
  well inside the 3 s hold.
- BACKOFF_MIN_S = 0.2 doubling to BACKOFF_MAX_S = 5: a Pico plugged back in re-enumerates in
  about a second, which the first tries (0.2, 0.4, 0.8 s) catch; a trainer gone for long
  costs one attempt every 5 s. The ring holds 3072 records (5.1 min at 10 Hz, 61 s at
  50 Hz): an outage shorter than that, plus at most 5 s of back-off, loses nothing.

Commands go one at a time: the firmware remembers only the last command's seq for resends,
so a second command in flight would make a resend of the first look new and apply it twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import serial

from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

from .frames import Commander, Frame, FrameError, parse

__all__ = ["Link", "LinkError", "CommandRefused", "ProtocolMismatch", "Lost", "Latest", "STATES"]

log = logging.getLogger(__name__)

STATES = ("connecting", "connected", "lost", "closed")
HEARTBEAT_S = 0.5
SILENCE_S = 3.0
ANSWER_TIMEOUT_S = 0.5
RETRIES = 3
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
READ_TIMEOUT_S = 0.1  # per read: how soon the reader notices it should stop
WRITE_TIMEOUT_S = 1.0  # a device that takes nothing for 1 s is gone (SerialTimeoutException)
OPEN_WAIT_S = 10.0
BAUDRATE = 115200  # ignored on USB; what a UART-connected unit needs
_MAX_PARTIAL = 4 * P.MAX_FRAME  # a "line" longer than this without a newline is noise: drop it
_LINK_OWNED = ("HELLO", "REPLAY", "ACK")  # the link's own bookkeeping: not for callers

NAK_MEANINGS = {
    "BADCRC": "the frame arrived damaged",
    "SYNTAX": "not a frame",
    "TOOLONG": "the frame is too long",
    "UNKNOWN": "the trainer does not take that command",
    "ARGS": "wrong number or kind of values",
    "RANGE": "a value outside what the trainer accepts",
    "STATE": "not possible in the trainer's current state",
    "GONE": "the trainer no longer holds that record",
    "VERSION": "another protocol version",
    "AUTH": "not signed with this trainer's key",
    "STALE": "an old caps request sent again (a replay)",
    "NOKEY": "the trainer has no key: softcrank deploy writes one",
    "UNSAVED": "the trainer could not save the caps",
    "LOADED": "the pedals must be unloaded and still to tare: feet off, wait a second",
}


class LinkError(RuntimeError):
    """The link cannot do what was asked: not connected, no answer, the link was lost."""


class ProtocolMismatch(LinkError):
    """The trainer will not talk to this softcrank (another protocol version): retrying will
    not help, so the link closes."""


class CommandRefused(LinkError):
    def __init__(self, type_: str, code: str) -> None:
        super().__init__("the trainer refused %s: %s (%s)" % (type_, code, NAK_MEANINGS.get(code, "?")))
        self.type = type_
        self.code = code


@dataclass(frozen=True)
class Lost:
    """Records the link could not fetch: `count` of them from `first` (None: unknown)."""

    first: int
    count: int | None
    reason: str  # "overwritten": the ring reused them before a REPLAY fetched them;
    # "restart": the trainer rebooted (or another one is on the port), so its ring started again


class Latest:
    """A one-slot mailbox where the newest value wins: put() never waits, so a slow screen
    never slows the reader; a reader of the slot just sees fewer, newer values."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: Any = None
        self._fresh = False

    def put(self, value: Any) -> None:
        with self._cond:
            self._value = value
            self._fresh = True
            self._cond.notify_all()

    def peek(self) -> Any:
        return self._value

    def take(self, timeout: float | None = None) -> Any:
        """The newest value not taken yet, waiting up to `timeout`; None if none came."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._fresh, timeout):
                return None
            self._fresh = False
            return self._value


class _Retry(Exception):
    """This attempt to connect failed; the supervisor tries again after a back-off."""


class Link:
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
    An exception in on_frame, on_state or on_lost is logged (logging, "softcrank.link") and
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

    def command(self, type_: str, *values, timeout: float | None = None, retries: int | None = None) -> list[Frame]:
        """Send a command and wait for its answer; returns the frames that came before the A
        (a CAPS answer carries C and G). Without an answer in `timeout` the same frame (same
        seq) goes again, up to `retries` times: the firmware answers a resend without applying
        it twice. Raises CommandRefused on N, LinkError if not connected or no answer came."""
        if type_ in _LINK_OWNED:
            raise ValueError("%s is the link's own business (handshake, replay, heartbeat)" % type_)
        if self._reader is threading.current_thread():
            raise LinkError("command() from the reader thread (a callback) would wait for itself")
        if self.state != "connected":
            raise LinkError("not connected to the trainer (%s: %s)" % (self.state, self.detail))
        frames, answer = self._exchange(type_, values, timeout, retries)
        if answer.type == "N":
            raise CommandRefused(type_, answer["code"])
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
                from .deploy import find_port  # DeployError (a RuntimeError) when no Pico is there

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
            frames, answer = self._exchange("HELLO", [P.PROTOCOL_VERSION])
            info = {f.type: f for f in frames}
            self._check_hello(info, answer)
            start = self._resume_point(info["H"])
            _, answer = self._exchange("REPLAY", [start])  # GONE is handled by the reader, in stream order
            if answer.type == "N" and answer["code"] != "GONE":
                raise LinkError("the trainer refused REPLAY %d: %s" % (start, answer["code"]))
        except LinkError as e:
            if isinstance(e, ProtocolMismatch):
                raise
            raise _Retry("%s: %s" % (self.port_name, e)) from e
        self.info = info
        h = info["H"]
        self._set_state("connected", "%s: firmware %s, protocol %d, device %s"
                        % (self.port_name, h["fw"], h["proto"], h["device"]))

    def _opening(self) -> str:
        return "opening %s" % (self.port or "the Pico on USB")

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
                lost = Lost(start, None, "restart")
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
            seq = self._seq.seq
            frame = self._seq(type_, *values)
            with self._mutex:
                self._waiting, self._answer_frames, self._answer = seq, [], None
                self._answered.clear()
                if type_ == "REPLAY":
                    self._replaying, self._replay_seq = True, seq
            try:
                for _ in range(retries + 1):
                    if self._loss:
                        break  # the connection failed: no point waiting out the timeouts
                    self._write(frame)
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

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if self._serial is None:
                raise LinkError("the port is closed")
            try:
                self._serial.write(data)
            except OSError as e:  # SerialException (a timeout too) is an OSError
                self._lose("cannot write to %s: %s" % (self.port_name, e))
                raise LinkError(str(e)) from e
            self._last_sent = time.monotonic()

    def _lose(self, reason: str) -> None:
        """The connection failed: wake the supervisor and the command waiting for an answer."""
        with self._mutex:
            self._loss = self._loss or reason
        self._answered.set()
        self._wake.set()

    # ----- the reader -------------------------------------------------------------------------

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
