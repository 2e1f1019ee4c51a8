"""The commands that run a trainer or put firmware on one: app, demo, sim, deploy, decode."""

from __future__ import annotations

import os
import signal
import sys
import time

from softcrank_sim import scenario

from ..boardfiles import bundled_scenarios, scenario_path
from ..boardfiles.image import ImageError
from ..frames import FrameError, parse
from ..boardfiles.interpreter import InterpreterMissing
from .signals import _interrupted


APP_DEMO_SPEED = 10.0  # the app's demo: an 18-minute session in under 2 minutes, still watchable


def _app_missing(command: str, e: ImportError) -> int:
    print("softcrank %s: the app needs Textual (%s): pip install 'softcrank[app]'" % (command, e), file=sys.stderr)
    return 1


def app_command(db: str | None, port: str | None) -> int:
    try:
        from ..app.launch import run_app
    except ImportError as e:
        return _app_missing("app", e)
    from ..store.ridelog import RideLogError

    try:
        return run_app(db, port)
    except RideLogError as e:
        print("softcrank: %s" % e, file=sys.stderr)
        return 1


def demo_app_command(args) -> int:
    if args.speed == 0:
        print("softcrank demo: --speed 0 (as fast as possible) is for --console; the app needs a pace", file=sys.stderr)
        return 2
    try:
        from ..app.launch import run_demo_app
    except ImportError as e:
        return _app_missing("demo", e)
    from ..store.ridelog import RideLogError

    try:
        path = _bundled(args.scenario) if args.scenario else None
        if path:
            scenario.load(path)
        return run_demo_app(args.speed or APP_DEMO_SPEED, path, args.seed, args.db)
    except scenario.ScenarioError as e:
        print("softcrank demo: %s" % e, file=sys.stderr)
        return 2
    except (InterpreterMissing, ImageError, RideLogError) as e:
        print("softcrank demo: %s" % e, file=sys.stderr)
        return 1


def demo_command(args) -> int:
    from ..sim.demo import DemoError, run_demo

    try:
        path = _bundled(args.scenario) if args.scenario else None
        if path:
            scenario.load(path)  # a clear error now, before anything starts
        speed = 60.0 if args.speed is None else args.speed
        result = run_demo(work_min=args.work, speed=speed, seed=args.seed, scenario=path, every_s=args.every)
    except scenario.ScenarioError as e:
        print("softcrank demo: %s" % e, file=sys.stderr)
        return 2
    except (InterpreterMissing, DemoError) as e:
        print("softcrank demo: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs advise
        return 0
    return 0 if result["missing"] == 0 else 1


def sim_command(args) -> int:
    from ..sim.virtual_board import VirtualBoard

    if args.chip or args.firmware or args.bootrom:
        from ..chipsim.command import run as _chip

        return _chip(args)

    try:
        if args.scenario:
            scenario.load(_bundled(args.scenario))
        if args.replay:
            from softcrank_sim.replay import Replay  # its RecordingError is a ValueError

            Replay.check(args.replay)  # every line, now: the board reads it as it plays
    except (scenario.ScenarioError, ValueError) as e:
        print("softcrank sim: %s" % e, file=sys.stderr)
        return 2
    board = VirtualBoard(scenario=_bundled(args.scenario) if args.scenario else None, seed=args.seed,
                         speed=args.speed, flash=args.flash, replay=args.replay)
    try:
        port = board.start()
    except (InterpreterMissing, ImageError) as e:
        print("softcrank sim: %s" % e, file=sys.stderr)
        return 1
    print(port, flush=True)
    print("softcrank sim: the virtual trainer is on %s (flash: %s); Ctrl-C ends it" % (port, board.flash),
          file=sys.stderr)
    # Explicitly: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    return 0


def deploy_command(args) -> int:
    try:
        from ..deploy import DeployError, deploy
    except ImportError as e:
        print("softcrank deploy: %s: pip install 'softcrank[deploy]'" % e, file=sys.stderr)
        return 1
    from .caps import Refused, unlock_for_deploy
    from ..store.opening import open_store
    from ..store.ridelog import RideLogError
    from ..trainer.therapist import TherapistError

    say = lambda line: print("softcrank deploy: " + line, flush=True)  # noqa: E731
    try:
        with open_store(args.db) as log:  # a file, or a clinic store's URL
            keys = unlock_for_deploy(log, args, say)  # a wrong PIN stops here: the board is untouched
            deploy(args.port, log=say, keys=keys)
    except (DeployError, ImageError, TherapistError, Refused, RideLogError, OSError) as e:
        print("softcrank deploy: %s" % e, file=sys.stderr)
        return 1
    return 0


def _bundled(name: str) -> str:
    """A scenario file path, or the name of a bundled one ("spasms")."""
    if os.path.exists(name) or name not in bundled_scenarios():
        return name
    return str(scenario_path(name))


def decode_command(path: str) -> int:
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        print("softcrank decode: cannot read %s: %s" % (path, e.strerror), file=sys.stderr)
        return 2
    bad = 0
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                frame = parse(line)
            except FrameError as e:
                bad += 1
                print("%d: not a valid frame (%s): %r" % (number, e, line.rstrip(b"\r\n")[:60]))
                continue
            fields = " ".join("%s=%s" % kv for kv in frame.fields.items())
            print("%d: %s #%d %s" % (number, frame.type, frame.seq, fields))
    return 1 if bad else 0
