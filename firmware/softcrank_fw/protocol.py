"""The softcrank wire protocol: the one definition both the firmware and the host use.

A frame is one line of printable ASCII, like NMEA:

    $TYPE,SEQ[,FIELD...]*CRC\\n

- TYPE names the message (table MESSAGES), SEQ is the sender's frame counter 0..65535,
  FIELDs are signed decimal integers or tokens of [A-Za-z0-9._-].
- CRC is CRC-16/CCITT-FALSE of the bytes between '$' and '*', as 4 upper-case hex digits.
- A frame is at most MAX_FRAME bytes including the newline. A '\\r' before the '\\n' is ignored.

Frames only ever contain bytes 0x20..0x7E and '\\n', so they can never carry Ctrl-A..Ctrl-D:
on a Pico the USB serial port is also the REPL, and mpremote must stay able to break in.
docs/protocol.md is the prose specification; tests/golden/frames.json holds golden vectors.
"""

from softcrank_fw.compat import const
from softcrank_fw.crc import crc16

PROTOCOL_VERSION = const(4)  # 2: CAPS carries a counter and a tag; 3: per-leg spasm thresholds, the patient, CAL signed;
# 4: CAPSLOG, the trainer's history of accepted caps (L frames), for tamper evidence
MAX_FRAME = const(120)  # bytes, including the trailing newline
SEQ_MODULO = const(65536)  # frame counters wrap here
REC_MODULO = const(1 << 30)  # record numbers and t_ms wrap here (a Pico's small-int range)
INT_MIN = const(-(1 << 30))
INT_MAX = const((1 << 30) - 1)
_MAX_TOKEN = const(24)

INT = const(0)
TOKEN = const(1)

# Field lists shared by several messages.
CAPS_FIELDS = (
    ("max_res_pct", INT),
    ("max_dur_min", INT),
    ("max_cad_rpm", INT),
    ("spasm_n", INT),
    ("ramp_pct_min", INT),
    ("warmup_s", INT),
    ("cooldown_s", INT),
    ("spasm_r_n", INT),  # protocol 3: the right pedal's threshold; spasm_n is the left's
    ("patient", INT),  # protocol 3: whom the caps were set for (the host's patient id; 0: no one named)
)
# CAPS is authenticated (docs/protocol.md, "Authenticated caps"): `counter` must be above the
# last one the trainer accepted, `tag` is HMAC-SHA256 under the trainer's key, truncated to
# 128 bits, as 22 base64url characters (softcrank_fw/capsauth.py).
CAPS_AUTH_FIELDS = (("counter", INT), ("tag", TOKEN))
# CAL is authenticated the same way (protocol 3): a scale is as much a limit as a threshold.
GOALS_FIELDS = (
    ("dur_min", INT),
    ("cad_lo_rpm", INT),
    ("cad_hi_rpm", INT),
    ("res_pct", INT),
)

# Device -> host messages.
DEVICE_MESSAGES = {
    "H": (  # handshake, the answer to HELLO
        ("proto", INT),
        ("fw", TOKEN),
        ("device", TOKEN),
        ("edges", INT),
        ("rate_hz", INT),
        ("state", TOKEN),
        ("next_rec", INT),
        ("patient", INT),  # protocol 3: whom the caps the trainer holds were set for
    ),
    "C": CAPS_FIELDS + (("counter", INT),),  # current caps, and the last CAPS counter accepted
    "G": GOALS_FIELDS,  # current goals (after clamping to caps)
    "K": (("tare_l", INT), ("tare_r", INT), ("cpn_l", INT), ("cpn_r", INT)),  # calibration
    "T": (  # telemetry sample
        ("rec", INT),
        ("t_ms", INT),
        ("state", TOKEN),
        ("cad_drpm", INT),
        ("force_l_dn", INT),
        ("force_r_dn", INT),
        ("res_pm", INT),
        ("left_s", INT),
        ("flags", INT),
    ),
    "E": (  # event
        ("rec", INT),
        ("t_ms", INT),
        ("state", TOKEN),
        ("event", TOKEN),
        ("arg", INT),
    ),
    "S": (  # tick statistics since the last STATS, the answer to STATS
        ("ticks", INT),
        ("period_max_us", INT),
        ("late", INT),
        ("heap_free", INT),
    ),
    # protocol 4: one entry of the accepted caps' history (capstore.py), the answer to CAPSLOG
    "L": (("counter", INT), ("uptime_s", INT), ("tag", TOKEN)),
    "A": (("ref", INT),),  # the command with frame seq `ref` was accepted
    "N": (("ref", INT), ("code", TOKEN)),  # ... was refused, and why
}

