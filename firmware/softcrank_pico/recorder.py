"""Raw sensor recording to flash, so a problem seen on a real unit replays on a laptop
(softcrank_sim/replay.py reads it). It runs when the file record.flag exists on the board.

The file is text, one event per line:

    softcrank-recording 1
    c <edges_per_rev> <tare_l> <tare_r> <cpn_l> <cpn_r>     the unit's set-up, once
    e <t_us> <1|0>     a crank edge, 1 = forward
    l <t_us> <raw>     a left load-cell reading, raw ADC counts
    r <t_us> <raw>     a right load-cell reading
    x <t_us> <0|1>     the e-stop input changed, 1 = pressed (the first line gives its level)
    # ...              a note: events dropped, or the recording stopped

t_us is ticks_us, wrapping at 2**30. Edges carry the IRQ's timestamp; readings and e-stop
changes carry the time the tick took them.

Cost. add() runs inside sense(), in the tick's timer interrupt, and allocates nothing: events
go into preallocated arrays. flush() formats and writes them, at most once a second, from the
main loop, and only while the unit is quiet (softcrank_fw/keeper.py): on an RP2040 a flash
write stops the CPU and every interrupt, the tick's included (the program runs from that
flash), for a page write (about 1 ms per 256 bytes) and, when littlefs starts a new 4 KB
block, a sector erase (45 ms typical, 400 ms at worst); that must never happen with the brake
loaded. So during a session the events wait in RAM, and once the buffer is full the rest are
counted as dropped and noted in the file: a recording keeps the first CAPACITY events of a
ride (several seconds at rehab speeds) and everything while the unit is idle. Record on the
bench, or with a therapist present. An event the interrupt adds while flush() is formatting
may be lost (only while quiet: the flush takes a few ms).

Size. A second at 30 rpm with 24 edges/rev is 12 edges and 160 readings, about 3.5 KB of
text; the buffer holds CAPACITY = 512 events, 1.7 s of the busiest case (300 rpm: 120 edges +
160 readings a second). The recording stops once the file reaches LIMIT_BYTES (512 KB,
about 2.5 minutes at rehab speeds), leaving room on the Pico's 1.4 MB filesystem, and says so
in a last `#` line. A new recording moves the previous one to recording.txt.old, so the
recording of a run that ended in a watchdog reset survives the restart.
"""

import os
from array import array

from softcrank_fw.compat import const, ticks_diff

HEADER = "softcrank-recording 1"
FLAG = "record.flag"
FILE = "recording.txt"
OLD_SUFFIX = ".old"  # recording.txt -> recording.txt.old

EDGE = const(0)
LEFT = const(1)
RIGHT = const(2)
ESTOP = const(3)
_LETTERS = "elrx"  # by kind

LIMIT_BYTES = const(512 * 1024)
CAPACITY = const(512)  # events between flushes
FLUSH_US = const(1_000_000)  # at most one flash write a second


class Recorder:
    def __init__(self, path=FILE, now_us=0, setup=None, limit=LIMIT_BYTES, capacity=CAPACITY):
        """setup: (edges_per_rev, tare_l, tare_r, cpn_l, cpn_r) for the `c` line, or None."""
        self.path = path
        self.limit = limit
        self._kind = bytearray(capacity)
        self._t = array("i", [0] * capacity)
        self._v = array("i", [0] * capacity)
        self._n = 0
        self._last_flush = now_us
        self.dropped = 0  # events lost to a full buffer since the last flush
        self.size = 0  # bytes in the file
        self.active = True
        self.stopped = ""  # why recording stopped
        try:
            os.rename(path, path + OLD_SUFFIX)
        except OSError:
            pass  # no previous recording
        head = HEADER + "\n"
        if setup is not None:
            head += "c %d %d %d %d %d\n" % tuple(setup)
        self._write(head, "w")

    def add(self, kind, t_us, value):
        """One event (EDGE, LEFT, RIGHT or ESTOP). Allocation-free: safe in sense()."""
        if not self.active:
            return
        n = self._n
        if n >= len(self._kind):
            self.dropped += 1
            return
        self._kind[n] = kind
        self._t[n] = t_us
        self._v[n] = value
        self._n = n + 1

    def due(self, now_us):
        """True if a flush would write now (a second since the last)."""
        return self.active and ticks_diff(now_us, self._last_flush) >= FLUSH_US

    def flush(self, now_us, force=False):
        """Write the buffered events, if a second has passed since the last write (or force).
        Returns True if it wrote."""
        if not self.active or (not force and ticks_diff(now_us, self._last_flush) < FLUSH_US):
            return False
        self._last_flush = now_us
        lines = []
        kind, t, v = self._kind, self._t, self._v
        for i in range(self._n):
            lines.append("%s %d %d\n" % (_LETTERS[kind[i]], t[i], v[i]))
        self._n = 0
        if self.dropped:
            lines.append("# %d events dropped: more than %d in a second\n" % (self.dropped, len(kind)))
            self.dropped = 0
        if lines:
            self._write("".join(lines), "a")
        if self.active and self.size >= self.limit:
            self._stop("# recording stopped: the file reached its %d KB limit\n" % (self.limit // 1024))
        return True

    def _write(self, text, mode):
        try:
            with open(self.path, mode) as f:
                f.write(text)
            self.size += len(text)
        except OSError as e:  # a full filesystem: stop recording, never stop the firmware
            self.active = False
            self.stopped = "write failed: %s" % e

    def _stop(self, note):
        self._write(note, "a")
        self.active = False
        self.stopped = note[2:-1]
