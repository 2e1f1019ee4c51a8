"""Does the control tick keep its 100 Hz period when the host stops reading?

The measurement lives in softcrank.verify.bench.tick_period (`softcrank bench` reports it too);
this runs it alone and prints the figures; it asserts nothing (this machine is shared and noisy).

    python benchmarks/tick_period.py [--json]
"""

import sys

from softcrank.verify.bench.tick_period import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
