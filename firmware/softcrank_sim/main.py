"""The firmware on the simulated board: the virtual trainer's board module.

Started by firmware/main.py when config.json says {"board": "sim"}; `softcrank sim` writes
that config into the virtual board's flash folder:

    {"board": "sim", "scenario": "scenario.json", "speed": 1.0, "seed": 1, "replay": null}

`scenario` is a scenario file (softcrank_sim/scenario.py), `replay` a raw sensor recording
made by a Pico (softcrank_sim/replay.py) to play back instead of a rider, `speed` how many
times faster than real time virtual time runs (0: as fast as it can), `seed` overrides the
scenario's seed. The host link is stdin/stdout, which `softcrank sim` connects to a
pseudo-terminal. By hand, from the repository root:

    MICROPYPATH=.frozen:firmware micropython -m softcrank_sim.main [--speed X] [--seed N] [--scenario F]
"""

import gc
import sys

from softcrank_fw.control import Controller
from softcrank_fw.loop import run

USAGE = "usage: micropython -m softcrank_sim.main [--speed X] [--seed N] [--scenario FILE] [--replay FILE]"
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
            "--replay": ("replay", str)}
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
    from softcrank_sim.board import SimBoard

    board = SimBoard(world, float(config.get("speed", 1.0)))
    if board.edges_per_rev != ctl.crank.edges_per_rev:
        ctl = None
        gc.collect()
        ctl = Controller(board.edges_per_rev)
    run(board, ctl=ctl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
