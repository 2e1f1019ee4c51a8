"""The firmware-side measurements, run on the MicroPython interpreter (never CPython).

    MICROPYPATH=.frozen:firmware micropython -X heapsize=192K mp_firmware.py GROUP [SCALE]

GROUP is tick, cadence or safety; SCALE (default 1.0) shrinks the virtual durations for a
quick run. Prints one line of JSON: the raw figures, which softcrank.verify.bench turns into the
table. Everything runs in virtual time (the simulated rider and clock), so the figures
that are not timings do not depend on the machine; the timings are taken with ticks_us
around the code measured only, and set against a fixed reference loop timed in the same
process, so they travel between machines.

This file is MicroPython code: no CPython-only names, % formatting, plain classes.
"""

import gc
import json
import sys
from array import array

from softcrank_fw import protocol as P
from softcrank_fw.compat import ticks_add, ticks_diff, ticks_us
from softcrank_fw.control import ESTOP, REST, WORK, Controller, Inputs
from softcrank_fw.link import Link
from softcrank_sim.rider import Rider

TICK_US = 10_000
START_US = (1 << 30) - 3_000_000  # every ride crosses the ticks wrap, as on a Pico
REF_LOOPS = 1000  # the reference loop: this many turns of a small integer loop
# The caps and goals of the benchmark ride: a short warm-up and a quick ramp, so the brake is
# loaded within seconds; 30 minutes of work fits under the 35-minute cap.
CAPS = [40, 35, 120, 250, 30, 5, 60, 250]
GOALS = [30, 15, 25, 30]
EDGES_PER_REV = 24


class Ride:
    """Controller, rider and virtual clock, as tests/firmware/support.Bench: one tick at a time."""

    def __init__(self, rpm=20.0, host=True):
        self.ctl = Controller(EDGES_PER_REV)
        self.inp = Inputs()
        self.rider = Rider(EDGES_PER_REV, 1, rpm)
        self.ctl.left.tare, self.ctl.right.tare = self.rider.tare
        self.ctl.left.cpn, self.ctl.right.cpn = self.rider.cpn
        self.ctl.set_caps(CAPS)
        self.ctl.set_goals(GOALS)
        self.t_us = START_US
        self.ticks = 0
        self.host = host
        self.last_edge = START_US  # ticks_us of the newest crank edge the rider made

    def sense(self):
        """The rider moves for one tick; its edges and readings wait in `inp` for the tick."""
        inp = self.inp
        self.rider.step(self.t_us, TICK_US, self.ctl.brake, inp)
        self.t_us = ticks_add(self.t_us, TICK_US)
        if inp.n_edges:
            self.last_edge = inp.edge_t[inp.n_edges - 1]

    def tick(self):
        brake = self.ctl.tick(self.t_us, self.inp)
        self.ticks += 1
        if self.host and self.ticks % 100 == 0:
            self.ctl.host_seen()
        return brake

    def run(self, seconds):
        for _ in range(int(seconds * 100)):
            self.sense()
            self.tick()

    def loaded(self):
        """Start a session and ride until the brake is loaded (work phase, brake > 5 %)."""
        self.run(0.2)
        if self.ctl.start():
            raise RuntimeError("the bench ride could not start")
        for _ in range(100 * 120):
            self.sense()
            self.tick()
            if self.ctl.state == WORK and self.ctl.brake > 50_000:
                return self
        raise RuntimeError("the bench ride never loaded the brake")


# ----- tick: time, allocation, heap -------------------------------------------------------


def reference_us(repeats=20):
    """The fastest of `repeats` runs of a fixed small integer loop: the yardstick."""
    best = 1 << 29
    for _ in range(repeats):
        t0 = ticks_us()
        x = 0
        for i in range(REF_LOOPS):
            x = (x * 31 + i) & 0xFFFF
        us = ticks_diff(ticks_us(), t0)
        if us < best:
            best = us
    return best


