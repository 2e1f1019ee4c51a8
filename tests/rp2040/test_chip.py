"""The firmware on the emulated RP2040, through the real host link on a pseudo-terminal.

Each test boots MicroPython's RPI_PICO build with the deployed files and a rider on its pins
(host/softcrank/chipsim), and checks what a person relies on: the unit answers HELLO, reads
the cadence right, holds the brake (the PWM registers, not the firmware's word for it) at zero
until START and then drives exactly the resistance it reports, and lets go within one tick of
an e-stop while the host has stopped reading.
"""

import time

import pytest
import serial

from softcrank.chipsim.board import ChipBoard
from softcrank.frames import Commander, FrameError, parse
from softcrank_fw import protocol as P
from softcrank_sim.rider import Rider

from chipenv import BOOTROM, FIRMWARE

pytestmark = pytest.mark.needs_chip
WALL_S = 600  # a generous real-time bound for any wait (emulation is slow on a loaded machine)
QUANTUM_PPM = 161  # one step of the brake's PWM: 1e6 / (TOP + 1), TOP = 6249 at 20 kHz from 125 MHz


class Host:
    """A host on the chip's port: sends commands, keeps every frame it read with the emulated
    time it arrived by."""

    def __init__(self, chip):
        self.chip = chip
        self.port = serial.serial_for_url(chip.port, baudrate=115200, timeout=0.1)
        self.send = Commander()
        self.frames = []
        self._buf = b""  # a line's start, until its end comes (the chip sends in USB packets)

    def command(self, *fields):
        seq = self.send.seq
        self.port.write(self.send(*fields))
        return seq

    def read_until(self, match, wall_s=WALL_S):
        end = time.monotonic() + wall_s
        while time.monotonic() < end:
            if self.chip.error:
                raise AssertionError(self.chip.error)
            if b"\n" not in self._buf:
                self._buf += self.port.read(max(1, self.port.in_waiting))
                continue
            line, self._buf = self._buf.split(b"\n", 1)
            try:
                frame = parse(line)
            except FrameError:
                continue
            self.frames.append(frame)
            if match(frame):
                return frame
        raise AssertionError("no such frame within %d s; emulated time %d us" % (wall_s, self.chip.t_us))

    def read_for(self, us):
        """Read (and keep) frames until emulated time has advanced by `us`, acknowledging every
        tenth record like a host that keeps up (a host silent for 3 s holds the ramp)."""
        until = self.chip.t_us + us
        while self.chip.t_us < until:
            frame = self.read_until(lambda f: True)
            if frame.type in ("T", "E") and frame["rec"] % 10 == 0:
                self.command("ACK", frame["rec"])

    def close(self):
        self.port.close()


def _chip(rpm):
    with ChipBoard(FIRMWARE, BOOTROM, speed=0, world=Rider(edges_per_rev=24, rpm=rpm)) as chip:
        host = Host(chip)
        try:
            yield chip, host
        finally:
            host.close()


@pytest.fixture
def chip60():
    """The chip with a rider turning the crank at exactly 60 rpm, and a host on its port."""
    yield from _chip(60.0)


@pytest.fixture
def chip20():
    """At 20 rpm: inside the default goals' band (15-25 rpm) and under the 30 rpm cap, so a
    session drives the brake (60 rpm would be an overspeed pause, brake held at zero)."""
    yield from _chip(20.0)


def hello(host):
    seq = host.command("HELLO", P.PROTOCOL_VERSION)
    return host.read_until(lambda f: f.type == "H" or (f.type == "N" and f["ref"] == seq))


def test_boots_to_the_main_loop_and_answers_hello(chip60):
    chip, host = chip60
    h = hello(host)
    assert h.type == "H"
    assert h["proto"] == P.PROTOCOL_VERSION and h["edges"] == 24 and h["state"] == "I"
    assert h["device"].startswith("pico-")  # the rp2 board module, not the simulated one
    assert chip.tick_figures()["ticks"] > 0  # the control loop writes the brake every tick


def test_reads_60_rpm_as_600_drpm(chip60):
    chip, host = chip60
    hello(host)
    host.read_until(lambda f: f.type == "T" and f["t_ms"] > 4000)  # past the cadence window's start
    samples = [host.read_until(lambda f: f.type == "T")["cad_drpm"] for _ in range(5)]
    assert all(599 <= s <= 601 for s in samples), samples