# Host -> device messages (commands).
HOST_MESSAGES = {
    "HELLO": (("proto", INT),),
    "PING": (),
    "CAPS": CAPS_FIELDS + CAPS_AUTH_FIELDS,
    "GOALS": GOALS_FIELDS,
    "START": (),
    "PAUSE": (),
    "RESUME": (),
    "STOP": (),
    "ESTOP": (),
    "TARE": (),
    "CAL": (("side", TOKEN), ("newtons", INT)) + CAPS_AUTH_FIELDS,
    "REPLAY": (("from_rec", INT),),
    "ACK": (("rec", INT),),
    "RATE": (("hz", INT),),
    "STATS": (),
    "CAPSLOG": (),  # protocol 4: the accepted caps' history, oldest first, as L frames
}

# Session states, as the one-letter tokens telemetry carries. Index = the firmware's code.
STATES = ("I", "U", "W", "C", "D", "P", "R", "E", "F")
STATE_NAMES = ("idle", "warm-up", "work", "cool-down", "done", "paused", "spasm rest", "e-stop", "fault")

# Events. Index = the code the firmware stores in its ring.
EVENTS = (
    "NONE",
    "START",  # a session started (warm-up begins)
    "WORK",  # warm-up over, work phase begins
    "COOLDOWN",  # arg 0: the plan's work time is done; 1: the duration cap was reached
    "DONE",  # cool-down over
    "PAUSE",  # arg: a PAUSE_* reason
    "RESUME",
    "STOP",  # the host ended the session
    "SPASM",  # arg: a SPASM_* cause; the brake went to zero in this tick
    "REST_END",  # spasm rest over, resistance re-ramps gently
    "ESTOP",  # arg 0: the e-stop input; 1: the host's ESTOP command
    "FAULT",  # arg: a fault code (see docs/protocol.md); the brake went to zero in this tick
    "CLEAR",  # e-stop or fault cleared by STOP, back to idle
    "OVERSPEED",  # arg: cadence in 0.1 rpm; resistance stops rising
    "HOST_LOST",  # no valid frame from the host for HOST_HOLD_MS; resistance stops rising
    "HOST_BACK",
    "LOST",  # arg: records the ring overwrote before they could be sent: one event per gap
    "TARED",
    "CALIBRATED",  # arg 0: left, 1: right
    "CAPS",  # caps changed
    "GOALS",  # goals changed
    "BOOT",  # arg: reset cause as the board reports it
    "CAL_FAILED",  # arg 0: left, 1: right; the reading gave no plausible scale
    "CAPS_REFUSED",  # arg: a REFUSED_* reason; the caps did not change
    "CAPS_DEFAULTS",  # arg: DEFAULTS_MISSING or DEFAULTS_CORRUPT; the built-in caps apply
    "UNSAVED",  # arg: an UNSAVED_* file; writing it to flash failed: in force until a restart, retried
)

PAUSE_HOST = const(0)  # the host asked
PAUSE_HOST_SILENT = const(1)  # the host went quiet for HOST_TIMEOUT_MS
PAUSE_OVERSPEED = const(2)  # cadence above the cap for too long
PAUSE_SPASMS = const(3)  # too many spasms in a row
PAUSE_STOPPED = const(4)  # the crank stopped in warm-up or work for STOPPED_PAUSE_MS

# CAPS_REFUSED arguments.
REFUSED_NOKEY = const(1)  # the trainer has no key (device.key): it takes no caps at all
REFUSED_TAG = const(2)  # the tag is not the one the trainer's key gives
REFUSED_STALE = const(3)  # the counter is not above the last accepted one: a replay
REFUSED_UNSAVED = const(4)  # writing the caps to flash failed: they were not applied

UNSAVED_CALIBRATION = const(1)  # UNSAVED event args: calibration.json
UNSAVED_CAPS = const(2)  # caps.json (caps set during a session, written once it ended)

