"""The host link on the Pico's USB serial port (stdin/stdout), never holding up the control loop.

Reading: one byte at a time, and only when poll says one is there. A multi-byte read on the
Pico's USB stdin waits until it has them all.

Writing is the hard part. MicroPython's USB CDC driver (shared/tinyusb/mp_usbd_cdc.c,
mp_usbd_cdc_tx_strn, the same in the pinned v1.28.0) has a 256-byte transmit FIFO; poll
reports stdout writable when at least 1 byte of it is free. A write puts in what fits; while
nothing more fits it waits for the host, up to 500 ms (MICROPY_HW_USB_CDC_TX_TIMEOUT) from
its last progress, and then gives up: a write into a full FIFO with a host that has the port
open but does not read holds the caller for 500 ms, and longer while the host takes a packet
now and then. A write of one byte never waits (poll said one byte is free). So:

- careful (always, since the control tick moved to a timer interrupt): one byte per write,
  with a poll before each, at most CAREFUL_BYTES a pass. Never waits, whatever the host does;
  costs about 25 us per byte on a Pico and 100 us on the emulator, all of it in the main
  loop, which the tick does not wait for. 256 bytes a pass carry the handshake's five answer
  frames, or four records.
- fast (HostIO(fast=True): the firmware before issue 13, kept so the virtual trainer can show
  what it did): frames in chunks of up to 64 bytes, dropping back to careful whenever the
  FIFO is seen full or a write took longer than WAITED_US, fast again after CALM_US careful.
  A host that stops reading while fast costs one stall of up to 2 x 500 ms.

A frame cut short (the FIFO filled up in the middle of it) is finished with a newline before
anything else is sent, so the host sees one bad line (its CRC fails) and then the frame again
whole, when the link resends it.
"""

import select
import sys

from softcrank_fw.compat import const, ticks_diff, ticks_us


def _ticks_us():
    return ticks_us()  # looked up at each call: tests replace the module's ticks_us

CHUNK = const(64)  # bytes per write in fast mode: one USB full-speed packet, the driver's chunk
WAITED_US = const(2_000)  # a write this slow had to wait for the host
CALM_US = const(5_000_000)  # careful this long with the FIFO never full: go fast again
CAREFUL_BYTES = const(256)  # careful mode's budget a tick: 256 x ~25 us, under 7 ms

_NL = b"\n"


def _ready(poller):
    """True if the one stream registered with `poller` is ready. ipoll, not poll: poll()
    builds a new list on every call, ipoll() reuses one tuple."""
    for _ in poller.ipoll(0):
        return True
    return False


class HostIO:
    def __init__(self, stdin=None, stdout=None, rx_poll=None, tx_poll=None, fast=False, clock=None):
        """Defaults: the REPL's USB stdin/stdout. Tests pass streams and pollers of their own.
        fast: allow fast mode (writes that can wait for the host; see above); clock: the
        ticks_us it times itself by (the virtual trainer's hardware clock there)."""
        self._now = clock if clock is not None else _ticks_us
        self._in = stdin if stdin is not None else sys.stdin.buffer
        self._out = stdout if stdout is not None else sys.stdout.buffer
        if rx_poll is None:
            rx_poll = select.poll()
            rx_poll.register(sys.stdin, select.POLLIN)
        if tx_poll is None:
            tx_poll = select.poll()
            tx_poll.register(sys.stdout, select.POLLOUT)
        self._rx = rx_poll
        self._tx = tx_poll
        self._byte = bytearray(1)  # read_byte's
        self._one = bytearray(1)  # careful mode's
        self._fast = fast
        self._careful = True
        self._calm_since = self._now()
        self._budget = CAREFUL_BYTES  # careful mode: bytes this tick may still send
        self._owe_newline = False
        self.cut = 0  # frames cut short
        self.waits = 0  # writes that had to wait for the host

    def new_tick(self):
        self._budget = CAREFUL_BYTES
        if self._fast and self._careful and ticks_diff(self._now(), self._calm_since) >= CALM_US:
            self._careful = False

    def read_byte(self):
        """The next byte from the host, or -1 if none is waiting."""
        if not _ready(self._rx):
            return -1
        if self._in.readinto(self._byte) != 1:
            return -1
        return self._byte[0]

    def write(self, buf, n):
        """Send buf[:n], one whole frame; False if it cannot go now (the link tries later)."""
        if self._owe_newline:
            if not self._writable():
                return False
            self._out.write(_NL)  # one byte: poll said it fits, so it cannot wait
            self._owe_newline = False
        if self._careful:
            if n > self._budget:
                return False  # next tick: a frame is never started that the budget cannot finish
            self._budget -= n
        return self._send(buf, n)

    def _send(self, buf, n):
        if self._careful:
            return self._send_careful(buf, n)
        one = self._one
        i = 0
        while i < n:
            if not self._writable():
                return self._cut(i, n)
            chunk = 1 if self._careful else CHUNK  # a wait mid-frame: the rest goes carefully
            end = i + chunk if i + chunk < n else n
            t0 = self._now()
            if chunk == 1:
                one[0] = buf[i]
                wrote = self._out.write(one)  # no slice: careful mode allocates nothing
            else:
                wrote = self._out.write(memoryview(buf)[i:end])
            if wrote is None:  # a stream that does not count: it took everything
                wrote = end - i
            if ticks_diff(self._now(), t0) > WAITED_US or wrote < end - i:
                self.waits += 1
                self._congested()
            if wrote == 0:
                return self._cut(i, n)
            i += wrote
        return True

    def _send_careful(self, buf, n):
        """One byte per write, each after a poll that says it fits: never waits, so nothing
        to time. The loop is kept lean: on a Pico it runs for every byte the host gets."""
        one = self._one
        out = self._out
        tx = self._tx
        i = 0
        while i < n:
            for _ in tx.ipoll(0):
                break
            else:
                self._congested()
                return self._cut(i, n)
            one[0] = buf[i]
            if out.write(one) == 0:  # None: a stream that does not count took it
                self.waits += 1
                self._congested()
                return self._cut(i, n)
            i += 1
        return True

    def _cut(self, i, n):
        """The FIFO filled after i of n bytes."""
        if i == 0:
            return False
        self.cut += 1
        self._owe_newline = True
        return i == n - 1  # only the newline missing: the frame is whole once that goes

    def _writable(self):
        if _ready(self._tx):
            return True
        self._congested()
        return False

    def _congested(self):
        self._careful = True
        self._calm_since = self._now()
