"""The Pico's host link (softcrank_pico/hostio.py) against a model of MicroPython's USB CDC
driver (shared/tinyusb/mp_usbd_cdc.c, mp_usbd_cdc_tx_strn, v1.28.0): a 256-byte transmit
FIFO; poll says writable when 1 byte is free; a write puts in what fits and, while nothing
more fits, waits 1 ms at a time for the host, giving up 500 ms after its last progress. The
model charges those waits to a virtual clock.

Since issue 13 the host link never waits, whatever the host does: the control tick runs in a
timer interrupt and would not be held anyway, but the main loop must keep feeding a 250 ms
watchdog (softcrank_pico/ticker.py). Fast mode (the firmware before) is tested for what it
did: one stall of up to a second when the host stops reading.
"""

import fake_machine as fm

fm.install()

from softcrank_pico import hostio  # noqa: E402

FIFO = 256
PACKET = 64
TIMEOUT_US = 500_000


class CDC:
    """The device end of the USB serial port, and the host reading it (or not)."""

    def __init__(self, clock):
        self.clock = clock
        self.fifo = bytearray()
        self.keep = True  # keep what the host reads in `received`...
        self.received = bytearray(32768)  # allocated once: MicroPython's heap fragments
        self.received_n = 0
        self.expect = None  # ...or check it against this, from expect_at on
        self.expect_at = 0
        self.reading = True  # the host takes every packet at once
        self.waited_us = 0
        self.rx = bytearray()

    def free(self):
        return FIFO - len(self.fifo)

    def host_reads(self, n=FIFO):
        """The host takes up to n bytes, in USB packets of up to 64."""
        while n > 0 and self.fifo:
            k = min(n, PACKET, len(self.fifo))
            packet = bytes(self.fifo[:k])
            self.fifo = self.fifo[k:]
            n -= k
            if self.expect is not None:
                at = self.expect_at
                assert self.expect[at:at + k] == packet
                self.expect_at = at + k
                if self.expect_at > 4096:
                    self.expect = self.expect[self.expect_at:]
                    self.expect_at = 0
            elif self.keep:
                self.received[self.received_n:self.received_n + k] = packet
                self.received_n += k

    def got(self):
        return bytes(self.received[:self.received_n])

    def write(self, data):  # the driver's mp_usbd_cdc_tx_strn
        data = bytes(data)
        i = 0
        last = self.clock.t
        while i < len(data):
            n = min(len(data) - i, self.free())
            self.fifo += data[i:i + n]
            i += n
            if i < len(data):
                if n > 0:
                    last = self.clock.t
                else:
                    if self.clock.t - last >= TIMEOUT_US:
                        break
                    self.clock.advance(1_000)  # mp_event_wait_ms(1)
                    self.waited_us += 1_000
                    if self.reading:
                        self.host_reads(PACKET)
        if self.reading:  # a reading host takes each packet as soon as it is flushed
            self.host_reads()
        return i

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n


class Poll:
    def __init__(self, ready):
        self.ready = ready

    def ipoll(self, timeout):
        return [(None, 1)] if self.ready() else []


def link(fast=False):
    clock = fm.Clock()
    fm.use_clock(clock, hostio)
    cdc = CDC(clock)
    io = hostio.HostIO(cdc, cdc, Poll(lambda: len(cdc.rx) > 0), Poll(lambda: cdc.free() > 0), fast=fast)
    return io, cdc, clock


def frame(i, size=60):
    body = b"$T,%d," % i
    return body + b"x" * (size - len(body) - 1) + b"\n"


def tick(io, clock):
    clock.advance(10_000)
    io.new_tick()


def test_read_byte_returns_each_byte_then_minus_one():
    io, cdc, clock = link()
    assert io.read_byte() == -1
    cdc.rx += b"$P"
    assert io.read_byte() == ord("$")
    assert io.read_byte() == ord("P")
    assert io.read_byte() == -1


def test_frames_reach_a_reading_host_whole_and_nothing_waits():
    io, cdc, clock = link()
    cdc.expect = bytearray()
    sent = 0
    for i in range(800):  # 8 s: careful all the way
        tick(io, clock)
        for k in range(4):
            f = frame(i * 4 + k, 40 + (i * 7 + k) % 80)
            cdc.expect += f  # before the write: the host may read it during the write
            if io.write(f, len(f)):
                sent += 1
            else:
                cdc.expect = cdc.expect[:len(cdc.expect) - len(f)]
        cdc.host_reads()
    assert cdc.waited_us == 0 and io.waits == 0
    assert len(cdc.expect) == cdc.expect_at  # everything arrived, in order (host_reads checked each byte)
    assert io._careful  # never fast: a fast write can wait
    assert sent > 3200 - 800 * 2  # careful mode's 256 bytes a tick took 2-4 of these


