"""`softcrank bench`: the figures that matter, measured, as ratios to the limits physics sets.

One module per group, each with `run(quick) -> list[Figure]`:

- tick: the control tick on the MicroPython interpreter (time against a reference loop,
  bytes allocated, live heap over a 30-minute session) and the tick period with the host
  not reading (tick_period, over the virtual trainer);
- cadence: accuracy at steady cadences, latency to report a step or a stop against the time
  the next edges could have told us;
- safety: ticks from an e-stop, spasm or fault to brake zero;
- link: bytes per telemetry sample, UART share, replay throughput over the real pty link;
- estop: an ESTOP's time from the key (the command queue's submit) to the wire with the link
  busy (heartbeat, REPLAY, a retrying command), goal 50 ms;
- ridelog: SQLite ingest against a bare executemany, opening and exporting a 2-hour ride;
- chip: the tick's cost and worst period on the emulated RP2040 (skipped, saying why, unless
  SOFTCRANK_RP2_FIRMWARE and SOFTCRANK_RP2_BOOTROM are set).
- clinic: a generated month of a 20-trainer clinic (or a stated fraction) synced to a real
  PostgreSQL, then a session and a patient's 12-week progress opened from it.

Figures are printed, never asserted: this machine is shared and noisy. `quick` shrinks the
sizes so the whole run takes seconds (the smoke test); its figures are not the ones to quote.
docs/performance.md explains each limit with its arithmetic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Figure", "GROUPS"]

GROUPS = ("tick", "cadence", "safety", "link", "estop", "ridelog", "chip", "clinic")


@dataclass(frozen=True)
class Figure:
    """One measured figure. `key` is stable (JSON, docs); `limit` says what it is held against."""

    key: str
    what: str
    value: Any
    unit: str = ""
    limit: str = ""

    def as_dict(self) -> dict:
        return asdict(self)
