"""Faults the rider's world injects through scenario files: e-stop, spasm, load cells,
overspeed, the duration cap, the crank sensor.
"""

from __future__ import annotations

from softcrank_fw import protocol as P
from softcrank_fw.control import OVERSPEED_PAUSE_MS, SPASM_REST_MS
from softcrank_fw.force import STALE_MS, STUCK_READINGS

from ...trainer.link import CommandRefused

from .harness import FAULT_CAPS, TICK_MS, RAMP_PM_PER_S, check, Result, Ride, _unloaded, _finish


def run_estop() -> Result:
    """E-stop pressed at 60 s, released at 70 s: brake zero in the tick, state e-stop until the
    host's STOP after the release, then idle."""
    with Ride("estop") as ride:
        i, ev = ride.wait_event("ESTOP", 90)
        check(ev["arg"] == 0, "ESTOP should come from the input (arg 0)")
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 69_000, 30, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        check(all(f["state"] == "E" for f in ride.samples(i + 1, j)), "left the e-stop state by itself")
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 71_000, 30, j)
        ride.link.command("STOP")
        k, _ = ride.wait_event("CLEAR", 5, i)
        ride.wait(lambda f: f.type == "T" and f["state"] == "I", 5, k)
        return _finish(ride, Result("e-stop input", onset, zero))


def run_host_estop() -> Result:
    """The host's ESTOP command mid-work: brake zero before the answer."""
    with Ride("steady") as ride:
        ride.wait(lambda f: f.type == "T" and f["res_pm"] >= 100, 60)
        ride.link.command("ESTOP")
        i, ev = ride.wait_event("ESTOP", 5)
        check(ev["arg"] == 1, "ESTOP should come from the host (arg 1)")
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 2000, 10, i)
        _, zero = _unloaded(ride, i, ev, None, j)
        return _finish(ride, Result("e-stop from the host", None, zero))


def run_spasm() -> Result:
    """A 500 N spasm at 60 s: brake zero in the tick, rest 10 s once the force is back below
    the threshold, then re-ramp from zero no faster than the ramp."""
    with Ride("spasm") as ride:
        i, ev = ride.wait_event("SPASM", 90)
        check(ev["arg"] == P.SPASM_FORCE_L, "the spasm should be the left pedal's force")
        j, end = ride.wait_event("REST_END", 30, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        rest_ms = end["t_ms"] - ev["t_ms"]
        check(SPASM_REST_MS <= rest_ms <= SPASM_REST_MS + 2000 + 500, "rested %d ms" % rest_ms)
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= end["t_ms"] + 10_000, 30, j)
        for f in ride.samples(j + 1):
            allowed = RAMP_PM_PER_S * (f["t_ms"] - end["t_ms"]) / 1000 + 1
            check(f["res_pm"] <= allowed, "re-ramped too fast: %d per mille after %d ms"
                  % (f["res_pm"], f["t_ms"] - end["t_ms"]))
        return _finish(ride, Result("spasm", onset, zero, notes={"rest_ms": rest_ms}))