def test_the_handshake_answer_fits_careful_mode():
    io, cdc, clock = link()
    tick(io, clock)
    answer = [frame(i, size) for i, size in enumerate((70, 50, 40, 45, 15))]  # H C G K A
    assert all(io.write(f, len(f)) for f in answer)


def test_careful_mode_sends_at_most_its_budget_a_tick():
    io, cdc, clock = link()
    tick(io, clock)
    f = frame(1, 100)
    assert io.write(f, 100) and io.write(f, 100)
    assert io.write(f, 100) is False  # 300 > 256: not started
    assert io.write(f, 50) is True
    cdc.host_reads()
    tick(io, clock)
    assert io.write(f, 100) is True
    cdc.host_reads()
    assert cdc.got() == f * 2 + f[:50] + f


def run_with_host_stopping(io, cdc, clock, stop_at, ticks):
    """Frames every tick; the host stops reading at tick stop_at. Returns the frames written
    from 10 ticks before that on (and keeps only what the host read from then on)."""
    sent = []
    cdc.keep = False
    for i in range(ticks):
        tick(io, clock)
        if i == stop_at - 10:
            cdc.keep = True
        if i == stop_at:
            cdc.reading = False
        for k in range(3):
            f = frame(i * 3 + k, 30 + (i * 13 + k * 5) % 90)
            if io.write(f, len(f)) and cdc.keep:
                sent.append(f)
        if cdc.reading:
            cdc.host_reads()
    return sent


def test_a_host_that_stops_reading_costs_no_wait():
    io, cdc, clock = link()
    run_with_host_stopping(io, cdc, clock, stop_at=700, ticks=1500)
    assert cdc.waited_us == 0 and io.waits == 0 and cdc.free() == 0


def test_a_host_that_freezes_again_and_again_costs_no_wait():
    io, cdc, clock = link()
    cdc.keep = False  # what arrives is not the point here: 2 minutes of it would not fit
    for i in range(12_000):  # 2 minutes; the host freezes 2.5 s of every 8 s
        tick(io, clock)
        cdc.reading = (i % 800) < 550
        f = frame(i, 30 + (i * 11) % 90)
        io.write(f, len(f))
        if cdc.reading:
            cdc.host_reads()
    assert cdc.waited_us == 0 and io.waits == 0


def test_fast_mode_the_firmware_before_issue_13_stalls_when_the_host_stops_reading():
    io, cdc, clock = link(fast=True)
    run_with_host_stopping(io, cdc, clock, stop_at=700, ticks=1500)
    assert TIMEOUT_US <= cdc.waited_us <= 2 * TIMEOUT_US  # what held the tick for a second
    assert io.waits == 1 and io._careful


def test_a_host_that_never_reads_costs_no_wait():
    io, cdc, clock = link()
    run_with_host_stopping(io, cdc, clock, stop_at=0, ticks=1000)
    assert cdc.waited_us == 0
    assert cdc.free() == 0  # the FIFO is full, and write() said False ever since


def test_a_slow_reader_costs_no_wait_once_careful():
    io, cdc, clock = link()
    cdc.reading = False
    for i in range(3000):
        tick(io, clock)
        f = frame(i, 30 + (i * 11) % 90)
        io.write(f, len(f))
        if i % 50 == 0:
            cdc.host_reads(PACKET)  # a packet every half second
    assert cdc.waited_us == 0


def test_a_cut_frame_is_ended_so_every_frame_sent_arrives_whole():
    io, cdc, clock = link()
    sent = run_with_host_stopping(io, cdc, clock, stop_at=700, ticks=900)
    cdc.reading = True
    for i in range(900, 1000):  # the host reads again: the link resends what failed
        tick(io, clock)
        f = frame(i * 3, 30 + (i * 13) % 90)
        if io.write(f, len(f)):
            sent.append(f)
        cdc.host_reads()
    lines = cdc.got().split(b"\n")
    whole = [line + b"\n" for line in lines]
    for f in sent:
        assert f in whole
    bad = [w for w in whole[1:-1] if w not in sent]  # the first may be a frame's tail
    assert io.cut >= 1 and len(bad) <= io.cut  # only the cut frames, each now one bad line
