"""The telemetry ring: fixed-size, allocated once, sequence-numbered records.

A record is a telemetry sample or an event; both share one sequence of record numbers
(`rec`), so the host can prove it has every one. The host acknowledges records; it can ask
for a replay from any rec the ring still holds. When the ring wraps over a record the host
has not acknowledged, `lost` counts it (only once a host has acknowledged anything: with no
host attached, nothing is waiting for those records).

Records are stored column-wise in typed arrays: 16 bytes each, 48 KiB for the default 3072
records (5.1 minutes at 10 Hz, 61 s at 50 Hz): a Pico leaves about 190 KB of heap, and the
firmware must also fit a 160 KB one (docs/firmware.md, *Memory*). Slots are used in turn, independently of the record
numbers, so any size works and nothing changes when rec wraps at 2**30.
"""

from array import array

from softcrank_fw.compat import const

DEFAULT_SIZE = const(3072)
EVENT = const(0x80)  # set in `kind` for an event record; the low bits are the state
_REC_MASK = const((1 << 30) - 1)
_HALF = const(1 << 29)


def zeros(typecode, n):
    """An array of n zeros, made from raw bytes: no temporary list of n ints in a small heap
    (on MicroPython and CPython alike, a bytearray initialiser is read as raw bytes)."""
    return array(typecode, bytearray(n * (4 if typecode in "iIlL" else 2)))


def rec_diff(a, b):
    """a - b for record numbers that wrap at 2**30 (like ticks_diff)."""
    return ((a - b + _HALF) & _REC_MASK) - _HALF


class Ring:
    def __init__(self, size=DEFAULT_SIZE):
        if not 2 <= size <= 32768:
            raise ValueError("ring size must be 2..32768")
        self.size = size
        self.kind = bytearray(size)  # state code, | EVENT for events
        self.t = zeros("i", size)  # t_ms
        self.a = zeros("h", size)  # sample: cadence drpm   event: event code
        self.b = zeros("h", size)  # sample: force left dN  event: argument
        self.c = zeros("h", size)  # sample: force right dN
        self.d = zeros("h", size)  # sample: resistance per mille
        self.e = zeros("h", size)  # sample: seconds left in the phase
        self.f = bytearray(size)  # sample: flags
        self.next_rec = 0  # the rec the next record gets
        self._head = 0  # the slot the next record goes into
        self.count = 0  # records held, up to size
        self.acked = -1  # the newest rec the host acknowledged, or -1
        self.lost = 0  # unacknowledged records overwritten

    def _slot(self):
        if self.count == self.size:
            if self.acked >= 0 and rec_diff(self.oldest(), self.acked) > 0:
                self.lost += 1
        else:
            self.count += 1
        self.next_rec = (self.next_rec + 1) & _REC_MASK
        slot = self._head
        self._head = slot + 1 if slot + 1 < self.size else 0
        return slot

    def sample(self, t_ms, state, drpm, left_dn, right_dn, res_pm, left_s, flags):
        i = self._slot()
        self.kind[i] = state
        self.t[i] = t_ms
        self.a[i] = drpm
        self.b[i] = _i16(left_dn)
        self.c[i] = _i16(right_dn)
        self.d[i] = res_pm
        self.e[i] = _i16(left_s)
        self.f[i] = flags

    def event(self, t_ms, state, code, arg):
        i = self._slot()
        self.kind[i] = state | EVENT
        self.t[i] = t_ms
        self.a[i] = code
        self.b[i] = _i16(arg)
        self.c[i] = 0
        self.d[i] = 0
        self.e[i] = 0
        self.f[i] = 0

    def oldest(self):
        return (self.next_rec - self.count) & _REC_MASK

    def holds(self, rec):
        """True if the ring still holds record `rec`."""
        return 0 <= rec_diff(rec, self.oldest()) < self.count

    def index(self, rec):
        """The slot of a record the ring holds."""
        return (self._head - rec_diff(self.next_rec, rec)) % self.size

    def ack(self, rec):
        """The host has stored every record up to and including `rec`."""
        if self.acked < 0 or rec_diff(rec, self.acked) > 0:
            self.acked = rec


def _i16(value):
    if value > 32767:
        return 32767
    if value < -32768:
        return -32768
    return value