def tick_times(seconds):
    """Microseconds per control tick (ctl.tick only), riding loaded with 50 Hz telemetry."""
    ride = Ride().loaded()
    ride.ctl.set_rate(50)
    n = int(seconds * 100)
    times = array("i", bytearray(4 * n))
    ctl, inp = ride.ctl, ride.inp
    for i in range(n):
        ride.sense()
        t0 = ticks_us()
        ctl.tick(ride.t_us, inp)
        times[i] = ticks_diff(ticks_us(), t0)
        if i % 100 == 99:
            ctl.host_seen()
    ordered = sorted(times)
    return {"n": n, "mean_us": sum(times) / n, "median_us": ordered[n // 2],
            "p99_us": ordered[n * 99 // 100], "max_us": ordered[-1]}


def allocations(seconds):
    """Bytes allocated by the control tick and by sending telemetry, over a ride through
    warm-up, work, a spasm rest and back, with the collector off while measuring."""
    ride = Ride()
    ride.ctl.set_rate(50)
    sent = bytearray(64)

    def write(buf, n):
        sent[0] = buf[0]
        return True

    link = Link(ride.ctl, write, "bench")
    ride.run(0.2)
    ride.ctl.start()
    ticks = int(seconds * 100)
    tick_bytes = send_bytes = send_first_s = 0
    rest_seen = False
    for i in range(ticks):
        if i == ticks // 2:
            ride.rider.spasm_n = 500.0  # a spasm half-way: zero, rest, events into the ring
        elif i == ticks // 2 + 50:
            ride.rider.spasm_n = 0.0
        ride.sense()
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        ride.tick()
        a1 = gc.mem_alloc()
        link.pump(4)
        a2 = gc.mem_alloc()
        gc.enable()
        tick_bytes += a1 - a0
        if i < 100:
            send_first_s += a2 - a1  # one-offs: MicroPython interns a character the first time
        else:
            send_bytes += a2 - a1
        rest_seen = rest_seen or ride.ctl.state == REST
    return {"ticks": ticks, "tick_bytes": tick_bytes, "send_bytes": send_bytes, "send_first_s": send_first_s,
            "rest_seen": rest_seen}


class ScriptedBoard:
    """A board for loop.run: the rider's sensors, a virtual clock, the benchmark's caps as if
    stored on flash, and a host that sets the goals, starts a session and ACKs once a second.
    Samples the live heap every virtual second."""

    edges_per_rev = EDGES_PER_REV
    device_id = "bench"

    def __init__(self, rider, ctl_box, seconds):
        self.rider = rider
        self.box = ctl_box  # [Controller]: the host reads the ring's next record from it
        self.t_us = START_US
        self._prev = START_US
        self.ticks = 0
        self.rx = b""
        self.rx_i = 0
        self.seq = 0
        self.bytes_out = 0
        self.heap = array("i", bytearray(4 * (seconds + 1)))  # live heap after gc.collect(), each virtual second
        self.heap_n = 0

    def _send(self, type_, values):
        self.rx = self.rx[self.rx_i:] + P.encode(type_, self.seq, values)
        self.rx_i = 0
        self.seq = (self.seq + 1) % P.SEQ_MODULO

    def reset_cause(self):
        return 0

    def calibration(self):
        r = self.rider
        return r.tare[0], r.tare[1], r.cpn[0], r.cpn[1]

    def save_calibration(self, *values):
        pass

    def device_key(self):
        return None  # no CAPS over the wire: the benchmark's caps are on its "flash" instead

    def stored_caps(self):
        return 0, 1, CAPS  # as capstore.load() finds caps a therapist set earlier

    def save_caps(self, counter, values):
        pass

    def alive(self):
        return True

    def wait_tick(self, period_us):
        self._prev = self.t_us
        self.t_us = ticks_add(self.t_us, period_us)
        self.ticks += 1
        t = self.ticks
        if t == 1:
            self._send("HELLO", [P.PROTOCOL_VERSION])
            self._send("GOALS", GOALS)
            self._send("RATE", [50])
        elif t == 50:
            self._send("START", [])
        elif t % 100 == 0:
            ring = self.box[0].ring
            self._send("ACK", [(ring.next_rec - 1) % P.REC_MODULO])
            gc.collect()
            self.heap[self.heap_n] = gc.mem_alloc()
            self.heap_n += 1
        return self.t_us

    def sense(self, inp, brake_ppm):
        self.rider.step(self._prev, ticks_diff(self.t_us, self._prev), brake_ppm, inp)

    def set_brake(self, ppm):
        pass

    def read_byte(self):
        if self.rx_i >= len(self.rx):
            return -1
        self.rx_i += 1
        return self.rx[self.rx_i - 1]

    def write(self, buf, n):
        self.bytes_out += n
        return True


def session_heap(minutes):
    """The real main loop (loop.run) through a whole session: live heap over it. The board,
    its rider and the heap log exist before the baseline is taken, so they do not count."""
    from softcrank_fw.loop import run

    seconds = int(minutes * 60)
    box = [None]
    board = ScriptedBoard(Rider(EDGES_PER_REV, 1, 20.0), box, seconds)  # the world, and our bookkeeping
    gc.collect()
    before = gc.mem_alloc()  # so what is live from here on is the firmware's
    ctl = box[0] = Controller(EDGES_PER_REV)
    run(board, ticks=seconds * 100, ctl=ctl)
    heap = board.heap[:board.heap_n]
    settled = heap[len(heap) // 10:] or heap  # after start-up
    return {"minutes": minutes, "state": P.STATES[ctl.state], "samples": ctl.ring.next_rec,
            "before_bytes": before, "peak_bytes": max(heap), "first_bytes": settled[0],
            "last_bytes": heap[-1], "heap_total_bytes": gc.mem_alloc() + gc.mem_free(),
            "bytes_out": board.bytes_out}


def group_tick(scale):
    ref = reference_us()
    return {"ref_us": ref, "ref_loops": REF_LOOPS, "times": tick_times(60 * scale),
            "alloc": allocations(90 * scale), "heap": session_heap(32 * scale), "ref_us_after": reference_us()}


# ----- cadence: accuracy, step and stop latency against the information limit ------------------


def steady_error(rpm, seconds):
    """Reported cadence against the rider's exact one, every tick after settling."""
    ride = Ride(rpm)
    gap_s = 60.0 / rpm / EDGES_PER_REV
    ride.run(3 + 3 * gap_s)  # settle: a full window and a few edges
    n = int(seconds * 100)
    worst = total = 0.0
    for _ in range(n):
        ride.sense()
        ride.tick()
        err = abs(ride.ctl.crank.drpm / 10 - rpm)
        total += err
        if err > worst:
            worst = err
    return {"rpm": rpm, "mean_abs_rpm": total / n, "max_abs_rpm": worst, "ticks": n}


def _within(drpm, rpm):
    tolerance = max(0.05 * rpm, 0.5)
    return abs(drpm / 10 - rpm) <= tolerance


def step_latency(before, after, offset):
    """Latency to report a step from `before` to `after` rpm (within 5 % or 0.5 rpm, and
    staying there), and the information limit: the end of the first edge interval wholly at
    the new speed, seen at the first tick at or after it. `offset` (0..1) of an edge gap
    moves the step against the edges."""
    ride = Ride(before)
    gap_s = 60.0 / before / EDGES_PER_REV
    ride.run(4 + offset * gap_s)
    ride.rider.rpm = after
    t_step = ride.t_us
    edges = []
    hold = 300 if after else 50  # "staying there": 3 s, or 0.5 s of 0 for a stop
    settled = None
    for i in range(100 * 30):
        ride.sense()
        inp = ride.inp
        for k in range(inp.n_edges):
            edges.append(ticks_diff(inp.edge_t[k], t_step))
        ride.tick()
        ok = _within(ride.ctl.crank.drpm, after) if after else ride.ctl.crank.drpm == 0
        if ok and settled is None:
            settled = i
        elif not ok:
            settled = None
        if settled is not None and i - settled >= hold:
            break
    latency_us = (settled + 1) * TICK_US if settled is not None else None
    return latency_us, edges


def _tick_after(t_us):
    """The first tick time (from the step) at or after t_us: when the firmware can see it."""
    return -(-t_us // TICK_US) * TICK_US


def steps(pairs, offsets):
    out = []
    for before, after in pairs:
        for offset in offsets:
            latency, edges = step_latency(before, after, offset)
            limit = _tick_after(edges[1]) if len(edges) >= 2 else None
            out.append({"from": before, "to": after, "offset": offset, "latency_us": latency, "limit_us": limit})
    return out


def stops(rpms, offsets):
    """From `rpm` to a standstill: latency to read below half, and to read 0 (stopped), against
    the limits: the edge that would have come at half the speed (2 gaps after the last
    edge), and the edge at the slowest speed measured, 3 rpm."""
    out = []
    for rpm in rpms:
        for offset in offsets:
            ride = Ride(rpm)
            gap_s = 60.0 / rpm / EDGES_PER_REV
            ride.run(4 + offset * gap_s)
            ride.rider.rpm = 0.0
            t_step = ride.t_us
            last_rel = ticks_diff(ride.last_edge, t_step)  # negative: before the stop
            half = zero = None
            for i in range(100 * 5):
                ride.sense()
                ride.tick()
                drpm = ride.ctl.crank.drpm
                if half is None and drpm * 2 < rpm * 10:
                    half = (i + 1) * TICK_US
                if drpm == 0:
                    zero = (i + 1) * TICK_US
                    break
            gap_us = 60_000_000 // rpm // EDGES_PER_REV
            gap3_us = 60_000_000 // 3 // EDGES_PER_REV
            out.append({"from": rpm, "offset": offset,
                        "half_us": half, "half_limit_us": _tick_after(max(last_rel + 2 * gap_us, 1)),
                        "zero_us": zero, "zero_limit_us": _tick_after(max(last_rel + gap3_us, 1))})
    return out


def group_cadence(scale):
    seconds = max(5, int(60 * scale))
    offsets = (0.0, 0.3, 0.7) if scale < 1 else (0.0, 0.2, 0.4, 0.6, 0.8)
    return {"steady": [steady_error(rpm, seconds) for rpm in (3, 10, 30, 60, 120)],
            "steps": steps(((10, 20), (20, 10), (30, 60), (60, 30), (5, 15), (15, 5)), offsets),
            "stops": stops((10, 30, 60), offsets)}


# ----- safety: ticks from the cause to brake zero --------------------------------------------


def ticks_to_zero(ride, cause_seen, max_ticks=500):
    """Tick until the brake is zero. Counting starts at the first tick whose inputs carry the
    cause (`cause_seen(ride)` after the rider moved), which counts as 1. Returns the count."""
    count = 0
    for _ in range(max_ticks):
        ride.sense()
        if count == 0 and cause_seen(ride):
            count = 1
        elif count:
            count += 1
        brake = ride.tick()
        if count and brake == 0:
            return count
    return None


def _estop(ride):
    ride.rider.estop = True
    return ticks_to_zero(ride, lambda r: r.inp.estop)


def _spasm(ride):
    ride.rider.spasm_n = 500.0
    return ticks_to_zero(ride, lambda r: r.inp.left_new and r.rider.force_n[0] > CAPS[3])


def _fault(kind):
    def cause(ride):
        ride.rider.fault = kind
        return ticks_to_zero(ride, lambda r: r.inp.left_new)
    return cause


class _Reversal:
    """Counted from the tick that brings the second backward edge: one edge can be a bounce
    (crank.REVERSE_EDGES), so two are the information limit by design."""

    def __init__(self):
        self.backward = 0

    def __call__(self, ride):
        ride.rider.rpm = -ride.rider.rpm
        return ticks_to_zero(ride, self._seen)

    def _seen(self, ride):
        inp = ride.inp
        for k in range(inp.n_edges):
            if not inp.edge_fwd[k]:
                self.backward += 1
        return self.backward >= 2


def _host_estop(ride):
    """The host's ESTOP frame: its bytes arrive in one loop pass; the loop drives the brake
    again right after reading them (loop.run), so that pass is the one counted."""
    link = Link(ride.ctl, lambda buf, n: True, "bench")
    ride.sense()
    ride.tick()
    for byte in P.encode("ESTOP", 1, []):
        link.feed(byte)
    return 1 if ride.ctl.brake == 0 and ride.ctl.state == ESTOP else None


def group_safety(scale):
    trials = 3 if scale < 1 else 10
    causes = (("estop_input", _estop), ("estop_command", _host_estop), ("spasm_force", _spasm),
              ("spasm_reversal", None), ("fault_rail", _fault("rail")), ("fault_jump", _fault("jump")))
    out = {}
    for name, cause in causes:
        counts = []
        for trial in range(trials):
            ride = Ride().loaded()
            ride.run(trial * 0.013)  # each trial meets the edges and readings at another phase
            counts.append((cause or _Reversal())(ride))
        out[name] = counts
    return out


GROUPS = {"tick": group_tick, "cadence": group_cadence, "safety": group_safety}


def main(argv):
    if not argv or argv[0] not in GROUPS:
        print("usage: micropython mp_firmware.py tick|cadence|safety [SCALE]")
        return 2
    scale = float(argv[1]) if len(argv) > 1 else 1.0
    result = GROUPS[argv[0]](scale)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
