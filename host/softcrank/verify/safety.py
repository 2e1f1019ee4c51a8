"""`softcrank safety`: the safety case's figures, measured now and printed (docs/safety.md).

Runs, on the virtual trainer and the real firmware:
1. every fault of the fault-injection suite (faultrun.py), one session each (about two minutes);
2. the fuzz (fuzz.py): 10,000 refused lines into a running session (about 20 s);
3. the kill-and-restart loop (killloop.py): `softcrank ride` killed 20 times at random moments
   of a session at 10x, the last outage longer than the trainer's ring (about 3 minutes);
4. the long soak (softcrank_sim/soak.py), eight virtual hours by default, on the MicroPython
   interpreter and on CPython at once (five minutes or more: MicroPython rides about 100,000
   virtual seconds a minute on a laptop). It comes last: the
   fault runs keep virtual time to real time, and two soaks would take both CPUs of a small
   machine from them.
Then prints the figures: faults survived, frames fuzzed, samples lost, the worst ticks from a
fault's onset (and from its event) to the brake at zero, the watchdog's reset time, the soak's
hours, records and heap. Exit status 0 when every promise held, 1 when one broke.

The test suite runs smaller versions of the same code (tests/host/test_safety_*.py,
tests/firmware/test_soak.py); this is the slower, fuller run whose output docs/safety.md records.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Callable

from ..boardfiles.interpreter import environment, micropython
from . import faultrun
from . import fuzz
from . import hazardruns

INSTANT = ("e-stop input", "spasm", "flexor spasm", "load cell rail", "load cell jump", "duration cap")


def start_soak(runtime: str, hours: float, seed: int) -> subprocess.Popen:
    """The soak as a child process on `runtime` ("micropython" or "cpython")."""
    if runtime == "micropython":
        command = [micropython(), "-X", "heapsize=256K", "-m", "softcrank_sim.soak", str(hours), str(seed)]
    else:
        command = [sys.executable, "-m", "softcrank_sim.soak", str(hours), str(seed)]
    env = environment()
    env["PYTHONPATH"] = env["MICROPYPATH"].split(":", 1)[1]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish_soak(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        lines = (err or out).strip().splitlines()
        return {"error": lines[-1] if lines else "exit status %d" % proc.returncode}
    return json.loads(out.strip().splitlines()[-1])


def run_faults(log: Callable[[str], None]) -> tuple[list[faultrun.Result], list[tuple[str, str]]]:
    results, failures = [], []
    for name, run in faultrun.RUNS + hazardruns.RUNS:
        started = time.monotonic()
        try:
            result = run()
        except Exception as e:  # a broken promise, or the harness itself failing: both count
            failures.append((name, "%s: %s" % (type(e).__name__, e)))
            log("  %-28s FAILED: %s" % (name, e))
            continue
        results.append(result)
        log("  %-28s ok (%.1f s)" % (name, time.monotonic() - started))
    return results, failures


FULL_LOOP = {"speed": 10.0, "alive_s": (0.0, 4.0), "outage_s": (0.0, 3.0)}  # the loop at full length


def report_loop(loop: dict | None, print_=print) -> bool:
    """The kill-and-restart loop's figures; True if every check held."""
    if loop is None:
        return True
    if "error" in loop:
        print_("Kill-and-restart loop FAILED: %s" % loop["error"])
        return False
    print_("Kill-and-restart loop: %(kills)d kills of softcrank ride at %(speed)gx (seed %(seed)d), the last away "
           "%(long_outage_virtual_s).0f virtual s (the ring holds 307); %(connected)d of %(kills)d+1 rides connected "
           "before their kill or end: integrity_check %(integrity)s, "
           "%(sessions)d session, %(samples)d samples, gaps in the log %(gaps)s, gaps printed %(reported)s, "
           "end %(end_state)s, the last ride ran %(final_ride_s)s s and ended %(exit_after_end_s)s s after its session"
           % loop)
    for problem in loop["problems"]:
        print_("  FAILED: %s" % problem)
    return not loop["problems"]


