"""Faults of the firmware and the board: an exception, a hang (the watchdog), a brownout, Ctrl-C.
"""

from __future__ import annotations

import time

import serial

from ...boardfiles import scenario_path
from ...sim.demo import DEMO_KEY
from ...sim.virtual_board import VirtualBoard

from .harness import (RATE_HZ, SPEED, FaultNotHandled, check, Result, Ride, _finish, _reboot, _last_before,
                      _start_raw, _frame)


def run_exception() -> Result:
    """An exception in the tick at 75 s (after the first minute): brake zero, reason recorded,
    the board resets itself (through the watchdog, as on a Pico) and comes back idle."""
    with Ride("exception") as ride:
        i, boot = _reboot(ride, 1, "EXCEPTION", 120)
        last = _last_before(ride, i)
        check([r[1] for r in ride.board.resets] == ["reset"], "resets: %s" % ride.board.resets)
        result = _finish(ride, Result("firmware exception", None, None))
        result.notes["last_sample_t_ms"] = last["t_ms"]
        return result


def run_hang() -> Result:
    """The loop hangs at 75 s: the watchdog resets the board within its 2 s (real time, as on
    a Pico), the brake at zero from the reset, BOOT says WATCHDOG."""
    with Ride("hang") as ride:
        i, boot = _reboot(ride, 1, "WATCHDOG", 120 + 10 * ride.speed)
        _last_before(ride, i)
        bites = ride.board.watchdog_resets()
        check(len(bites) == 1, "watchdog resets: %s" % ride.board.resets)
        waited = bites[0][2]
        check(ride.board.watchdog_s <= waited <= ride.board.watchdog_s + 0.5, "the watchdog bit %.2f s after the last feed" % waited)
        result = _finish(ride, Result("firmware hang (watchdog)", None, None))
        result.notes["watchdog_s"] = round(waited, 2)
        return result


def run_power_cut() -> Result:
    """A brownout mid-work: the board dies mid-tick and boots idle, brake zero, BOOT POWER_ON;
    the link reconnects by itself and reports the restart."""
    with Ride("steady") as ride:
        ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        n = len(ride.records)
        ride.board.power_cut()
        _reboot(ride, n, "POWER_ON", 30)
        check(any(lost.reason == "restart" for lost in ride.lost_reports), "the link did not report the restart")
        return _finish(ride, Result("brownout / reset mid-ride"))


def run_ctrl_c() -> Result:
    """A 0x03 byte mid-work (a stray one in the data, or mpremote's Ctrl-C) changes nothing:
    the session goes on, the brake loaded. Once the session has ended, Ctrl-C breaks in as
    mpremote and deploy need: brake zero, the watchdog stopped, the REPL up; no reset follows
    (someone is at the REPL)."""
    board = VirtualBoard(scenario=str(scenario_path("steady")), speed=SPEED, key=DEMO_KEY)
    board.start()
    try:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = _start_raw(port, RATE_HZ)
            deadline = time.monotonic() + 60 / SPEED + 5
            while time.monotonic() < deadline:
                port.write(send("PING"))
                frame = _frame(port.readline())
                if frame is not None and frame.type == "T" and frame["res_pm"] >= 100:
                    break
            else:
                raise FaultNotHandled("the brake never came on")
            check(board.brake_ppm > 0 and board.armed, "the brake pin and watchdog before Ctrl-C")
            port.write(b"\x03")
            riding, text = 0, b""
            deadline = time.monotonic() + 10 / SPEED  # 10 virtual seconds
            while time.monotonic() < deadline:
                port.write(send("PING"))
                line = port.readline()
                text += line
                frame = _frame(line)
                if frame is not None and frame.type == "T" and frame["state"] == "W" and frame["res_pm"] > 0:
                    riding += 1
            check(b"KeyboardInterrupt" not in text and b">>>" not in text, "a 0x03 mid-ride broke in: %r" % text[-200:])
            check(riding >= RATE_HZ and board.brake_ppm > 0 and board.armed and board.resets == [],
                  "the session did not go on after a 0x03: %d loaded samples, brake %d, armed %s, resets %s"
                  % (riding, board.brake_ppm, board.armed, board.resets))
            port.write(send("STOP"))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                frame = _frame(port.readline())
                if frame is not None and frame.type == "T" and frame["state"] == "D" and frame["res_pm"] == 0:
                    break
            else:
                raise FaultNotHandled("STOP did not end the session")
            port.write(b"\x03")
            text = b""
            deadline = time.monotonic() + 5
            while b">>>" not in text and time.monotonic() < deadline:
                text += port.read(4096)
            check(b"KeyboardInterrupt" in text and b">>>" in text, "no REPL after Ctrl-C: %r" % text[-200:])
            time.sleep(board.watchdog_s + 0.5)
            check(board.brake_ppm == 0 and not board.armed, "brake %d, watchdog armed %s after Ctrl-C"
                  % (board.brake_ppm, board.armed))
            check(board.resets == [], "the board reset under the REPL: %s" % board.resets)
        return Result("Ctrl-C", None, 0)
    finally:
        board.stop()
