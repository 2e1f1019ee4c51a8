"""The firmware on the simulated board: the virtual trainer's board module.

Started by firmware/main.py when config.json says {"board": "sim"}; `softcrank sim` writes
that config into the virtual board's flash folder:

    {"board": "sim", "scenario": "scenario.json", "speed": 1.0, "seed": 1, "replay": null}

`scenario` is a scenario file (softcrank_sim/scenario.py), `replay` a raw sensor recording
made by a Pico (softcrank_sim/replay.py) to play back instead of a rider, `speed` how many
times faster than real time virtual time runs (0: as fast as it can), `seed` overrides the
scenario's seed, `ticks` where the tick runs ("timer", the default: from the board's virtual
timer, as on a Pico; "loop": in the main loop, as the firmware did before issue 13; board.py).
The virtual board sets SOFTCRANK_WATCHDOG_FD to the pipe its watchdog reads
(board.py); without it there is no watchdog.

However the loop ends, loop.run leaves the brake at zero; then, as on a Pico
(softcrank_pico/main.py): Ctrl-C stops the watchdog, records INTERRUPTED and goes on to the
REPL; an exception records EXCEPTION and, after RESET_AFTER_TICKS, resets the board (through
the watchdog, as machine.reset() does on a Pico: the virtual board boots it again), sooner stops the watchdog and goes to
the REPL (a start-up fault: no reset loop). The host link is stdin/stdout, which `softcrank sim` connects to a
pseudo-terminal. By hand, from the repository root:

    MICROPYPATH=.frozen:firmware micropython -m softcrank_sim.main [--speed X] [--seed N] [--scenario F]
"""

import gc
import os
import sys

from softcrank_fw.compat import const
from softcrank_fw.control import Controller

RESET_AFTER_TICKS = const(6000)  # 60 s at 100 Hz, as softcrank_pico/main.py

USAGE = ("usage: micropython -m softcrank_sim.main [--speed X] [--seed N] [--scenario FILE] [--replay FILE]"
         " [--ticks timer|loop]")
DEFAULT_SCENARIO = {"format": 1, "name": "a steady rider, weaker on the right"}


def source(config):
    """The simulated world: a recording to replay, or a rider following a scenario.

    The scenario checker is only needed at start-up: it leaves memory once the scenario is
    read, as it would on a board with a small heap."""
    if config.get("replay"):
        from softcrank_sim.replay import Replay

        return Replay.load(config["replay"])
    from softcrank_sim import scenario as scenarios
    from softcrank_sim.rider import ScenarioRider

    path = config.get("scenario")
    sc = scenarios.load(path) if path else scenarios.parse(DEFAULT_SCENARIO)
    if config.get("seed") is not None:
        sc.seed = int(config["seed"])
    del sys.modules["softcrank_sim.scenario"]
    gc.collect()
    return ScenarioRider(sc)


def options(argv):
    config = {}
    keys = {"--speed": ("speed", float), "--seed": ("seed", int), "--scenario": ("scenario", str),
            "--replay": ("replay", str), "--ticks": ("ticks", str)}
    i = 0
    while i < len(argv):
        if argv[i] not in keys or i + 1 >= len(argv):
            raise ValueError(USAGE)
        name, kind = keys[argv[i]]
        config[name] = kind(argv[i + 1])
        i += 2
    return config


def main(config=None):
    if config is None:
        try:
            config = options(sys.argv[1:])
        except ValueError:
            print(USAGE, file=sys.stderr)
            return 2
    ctl = Controller(24)  # first, while the heap is whole (see loop.run)
    try:
        world = source(config)
    except ValueError as e:  # ScenarioError and RecordingError are ValueErrors
        print("softcrank sim:", e, file=sys.stderr)
        return 2
    if config.get("ticks", "timer") not in ("timer", "loop"):
        print("softcrank sim: ticks must be timer or loop, not %r" % (config["ticks"],), file=sys.stderr)
        return 2
    from softcrank_sim.board import SimBoard
    from softcrank_fw.loop import run  # after the scenario checker has left memory: its peak is the start-up's

    board = SimBoard(world, float(config.get("speed", 1.0)), watchdog=_watchdog(), cause=_reset_cause(),
                     ticks=config.get("ticks", "timer"))
    if board.edges_per_rev != ctl.crank.edges_per_rev:
        ctl = None
        gc.collect()
        ctl = Controller(board.edges_per_rev)
    try:
        run(board, ctl=ctl)
    except KeyboardInterrupt:
        board.stop_watchdog()
        _record("INTERRUPTED", "KeyboardInterrupt")
        raise
    except Exception as e:
        _record("EXCEPTION", "%s: %s" % (type(e).__name__, e))
        if board.ticks >= RESET_AFTER_TICKS:
            board.reset()  # returns only on a board without a watchdog
        board.stop_watchdog()
        raise
    board.stop_watchdog()
    return 0


def _reset_cause():
    """Why this start (softcrank_sim/resets.py); the module leaves memory again afterwards, as
    the scenario checker does: on a board with 128 KB of heap every KB counts."""
    from softcrank_sim import resets

    cause = resets.take()
    del sys.modules["softcrank_sim.resets"]
    gc.collect()
    return cause


def _record(name, text):
    """Leave the reason the loop ended for the next start. Never raises: it runs on the way down."""
    try:
        from softcrank_sim import resets

        resets.record(getattr(resets, name), text)
    except Exception:  # no memory left, say: the reset must still happen
        pass


def _watchdog():
    """The pipe the virtual board's watchdog reads, or None."""
    fd = os.getenv("SOFTCRANK_WATCHDOG_FD")
    if not fd:
        return None
    try:
        return open(int(fd), "wb", buffering=0)
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