# CAPS_DEFAULTS arguments: why the stored caps were not used at start-up.
DEFAULTS_MISSING = const(1)  # no caps file: caps were never set on this trainer
DEFAULTS_CORRUPT = const(2)  # the file failed its checks

SPASM_FORCE_L = const(1)
SPASM_FORCE_R = const(2)
SPASM_REVERSAL = const(3)
SPASM_PULL_L = const(4)  # a flexor spasm: the left pedal pulled up past -spasm_n
SPASM_PULL_R = const(5)

# Telemetry flag bits.
FLAG_OVERSPEED = const(1)  # cadence above the cap
FLAG_HOST_SILENT = const(2)  # the host has been quiet for HOST_HOLD_MS
FLAG_RAMPING = const(4)  # resistance is below its target, held back by the ramp limiter
FLAG_IN_BAND = const(8)  # cadence inside the goal's target band

# NAK codes.
NAK_CODES = (
    "BADCRC",  # the CRC did not match: nothing in the frame can be trusted
    "SYNTAX",  # not a frame: no '$', no '*CRC', bad characters, bad sequence number
    "TOOLONG",  # longer than MAX_FRAME
    "UNKNOWN",  # a TYPE this receiver does not take
    "ARGS",  # wrong number or kind of fields
    "RANGE",  # a value outside what the firmware accepts
    "STATE",  # not possible in the current state
    "GONE",  # REPLAY: the ring no longer holds that record
    "VERSION",  # HELLO: the host speaks another protocol version
    "AUTH",  # CAPS: the tag is wrong (REFUSED_TAG)
    "STALE",  # CAPS: the counter is not above the last accepted one (REFUSED_STALE)
    "NOKEY",  # CAPS: the trainer has no key, so it takes no caps (REFUSED_NOKEY)
    "UNSAVED",  # CAPS: writing them to flash failed, so they were not applied
    "LOADED",  # TARE: a pedal is loaded, moving or not quiet: take the feet off, hold still
)
NAK_BADCRC = const(0)
NAK_SYNTAX = const(1)
NAK_TOOLONG = const(2)
NAK_UNKNOWN = const(3)
NAK_ARGS = const(4)
NAK_RANGE = const(5)
NAK_STATE = const(6)
NAK_GONE = const(7)
NAK_VERSION = const(8)
NAK_AUTH = const(9)
NAK_STALE = const(10)
NAK_NOKEY = const(11)
NAK_UNSAVED = const(12)
NAK_LOADED = const(13)

_DOLLAR = const(0x24)
_STAR = const(0x2A)
_COMMA = const(0x2C)
_MINUS = const(0x2D)
_NL = const(0x0A)
_HEX = b"0123456789ABCDEF"


class FrameError(Exception):
    """A received frame was refused. `code` indexes NAK_CODES; `ref` is its seq or -1."""

    def __init__(self, code, ref=-1):
        super().__init__(NAK_CODES[code])
        self.code = code
        self.ref = ref


class Writer:
    """Builds one frame in a buffer allocated once, so sending telemetry allocates nothing."""

    def __init__(self):
        self.buf = bytearray(MAX_FRAME)
        self.n = 0

    def begin(self, type_, seq):
        self.n = 0
        self._byte(_DOLLAR)
        self.text(type_)
        self.int(seq)

    def int(self, value):
        buf = self.buf
        self._byte(_COMMA)
        if value < 0:
            self._byte(_MINUS)
            value = -value
        start = self.n
        while True:
            self._byte(0x30 + value % 10)
            value //= 10
            if value == 0:
                break
        i, j = start, self.n - 1
        while i < j:  # digits went in backwards
            buf[i], buf[j] = buf[j], buf[i]
            i += 1
            j -= 1

    def token(self, text):
        self._byte(_COMMA)
        self.text(text)

    def text(self, text):
        for ch in text:
            self._byte(ch if isinstance(ch, int) else ord(ch))

    def end(self):
        """Close the frame with its CRC and newline; returns its length in bytes."""
        crc = crc16(self.buf, 1, self.n)
        self._byte(_STAR)
        for shift in (12, 8, 4, 0):
            self._byte(_HEX[(crc >> shift) & 0xF])
        self._byte(_NL)
        return self.n

    def _byte(self, b):
        if self.n >= MAX_FRAME:
            raise ValueError("frame too long")
        self.buf[self.n] = b
        self.n += 1


