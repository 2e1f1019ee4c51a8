"""Fuzzing the running firmware over the wire: random, mutated and valid-CRC garbage frames sent
to the real firmware on the virtual trainer, mid-session.

`garbage(rng)` makes one line of one of four kinds:

- noise: random bytes, control bytes included (NUL, Ctrl-A/B/D, 0x7F..0xFF, bare CRs);
- mutated: a well-formed command with one to three bit flips, deletions, insertions,
  duplications or truncations, its CRC left as it was;
- valid-CRC garbage: frames whose CRC is right but whose contents are not: unknown and device
  types (as an echo would bring back), missing, extra or malformed fields, numbers past the
  small-int range, over-long lines;
- out of range: well-formed CAPS, GOALS, RATE and CAL commands whose values the firmware must
  refuse.

Only lines the firmware must refuse are sent: a line that decodes as a command it would accept
(the generator sometimes makes one, by chance) is left out and counted (`Fuzz.skipped`). The
one byte never sent is 0x03: it is not noise but the REPL's break, which stops the firmware
with the brake off by design (faultrun.run_ctrl_c tests it); USB's own CRC keeps line noise
from making one.

`run(frames)` sends them in batches, each closed by an ACK (the heartbeat), and checks that:
every line got exactly one refusal (N) and nothing was accepted; the session went on (no state
change, no pause, no reboot); the brake stayed within the cap; the caps and goals are what they
were; and every telemetry record arrived, in order.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import serial

from softcrank_fw import protocol as P
from softcrank_fw.crc import crc16
from softcrank_fw.limits import Caps, Goals

from ..boardfiles import scenario_path
from ..frames import Commander, Frame, FrameError, parse
from ..sim.demo import DEMO_KEY
from ..sim.virtual_board import VirtualBoard
from .faults.harness import FAULT_CAPS, FAULT_GOALS, RATE_HZ, FaultNotHandled, check, signed

BATCH = 25  # lines between two ACKs: about 1.5 KB, six ticks of the firmware's input budget
SPEED = 2.0  # slow virtual time: a host starved of CPU for 5 s still counts as talking
_CTRL_C = 0x03
_REFUSED_IN_WORK = ("START", "RESUME", "TARE", "CAL")  # commands the firmware refuses mid-session


@dataclass
class Fuzz:
    sent: int = 0  # lines sent
    refused: int = 0  # N answers to them
    skipped: int = 0  # generated lines left out: the firmware would have accepted them
    by_kind: dict | None = None
    records: int = 0
    lost: int = 0
    seconds: float = 0.0


def _command(rng: random.Random) -> bytes:
    """A well-formed command with plausible values (for mutating)."""
    type_ = rng.choice(sorted(P.HOST_MESSAGES))
    values = [rng.randint(-5, 300) if kind == P.INT else rng.choice(["L", "R", "X"])
              for _, kind in P.HOST_MESSAGES[type_]]
    return P.encode(type_, rng.randrange(30000, P.SEQ_MODULO), values)


def _with_crc(body: bytes) -> bytes:
    return b"$" + body + b"*%04X\n" % crc16(body)


def noise(rng: random.Random) -> bytes:
    data = bytearray(rng.randrange(256) for _ in range(rng.randint(1, 160)))
    for i, b in enumerate(data):
        if b == _CTRL_C:
            data[i] = 0x04  # Ctrl-D instead: harmless to a running firmware, as it must be
    return bytes(data) + b"\n"


def mutated(rng: random.Random) -> bytes:
    frame = bytearray(_command(rng)[:-1])
    for _ in range(rng.randint(1, 3)):
        if not frame:
            break
        i = rng.randrange(len(frame))
        op = rng.randrange(5)
        if op == 0:
            frame[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del frame[i]
        elif op == 2:
            frame.insert(i, rng.choice([0, 1, 2, 4, 13, 27, 127, 255, rng.randrange(32, 127)]))
        elif op == 3:
            frame[i:i] = frame[i:i + rng.randint(1, 8)]
        else:
            del frame[i:]
    return bytes(b if b != _CTRL_C else 0x04 for b in frame) + b"\n"


def valid_crc(rng: random.Random) -> bytes:
    types = sorted(P.HOST_MESSAGES) + sorted(P.DEVICE_MESSAGES) + ["", "X", "hello", "CAPSS", "PIN6", "$"]
    type_ = rng.choice(types).encode()
    seq = rng.choice([b"30000", b"65535", b"65536", b"-1", b"", b"x", b"030007", b"%d" % rng.randrange(30000, 70000)])
    field = [b"", b"-", b"--1", b"1e3", b"0x10", b"+5", b"L R", b"\x01", b"9" * 12, b"%d" % (1 << 30),
             b"%d" % -(1 << 30) + b"1", b"A" * 30, b"ok", b"%d" % rng.randint(-10**6, 10**6)]
    fields = [rng.choice(field) for _ in range(rng.randint(0, 12))]
    body = b",".join([type_, seq] + fields)
    if rng.random() < 0.1:
        body += b"," + b"7" * rng.randint(100, 200)  # too long for a frame
    line = _with_crc(body)
    if rng.random() < 0.2:
        line = line[:-6] + line[-6:-1].lower() + b"\n"  # lower-case hex: not the format
    return line


def out_of_range(rng: random.Random) -> bytes:
    type_ = rng.choice(["CAPS", "GOALS", "RATE", "CAL"])
    fields = P.HOST_MESSAGES[type_]
    values = [rng.choice([-(1 << 30), -1, 0, 1, 101, 151, 1501, 100000, (1 << 30) - 1]) if kind == P.INT
              else rng.choice(["L", "R", "Q", "left"]) for _, kind in fields]
    return P.encode(type_, rng.randrange(30000, P.SEQ_MODULO), values)


KINDS = {"noise": noise, "mutated": mutated, "valid-crc": valid_crc, "out-of-range": out_of_range}


def must_refuse(line: bytes) -> bool:
    """True if the firmware, mid-session with FAULT_CAPS and FAULT_GOALS, refuses this line."""
    if len(line) >= P.MAX_FRAME:
        return True  # TOOLONG
    try:
        type_, _, values = P.decode(line)
    except P.FrameError:
        return True
    if type_ not in P.HOST_MESSAGES:
        return True  # UNKNOWN
    if type_ in _REFUSED_IN_WORK:
        return True  # STATE (or ARGS/RANGE first)
    if type_ == "CAPS":
        return True  # no tag the trainer's key gives comes by chance (128 bits)
    caps = Caps()
    caps.set(FAULT_CAPS)
    if type_ == "GOALS":
        return Goals(caps).set(values, caps) != 0
    if type_ == "RATE":
        return not 1 <= values[0] <= 50
    return False


def lines_of(data: bytes) -> list[bytes]:
    """The lines the firmware answers, split as its link splits them (blank and lone-CR lines
    get no answer)."""
    return [line for line in data.split(b"\n")[:-1] if line and line != b"\r"]


def garbage(rng: random.Random, kinds=tuple(KINDS)) -> tuple[str, bytes]:
    kind = rng.choice(kinds)
    return kind, KINDS[kind](rng)


def run(frames: int = 1000, seed: int = 1, speed: float = SPEED) -> Fuzz:
    """Fuzz a session on the virtual trainer with `frames` refused lines; FaultNotHandled if a
    promise broke."""
    rng = random.Random(seed)
    result = Fuzz(by_kind={k: 0 for k in KINDS})
    board = VirtualBoard(scenario=str(scenario_path("steady")), speed=speed, key=DEMO_KEY)
    board.start()
    started = time.monotonic()
    try:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            session = _Session(port)
            session.begin()
            while result.sent < frames:
                batch = []
                while len(batch) < BATCH and result.sent + len(batch) < frames:
                    kind, line = garbage(rng)
                    parts = lines_of(line)
                    if not parts or not all(must_refuse(p) for p in parts):
                        result.skipped += 1
                        continue
                    batch.append((kind, line, len(parts)))
                refused = session.exchange(b"".join(line for _, line, _ in batch))
                expected = sum(n for _, _, n in batch)
                check(refused == expected, "%d lines, %d refusals" % (expected, refused))
                result.sent += len(batch)
                result.refused += refused
                for kind, _, _ in batch:
                    result.by_kind[kind] += 1
            session.end()
            result.records, result.lost = session.records, session.lost
        check(board.resets == [] and board.boots == 1, "the board restarted: %s" % board.resets)
    finally:
        board.stop()
    result.seconds = time.monotonic() - started
    return result


class _Session:
    """The host's side: a session started, records followed, each batch closed by an ACK."""

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port
        self.send = Commander()
        self.last_rec: int | None = None
        self.records = 0
        self.lost = 0
        self.caps: list[int] = []
        self.goals_now: list[int] = []
        self.state = ""  # as the last H frame said
        self.device = ""
        self.counter = 0  # the trainer's last accepted CAPS counter
        self.working = False  # a work-phase sample came: from then on, nothing may end it

    def begin(self) -> None:
        seq = self.send.seq
        self.port.write(self.send("HELLO", P.PROTOCOL_VERSION))
        self._until(seq, "HELLO at the start")
        caps = signed(self.device, self.counter + 1, FAULT_CAPS)
        for command in (("RATE", RATE_HZ), ("CAPS", *caps), ("GOALS", *FAULT_GOALS), ("START",)):
            seq = self.send.seq
            self.port.write(self.send(*command))
            self._until(seq, "%s at the start" % command[0])

    def exchange(self, data: bytes) -> int:
        """Send the lines, then an ACK; the number of refusals before the ACK's answer."""
        self.port.write(data)
        seq = self.send.seq
        if self.last_rec is None:
            self.port.write(self.send("PING"))
        else:
            self.port.write(self.send("ACK", self.last_rec))
        return self._until(seq, "the heartbeat after a batch")

    def end(self) -> None:
        seq = self.send.seq
        self.port.write(self.send("HELLO", P.PROTOCOL_VERSION))
        self._until(seq, "HELLO at the end")
        check(self.caps == FAULT_CAPS + [0], "caps changed: %s" % self.caps)
        check(self.goals_now == FAULT_GOALS, "goals changed: %s" % self.goals_now)
        check(self.working and self.state == "W", "the session is in state %s" % self.state)

    def _until(self, seq: int, what: str, timeout: float = 10.0) -> int:
        """Read until the A for our command `seq`; returns how many N (refusals) came first.
        Answers come in order and ours was sent last, so an N with the same ref is a fuzzed
        line's (its seq field happened to match), and a refusal of ours shows as no A."""
        refused = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = parse(self.port.readline())
            except FrameError:
                continue
            if frame.type == "A" and frame["ref"] == seq:
                return refused
            if frame.type == "N":
                refused += 1
            elif frame.type == "A":
                raise FaultNotHandled("a fuzzed line was accepted (A %d)" % frame["ref"])
            elif frame.type in ("T", "E"):
                self._record(frame)
            elif frame.type == "C":
                self.caps = [frame[name] for name, _ in P.CAPS_FIELDS]
                self.counter = frame["counter"]
            elif frame.type == "G":
                self.goals_now = [frame[name] for name, _ in P.GOALS_FIELDS]
            elif frame.type == "H":
                self.state, self.device = frame["state"], frame["device"]
        raise FaultNotHandled("%s (frame %d) not accepted within %.0f s" % (what, seq, timeout))

    def _record(self, frame: Frame) -> None:
        rec = frame["rec"]
        if self.last_rec is not None and rec != self.last_rec + 1:
            self.lost += max(0, rec - self.last_rec - 1)
        check(self.last_rec is None or rec > self.last_rec, "records out of order")
        self.last_rec = rec
        self.records += 1
        if frame.type == "E":
            check(not self.working or frame["event"] not in ("PAUSE", "STOP", "ESTOP", "FAULT", "LOST", "DONE",
                                                             "CAPS", "GOALS"),
                  "event %s %d during the fuzz" % (frame["event"], frame["arg"]))
        else:
            check(frame["res_pm"] <= FAULT_CAPS[0] * 10, "the brake above the cap")
            self.working = self.working or frame["state"] == "W"
            check(frame["state"] == "W" or not self.working, "state %s during the fuzz" % frame["state"])
