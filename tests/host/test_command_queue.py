"""The trainer's one command queue (trainer/commands.py) over the real firmware on the virtual
trainer, through a wire that notes every host frame (verify/bench/estop.Wire): first come,
first served; ESTOP and PAUSE overtake a retrying command and are never resent behind it.

Nothing here is timed: the order and the count of frames on the wire say it all. ESTOP's
time to the wire is a figure of `softcrank bench` (estop group)."""

from __future__ import annotations

import pytest

from softcrank.sim.virtual_board import VirtualBoard
from softcrank.trainer.commands import CommandQueue
from softcrank.trainer.errors import Overtaken
from softcrank.trainer.link import Link, LinkError
from softcrank.verify.bench.estop import BUSY_GOALS, Wire


@pytest.fixture
def wired():
    """(link, queue, wire, board): GOALS frames are swallowed by the wire, so GOALS retries."""
    with VirtualBoard(speed=1) as board, Wire(board.port, swallow=("GOALS",)) as wire:
        with Link(wire.port, answer_timeout_s=0.5, retries=3) as link:
            queue = CommandQueue(lambda: link)
            yield link, queue, wire, board
            queue.close()


def host_types(wire, skip=("ACK", "PING", "HELLO", "CAPSLOG", "REPLAY")):  # the handshake and heartbeat
    with wire._lock:
        return [t for _, t, _ in wire.sent if t not in skip]


def test_jobs_go_in_the_order_they_were_submitted(wired):
    link, queue, wire, _ = wired
    jobs = [queue.submit(("RATE", 10)), queue.submit(("RATE", 20)), queue.submit(("START",)), queue.submit(("PAUSE",), ("RESUME",)),
            queue.submit(("STOP",))]
    for job in jobs:
        job.result(20)
    assert host_types(wire) == ["RATE", "RATE", "START", "PAUSE", "RESUME", "STOP"]


def test_an_estop_overtakes_a_retrying_command_and_that_one_is_not_sent_again(wired):
    link, queue, wire, _ = wired
    queue.submit(("START",)).result(10)
    busy = queue.submit(("GOALS", *BUSY_GOALS))
    while not wire.frames("GOALS"):  # the GOALS is on the wire, unanswered: it will be resent
        busy.wait(0.01)
    estop = queue.submit(("ESTOP",))
    estop.result(10)
    assert busy.wait(10)
    assert isinstance(busy.exception, Overtaken), busy.error
    goals_sent = len(wire.frames("GOALS"))
    assert goals_sent < 4, "the ESTOP waited out every resend of GOALS"
    estop_at = wire.frames("ESTOP")[0][0]
    assert all(t < estop_at for t, _, _ in wire.frames("GOALS")), "a GOALS went after the ESTOP"
    assert link.latest() is not None
    queue.submit(("RATE", 10)).result(10)  # the queue carries on afterwards
    assert link.wait_latest(5)["state"] == "E"


def test_an_estop_drops_the_jobs_still_waiting(wired):
    link, queue, wire, _ = wired
    busy = queue.submit(("GOALS", *BUSY_GOALS))
    start = queue.submit(("START",))
    while not wire.frames("GOALS"):
        busy.wait(0.01)
    queue.submit(("ESTOP",)).result(10)
    assert start.wait(10) and "emergency stop came first" in start.error
    assert "START" not in host_types(wire)


def test_pause_jumps_the_queue_but_leaves_it_waiting(wired):
    link, queue, wire, _ = wired
    queue.submit(("START",)).result(10)
    busy = queue.submit(("GOALS", *BUSY_GOALS))
    later = queue.submit(("RATE", 10))
    while not wire.frames("GOALS"):
        busy.wait(0.01)
    queue.submit(("PAUSE",)).result(10)
    later.result(10)
    types = host_types(wire)
    assert types.index("PAUSE") < types.index("RATE")


def test_a_refusal_keeps_the_trainers_code_and_stops_the_job(wired):
    link, queue, wire, _ = wired
    job = queue.submit(("RESUME",), ("RATE", 10))  # nothing to resume: the trainer refuses
    with pytest.raises(LinkError) as refused:
        job.result(10)
    assert refused.value.code == "STATE" and job.exception is refused.value
    assert "RATE" not in host_types(wire)


def test_only_estop_and_pause_may_overtake(wired):
    link, _, _, _ = wired
    with pytest.raises(ValueError, match="only ESTOP, PAUSE"):
        link.command("START", urgent=True)
