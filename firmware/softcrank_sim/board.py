"""The simulated board: a virtual clock, a virtual rider, and the host link on stdin/stdout.

Virtual time advances exactly 10 ms per tick. With speed > 0 the board also sleeps so that
virtual time runs `speed` times faster than real time; speed 0 runs as fast as it can.
Reads and writes never block: a byte is read only when poll says one is there, and a frame
is written only when poll says the output can take it, otherwise write() says False and the
link tries again on a later tick.
"""

import select
import sys
import time

from softcrank_fw.compat import ticks_add, ticks_diff, ticks_us


class SimBoard:
    def __init__(self, rider, speed=1.0, device_id="sim-0001", stdin=None, stdout=None):
        self.rider = rider
        self.edges_per_rev = rider.edges_per_rev
        self.device_id = device_id
        self.speed = speed
        self.brake = 0
        self.t_us = (1 << 30) - 60_000_000  # virtual ticks_us: wraps a minute in
        self._prev_us = self.t_us
        self._real0 = ticks_us()
        self._virtual_us = 0  # virtual time since start, for pacing
        self._in = stdin or sys.stdin.buffer
        self._out = stdout or sys.stdout.buffer
        self._rx = select.poll()
        self._rx.register(stdin or sys.stdin, select.POLLIN)
        self._tx = select.poll()
        self._tx.register(stdout or sys.stdout, select.POLLOUT)
        self._closed = False

    def reset_cause(self):
        return 0

    def calibration(self):
        """The simulated unit was calibrated when it was built: its rider's true values."""
        r = self.rider
        return r.tare[0], r.tare[1], r.cpn[0], r.cpn[1]

    def wait_tick(self, period_us):
        self._prev_us = self.t_us
        self.t_us = ticks_add(self.t_us, period_us)
        self._virtual_us += period_us
        if self.speed > 0:
            due = int(self._virtual_us / self.speed)
            if due > 100_000_000:  # keep well inside ticks_diff's range: restart the reference
                self._real0 = ticks_us()
                self._virtual_us = 0
                due = 0
            ahead = due - ticks_diff(ticks_us(), self._real0)
            if ahead > 0:
                time.sleep_us(ahead)
        return self.t_us

    def sense(self, inp, brake_ppm):
        self.rider.step(self._prev_us, ticks_diff(self.t_us, self._prev_us), brake_ppm, inp)

    def set_brake(self, ppm):
        self.brake = ppm

    def read_byte(self):
        if self._closed or not self._rx.poll(0):
            return -1
        data = self._in.read(1)
        if not data:
            self._closed = True  # the host closed its end
            return -1
        return data[0]

    def write(self, buf, n):
        if self._closed or not self._tx.poll(0):
            return False
        try:
            self._out.write(memoryview(buf)[:n])
        except OSError:  # the host closed its end
            self._closed = True
            return False
        return True

    def alive(self):
        return not self._closed
