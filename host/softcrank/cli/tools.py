"""The builder's tools on the command line: bench and safety (softcrank.verify)."""

from __future__ import annotations

import sys

from ..boardfiles.interpreter import InterpreterMissing
from ..verify.bench import GROUPS as BENCH_GROUPS


def bench_command(args) -> int:
    from ..verify.bench import runner
    from ..verify.bench.mp import BenchError
    from ..verify.pgserver import ServerUnavailable

    try:
        return runner.main(args.only or BENCH_GROUPS, args.quick, args.json)
    except ImportError as e:  # pyserial, for the link group
        print("softcrank bench: %s: pip install 'softcrank[sim,deploy]'" % e, file=sys.stderr)
        return 1
    except (InterpreterMissing, BenchError, ServerUnavailable) as e:
        print("softcrank bench: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def safety_command(args) -> int:
    from ..verify import safety

    try:
        return safety.main(frames=args.frames, soak_hours=args.soak_hours, seed=args.seed, kills=args.kills)
    except InterpreterMissing as e:
        print("softcrank safety: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
