"""Faults on the host's side: caps changed without authorisation, the USB link cut, a host that
stops reading.
"""

from __future__ import annotations

import time

import serial

from softcrank_fw import protocol as P
from softcrank_fw.control import HOST_HOLD_MS, HOST_RAMPDOWN_PCT_S, HOST_TIMEOUT_MS

from ...boardfiles import scenario_path
from ...frames import Frame
from ...sim.demo import DEMO_KEY
from ...sim.virtual_board import VirtualBoard
from ...trainer.link import CommandRefused
from ...trainer.therapist import caps_tag, with_patient

from .harness import (FAULT_CAPS, TICK_MS, FaultNotHandled, check, Result, signed, Ride, _unloaded, _finish,
                      _start_raw, _frame)

# ----- caps changed without authorisation -----------------------------------------------------


def run_unauthorised_caps() -> Result:
    """Mid-work, CAPS raising the cap to 100 %: with a forged tag, as a replay of the frame the
    trainer accepted at the start, and with an old counter: each refused (AUTH, STALE) with a
    CAPS_REFUSED event, the caps and the brake untouched."""
    raised = with_patient([100] + FAULT_CAPS[1:], 0)
    with Ride("steady") as ride:
        i, _ = ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        device, counter = ride.link.info["H"]["device"], ride.caps_frame[len(raised)]
        attempts = [
            ("AUTH", raised + [counter + 1, caps_tag(bytes(32), device, counter + 1, raised)]),  # another key
            ("AUTH", raised + [counter + 1, ride.caps_frame[-1]]),  # the start's tag on new values
            ("STALE", ride.caps_frame),  # the accepted frame, recorded and replayed
            ("STALE", signed(device, counter, raised)),  # a right tag but no newer counter
        ]
        for code, fields in attempts:
            try:
                ride.link.command("CAPS", *fields)
            except CommandRefused as e:
                check(e.code == code, "CAPS refused with %s, expected %s" % (e.code, code))
            else:
                raise FaultNotHandled("the trainer took unauthorised caps (%s expected)" % code)
        j, _ = ride.wait(lambda f: f.type == "T", 10, len(ride.records))
        k, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ride.records[j]["t_ms"] + 5000, 20, j)
        refused = [f["arg"] for f in ride.records[i:k] if f.type == "E" and f["event"] == "CAPS_REFUSED"]
        check(refused == [P.REFUSED_TAG, P.REFUSED_TAG, P.REFUSED_STALE, P.REFUSED_STALE],
              "CAPS_REFUSED events: %s" % refused)
        check("CAPS" not in [f["event"] for f in ride.records[i:k] if f.type == "E"], "the caps changed")
        check(all(f["res_pm"] <= FAULT_CAPS[0] * 10 for f in ride.samples(i, k)), "the brake passed the old cap")
        return _finish(ride, Result("unauthorised caps", notes={"refused": len(refused)}))


# ----- the link ---------------------------------------------------------------------------------

def run_cable_out(seconds: float = 30) -> Result:
    """The USB cable out for 30 s mid-work: the trainer stops resistance rising after 3 s
    (HOST_LOST), ramps it down and pauses after 10 s, brake zero; back in, the host fetches
    every record made meanwhile (REPLAY) and resumes."""
    with Ride("steady") as ride:
        i, _ = ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        ride.board.unplug(seconds / ride.speed)
        j, lost = ride.wait_event("HOST_LOST", seconds + 30, i)
        k, pause = ride.wait_event("PAUSE", seconds + 30, j)
        check(pause["arg"] == P.PAUSE_HOST_SILENT, "paused for %d" % pause["arg"])
        held = ride.samples(j, k)
        check(all(b["res_pm"] <= a["res_pm"] for a, b in zip(held, held[1:])), "resistance rose with the host gone")
        # held from 3 s of silence, ramped down at 20 %/s from 10 s, paused at zero
        brake = held[0]["res_pm"] if held else 0
        longest = HOST_TIMEOUT_MS - HOST_HOLD_MS + brake * 100 // HOST_RAMPDOWN_PCT_S + 2 * TICK_MS
        took = pause["t_ms"] - lost["t_ms"]
        check(HOST_TIMEOUT_MS - HOST_HOLD_MS <= took <= longest, "paused %d ms after HOST_LOST" % took)
        m, _ = ride.wait_event("HOST_BACK", seconds + 30, k)
        check(held[0]["res_pm"] > 0, "the brake was not on when the host was lost: nothing to show")
        _, zero = _unloaded(ride, k, pause, None, m, on_before=False)  # the ramp-down ends at zero
        deadline = time.monotonic() + 10
        while ride.link.state != "connected" and time.monotonic() < deadline:
            time.sleep(0.05)
        ride.link.command("RESUME")
        ride.wait_event("RESUME", 10, m)
        result = _finish(ride, Result("USB link cut %d s" % seconds, None, zero))
        result.notes["replayed"] = len(ride.records) - i
        result.notes["pause_after_host_lost_ms"] = took
        return result


