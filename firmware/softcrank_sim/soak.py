"""A long soak in virtual time: hours of riding with random rider behaviour, on the real
controller and the real firmware link, checking the safety invariants in every tick.

    micropython -X heapsize=256K -m softcrank_sim.soak [HOURS] [SEED]      (from firmware/)
    python -m softcrank_sim.soak [HOURS] [SEED]

Runs on MicroPython (the better test: its heap, its small ints) and on CPython. The tick is a
plain function of its inputs and a clock we pass, so eight hours of riding take minutes.
Sessions follow each other; every SWITCH_S of virtual time something new happens: a new
cadence (sometimes over the cap, sometimes backward), a spasm, the e-stop pressed, a load-cell
fault, the host going silent for 15 s, new caps or goals. A host answers as a laptop would:
it restarts finished sessions, resumes paused ones, clears e-stops and faults once their
cause is gone, and ACKs the records it receives, every one of which it decodes.

Checked in every tick (an AssertionError names the first one broken):
- the brake is within 0 and the cap, and rises no faster than the ramp;
- with the e-stop pressed or a sensor fault latched, the brake is zero;
- once riding time reaches the duration cap, the brake is zero;
- the records reach the host in order, each once, none missing, none overwritten (LOST);
- the controller's counters stay small ints (below 2**30, a Pico's limit).
And every virtual minute, after gc.collect(), the free heap is sampled: it must not shrink
over the run (growth is what a leak would show).

Measured and printed (a dict, one line, for `softcrank safety`): ticks, virtual hours,
sessions, records, gaps, events by kind, the worst ticks from a cause (e-stop, spasm) to the
brake at zero, the heap's range, and the real seconds taken.
"""

import gc
import json
import sys
import time

from softcrank_fw import capsauth
from softcrank_fw import protocol as P
from softcrank_fw.compat import ticks_add
from softcrank_fw.control import DONE, ESTOP, FAULT, IDLE, PAUSED, Controller, Inputs
from softcrank_fw.limits import CAP_LIMITS
from softcrank_fw.link import Link
from softcrank_fw.ramp import max_rise
from softcrank_sim.rider import FAULTS, Rider

TICK_US = 10_000
SWITCH_S = 20  # something new every 20 virtual seconds
HEAP_EVERY_TICKS = 6000  # sample the heap every virtual minute
SMALL_INT = 1 << 30
KEY = bytes(range(32))  # the soak trainer's CAPS key: a test key, nothing else
HEAP_SLACK = 2048  # bytes the free heap may end below its first sample (fragmentation noise)


class Rand:
    """The same small LCG on both runtimes, so a seed gives the same soak everywhere."""

    def __init__(self, seed):
        self.s = seed & 0x7FFFFFFF or 1

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


class Host:
    """The laptop's side of the link: decodes every frame, follows the record numbers."""

    def __init__(self):
        self.next_rec = None
        self.records = 0
        self.gaps = 0
        self.events = {}
        self.last_rec = -1
        self.frames = 0
        self.silent = False

    def write(self, buf, n):
        type_, _, values = P.decode(bytes(buf[:n]))
        self.frames += 1
        if type_ in ("T", "E"):
            rec = values[0]
            if self.next_rec is not None and rec != self.next_rec:
                self.gaps += 1
                raise AssertionError("record %d arrived, %d expected" % (rec, self.next_rec))
            self.next_rec = (rec + 1) % P.REC_MODULO
            self.last_rec = rec
            self.records += 1
            if type_ == "E":
                name = values[3]
                self.events[name] = self.events.get(name, 0) + 1
        return True


