"""`softcrank sim --chip --firmware FILE --bootrom FILE`: the emulated RP2040 on a pseudo-terminal."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

CHIP_HELP = (
    "Run MicroPython's real rp2 build with the firmware's files on an emulated RP2040 (rp2040js, "
    "installed with npm on first use; needs Node.js) instead of the MicroPython interpreter. The "
    "project ships neither file: --firmware is MicroPython's RPI_PICO .uf2 of the release the "
    "project names (micropython.org/download/RPI_PICO), --bootrom the RP2040 B1 bootrom (b1.bin from "
    "Raspberry Pi's pico-bootrom repository, or rp2040js's demo/bootrom.ts). docs/firmware.md, "
    "*The emulated RP2040*, says more.")


def add_arguments(sim: argparse.ArgumentParser) -> None:
    chip = sim.add_argument_group("the emulated RP2040", CHIP_HELP)
    chip.add_argument("--chip", action="store_true", help="run on the emulated RP2040 (needs --firmware and --bootrom)")
    chip.add_argument("--firmware", metavar="FILE", help="MicroPython's RPI_PICO .uf2")
    chip.add_argument("--bootrom", metavar="FILE", help="the RP2040 B1 bootrom: a 16 KB .bin, or rp2040js's demo/bootrom.ts")


def run(args) -> int:
    from softcrank_sim import scenario

    from ..boardfiles import bundled_scenarios, scenario_path
    from .board import ChipBoard
    from .node import ChipSimError

    if not (args.chip and args.firmware and args.bootrom):
        print("softcrank sim: the emulated RP2040 needs all three of --chip, --firmware FILE and --bootrom FILE",
              file=sys.stderr)
        return 2
    if args.flash:
        print("softcrank sim: --flash is for the virtual trainer; the emulated chip's flash is built anew "
              "from the firmware's files at each start", file=sys.stderr)
        return 2
    name = args.scenario
    if name and not os.path.exists(name) and name in bundled_scenarios():
        name = str(scenario_path(name))  # a bundled scenario by name, as the virtual trainer takes it
    try:
        if name:
            scenario.load(name)
        if args.replay:
            from softcrank_sim.replay import Replay

            Replay.check(args.replay)
        board = ChipBoard(args.firmware, args.bootrom, scenario=name, seed=args.seed, speed=args.speed,
                          replay=args.replay)
        port = board.start()
    except (scenario.ScenarioError, ValueError, ChipSimError) as e:
        print("softcrank sim: %s" % e, file=sys.stderr)
        return 2 if not isinstance(e, ChipSimError) else 1
    print(port, flush=True)
    print("softcrank sim: the emulated RP2040 is on %s; Ctrl-C ends it" % port, file=sys.stderr)
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        while not board.error:
            time.sleep(0.5)
        print("softcrank sim: %s" % board.error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        board.stop()


def _interrupted(signum, frame):
    raise KeyboardInterrupt
