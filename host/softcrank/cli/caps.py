"""The therapist's commands: `softcrank pin` (set or change the PIN) and `softcrank caps` (set a
patient's caps on the trainer), and reading a PIN for them and for `softcrank deploy`.

A PIN is read with getpass (not echoed); with --pin-stdin, one line of standard input per PIN
asked for, for scripts and tests. Exit status: 0 done, 1 refused (wrong PIN, the trainer said
no, no trainer), 2 bad input (a PIN or caps that break the rules, an unknown patient).
"""

from __future__ import annotations

import getpass
import sys

from softcrank_fw.limits import CAP_LIMITS

from ..store.ridelog import RideLog
from ..trainer import therapist
from .logs import find_patient

# (option, CAPS field, metavar, what, unit) for `softcrank caps`.
CAP_OPTIONS = (
    ("--max-res", "max_res_pct", "PCT", "maximum resistance", "% of the brake's range"),
    ("--max-min", "max_dur_min", "MIN", "maximum session length, warm-up and work", "minutes"),
    ("--max-cad", "max_cad_rpm", "RPM", "maximum cadence", "rpm"),
    ("--spasm", "spasm_n", "N", "spasm threshold of the left pedal, pushing or pulling", "newtons"),
    ("--ramp", "ramp_pct_min", "PCT", "how fast resistance may rise", "% of the range per minute"),
    ("--warmup", "warmup_s", "S", "warm-up", "seconds"),
    ("--cooldown", "cooldown_s", "S", "cool-down", "seconds"),
    ("--spasm-right", "spasm_r_n", "N", "spasm threshold of the right pedal (the affected side's is often lower)",
     "newtons"),
)
UNITS = {name: unit for _, name, _, _, unit in CAP_OPTIONS}


class Refused(Exception):
    """Exit 1 with this message."""


def add_arguments(caps_parser) -> None:
    """The caps options, with units and accepted ranges in --help."""
    for (option, name, metavar, what, unit), (_, lo, hi) in zip(CAP_OPTIONS, CAP_LIMITS):
        caps_parser.add_argument(option, dest=name, type=int, metavar=metavar,
                                 help="%s, %s (%d-%d)" % (what, unit.replace("%", "%%"), lo, hi))


def read_pin(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise Refused("no PIN on standard input")
        return line.rstrip("\r\n")
    return getpass.getpass(prompt)


def pin(log: RideLog, args, out=None) -> int:
    out = out or sys.stdout
    old = read_pin("current therapist PIN: ", args.pin_stdin) if therapist.has_pin(log) else None
    new = read_pin("new therapist PIN (%d-%d characters): " % (therapist.MIN_PIN, therapist.MAX_PIN), args.pin_stdin)
    if not args.pin_stdin and read_pin("the new PIN again: ", False) != new:
        print("softcrank pin: the two new PINs differ; nothing changed", file=sys.stderr)
        return 2
    therapist.set_pin(log, new, old)
    print("therapist PIN %s" % ("changed; every trainer key re-wrapped" if old is not None else "set"), file=out)
    print("the keys' second secret: %s (docs/security.md)" % therapist.pin_kind(log), file=out)
    return 0


def caps(log: RideLog, args, out=None) -> int:
    """Merge the options into the patient's current caps, check them, and send them signed."""
    from ..trainer.link import Link

    out = out or sys.stdout
    patient = find_patient(log, args.patient)
    values = dict(log.current_caps(patient["id"]))
    for _, name, _, _, _ in CAP_OPTIONS:
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    therapist.caps_values(values)  # ValueError (exit 2) before a PIN is asked for
    secret = read_pin("therapist PIN: ", args.pin_stdin)
    with Link(args.port) as link:  # LinkError (exit 1) if no trainer answers
        now = therapist.send_caps(link, log, patient["id"], values, secret, args.by, args.reason or "")
        device = link.info["H"]["device"]
    print("trainer %s now enforces, for %s:" % (device, patient["name"]), file=out)
    for name, value in now.items():
        print("  %-13s %5d  %s" % (name, value, UNITS[name]), file=out)
    return 0


def unlock_for_deploy(log: RideLog, args, say) -> therapist.Keys | None:
    """The keys a deploy needs to provision the board; None (said) when no PIN is set."""
    if not therapist.has_pin(log):
        say("no therapist PIN is set, so the board gets no new CAPS key (caps cannot be changed on it "
            "until you run `softcrank pin` and deploy again)")
        return None
    return therapist.unlock(log, read_pin("therapist PIN: ", args.pin_stdin), "deploy: write a new trainer key")
