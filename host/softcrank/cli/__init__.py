"""The `softcrank` command: the parser (parser.py) and one module per group of commands."""

from __future__ import annotations

import sys

from . import caps, logs
from .clinic import clinic_command, sync_command
from .boards import app_command, deploy_command, demo_app_command, demo_command, decode_command, sim_command
from .output import quiet_broken_pipe
from .parser import build_parser
from .ride import ride_command
from .tools import bench_command, safety_command

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """The entry point: every command, with a reader of standard output that went away
    (`softcrank show 1 | head -1`) a quiet exit 0 (output.py)."""
    try:
        status = _main(argv)
        try:
            sys.stdout.flush()  # inside the guard: a closed pipe shows here, not at the interpreter's exit
        except BrokenPipeError:
            raise
        except (OSError, ValueError):  # a full disk (said by the command already), a closed stream
            pass
        return status
    except BrokenPipeError:
        quiet_broken_pipe()
        return 0


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo_command(args) if args.console else demo_app_command(args)
    if args.command in ("app", None):
        return app_command(getattr(args, "db", None), getattr(args, "port", None))
    if args.command == "decode":
        return decode_command(args.file)
    if args.command == "sim":
        return sim_command(args)
    if args.command == "deploy":
        return deploy_command(args)
    if args.command == "safety":
        return safety_command(args)
    if args.command in ("patients", "sessions", "show", "export", "report", "pin", "caps"):
        return ridelog_command(args)
    if args.command == "ride":
        return ride_command(args)
    if args.command == "sync":
        return sync_command(args)
    if args.command == "clinic":
        return clinic_command(args)
    if args.command == "bench":
        return bench_command(args)
    parser.print_help()
    return 0


def ridelog_command(args) -> int:
    """patients, sessions, show, export (logs.py), pin and caps (caps.py): each on the ride log."""
    from ..exports import ExportError
    from ..store.opening import open_store
    from ..store.ridelog import RideLogError
    from ..trainer.therapist import BadPin, TherapistError

    command = {"patients": logs.patients, "sessions": logs.sessions, "show": logs.show,
               "export": logs.export, "report": logs.report, "pin": caps.pin, "caps": caps.caps}[args.command]
    try:
        creates = args.command == "patients" and bool(args.add)  # the one ride-log command that may begin a log
        with open_store(args.db, create=creates) as log:  # a file, or a clinic store's URL
            return command(log, args)
    except BrokenPipeError:
        raise  # the reader went away: main's guard makes it a quiet exit 0
    except (logs.NotFound, ExportError, BadPin, ValueError) as e:  # bad input: nothing changed
        print("softcrank %s: %s" % (args.command, e), file=sys.stderr)
        return 2
    except (TherapistError, caps.Refused) as e:
        print("softcrank %s: %s" % (args.command, e), file=sys.stderr)
        return 1
    except RuntimeError as e:  # the link's LinkError and CommandRefused (the link needs pyserial)
        print("softcrank %s: %s" % (args.command, e), file=sys.stderr)
        return 1
    except RideLogError as e:
        print("softcrank %s: %s" % (args.command, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("softcrank %s: %s" % (args.command, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
