"""Issue 13: a host that stops reading, freezes, or floods the port cannot hold the control tick.

The real firmware on the virtual trainer, whose USB port behaves as MicroPython's rp2 CDC
driver (softcrank_sim/usbcdc.py: a write into a full 256-byte FIFO waits up to 500 ms), behind
a real pseudo-terminal; the host misbehaves while a session has the brake loaded, with an
extensor spasm and an e-stop (or a load-cell fault) inside the misbehaviour
(softcrank.verify.bench.tick_period). The firmware's own STATS give the longest tick period by its
hardware clock. The figures are of the model, not of a machine's speed: the virtual clock
moves 10 ms a tick and 1 ms per driver wait, so they do not depend on how loaded this machine is.
"""

import pytest

from softcrank.verify.bench import tick_period as tp
from softcrank_fw import loop

# From the cause's onset to its event (the tick that put the brake to zero), as the safety
# suite bounds them (tests/host/test_safety_faults.py): the e-stop is read in the next tick;
# a spasm and a load cell at its rail wait for the next 80 SPS reading (12.5 ms) first.
CAUSE_TICKS = {"estop": 1, "spasm": 3, "fault": 3}


def test_the_tick_in_the_loop_the_firmware_before_stalled_when_the_host_stopped_reading():
    result = tp.measure("stop", "spasm+estop", ticks="loop")
    assert result["stats"]["period_max_us"] >= 500_000  # the driver's MICROPY_HW_USB_CDC_TX_TIMEOUT
    assert result["stats"]["late"] >= 1


@pytest.mark.parametrize("scenario", sorted(tp.SCENARIOS))
@pytest.mark.parametrize("behaviour", sorted(tp.BEHAVIOURS))
def test_the_timer_tick_keeps_its_period_and_unloads_at_once_whatever_the_host_does(behaviour, scenario):
    result = tp.measure(behaviour, scenario)
    stats = result["stats"]
    assert stats["ticks"] >= tp.BEHAVIOURS[behaviour] * 100  # it measured the whole misbehaviour
    assert stats["period_max_us"] <= loop.LATE_US == 12_000  # so no brake command a tick late
    assert stats["late"] == 0
    for cause, ticks in result["causes"].items():
        assert ticks is not None and 0 <= ticks <= CAUSE_TICKS[cause], (cause, ticks)
    assert result["lost"] == 0