def report(results, failures, fuzzed, soaks, print_=print) -> bool:
    """Print the figures; True if every promise held."""
    print_("Fault injection (virtual trainer, real firmware, real link; onset and event to brake zero, in 10 ms ticks):")
    print_("  %-28s %8s %8s %8s %6s %8s  %s" % ("fault", "onset", "event", "records", "lost", "reboots", "notes"))
    for r in results:
        notes = ", ".join("%s %s" % kv for kv in r.notes.items())
        print_("  %-28s %8s %8s %8d %6d %8d  %s" % (r.fault, _n(r.onset_to_zero_ticks), _n(r.event_to_zero_ticks),
                                                   r.records, r.lost, r.reboots, notes))
    for name, why in failures:
        print_("  %-28s FAILED: %s" % (name, why))
    survived = len(results)
    lost = sum(r.lost for r in results)
    instant = [r.onset_to_zero_ticks for r in results if r.fault in INSTANT and r.onset_to_zero_ticks is not None]
    events = [r.event_to_zero_ticks for r in results if r.event_to_zero_ticks is not None]
    print_()
    ok = not failures
    if fuzzed is not None:
        print_("Fuzz: %d lines sent (%s), %d refusals, %d generated lines left out as valid commands, "
               "%d records received, %d lost, %.1f s"
               % (fuzzed.sent, ", ".join("%s %d" % kv for kv in fuzzed.by_kind.items()), fuzzed.refused,
                  fuzzed.skipped, fuzzed.records, fuzzed.lost, fuzzed.seconds))
        lost += fuzzed.lost
    for soak in soaks:
        if "error" in soak:
            ok = False
            print_("Soak FAILED: %s" % soak["error"])
            continue
        print_("Soak on %(runtime)s: %(virtual_hours)s virtual hours in %(seconds)s s, %(ticks)d ticks, "
               "%(sessions)d sessions, %(records)d records, %(gaps)d gaps, %(ring_lost)d overwritten, "
               "worst cause-to-zero %(worst_cause_to_zero_ticks)d ticks" % soak
               + (", free heap %(heap_free_min)d..%(heap_free_max)d bytes (shrank %(heap_shrank)d)" % soak
                  if soak["heap_free_min"] >= 0 else ""))
        print_("  events: %s" % ", ".join("%s %d" % kv for kv in sorted(soak["events"].items())))
        lost += soak["gaps"] + soak["ring_lost"]
    print_()
    print_("Summary: faults survived %d of %d; frames fuzzed %d; samples lost %d; worst brake-to-zero %s ticks "
           "from an instant cause's onset, %s from the event that reports any fault"
           % (survived, survived + len(failures), fuzzed.sent if fuzzed else 0, lost,
              max(instant) if instant else "-", max(events) if events else "-"))
    return ok and lost == 0


def _n(value) -> str:
    return "-" if value is None else str(value)


def main(frames: int = 10_000, soak_hours: float = 8.0, seed: int = 1, log: Callable[[str], None] | None = None,
         kills: int = 20) -> int:
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    log("fault injection:")
    results, failures = run_faults(log)
    fuzzed = None
    if frames > 0:
        log("fuzz: %d lines" % frames)
        try:
            fuzzed = fuzz.run(frames, seed)
        except Exception as e:
            failures.append(("fuzz", "%s: %s" % (type(e).__name__, e)))
    loop = None
    if kills > 0:  # before the soaks: it keeps virtual time to real time, the soaks take the CPUs
        from .killloop import kill_loop

        log("kill-and-restart loop: %d kills" % kills)
        try:
            loop = kill_loop(kills=kills, seed=seed, log=log, **FULL_LOOP)
        except Exception as e:
            loop = {"error": "%s: %s" % (type(e).__name__, e)}
    soaks = []
    if soak_hours > 0:
        log("soak: %g virtual hours on MicroPython and on CPython" % soak_hours)
        soaks = [start_soak("micropython", soak_hours, seed), start_soak("cpython", soak_hours, seed)]
    figures = [finish_soak(p) for p in soaks]
    held = report(results, failures, fuzzed, figures)
    return 0 if report_loop(loop) and held else 1
