"""Replaying a raw sensor recording made on a real unit, so a problem seen there is
reproduced on a laptop, through the same firmware, tick for tick.

A recording is text, one event per line (softcrank_pico/recorder.py writes it):

    softcrank-recording 1
    c <edges_per_rev> <tare_l> <tare_r> <cpn_l> <cpn_r>     optional: the unit's set-up
    e <t_us> <1|0>        a crank edge, 1 = forward
    l <t_us> <raw>        a left load-cell reading (raw ADC counts)
    r <t_us> <raw>        a right load-cell reading
    x <t_us> <0|1>        the e-stop input changed (1 = pressed)

t_us is the unit's ticks_us (wrapping at 2**30). Lines starting with # are comments. The
replay starts at the first event and plays each one at the virtual time it happened. The
brake does not change a recording: it is what the unit measured, whatever we command now.
"""

from softcrank_fw.compat import ticks_add, ticks_diff

HEADER = "softcrank-recording 1"


class RecordingError(ValueError):
    pass


class Replay:
    def __init__(self, events, edges_per_rev=24, tare=(0, 0), cpn=(1000, 1000)):
        self.events = events  # list of (kind, t_us, value), in order
        self.edges_per_rev = edges_per_rev
        self.tare = tare
        self.cpn = cpn
        self._next = 0
        self._offset = None  # recording ticks -> virtual ticks
        self.estop = False

    @classmethod
    def parse(cls, lines):
        lines = iter(lines)
        first = next(lines, "").strip()
        if first != HEADER:
            raise RecordingError("not a softcrank recording: the first line must be %r" % HEADER)
        events = []
        setup = {}
        for number, line in enumerate(lines, 2):
            line = line.strip()
            if not line or line[0] == "#":
                continue
            parts = line.split()
            try:
                values = [int(p) for p in parts[1:]]
            except ValueError:
                raise RecordingError("line %d: numbers expected: %r" % (number, line))
            kind = parts[0]
            if kind == "c" and len(values) == 5:
                setup = {"edges_per_rev": values[0], "tare": (values[1], values[2]), "cpn": (values[3], values[4])}
            elif kind in ("e", "l", "r", "x") and len(values) == 2:
                events.append((kind, values[0], values[1]))
            else:
                raise RecordingError("line %d: not an event of this format: %r" % (number, line))
        return cls(events, **setup)

    @classmethod
    def load(cls, path):
        try:
            with open(path) as f:
                return cls.parse(f)
        except OSError as e:
            raise RecordingError("cannot read recording %s: %s" % (path, e))

    def done(self):
        return self._next >= len(self.events)

    def step(self, t_us, dt_us, brake_ppm, inp):
        """Play every recorded event up to virtual time t_us + dt_us into inp."""
        if not self.events:
            return
        if self._offset is None:
            self._offset = ticks_diff(t_us, self.events[0][1])
        end = ticks_add(t_us, dt_us)
        while self._next < len(self.events):
            kind, t_rec, value = self.events[self._next]
            t = ticks_add(t_rec, self._offset)
            if ticks_diff(t, end) > 0:
                break
            self._next += 1
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
        inp.estop = self.estop
