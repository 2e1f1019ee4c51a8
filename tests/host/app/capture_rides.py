"""Make tests/host/app/data/rides.jsonl.gz: the frames of two real sessions of the firmware.

The app's snapshot tests need fixed data: the same figures on every run and every machine.
Riding the firmware inside each test run would give slightly different records (host
timing reaches the firmware through its heartbeat watch), so two sessions were ridden once
with this script and their frames kept, exactly as the firmware sent them. Run it again
(`python tests/host/app/capture_rides.py`) if the protocol's T or E records change.
"""

import gzip
import io
import json
import pathlib

from softcrank.sim.demo import run_demo
from softcrank.boardfiles import scenario_path

OUT = pathlib.Path(__file__).parent / "data" / "rides.jsonl.gz"
RIDES = (  # (scenario, seed, work minutes, caps)
    ("steady", 1, 2, [20, 5, 30, 250, 10, 60, 60, 250]),
    ("demo", 7, 6, [20, 10, 30, 250, 10, 60, 60, 250]),
)


def main() -> None:
    with gzip.open(OUT, "wt") as out:
        for number, (scenario, seed, work_min, caps) in enumerate(RIDES):
            def tap(frame, number=number):
                if frame.type in ("H", "C", "G", "T", "E"):
                    out.write(json.dumps([number, frame.type, frame.fields], separators=(",", ":")) + "\n")
            run_demo(work_min=work_min, speed=60, seed=seed, scenario=str(scenario_path(scenario)), every_s=3600,
                     out=io.StringIO(), caps=caps, tap=tap)


if __name__ == "__main__":
    main()
