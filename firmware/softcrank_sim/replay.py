"""Replaying a raw sensor recording made on a real unit, so a problem seen there is
reproduced on a laptop, through the same firmware, tick for tick.

A recording is text, one event per line (softcrank_pico/recorder.py writes it):

    softcrank-recording 1
    c <edges_per_rev> <tare_l> <tare_r> <cpn_l> <cpn_r>     optional: the unit's set-up
    e <t_us> <1|0>        a crank edge, 1 = forward
    l <t_us> <raw>        a left load-cell reading (raw ADC counts)
    r <t_us> <raw>        a right load-cell reading
    x <t_us> <0|1>        the e-stop input changed (1 = pressed)

t_us is the unit's ticks_us (wrapping at 2**30). Lines starting with # are comments; the c
line, if any, comes before the first event. The replay starts at the first event and plays
each one at the virtual time it happened. The
brake does not change a recording: it is what the unit measured, whatever we command now.
"""

from softcrank_fw.compat import ticks_add, ticks_diff

HEADER = "softcrank-recording 1"


class RecordingError(ValueError):
    pass


class Replay:
    """Plays a recording as virtual time passes, reading it one event ahead: a recording can
    be far larger than a small board's heap (the Pico's recorder stops at 512 KB of text)."""

    def __init__(self, lines):
        self._lines = iter(lines)
        self._number = 1
        first = next(self._lines, "").strip()
        if first != HEADER:
            raise RecordingError("not a softcrank recording: the first line must be %r" % HEADER)
        self.edges_per_rev = 24
        self.tare = (0, 0)
        self.cpn = (1000, 1000)
        self.estop = False
        self._offset = None  # recording ticks -> virtual ticks
        self._pending = self._read(setup=True)

    @classmethod
    def parse(cls, lines):
        return cls(lines)

    @classmethod
    def load(cls, path):
        try:
            return cls(open(path))  # kept open: read as the replay goes
        except OSError as e:
            raise RecordingError("cannot read recording %s: %s" % (path, e))

    @classmethod
    def check(cls, path):
        """Read a whole recording, raising RecordingError at its first bad line; returns its
        number of events. For the host, before it starts a replay."""
        count = 0
        for _ in cls.load(path).remaining():
            count += 1
        return count

    def remaining(self):
        """The events not played yet, as (kind, t_us, value), read from the file as they are
        taken; taking them means they will not be played."""
        while self._pending is not None:
            event = self._pending
            self._pending = self._read()
            yield event

    def _read(self, setup=False):
        """The next event as (kind, t_us, value), or None at the end."""
        for line in self._lines:
            self._number += 1
            line = line.strip()
            if not line or line[0] == "#":
                continue
            parts = line.split()
            try:
                values = [int(p) for p in parts[1:]]
            except ValueError:
                raise RecordingError("line %d: numbers expected: %r" % (self._number, line))
            kind = parts[0]
            if kind == "c" and len(values) == 5 and setup:
                self.edges_per_rev = values[0]
                self.tare = (values[1], values[2])
                self.cpn = (values[3], values[4])
            elif kind in ("e", "l", "r", "x") and len(values) == 2:
                return kind, values[0], values[1]
            else:
                raise RecordingError("line %d: not an event of this format: %r" % (self._number, line))
        return None

    def step(self, t_us, dt_us, brake_ppm, inp):
        """Play every recorded event up to virtual time t_us + dt_us into inp."""
        end = ticks_add(t_us, dt_us)
        while self._pending is not None:
            kind, t_rec, value = self._pending
            if self._offset is None:
                self._offset = ticks_diff(t_us, t_rec)
            t = ticks_add(t_rec, self._offset)
            if ticks_diff(t, end) > 0:
                break
            if kind == "e":
                inp.add_edge(t, value != 0)
            elif kind == "l":
                inp.left_raw = value
                inp.left_new = True
            elif kind == "r":
                inp.right_raw = value
                inp.right_new = True
            else:
                self.estop = value != 0
            self._pending = self._read()
        inp.estop = self.estop
