"""`softcrank sim --chip` from the command line: the port first, a handshake on it, Ctrl-C ends it."""

import signal
import subprocess
import sys
import time

import pytest
import serial

from softcrank.frames import Commander, FrameError, parse
from softcrank_fw import protocol as P

from chipenv import BOOTROM, FIRMWARE

@pytest.mark.needs_chip
def test_sim_chip_prints_the_port_answers_hello_and_ends_on_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-m", "softcrank", "sim", "--chip", "--firmware", FIRMWARE,
                             "--bootrom", BOOTROM, "--scenario", "steady", "--speed", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/"), proc.stderr.read() if proc.poll() is not None else port
        send = Commander()
        with serial.serial_for_url(port, baudrate=115200, timeout=0.5) as s:
            end = time.monotonic() + 600
            buf, handshake = b"", None
            while handshake is None and time.monotonic() < end:
                s.write(send("HELLO", P.PROTOCOL_VERSION))
                deadline = time.monotonic() + 5
                while handshake is None and time.monotonic() < deadline:
                    *lines, buf = (buf + s.read(max(1, s.in_waiting))).split(b"\n")
                    for line in lines:
                        try:
                            frame = parse(line)
                        except FrameError:
                            continue
                        if frame.type == "H":
                            handshake = frame
        assert handshake is not None and handshake["device"].startswith("pico-")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_chip_without_its_files_says_all_three_are_needed():
    run = subprocess.run([sys.executable, "-m", "softcrank", "sim", "--chip"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert "needs all three of --chip, --firmware FILE and --bootrom FILE" in run.stderr
