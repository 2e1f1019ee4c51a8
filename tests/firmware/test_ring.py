"""The telemetry ring: sequence numbers, replay range, wrap-around and lost records."""

from softcrank_fw.ring import Ring, rec_diff
from support import raises


def fill(ring, n):
    for i in range(n):
        ring.sample(i, 2, 200, 100, 90, 50, 60, 0)


def test_records_are_numbered_in_order_and_held_until_overwritten():
    ring = Ring(8)
    fill(ring, 5)
    assert ring.next_rec == 5 and ring.oldest() == 0 and ring.holds(4) and not ring.holds(5)
    fill(ring, 6)
    assert ring.oldest() == 3 and not ring.holds(2) and ring.holds(10)


def test_overwriting_unacknowledged_records_counts_them_lost():
    ring = Ring(8)
    fill(ring, 8)
    ring.ack(5)
    fill(ring, 6)  # overwrites 0..5, all acknowledged
    assert ring.lost == 0
    fill(ring, 3)  # overwrites 6, 7, 8, none acknowledged
    assert ring.lost == 3


def test_with_no_host_ever_attached_nothing_counts_as_lost():
    ring = Ring(8)
    fill(ring, 100)
    assert ring.lost == 0


def test_record_numbers_wrap_at_2_to_the_30():
    ring = Ring(8)
    ring.next_rec = (1 << 30) - 3
    fill(ring, 6)
    assert ring.next_rec == 3
    assert ring.holds((1 << 30) - 1) and ring.holds(2)
    assert rec_diff(2, (1 << 30) - 2) == 4


def test_event_records_share_the_numbering():
    ring = Ring(8)
    fill(ring, 2)
    ring.event(77, 2, 8, 1)
    i = ring.index(2)
    assert ring.kind[i] & 0x80 and ring.a[i] == 8 and ring.b[i] == 1


def test_any_size_keeps_every_record_in_its_place_across_the_wrap():
    ring = Ring(7)
    ring.next_rec = (1 << 30) - 4
    for i in range(20):
        ring.sample(i, 2, i, 0, 0, 0, 0, 0)
    for back in range(1, 8):
        rec = (ring.next_rec - back) & ((1 << 30) - 1)
        assert ring.holds(rec) and ring.a[ring.index(rec)] == 20 - back


def test_the_default_ring_holds_five_minutes_at_10_hz():
    assert Ring().size >= 5 * 60 * 10


def test_impossible_sizes_are_refused():
    assert raises(ValueError, Ring, 1)
