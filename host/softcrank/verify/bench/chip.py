"""The control tick on the emulated RP2040: MicroPython's real rp2 build (host/softcrank/chipsim).

Runs only when SOFTCRANK_RP2_FIRMWARE and SOFTCRANK_RP2_BOOTROM name MicroPython's RPI_PICO
.uf2 and the RP2040 B1 bootrom (the project ships neither: docs/firmware.md); otherwise its
figures are "--" and say how to get them.

A rider turns the crank at 60 rpm; the host asks for 50 Hz telemetry and starts a session.
Then, in emulated time: READ_S seconds with the host reading, then QUIET_S seconds with the host
keeping the port open and not reading (the chip's USB IN transfers go unanswered). Each tick's
brake write is seen in the PWM registers (chipsim/board.py): the period between control writes,
and the tick's cost, from the end of the ticker's wait to the brake's write (sensing and the
control step, at 125 MHz). Emulated time runs three to five times slower than real time here.
"""

from __future__ import annotations

import os
import time

from . import Figure

READ_S = 20.0
QUIET_S = 10.0
HINT = ("needs SOFTCRANK_RP2_FIRMWARE (MicroPython's RPI_PICO .uf2) and SOFTCRANK_RP2_BOOTROM (the RP2040 B1 "
        "bootrom): docs/firmware.md")
KEYS = (
    ("chip.tick_cost_mean_us", "emulated RP2040: control tick cost, mean (wait end to brake write)", "us", "10000 us period"),
    ("chip.tick_cost_max_us", "emulated RP2040: control tick cost, worst", "us", "10000 us period"),
    ("chip.period_max_ms_reading", "emulated RP2040: worst tick period, host reading 50 Hz telemetry", "ms", "12 ms"),
    ("chip.fw_period_max_ms_reading", "emulated RP2040: worst tick period, host reading, as the firmware's "
     "STATS measures it (between its ticks_us after each wait)", "ms", "12 ms"),
    ("chip.period_max_ms_not_reading", "emulated RP2040: worst tick period, host not reading", "ms", "12 ms"),
    ("chip.ticks_over_12ms_not_reading", "emulated RP2040: tick periods over 12 ms, host not reading", "", "0"),
    ("chip.emulation_ratio", "emulated RP2040: machine seconds per emulated second (this machine)", "x", ""),
)


def measure(read_s: float = READ_S, quiet_s: float = QUIET_S) -> dict:
    import serial

    from softcrank_fw import protocol as P
    from softcrank_sim.rider import Rider

    from ...chipsim.board import ChipBoard
    from ...frames import Commander, FrameError, parse

    firmware, bootrom = os.environ["SOFTCRANK_RP2_FIRMWARE"], os.environ["SOFTCRANK_RP2_BOOTROM"]
    with ChipBoard(firmware, bootrom, speed=0, world=Rider(edges_per_rev=24, rpm=60.0)) as chip:
        started = time.monotonic()
        with serial.serial_for_url(chip.port, baudrate=115200, timeout=0.1) as port:
            send = Commander()
            chip.run_until(1_000_000)
            for command in (("HELLO", P.PROTOCOL_VERSION), ("RATE", 50), ("START",)):
                port.write(send(*command))

            buf = [b""]
            answers: list = []  # the firmware's S frames (STATS)

            def read_until(t_us):
                """Read like a host that keeps up: every tenth record acknowledged."""
                while chip.t_us < t_us:
                    *lines, buf[0] = (buf[0] + port.read(max(1, port.in_waiting))).split(b"\n")
                    for line in lines:
                        try:
                            frame = parse(line)
                        except FrameError:
                            continue
                        if frame.type == "S":
                            answers.append(frame.fields)
                        if frame.type in ("T", "E") and frame["rec"] % 10 == 0:
                            port.write(send("ACK", frame["rec"]))
                    if chip.error:
                        raise RuntimeError(chip.error)

            read_until(2_000_000)
            port.write(send("STATS"))  # the firmware's own tick statistics start from here
            t0 = chip.t_us
            read_until(t0 + int(read_s * 1e6))
            port.write(send("STATS"))
            read_until(chip.t_us + 200_000)
            t1 = chip.t_us
            chip.host_reads(False)
            chip.run_until(t1 + int(quiet_s * 1e6))
            t2 = chip.t_us
        ratio = (time.monotonic() - started) / (t2 / 1e6)
        own = answers[-1]["period_max_us"] if len(answers) >= 2 else None
        return {"reading": chip.tick_figures(t0, t1), "not_reading": chip.tick_figures(t1, t2), "own": own,
                "ratio": round(ratio, 2), "read_s": read_s, "quiet_s": quiet_s}


def run(quick: bool) -> list[Figure]:
    if not (os.environ.get("SOFTCRANK_RP2_FIRMWARE") and os.environ.get("SOFTCRANK_RP2_BOOTROM")):
        return [Figure(key, "%s: skipped, %s" % (what, HINT), None, unit, limit) for key, what, unit, limit in KEYS]
    m = measure(2.0, 2.0) if quick else measure()
    r, q = m["reading"], m["not_reading"]
    costs = r["cost_mean_us"], max(r["cost_max_us"], q["cost_max_us"])
    own = None if m["own"] is None else m["own"] / 1000
    values = (costs[0], costs[1], r["period_max_us"] / 1000, own, q["period_max_us"] / 1000, q["over_12ms"],
              m["ratio"])
    return [Figure(key, what + (" (%d + %d ticks)" % (r["ticks"], q["ticks"]) if i == 0 else ""), value, unit, limit)
            for i, ((key, what, unit, limit), value) in enumerate(zip(KEYS, values))]
