"""The `softcrank` command line: every command, its options and their help."""

from __future__ import annotations

import argparse

from softcrank_fw import protocol as P

from .. import __version__
from ..boardfiles import bundled_scenarios
from ..verify.bench import GROUPS as BENCH_GROUPS


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _hours(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be between 0 and 1000")
    return value


def _speed(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be between 0 (as fast as possible) and 10000")
    return value


def _ride_speed(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("must be above 0 and at most 1000")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="softcrank",
        description="softcrank: a stationary pedal trainer made into a safe, guided rehab device.",
    )
    parser.add_argument("--version", action="version", version="softcrank %s (protocol %d)" % (__version__, P.PROTOCOL_VERSION))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="the app on the virtual trainer, with a demo patient (--console: a ride as text)",
        description="Opens the softcrank app on the virtual trainer (the real firmware on the MicroPython "
        "interpreter, a virtual rider) with a demo patient whose past sessions are ridden on the virtual "
        "trainer in the background, so Review and Progress have something to show. The demo's ride log is "
        "demo.sqlite in a temporary folder, deleted when the app closes (--db FILE keeps it): your own ride "
        "log is never touched. The demo's therapist PIN is 123456. With --console, rides one session and "
        "prints what the rider would see instead.",
    )
    demo.add_argument("--console", action="store_true", help="no app: ride one session and print it as text")
    demo.add_argument("--work", type=_positive_int, default=5, metavar="MIN", help="with --console: work phase, minutes "
                      "(default 5; clamped to the caps)")
    demo.add_argument("--speed", type=_speed, default=None, metavar="X", help="virtual time runs X times real time "
                      "(default 10 in the app, 60 with --console; 0, as fast as possible, only with --console)")
    demo.add_argument("--seed", type=int, default=None, metavar="N", help="the virtual rider's random seed (default: the scenario's)")
    demo.add_argument("--scenario", metavar="FILE", help="what the virtual rider does: a file, or a bundled name "
                      "(default: demo; bundled: %s)" % ", ".join(bundled_scenarios()))
    demo.add_argument("--every", type=_positive_int, default=30, metavar="S", help="with --console: a status line every "
                      "S virtual seconds (default 30)")
    demo.add_argument("--db", metavar="FILE", help="the app's demo ride log (default: a temporary demo.sqlite, deleted "
                      "at the end)")

    app = sub.add_parser(
        "app", help="the app (also what `softcrank` alone opens)",
        description="Opens the softcrank app: Connect, Patient, Ride, Review, Progress and Therapist screens. "
        "F1 shows the keys.",
    )
    app.add_argument("--db", metavar="FILE", help="the ride log (default: %s)" % _default_db())
    app.add_argument("--port", metavar="PATH", help="connect to the trainer on PATH once a patient is chosen "
                     "(default: choose on the Connect screen)")

    sim = sub.add_parser(
        "sim", help="run the virtual trainer on a pseudo-terminal until Ctrl-C",
        description="Runs the real firmware on the MicroPython interpreter with a simulated board "
        "behind a pseudo-terminal. The first line printed is the port to open, as you would open "
        "/dev/ttyACM0 for a Pico. Runs until Ctrl-C.",
    )
    sim.add_argument("--scenario", metavar="FILE", help="what the virtual rider does (default: a steady rider; "
                     "bundled: %s)" % ", ".join(bundled_scenarios()))
    sim.add_argument("--seed", type=int, default=None, metavar="N", help="the rider's random seed (default: the scenario's)")
    sim.add_argument("--speed", type=_speed, default=1.0, metavar="X", help="virtual time runs X times real time (default 1; 0: as fast as possible)")
    sim.add_argument("--replay", metavar="FILE", help="play back a raw sensor recording from a real unit instead of a rider")
    sim.add_argument("--flash", metavar="DIR", help="keep the board's flash in DIR (default: a temporary folder)")
    from ..chipsim.command import add_arguments as _chip_arguments

    _chip_arguments(sim)

    from ..deploy.flash import MICROPYTHON

    deploy = sub.add_parser(
        "deploy", help="copy the firmware onto a Pico (or the virtual trainer) and restart it",
        description="Stops the firmware (brake at zero), copies the firmware compiled to bytecode and "
        "the pin map onto the board with mpremote, restarts it and checks it answers. Finds a Pico "
        "running MicroPython on USB by itself, or takes --port (also a `softcrank sim` port). "
        "A Pico must run MicroPython %s (the RPI_PICO build from micropython.org/download/RPI_PICO; "
        "docs/firmware.md, MicroPython): any other release is refused." % ".".join(map(str, MICROPYTHON)),
    )
    deploy.add_argument("--port", metavar="PATH", help="the board's serial port (default: the Pico found on USB)")

    from ..clinical.summary import CRANK_LENGTH_M

    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="FILE|URL", help="the ride log: a file, or a clinic store's postgresql:// URL "
                    "(default: $SOFTCRANK_DB, else %s)" % _default_db())
    pin_stdin = argparse.ArgumentParser(add_help=False)
    pin_stdin.add_argument("--pin-stdin", action="store_true",
                           help="read the PIN(s) from standard input, one a line, instead of prompting")
    deploy.add_argument("--db", metavar="FILE", help="the ride log holding the PIN and the keys (default: %s)"
                        % _default_db())
    deploy.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input instead of prompting")
    deploy.description += (" With the therapist's PIN set (softcrank pin), it asks for the PIN and also writes a new "
                           "CAPS key to the board, kept on this laptop only wrapped under the PIN.")
    pin = sub.add_parser("pin", parents=[db, pin_stdin], help="set or change the therapist's PIN",
                         description="Sets the therapist's PIN, or changes it (asking for the current one first). "
                         "Only the PIN unlocks the trainer keys that sign caps. A PIN is 6 to 64 printable "
                         "characters; digits only is fine. With --pin-stdin: the current PIN's line (if one "
                         "is set), then the new one's.")
    caps = sub.add_parser("caps", parents=[db, pin_stdin], help="set a patient's caps on the trainer (needs the PIN)",
                          description="Sends the patient's caps to the trainer, signed with its key, which the "
                          "therapist's PIN unlocks. Options not given keep the patient's current caps (the "
                          "last set, or the firmware's defaults). The caps go into the patient's caps history; "
                          "refusals and wrong PINs go into the audit trail.")
    caps.add_argument("--patient", metavar="P", required=True, help="the patient (an id or a name)")
    caps.add_argument("--port", metavar="PATH", help="the trainer's serial port (default: the Pico found on USB)")
    caps.add_argument("--reason", metavar="TEXT", help="why, for the caps history")
    caps.add_argument("--by", metavar="NAME", default=_login(), help="who sets them (default: %(default)s)")
    from .caps import add_arguments

    add_arguments(caps)
    patients = sub.add_parser("patients", parents=[db], help="list patients, or add one",
                              description="Lists the patients in the ride log, or adds one with --add.")
    patients.add_argument("--add", metavar="NAME", help="add a patient: a name or a pseudonym")
    patients.add_argument("--side", choices=("left", "right", "both", "none"), default="none",
                          help="with --add: the side affected by foot drop (default none)")
    patients.add_argument("--notes", metavar="TEXT", help="with --add: notes for the therapist")
    sessions = sub.add_parser("sessions", parents=[db], help="list recorded sessions",
                              description="Lists the sessions in the ride log, oldest first.")
    sessions.add_argument("--patient", metavar="P", help="only this patient's (an id or a name)")
    sessions.add_argument("--json", action="store_true", help="as JSON, for other programs")
    show = sub.add_parser("show", parents=[db], help="one session's summary",
                          description="Duration, revolutions, cadence and time in the target band, "
                          "per-leg force and symmetry, resistance and events of one session.")
    show.add_argument("session", metavar="SESSION", help="the session's number (see `softcrank sessions`)")
    report = sub.add_parser(
        "report", parents=[db], help="one patient's printable report (HTML)",
        description="One HTML page for a patient: the plan, trends as plots (inline SVG, readable printed in "
        "black and white), the caps history, the sessions with their figures and notes, and the therapist's "
        "decisions on the proposals to build up. Open it in a browser and print it.")
    report.add_argument("--patient", metavar="P", required=True, help="the patient (an id or a name)")
    report.add_argument("--weeks", metavar="N", type=int, help="only the last N weeks (default: every session)")
    report.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    export = sub.add_parser(
        "export", parents=[db], help="export a session as CSV, FIT or TCX",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Writes one session for a spreadsheet (csv) or a training platform (fit, tcx).\n\n"
        "  csv  every sample as recorded: time, state, cadence, force and estimated power of\n"
        "       each pedal, resistance, flags; '# ' legend lines first explain every code\n"
        "  fit  a Garmin FIT activity (indoor cycling), one record a second: cadence (whole\n"
        "       rpm, and exact), estimated power, left/right balance, force on each pedal,\n"
        "       resistance, running work and revolutions; lap and session totals as\n"
        "       `softcrank show` has them, with the symmetry index\n"
        "  tcx  Garmin Training Center XML, one trackpoint a second: cadence (whole rpm) and\n"
        "       estimated watts; lap totals\n\n"
        "Power is an estimate: pedal force x pedal speed on a %.2f m crank. The load cells\n"
        "measure the whole force on the pedal, not only the part that turns the crank, so it\n"
        "reads higher than a power meter would. A file given with -o is written whole or not\n"
        "at all. A session without samples exports as CSV (the header alone), not as FIT or TCX.\n"
        "Every file says when the session started, how it ended, the firmware, protocol and\n"
        "softcrank versions, and the session's figures with the phase each covers."
        % CRANK_LENGTH_M,
    )
    export.add_argument("session", metavar="SESSION", help="the session's number (see `softcrank sessions`)")
    export.add_argument("--format", choices=("csv", "fit", "tcx"), default="csv", help="the file format (default csv)")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output; "
                        "FIT needs -o or a redirection)")
    export.add_argument("--partial", action="store_true", help="export a session still in progress: what "
                        "the ride log holds so far, marked as partial in the file")

    ride = sub.add_parser(
        "ride", parents=[db], help="record one session headless, for a unit with no screen",
        description="Connects to the trainer, starts a session for the patient (or carries on with "
        "the trainer's unfinished one, after this laptop was restarted), prints what the rider would "
        "see, and records every sample into the ride log until the session ends. After any outage "
        "(this laptop restarted, the cable out) it asks the trainer what happened and says so in one "
        "line: the same session carried on, or the session that ended meanwhile and how; it then "
        "exits, unless --new asks for another session. A pause the trainer made because the laptop "
        "went silent is resumed once the link is back; a pause whose reason the trainer no longer "
        "holds stops the session (resistance off). Goals the trainer's caps cut are named before the "
        "ride starts. Ctrl-C stops the session (resistance off). A new session starts only on caps set "
        "for this patient that this ride log can account for: caps set for another patient, the firmware's "
        "defaults (no therapist has set caps on this trainer), or caps the ride log cannot account for "
        "(written to its flash by hand, a counter that went back, a key this laptop did not write: "
        "docs/security.md) stop the ride before it starts, each said in words and logged, unless a therapist "
        "confirms the caps as they are with --confirm-caps (one PIN). Exit status 0 when the session ended with nothing missing; 1 when records are "
        "missing or the trainer stayed away.",
    )
    ride.add_argument("--patient", metavar="P", required=True, help="the patient riding: an id or a name")
    ride.add_argument("--port", metavar="PATH", help="the trainer's serial port or a `softcrank sim` port "
                      "(default: the Pico found on USB)")
    ride.add_argument("--work", type=_positive_int, metavar="MIN", help="work phase, minutes (default: the "
                      "trainer's current plan; clamped to the caps)")
    ride.add_argument("--every", type=_positive_int, default=30, metavar="S", help="a status line every S seconds "
                      "of riding (default 30)")
    ride.add_argument("--speed", type=_ride_speed, default=1.0, metavar="X", help="the trainer's clock runs X times "
                      "real time: only for a virtual trainer started with `softcrank sim --speed X` (default 1)")
    ride.add_argument("--new", action="store_true", help="start a new session even when the ride log's "
                      "unfinished session ended while softcrank was away (without it, ride reports how that "
                      "one ended and exits)")
    ride.add_argument("--give-up", type=_positive_int, default=60, metavar="S", help="give up (exit 1) when "
                      "the trainer has not answered for S real seconds (default 60); running ride again "
                      "carries on with the session")
    ride.add_argument("--confirm-caps", action="store_true", help="a therapist confirms the caps on this trainer "
                      "as they are, for this ride: caps set for another patient or the firmware's defaults, and "
                      "caps the ride log cannot account for (asks the therapist's PIN once; logged)")
    ride.add_argument("--by", default="the therapist", metavar="NAME", help="who confirms (with --confirm-caps)")
    ride.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input (scripts, tests)")

    safety = sub.add_parser(
        "safety", help="measure the safety case's figures on the virtual trainer (several minutes)",
        description="Injects every fault of docs/safety.md into the real firmware on the virtual "
        "trainer through the real host link, fuzzes a running session with refused frames, and soaks "
        "the controller for hours of virtual riding on MicroPython and CPython; prints the figures "
        "(faults survived, frames fuzzed, samples lost, worst ticks to brake zero). Exit status 1 if "
        "any promise broke. Takes about 10 minutes with the defaults.",
    )
    safety.add_argument("--kills", type=_count, default=20, metavar="N", help="kills of softcrank ride in the "
                        "kill-and-restart loop (default 20; 0: no loop)")
    safety.add_argument("--frames", type=_count, default=10_000, metavar="N", help="fuzzed lines to send (default 10000; 0: no fuzz)")
    safety.add_argument("--soak-hours", type=_hours, default=8.0, metavar="H", help="virtual hours of soak (default 8; 0: no soak)")
    safety.add_argument("--seed", type=int, default=1, metavar="N", help="seed of the fuzz and the soak (default 1)")

    bench = sub.add_parser(
        "bench", help="measure the firmware, link and ride log against their limits",
        description="Measures the control tick and cadence on the MicroPython interpreter, safety "
        "latency, the link over the virtual trainer and the ride log, and prints each figure with "
        "its limit. Figures are for reading, not pass/fail; docs/performance.md explains them. "
        "A full run takes several minutes.",
    )
    bench.add_argument("--json", action="store_true", help="as JSON, for other programs")
    bench.add_argument("--quick", action="store_true", help="shrunk sizes: runs in under a minute, figures not to quote")
    bench.add_argument("--only", action="append", choices=BENCH_GROUPS, metavar="GROUP",
                       help="only this group (repeatable): %s" % ", ".join(BENCH_GROUPS))

    from .clinic import add_parsers as clinic_parsers

    clinic_parsers(sub, db)
    decode = sub.add_parser(
        "decode", help="check and decode protocol frames from a file or standard input",
        description="Reads lines of softcrank frames (a capture of the serial port, say), checks each "
        "CRC and field, and prints the decoded fields, or why a line is not a valid frame.",
    )
    decode.add_argument("file", nargs="?", default="-", help="file to read (default: standard input)")
    return parser


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "therapist"


def _default_db() -> str:
    from ..store.ridelog import default_path

    return str(default_path())
