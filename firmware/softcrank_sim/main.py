"""Run the firmware on the simulated board, talking the wire protocol on stdin/stdout.

    micropython -m softcrank_sim.main [--seed N] [--speed X] [--rpm R] [--edges E]

Runs until the host closes stdin. `softcrank demo` starts it; so can a developer by hand.
"""

import sys

from softcrank_fw.loop import run
from softcrank_sim.board import SimBoard
from softcrank_sim.rider import Rider

USAGE = "usage: micropython -m softcrank_sim.main [--seed N] [--speed X] [--rpm R] [--edges E]"


def options(argv):
    opts = {"--seed": 1, "--speed": 1.0, "--rpm": 20.0, "--edges": 24}
    i = 0
    while i < len(argv):
        key = argv[i]
        if key not in opts or i + 1 >= len(argv):
            raise ValueError(USAGE)
        kind = type(opts[key])
        opts[key] = kind(argv[i + 1])
        i += 2
    return opts


def main(argv):
    try:
        opts = options(argv)
    except ValueError as e:
        print(e if str(e) == USAGE else USAGE, file=sys.stderr)
        return 2
    rider = Rider(opts["--edges"], opts["--seed"], opts["--rpm"])
    run(SimBoard(rider, opts["--speed"]))  # until the host closes stdin
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
