"""Fault runs for issue 12's hazards, end to end: each a scenario file on the virtual trainer (the
real firmware on MicroPython behind a pseudo-terminal) driven through the real host link, as
faultrun.py's, whose helpers they use. `softcrank safety` runs them after faultrun.RUNS and
prints them in the same table (docs/safety.md, rows 24-31); tests/host/test_safety_hazards.py
runs each once and pins its figure.
"""

from __future__ import annotations

from softcrank_fw import protocol as P
from softcrank_fw.control import FAULT_CRANK_DEAD, SPASM_REST_MS, STOPPED_PAUSE_MS

from .faults.harness import RAMP_PM_PER_S, TICK_MS, FaultNotHandled, Result, Ride, _finish, _unloaded, check
from ..trainer.link import CommandRefused


def _re_ramped(ride: Ride, j: int, t0_ms: int, seconds: float = 10) -> None:
    """Every sample from record j on, for `seconds` after t0_ms, within the ramp from zero."""
    ride.wait(lambda f: f.type == "T" and f["t_ms"] >= t0_ms + seconds * 1000, seconds + 20, j)
    for f in ride.samples(j + 1):
        allowed = RAMP_PM_PER_S * (f["t_ms"] - t0_ms) / 1000 + 1
        check(f["res_pm"] <= allowed, "re-ramped too fast: %d per mille %d ms after %d"
              % (f["res_pm"], f["t_ms"] - t0_ms, t0_ms))


def run_flexor_spasm() -> Result:
    """A flexor spasm at 60 s (-500 N for 2 s on the left pedal): SPASM PULL_L, brake zero in
    the tick the pull passes -250 N, rest, re-ramp from zero."""
    with Ride("flexor-spasm") as ride:
        i, ev = ride.wait_event("SPASM", 90)
        check(ev["arg"] == P.SPASM_PULL_L, "SPASM %d, expected the left pedal's pull (%d)" % (ev["arg"], P.SPASM_PULL_L))
        j, end = ride.wait_event("REST_END", 30, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        rest_ms = end["t_ms"] - ev["t_ms"]
        check(SPASM_REST_MS <= rest_ms <= SPASM_REST_MS + 2500, "rested %d ms" % rest_ms)
        _re_ramped(ride, j, end["t_ms"])
        return _finish(ride, Result("flexor spasm", onset, zero, notes={"rest_ms": rest_ms}))


def run_stall_reverse() -> Result:
    """A spasm stalls the crank 0.3 s at 60 s, then drives it backward at 10 rpm: SPASM
    REVERSAL in the tick the second backward edge confirms it, brake zero there."""
    with Ride("stall-reverse") as ride:
        i, ev = ride.wait_event("SPASM", 90)
        check(ev["arg"] == P.SPASM_REVERSAL, "SPASM %d, expected a reversal" % ev["arg"])
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 3000, 10, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        check(onset <= 100, "the reversal took %d ticks to unload" % onset)  # 0.3 s + two 250 ms edge gaps
        return _finish(ride, Result("stall then reverse", onset, zero))


def run_rider_stops() -> Result:
    """The rider stops at 60 s for 60 s: resistance no higher once the cadence reads 0, PAUSE
    STOPPED with the brake at zero within 10 s, and after the host's RESUME (the rider
    pedalling again) the brake re-ramps from zero."""
    with Ride("rider-stops") as ride:
        s, stopped = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 60_000 and f["cad_drpm"] == 0, 90)
        i, pause = ride.wait_event("PAUSE", 15, s)
        check(pause["arg"] == P.PAUSE_STOPPED, "paused for %d, not a stopped crank" % pause["arg"])
        held = ride.samples(s, i)
        check(all(b["res_pm"] <= a["res_pm"] for a, b in zip(held, held[1:])), "resistance rose with the crank stopped")
        took = pause["t_ms"] - (60_000 - TICK_MS)
        check(took <= 10_000, "paused %d ms after the rider stopped" % took)
        # the first sample reading 0 comes up to one sample period (20 ms) after the tick that did
        check(STOPPED_PAUSE_MS - 3 * TICK_MS <= pause["t_ms"] - stopped["t_ms"] <= STOPPED_PAUSE_MS,
              "paused %d ms after the cadence read 0" % (pause["t_ms"] - stopped["t_ms"]))
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 121_000, 80, i)
        _, zero = _unloaded(ride, i, pause, None, j)
        ride.link.command("RESUME")
        k, resumed = ride.wait_event("RESUME", 5, j)
        _re_ramped(ride, k, resumed["t_ms"])
        return _finish(ride, Result("rider stops", took // TICK_MS, zero,
                                    notes={"held_ms": pause["t_ms"] - stopped["t_ms"]}))


def run_crank_dead_fault() -> Result:
    """The crank sensor dies at 50 s, the rider pedals on (then 90 rpm against a 30 rpm cap, then
    backward): FAULT 31 within 5 s, brake zero from that tick through all of it."""
    with Ride("crank-dead") as ride:
        i, ev = ride.wait_event("FAULT", 60)
        check(ev["arg"] == FAULT_CRANK_DEAD, "FAULT %d, expected a dead crank sensor (%d)" % (ev["arg"], FAULT_CRANK_DEAD))
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 80_000, 40, i)
        onset, zero = _unloaded(ride, i, ev, 50, j)
        check(onset <= 500, "a dead crank sensor took %d ticks to fault" % onset)
        check(all(f["state"] == "F" for f in ride.samples(i + 1, j)), "left the fault by itself")
        return _finish(ride, Result("crank sensor dead", onset, zero))


