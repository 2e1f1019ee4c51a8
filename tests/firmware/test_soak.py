"""A short soak (softcrank_sim/soak.py): ten virtual minutes of random riding on the real
controller and link, the safety invariants checked in every tick, on both runtimes. The soak
itself asserts the invariants; this checks the run met every kind of trouble and lost nothing.
`softcrank safety` runs eight virtual hours (docs/safety.md)."""

from softcrank_sim.soak import HEAP_SLACK, Soak


def test_ten_virtual_minutes_of_random_riding_keep_every_invariant():
    figures = Soak(4).run(1 / 6)  # seed 4 meets a spasm, an e-stop, a fault, silence, overspeed
    events = figures["events"]
    for name in ("SPASM", "ESTOP", "FAULT", "HOST_LOST", "OVERSPEED", "PAUSE", "CAPS"):
        assert events.get(name, 0) >= 1, name
    assert figures["gaps"] == 0 and figures["ring_lost"] == 0
    assert figures["records"] > 5000 and figures["ticks"] == 60000
    assert 1 <= figures["worst_cause_to_zero_ticks"] <= 2  # the next tick, or the next ADC reading
    assert figures["heap_shrank"] <= HEAP_SLACK