class Soak:
    def __init__(self, seed=1):
        self.rng = Rand(seed)
        self.ctl = Controller(24)
        self.inp = Inputs()
        self.rider = Rider(24, seed, 20.0)
        ctl = self.ctl
        ctl.left.tare, ctl.right.tare = self.rider.tare
        ctl.left.cpn, ctl.right.cpn = self.rider.cpn
        self.host = Host()
        self.link = Link(ctl, self.host.write, "soak", 24, key=KEY)
        self.seq = 0
        self.caps_counter = 0  # the host signs each CAPS with a new counter, as the therapist's does
        self.t_us = (1 << 30) - 5_000_000  # crosses the ticks wrap in the first seconds
        self.ticks = 0
        self.spasm_left = 0  # ticks of the current spasm still to come
        self.estop_left = 0
        self.fault_left = 0
        self.silent_left = 0
        self.cause_at = -1  # the tick a cause (e-stop, spasm) began with the brake on
        self.worst_ticks = 0  # the most ticks from such a cause to the brake at zero
        self.heap_samples = 0  # free-heap samples: no list, so the soak's own data cannot grow the heap
        self.heap_first = -1  # the second sample: the first comes before the steady state
        self.heap_min = -1
        self.heap_max = -1

    def command(self, type_, *values):
        """A valid frame from the host, fed byte by byte into the firmware's link."""
        for b in P.encode(type_, self.seq, list(values)):
            self.link.feed(b)
        self.seq = (self.seq + 1) % P.SEQ_MODULO

    def run(self, hours):
        ticks = int(hours * 3600 * 100)
        started = _now_ms()
        while self.ticks < ticks:
            self.tick()
        self.check_small_ints()
        assert self.ctl.ring.lost == 0 and self.host.gaps == 0
        return self.figures((_now_ms() - started) / 1000)

    def tick(self):
        ctl, rider, inp = self.ctl, self.rider, self.inp
        last = ctl.brake
        rider.step(self.t_us, TICK_US, last, inp)
        self.t_us = ticks_add(self.t_us, TICK_US)
        brake = ctl.tick(self.t_us, inp)
        self.ticks += 1
        self.check(last, brake)
        self.link.pump(4)
        n = self.ticks
        if n % 100 == 0:
            self.host_turn()
        if n % (SWITCH_S * 100) == 0:
            self.switch()
        self.countdown()
        if n % HEAP_EVERY_TICKS == 0:
            self.sample_heap()
            self.check_small_ints()

    def check(self, last, brake):
        ctl = self.ctl
        caps = ctl.caps
        assert 0 <= brake <= caps.max_res_pct * 10_000, "brake %d over the cap" % brake
        assert brake - last <= max_rise(caps.ramp_pct_min, TICK_US // 1000), "brake rose too fast"
        if self.rider.estop or ctl.fault_code():
            assert brake == 0 and ctl.state in (ESTOP, FAULT), "brake on with the e-stop or a fault"
        if ctl.ride_ms >= caps.max_dur_min * 60_000:
            assert brake == 0, "brake on past the duration cap"
        if self.cause_at >= 0 and brake == 0:
            took = self.ticks - self.cause_at
            if took > self.worst_ticks:
                self.worst_ticks = took
            self.cause_at = -1

    def host_turn(self):
        """Once a virtual second: what the laptop does."""
        if self.silent_left:
            return
        ctl = self.ctl
        st = ctl.state
        if st == IDLE or st == DONE:
            self.command("START")  # refused while a pedal reads a spasm or a cell is not ready
        elif st == PAUSED:
            self.command("RESUME")
        elif st in (ESTOP, FAULT) and not self.rider.estop and self.rider.fault is None:
            self.command("STOP")
        if self.host.last_rec >= 0:
            self.command("ACK", self.host.last_rec)  # the heartbeat
        else:
            self.command("PING")

    def switch(self):
        """Something new happens."""
        r, rider = self.rng, self.rider
        what = r.below(12)
        if what <= 4:
            rider.rpm = float(r.below(36)) if r.below(8) else -15.0  # 0..35 rpm (the cap is 30), or backward
        elif what == 5:
            rider.spasm_side = r.below(2)
            rider.spasm_n = 300.0 + r.below(400)
            caps = self.ctl.caps
            if rider.spasm_n > (caps.spasm_r_n if rider.spasm_side else caps.spasm_n) + 50:  # over, whatever the push
                self.begin_cause()
            self.spasm_left = 50 + r.below(200)
        elif what == 6:
            self.begin_cause()
            rider.estop = True
            self.estop_left = 200 + r.below(800)
        elif what == 7:
            rider.fault = FAULTS[r.below(len(FAULTS))]
            rider.fault_side = r.below(2)
            rider._frozen = None
            self.fault_left = 100 + r.below(500)
        elif what == 8:
            self.silent_left = 1500  # 15 s: past the 10 s that pauses the session
        elif what == 9:
            values = [lo + r.below(hi - lo + 1) for _, lo, hi in CAP_LIMITS]
            values[1] = max(values[1], 10)  # sessions of 10 to 90 minutes
            values[5] = min(values[5], 300)
            values[8] = r.below(1000)  # the patient: any id will do
            self.caps_counter += 1
            tag = capsauth.tag(KEY, "soak", self.caps_counter, values)
            self.command("CAPS", *(values + [self.caps_counter, tag]))  # refused whole if inconsistent
        elif what == 10:
            self.command("GOALS", 1 + r.below(60), r.below(20), 20 + r.below(20), r.below(101))
        else:
            self.command("RATE", (1, 10, 50)[r.below(3)])

    def begin_cause(self):
        if self.ctl.brake > 0 and self.cause_at < 0:
            self.cause_at = self.ticks

    def countdown(self):
        rider = self.rider
        if self.spasm_left:
            self.spasm_left -= 1
            if not self.spasm_left:
                rider.spasm_n = 0.0
        if self.estop_left:
            self.estop_left -= 1
            if not self.estop_left:
                rider.estop = False
        if self.fault_left:
            self.fault_left -= 1
            if not self.fault_left:
                rider.fault = None
        if self.silent_left:
            self.silent_left -= 1

    def sample_heap(self):
        gc.collect()
        try:
            free = gc.mem_free()
        except AttributeError:  # CPython
            return
        self.heap_samples += 1
        if self.heap_samples == 2:
            self.heap_first = self.heap_min = self.heap_max = free
        elif self.heap_samples > 2:
            self.heap_min = min(self.heap_min, free)
            self.heap_max = max(self.heap_max, free)

    def check_small_ints(self):
        ctl, link = self.ctl, self.link
        for obj in (ctl, ctl.ring, ctl.crank, ctl.left, ctl.right, ctl.ramp, link):
            for name in obj.__dict__:
                value = obj.__dict__[name]
                if isinstance(value, int) and not isinstance(value, bool):
                    assert -SMALL_INT <= value < SMALL_INT, "%s.%s = %d: past a Pico's small ints" % (
                        type(obj).__name__, name, value)

    def figures(self, seconds):
        growth = 0
        if self.heap_samples > 2:
            growth = self.heap_first - self.heap_min
            assert growth <= HEAP_SLACK, "the free heap shrank by %d bytes over the soak" % growth
        return {
            "runtime": sys.implementation.name,
            "virtual_hours": round(self.ticks / 360000, 2),
            "ticks": self.ticks,
            "sessions": self.host.events.get("START", 0),
            "records": self.host.records,
            "frames": self.host.frames,
            "gaps": self.host.gaps,
            "ring_lost": self.ctl.ring.lost,
            "events": self.host.events,
            "worst_cause_to_zero_ticks": self.worst_ticks,
            "heap_free_min": self.heap_min,
            "heap_free_max": self.heap_max,
            "heap_shrank": growth,
            "seconds": round(seconds, 1),
        }


def main(argv):
    hours = float(argv[0]) if argv else 8.0
    seed = int(argv[1]) if len(argv) > 1 else 1
    figures = Soak(seed).run(hours)
    print(json.dumps(figures))


def _now_ms():
    ticks_ms = getattr(time, "ticks_ms", None)
    return ticks_ms() if ticks_ms else time.time() * 1000


if __name__ == "__main__":
    main(sys.argv[1:])
