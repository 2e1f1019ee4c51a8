"""Helpers for the firmware tests, which run under pytest and under MicroPython alike.

Tests are plain `test_*` functions using `assert`, so tests/mp_runner.py can run them on the
MicroPython interpreter, which has no pytest.
"""

from softcrank_fw.compat import ticks_add
from softcrank_fw.control import Controller, Inputs
from softcrank_sim.rider import Rider

try:
    from pytest import skip
except ImportError:  # MicroPython: tests/mp_runner.py counts this as a skip

    class SkipTest(Exception):
        pass

    def skip(reason):
        raise SkipTest(reason)


TICK_US = 10_000  # the control tick: 100 Hz
TEST_KEY = bytes(range(32))  # the key a test Wire's trainer has (a test key, nothing else)
START_US = (1 << 30) - 3_000_000  # 3 s before ticks_us wraps, so every ride crosses a wrap


def raises(exc_type, fn, *args):
    """True if fn(*args) raises exc_type (pytest.raises is not on MicroPython)."""
    try:
        fn(*args)
    except exc_type:
        return True
    return False


class Bench:
    """The controller, a virtual rider and a virtual clock: rides in virtual time."""

    def __init__(self, edges_per_rev=24, seed=1, rpm=20.0, host=True, **rider):
        self.ctl = Controller(edges_per_rev)
        self.inp = Inputs()
        self.rider = Rider(edges_per_rev, seed, rpm, **rider)
        self.ctl.left.tare, self.ctl.right.tare = self.rider.tare
        self.ctl.left.cpn, self.ctl.right.cpn = self.rider.cpn
        self.t_us = START_US
        self.host = host  # a host that says something every second
        self.ticks = 0

    def tick(self):
        self.rider.step(self.t_us, TICK_US, self.ctl.brake, self.inp)
        self.t_us = ticks_add(self.t_us, TICK_US)
        brake = self.ctl.tick(self.t_us, self.inp)
        self.ticks += 1
        if self.host and self.ticks % 100 == 0:
            self.ctl.host_seen()
        return brake

    def run(self, seconds, each=None):
        """Ride `seconds` of virtual time; `each(bench)` after every tick; returns the bench."""
        for _ in range(int(seconds * 100)):
            self.tick()
            if each is not None:
                each(self)
        return self

    def feet_off(self):
        """The rider takes their feet off and the crank comes to rest: what TARE needs."""
        self.rider.rpm = 0.0
        self.rider.foot_weight_n = 0.0
        self.rider.strength = [0.0, 0.0]  # no leg pushing on a pedal
        return self.run(2.1)

    def run_until(self, state, max_seconds):
        """Ride until the controller reaches `state`; True if it did in time."""
        for _ in range(int(max_seconds * 100)):
            self.tick()
            if self.ctl.state == state:
                return True
        return False

    def events(self, code=None):
        """The (code, arg) of every event record in the ring, or the args of one code."""
        ring = self.ctl.ring
        out = []
        rec = ring.oldest()
        for _ in range(ring.count):
            i = ring.index(rec)
            if ring.kind[i] & 0x80:
                if code is None:
                    out.append((ring.a[i], ring.b[i]))
                elif ring.a[i] == code:
                    out.append(ring.b[i])
            rec = (rec + 1) & ((1 << 30) - 1)
        return out


class Wire:
    """A Link on a Bench, with the host's side of the conversation: frames in, frames out."""

    def __init__(self, bench=None, key=TEST_KEY, save_caps=None):
        from softcrank_fw.link import Link

        self.bench = bench or Bench()
        self.sent = []  # frames the device wrote, as bytes
        self.accept = True  # False: the port is full and takes nothing
        self.counter = 0  # the last CAPS counter this host used
        self.link = Link(self.bench.ctl, self._write, "test", 24, key=key, save_caps=save_caps)
        self.seq = 0
        self.bench.run(0.1)  # a device that has been up long enough to read its sensors

    def _write(self, buf, n):
        if not self.accept:
            return False
        self.sent.append(bytes(buf[:n]))
        return True

    def raw(self, data):
        """Feed raw bytes; returns the decoded frames the device answered with."""
        from softcrank_fw import protocol as P

        start = len(self.sent)
        for b in data:
            self.link.feed(b)
        return [P.decode(f) for f in self.sent[start:]]

    def command(self, type_, *values, seq=None):
        from softcrank_fw import protocol as P

        if seq is None:
            seq = self.seq
            self.seq += 1
        return self.raw(P.encode(type_, seq, list(values)))

    def caps(self, values, counter=None, key=TEST_KEY, tag=None, seq=None, patient=0):
        """Send CAPS signed as the therapist's host signs it; returns the answer frames.
        `values`: the eight limits, then `patient` is added; or all nine."""
        from softcrank_fw.capsauth import tag as make_tag

        if len(values) == 8:
            values = list(values) + [patient]
        if counter is None:
            counter = self.counter + 1
        self.counter = max(self.counter, counter)
        if tag is None:
            tag = make_tag(key, "test", counter, values)
        return self.command("CAPS", *(list(values) + [counter, tag]), seq=seq)

    def cal(self, side, newtons, counter=None, key=TEST_KEY, tag=None):
        """Send CAL signed as CAPS is (protocol 3); returns the answer frames."""
        from softcrank_fw.capsauth import cal_tag

        if counter is None:
            counter = self.counter + 1
        self.counter = max(self.counter, counter)
        if tag is None:
            tag = cal_tag(key, "test", counter, side, newtons)
        return self.command("CAL", side, newtons, counter, tag)

    def state(self):
        """Everything a bad frame must not change."""
        ctl = self.bench.ctl
        return (ctl.state, ctl.brake, list(ctl.caps.values), list(ctl.goals.values),
                ctl.sample_period_ms, ctl.ring.acked, self.link.send_rec, ctl.left.tare, ctl.left.cpn,
                self.link.caps_counter)