LOAD_CELL_FAULTS = {  # kind: (side code, fault code, the most ticks detection may take, why)
    "stale": (10, 2, STALE_MS // TICK_MS + 2, "no reading for STALE_MS"),
    "rail": (20, 1, 3, "the next reading"),
    "stuck": (10, 3, STUCK_READINGS * 125 // 100 + 3, "STUCK_READINGS identical readings at 80 SPS"),
    "jump": (20, 4, 3, "the next reading"),
}


def run_load_cell(kind: str) -> Result:
    """A load-cell fault at 60 s: FAULT in the tick it is detected, brake zero there, and a
    new session refused until it is mended. "noisy" is caught as a spasm or a jump, whichever
    comes first; either unloads the brake."""
    with Ride("load-cell-" + kind) as ride:
        if kind == "noisy":
            i, ev = ride.wait(lambda f: f.type == "E" and f["event"] in ("SPASM", "FAULT"), 90)
            bound = 100  # +-300 N of noise passes the 250 N threshold in about 1 reading of 10: 1 s is ample
        else:
            side, code, bound, _ = LOAD_CELL_FAULTS[kind]
            i, ev = ride.wait_event("FAULT", 90)
            check(ev["arg"] == side + code, "FAULT %d, expected %d" % (ev["arg"], side + code))
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 3000, 10, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        check(onset <= bound, "%s took %d ticks to unload (at most %d)" % (kind, onset, bound))
        if ev["event"] == "FAULT":
            ride.link.command("STOP")  # clears the latch; the cell is still broken
            c, _ = ride.wait_event("CLEAR", 5, i)
            try:
                ride.link.command("START")
            except CommandRefused:
                pass  # refused: the cell reads implausibly (rail, jump) or not at all (stale)
            else:
                # A stuck cell reads fresh values, so START is taken; it is caught again within
                # the same detection time, the brake having risen only as far as the ramp allows.
                check(kind == "stuck", "a session started on a %s load cell" % kind)
                k, again = ride.wait_event("FAULT", bound / 100 + 2, c)
                top = max(f["res_pm"] for f in ride.samples(c, k) or [{"res_pm": 0}])
                check(top <= RAMP_PM_PER_S * bound / 100 + 1, "the brake rose to %d per mille on a stuck cell" % top)
        return _finish(ride, Result("load cell " + kind, onset, zero, notes={"event": ev["event"]}))


def run_overspeed() -> Result:
    """36 rpm against a 30 rpm cap from 60 s: OVERSPEED, resistance no longer rises, and the
    session pauses after OVERSPEED_PAUSE_MS with the brake at zero."""
    with Ride("overspeed") as ride:
        i, ev = ride.wait_event("OVERSPEED", 120)
        j, pause = ride.wait_event("PAUSE", OVERSPEED_PAUSE_MS / 1000 + 10, i)
        check(pause["arg"] == P.PAUSE_OVERSPEED, "paused for %d, not overspeed" % pause["arg"])
        held = ride.samples(i, j)
        check(all(b["res_pm"] <= a["res_pm"] for a, b in zip(held, held[1:])), "resistance rose while overspeeding")
        k, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= pause["t_ms"] + 2000, 10, j)
        took = pause["t_ms"] - ev["t_ms"]
        check(OVERSPEED_PAUSE_MS - TICK_MS <= took <= OVERSPEED_PAUSE_MS + TICK_MS, "paused %d ms after the overspeed" % took)
        _, zero = _unloaded(ride, j, pause, None, k)
        return _finish(ride, Result("overspeed", took // TICK_MS, zero, notes={"cadence_drpm": ev["arg"]}))


def run_duration_cap() -> Result:
    """A plan longer than the 1-minute cap: cool-down (COOLDOWN 1) when riding time reaches
    the cap, brake zero in that tick, then DONE."""
    with Ride("steady", caps=[20, 1, 30, 250, 30, 0, 20, 250], goals=[90, 15, 25, 20]) as ride:
        s, start = ride.wait_event("START", 10)
        i, ev = ride.wait_event("COOLDOWN", 90, s)
        check(ev["arg"] == 1, "COOLDOWN should say the cap was reached (arg 1)")
        rode = ev["t_ms"] - start["t_ms"]
        check(60_000 <= rode <= 60_000 + TICK_MS, "cooled down after %d ms of riding" % rode)
        j, _ = ride.wait_event("DONE", 40, i)
        onset, zero = _unloaded(ride, i, ev, None, j)
        return _finish(ride, Result("duration cap", (rode - 60_000) // TICK_MS, zero))


def run_crank_bounce() -> Result:
    """A bouncing crank contact: cadence still right, no phantom reversal (spasm)."""
    with Ride("crank-bounce") as ride:
        i, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 60_000, 90)
        cadence = [f["cad_drpm"] for f in ride.samples(0, i) if f["t_ms"] >= 30_000]
        mean = sum(cadence) / len(cadence)
        check(170 <= mean <= 230, "cadence %.1f rpm with a bouncing contact (the rider pedals 20)" % (mean / 10))
        check("SPASM" not in ride.event_names(), "bounce read as a reversal")
        return _finish(ride, Result("crank bounce", notes={"mean_cadence_rpm": round(mean / 10, 1)}))