def run_host_not_reading(seconds: float = 10, speed: float = 10) -> Result:
    """The host keeps sending its heartbeat (an ACK of the newest record it read) but reads
    nothing for 10 s of real time (a frozen reader thread), mid-work, at 10 Hz telemetry and 10 x
    real time: 100 virtual s, about 1,000 records and 55 KB, queued between the firmware and the
    host (a Pico's USB buffers hold a few hundred bytes; the virtual trainer's pseudo-terminal,
    relay and pipe about 150 KB, nearly the ring's size, so the firmware's refused-write path is
    shown by tests/firmware/test_link.py rather than here). The session goes on unchanged (no
    HOST_LOST, no pause, the brake as planned), and when the host reads again every record comes,
    in order."""
    board = VirtualBoard(scenario=str(scenario_path("steady")), speed=speed, key=DEMO_KEY)
    board.start()
    try:
        with serial.serial_for_url(board.port, baudrate=115200, timeout=0.2) as port:
            send = _start_raw(port, 10)
            records: list[Frame] = []

            def beat():
                port.write(send("ACK", records[-1]["rec"]) if records else send("PING"))

            _read_until(port, records, lambda f: f.type == "T" and f["res_pm"] >= 100, 60 / speed + 5, beat, speed)
            frozen_at = len(records)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:  # write, never read
                beat()
                time.sleep(0.5 / speed)
            t_resumed = time.monotonic()
            frozen_t = records[-1]["t_ms"]
            until = frozen_t + (seconds + 2) * speed * 1000
            last = _read_until(port, records, lambda f: f.type == "T" and f["t_ms"] >= until, 60, beat, speed)
        recs = [f["rec"] for f in records]
        check(recs == list(range(recs[0], recs[0] + len(recs))), "records missing or out of order")
        events = [f["event"] for f in records if f.type == "E"]
        check(not {"HOST_LOST", "PAUSE", "LOST", "FAULT"} & set(events), "events while not reading: %s" % events)
        check(all(f["state"] == "W" for f in records[frozen_at:] if f.type == "T"), "the session did not go on")
        check(last["res_pm"] > 0, "the brake is off")
        made = [f for f in records[frozen_at:] if f["t_ms"] <= frozen_t + seconds * speed * 1000]
        queued = sum(len(P.encode(f.type, 0, list(f.fields.values()))) for f in made)
        check(queued > 40_000, "only %d bytes queued while the host was not reading" % queued)
        result = Result("host not reading %d s" % seconds, records=len(records))
        result.notes["queued_kb"] = queued // 1000
        result.notes["caught_up_s"] = round(time.monotonic() - t_resumed, 1)
        return result
    finally:
        board.stop()


def _read_until(port, records: list, match, timeout: float, beat, speed: float) -> Frame:
    """Read frames, keeping the records, until one matches, calling beat() every half virtual
    second; FaultNotHandled after timeout."""
    deadline = time.monotonic() + timeout
    next_beat = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_beat:
            beat()
            next_beat = time.monotonic() + 0.5 / speed
        frame = _frame(port.readline())
        if frame is None:
            continue
        if frame.type in ("T", "E"):
            records.append(frame)
        if match(frame):
            return frame
    raise FaultNotHandled("no matching frame within %.0f s" % timeout)
