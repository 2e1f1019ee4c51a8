"""The simulated board's USB serial port, modelled on MicroPython's rp2 USB CDC driver.

What the model keeps from shared/tinyusb/mp_usbd_cdc.c (MicroPython v1.28.0, the pinned
release; tusb_config.h, mphalport.h):

- a transmit FIFO of FIFO_BYTES (CFG_TUD_CDC_TX_BUFSIZE, 256 at full speed);
- poll says the port is writable when at least one byte of it is free;
- write (mp_usbd_cdc_tx_strn) puts in what fits; while nothing more fits it waits for the
  host, 1 ms at a time (mp_event_wait_ms(1)), and gives up TIMEOUT_US (MICROPY_HW_USB_CDC_
  TX_TIMEOUT, 500 ms) after its last progress, returning how much it wrote.

The waiting is in the board's virtual hardware time (board.advance): it passes whatever the
firmware does, and on a board whose tick runs from its virtual timer (board.py) the ticks go
on during the wait, as a Pico's timer interrupt does; on a board whose tick runs in the loop
(the firmware before issue 13) the wait holds the tick, as it did on the chip.

The other side of the FIFO is the USB host: here the pipe to the virtual board
(host/softcrank/virtual_board.py), which stops taking bytes when the program on the host
stops reading the pseudo-terminal, so the FIFO fills as a Pico's does. The FIFO drains into
the pipe whenever the model looks at it (a poll, a write, the board's service()), as the USB
hardware drains it in the background on a Pico.
"""

from softcrank_fw.compat import const, ticks_diff

FIFO_BYTES = const(256)
TIMEOUT_US = const(500_000)
WAIT_US = const(1_000)
_EAGAIN = const(11)
_WRITABLE = ((None, 4),)  # what ipoll yields when a byte fits: (stream, POLLOUT)
_NOTHING = ()


class UsbCdc:
    def __init__(self, out, board):
        """out: the binary stream to the host (non-blocking); board: its advance(us) and t_us."""
        self._out = out
        self._board = board
        self._fifo = bytearray(FIFO_BYTES)
        self._n = 0
        self.closed = False  # the host closed its end
        self.waited_us = 0  # time write() spent waiting for the host
        self.timeouts = 0  # writes that gave up after TIMEOUT_US

    # ----- the poll object hostio.HostIO takes as tx_poll --------------------------------

    def ipoll(self, timeout=0):
        if self._n < FIFO_BYTES:  # the common case first: hostio polls before every byte
            return _WRITABLE
        return _WRITABLE if self.free() > 0 else _NOTHING

    # ----- the stream HostIO writes to --------------------------------------------------------

    def write(self, buf):
        n = len(buf)
        if n == 1 and self._n < FIFO_BYTES:  # hostio's careful writes: the fast path
            self._fifo[self._n] = buf[0]
            self._n += 1
            return 1
        i = 0
        last = self._board.t_us
        while i < n and not self.closed:
            free = self.free()
            k = n - i if n - i < free else free
            if k:
                self._fifo[self._n:self._n + k] = buf[i:i + k]
                self._n += k
                i += k
                last = self._board.t_us
                continue
            if ticks_diff(self._board.t_us, last) >= TIMEOUT_US:
                self.timeouts += 1
                break
            self._board.advance(WAIT_US)  # mp_event_wait_ms(1): hardware time passes
            self.waited_us += WAIT_US
        return i

    def free(self):
        if self._n == FIFO_BYTES:
            self.drain()
        return FIFO_BYTES - self._n

    def drain(self):
        """The USB hardware: hand what the host will take to it."""
        if not self._n or self.closed:
            return
        try:
            sent = self._out.write(memoryview(self._fifo)[:self._n])
        except OSError as e:
            if e.args and e.args[0] == _EAGAIN:
                return  # the host is not taking any
            self.closed = True
            return
        if not sent:
            return
        rest = self._n - sent
        if rest:
            self._fifo[:rest] = self._fifo[sent:self._n]
        self._n = rest