def test_brake_zero_until_start_then_follows_the_ramp(chip20):
    chip, host = chip20
    hello(host)
    caps = host.read_until(lambda f: f.type == "C")
    host.read_until(lambda f: f.type == "T" and f["t_ms"] > 2000)
    started_us = chip.t_us
    assert chip.writes and all(w[1] == 0 for w in chip.writes), "brake on before START"
    seq = host.command("START")
    host.read_until(lambda f: f.type == "A" and f["ref"] == seq)
    host.read_for(5_000_000)
    samples = [f for f in host.frames if f.type == "T" and f["t_ms"] * 1000 > started_us]
    writes = [w for w in chip.writes if w[3]]
    for f in samples:
        # The PWM level at the tick the sample was taken (t_ms is the chip's ticks_ms, emulated
        # time since reset) is the resistance it reports, to its per mille.
        before = [w for w in writes if w[0] <= f["t_ms"] * 1000 + 1000]
        assert abs(before[-1][1] - f["res_pm"] * 1000) <= 1000 + QUANTUM_PPM, (f.fields, before[-1])
    assert sum(f["res_pm"] > 0 for f in samples) >= 3, [f["res_pm"] for f in samples]
    # The warm-up ramp, in the PWM registers: never down, and rising at ramp_pct_min per minute
    # (10 000 ppm per percent), to within one PWM step over the span.
    ramp = [w for w in writes if w[0] > started_us]
    assert all(b[1] >= a[1] for a, b in zip(ramp, ramp[1:]))
    on = [w for w in ramp if w[1] > 0]
    rate = caps["ramp_pct_min"] * 10_000 / 60e6  # ppm per us
    expected = rate * (on[-1][0] - on[0][0])
    assert abs((on[-1][1] - on[0][1]) - expected) <= 2 * QUANTUM_PPM, (on[0], on[-1], expected)


def test_estop_with_the_host_not_reading_zeroes_the_brake_within_one_tick(chip20):
    chip, host = chip20
    hello(host)
    host.command("RATE", 50)
    seq = host.command("START")
    host.read_until(lambda f: f.type == "A" and f["ref"] == seq)
    host.read_until(lambda f: f.type == "T" and f["res_pm"] > 0)
    chip.host_reads(False)
    end = time.monotonic() + WALL_S
    while chip.held == 0:  # the chip's USB IN transfers go unanswered now
        assert time.monotonic() < end and not chip.error, chip.error
        time.sleep(0.05)
    chip.run_until(chip.t_us + 300_000)
    assert chip.brake_ppm > 0
    pressed_us = chip.t_us + 10_000  # the next window's start: when the pin goes high
    chip.press_estop(True)
    chip.run_until(pressed_us + 1_000_000)
    after = [w for w in chip.writes if w[3] and w[0] - w[2] > pressed_us]  # ticks that began after the press
    assert after, "no tick began in the second after the press"
    assert after[0][1] == 0, "the first tick after the e-stop left the brake at %d ppm" % after[0][1]
    assert all(w[1] == 0 for w in chip.writes if w[0] >= after[0][0])
    first = after[0][0] - pressed_us
    print("e-stop to brake zero: %d us; ticks while not reading: %s" % (first, chip.tick_figures(pressed_us - 300_000)))
    assert first <= 10_000 + after[0][2], first


def test_estop_during_a_usb_stall_zeroes_the_brake_within_one_tick(chip20):
    chip, host = chip20
    chip.run_until(1_000_000)
    for command in (("HELLO", P.PROTOCOL_VERSION), ("RATE", 50), ("START",)):
        host.command(*command)
    host.read_for(3_000_000)  # a host that keeps up, then stops reading
    chip.host_reads(False)
    # Press at the worst moment: once no brake write has come for 30 ms (the loop waits on the
    # USB driver), or 2 s after the chip's USB transfers began to go unanswered if no stall comes.
    end = time.monotonic() + WALL_S
    while not chip.held:
        assert time.monotonic() < end and not chip.error, chip.error
        time.sleep(0.01)
    until_us = chip.t_us + 2_000_000
    while chip.t_us < until_us:
        assert time.monotonic() < end and not chip.error, chip.error
        if chip.held and chip.t_us - chip.writes[-1][0] > 30_000:
            break
        time.sleep(0.002)
    stalled = chip.t_us < until_us
    assert chip.brake_ppm > 0
    pressed_us = chip.t_us + 10_000
    chip.press_estop(True)
    chip.run_until(pressed_us + 2_000_000)
    zero = [w for w in chip.writes if w[0] > pressed_us and w[1] == 0]
    assert zero, "the brake never went to zero"
    print("e-stop pressed %s a stall: brake zero after %d us" % ("during" if stalled else "without",
                                                              zero[0][0] - pressed_us))
    assert zero[0][0] - pressed_us <= 10_000 + max(0, zero[0][2]), zero[0][0] - pressed_us