def spec(type_):
    """The field list of a message type, from either direction; None if unknown."""
    fields = DEVICE_MESSAGES.get(type_)
    if fields is None:
        fields = HOST_MESSAGES.get(type_)
    return fields


def encode(type_, seq, values):
    """One complete frame as bytes. Checks the values against the message's field list."""
    fields = spec(type_)
    if fields is None:
        raise ValueError("unknown message type " + str(type_))
    if len(values) != len(fields):
        raise ValueError("%s takes %d fields, got %d" % (type_, len(fields), len(values)))
    if not 0 <= seq < SEQ_MODULO:
        raise ValueError("seq out of range")
    w = Writer()
    w.begin(type_, seq)
    for (name, kind), value in zip(fields, values):
        if kind == INT:
            if not isinstance(value, int) or isinstance(value, bool) or not INT_MIN <= value <= INT_MAX:
                raise ValueError("%s.%s must be an integer in range, got %r" % (type_, name, value))
            w.int(value)
        else:
            if not _is_token(value):
                raise ValueError("%s.%s must be a token of [A-Za-z0-9._-], got %r" % (type_, name, value))
            w.token(value)
    return bytes(w.buf[: w.end()])


def decode(line):
    """Parse one received line (bytes, with or without the newline).

    Returns (type, seq, values) with ints as int and tokens as str, checked against the
    message table of either direction. Raises FrameError for anything else.
    """
    n = len(line)
    if n and line[n - 1] == _NL:
        n -= 1
    if n and line[n - 1] == 0x0D:
        n -= 1
    if n + 1 > MAX_FRAME:
        raise FrameError(NAK_TOOLONG)
    if n < 8 or line[0] != _DOLLAR or line[n - 5] != _STAR:
        raise FrameError(NAK_SYNTAX)
    for i in range(1, n):
        b = line[i]
        if b < 0x20 or b > 0x7E or b == _DOLLAR or (b == _STAR and i != n - 5):
            raise FrameError(NAK_SYNTAX)
    want = _parse_hex(line, n - 4, n)
    if want < 0:
        raise FrameError(NAK_SYNTAX)
    if crc16(line, 1, n - 5) != want:
        raise FrameError(NAK_BADCRC)
    parts = bytes(line[1 : n - 5]).decode().split(",")
    seq = _parse_int(parts[1]) if len(parts) > 1 else None
    if seq is None or not 0 <= seq < SEQ_MODULO:
        raise FrameError(NAK_SYNTAX)
    type_ = parts[0]
    fields = spec(type_)
    if fields is None:
        raise FrameError(NAK_UNKNOWN, seq)
    if len(parts) - 2 != len(fields):
        raise FrameError(NAK_ARGS, seq)
    values = []
    for (name, kind), text in zip(fields, parts[2:]):
        if kind == INT:
            value = _parse_int(text)
            if value is None:
                raise FrameError(NAK_ARGS, seq)
        else:
            if not _is_token(text):
                raise FrameError(NAK_ARGS, seq)
            value = text
        values.append(value)
    return type_, seq, values


def _parse_hex(line, start, end):
    value = 0
    for i in range(start, end):
        d = _HEX.find(bytes((line[i],)))
        if d < 0:
            return -1
        value = (value << 4) | d
    return value


def _parse_int(text):
    """Signed decimal in [INT_MIN, INT_MAX] with no leading '+', spaces or zeros; else None."""
    digits = text[1:] if text[:1] == "-" else text
    if not digits or len(digits) > 10 or (len(digits) > 1 and digits[0] == "0"):
        return None
    for ch in digits:
        if not "0" <= ch <= "9":
            return None
    value = int(text)
    if value < INT_MIN or value > INT_MAX or text == "-0":
        return None
    return value


def _is_token(text):
    if not isinstance(text, str) or not 0 < len(text) <= _MAX_TOKEN:
        return False
    for b in text.encode():  # bytes, not 1-character strings: MicroPython interns each new one
        if not (0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or 0x30 <= b <= 0x39 or b in b"._-"):
            return False
    return True