def run_load_cell_flat() -> Result:
    """The left cell's bridge wire breaks at 60 s (offset and noise), a 500 N spasm on that pedal
    at 62 s: FAULT 17 within 5 s, brake zero from that tick; a new START is taken (the flat cell
    reads fresh) and caught again with the brake no higher than the ramp allows meanwhile."""
    with Ride("load-cell-flat") as ride:
        i, ev = ride.wait_event("FAULT", 90)
        check(ev["arg"] == 17, "FAULT %d, expected the left cell flat (17)" % ev["arg"])
        j, _ = ride.wait(lambda f: f.type == "T" and f["t_ms"] >= ev["t_ms"] + 3000, 10, i)
        onset, zero = _unloaded(ride, i, ev, 60, j)
        check(onset <= 500, "a flat load cell took %d ticks to fault" % onset)
        ride.link.command("STOP")
        c, clear = ride.wait_event("CLEAR", 5, i)
        # STOP cleared the cells too: START is refused (STATE) until each has a fresh reading
        # (one HX711 period, 12.5 ms), so wait for a record a little after the clear.
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= clear["t_ms"] + 100, 5, c)
        ride.link.command("START")
        k, again = ride.wait_event("FAULT", 8, c)
        top = max([f["res_pm"] for f in ride.samples(c, k)] + [0])
        check(top <= RAMP_PM_PER_S * 6 + 1, "the brake rose to %d per mille on a flat cell" % top)
        return _finish(ride, Result("load cell flat", onset, zero, notes={"again_ms": again["t_ms"] - ride.records[c]["t_ms"]}))


def run_spasm_train() -> Result:
    """Spasms at 60, 62 and 64 s, the 2nd and 3rd during the 1st's rest: each unloads in its
    tick, the third pauses the session; STOP then START rests 10 s first (START 1), brake zero,
    then re-ramps from zero."""
    with Ride("spasm-train") as ride:
        i, first = ride.wait_event("SPASM", 90)
        p, pause = ride.wait_event("PAUSE", 10, i)
        check(pause["arg"] == P.PAUSE_SPASMS, "paused for %d, not spasms" % pause["arg"])
        spasms = [f for f in ride.records[i:p + 1] if f.type == "E" and f["event"] == "SPASM"]
        check(len(spasms) == 3, "%d spasms counted before the pause" % len(spasms))
        onset, zero = _unloaded(ride, i, first, 60, p)
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= pause["t_ms"] + 1000, 10, p)
        ride.link.command("STOP")
        ride.link.command("STOP")
        ride.link.command("START")
        s, start = ride.wait_event("START", 5, p)
        check(start["arg"] == 1, "START after a spasm pause did not rest first")
        r, end = ride.wait_event("REST_END", SPASM_REST_MS / 1000 + 5, s)
        rest = ride.samples(s, r)
        check(bool(rest) and all(f["res_pm"] == 0 and f["state"] == "R" for f in rest), "START did not rest unloaded")
        check(end["t_ms"] - start["t_ms"] >= SPASM_REST_MS - TICK_MS, "rested only %d ms" % (end["t_ms"] - start["t_ms"]))
        _re_ramped(ride, r, end["t_ms"])
        return _finish(ride, Result("spasm train, STOP + START", onset, zero,
                                    notes={"spasms": 3, "rest_after_start_ms": end["t_ms"] - start["t_ms"]}))


def run_tare_refused() -> Result:
    """TARE while the rider pedals at 20 rpm (idle): refused LOADED, the zero unchanged; on a
    trainer with nobody on it: taken."""
    with Ride("steady", start=False) as ride:
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 5000 and f["cad_drpm"] > 150, 30)
        try:
            ride.link.command("TARE")
        except CommandRefused as e:
            check(e.code == "LOADED", "TARE refused %s, not LOADED" % e.code)
        else:
            raise FaultNotHandled("TARE was taken while the rider pedals")
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 8000, 10)
        check("TARED" not in ride.event_names(), "the pedals were tared anyway")
        result = _finish(ride, Result("TARE while pedalling", notes={"refused": "LOADED"}))
    with Ride("feet-off", start=False) as ride:
        ride.wait(lambda f: f.type == "T" and f["t_ms"] >= 3000, 30)
        ride.link.command("TARE")
        ride.wait_event("TARED", 10)
    result.notes["feet_off"] = "TARED"
    return result


RUNS = [  # (name, run), in the order of docs/safety.md's rows 24-31
    ("flexor spasm", run_flexor_spasm),
    ("stall then reverse", run_stall_reverse),
    ("rider stops", run_rider_stops),
    ("crank sensor dead", run_crank_dead_fault),
    ("load cell flat", run_load_cell_flat),
    ("spasm train, STOP + START", run_spasm_train),
    ("TARE while pedalling", run_tare_refused),
]
