"""Recovery (issue 20) on the virtual trainer: the kill-and-restart loop shortened in virtual
time, a restart after the trainer finished, a restart after an outage longer than the ring,
goals the caps cut, and the lost range's arithmetic."""

import time

import pytest

from softcrank.cli.ride import record_session
from softcrank.sim.virtual_board import VirtualBoard
from softcrank.store.ridelog import RideLog
from softcrank.trainer.errors import Lost
from softcrank.trainer.link import Link
from softcrank.trainer.plan import clamped
from softcrank.trainer.therapist import set_pin
from softcrank.verify.killloop import RING_RECORDS, kill_loop, outran_ring
from test_ride import PIN, on_defaults, ride_process
from softcrank_fw import protocol as P

SPEED = 20


@pytest.fixture
def ridelog(tmp_path):
    with RideLog(tmp_path / "log.sqlite") as log:
        log.add_patient("Ann B", "right")
        set_pin(log, PIN)  # the virtual trainer holds the firmware's defaults: a therapist confirms them
        yield log


def ride(db, port, *extra):
    return ride_process(db, port, *extra, every_s=600, speed=SPEED)


def wait_for(predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("waited %.0f s in vain" % timeout)


def test_twenty_kills_and_one_outage_longer_than_the_ring_leave_one_whole_session():
    figures = kill_loop(kills=20, speed=SPEED, seed=7)
    assert figures["problems"] == [], figures["final_output"]
    assert figures["integrity"] == "ok" and figures["sessions"] == 1
    assert figures["reported"] == figures["gaps"] != []  # each gap once, with exactly the range the log lacks
    first, last = figures["gaps"][-1]  # the long outage's
    assert (last - first + 1) % P.REC_MODULO >= RING_RECORDS // 10
    assert figures["end_state"] == "D"  # done, or stopped (the trainer reports done after a STOP)
    assert figures["connected"] >= 10  # most rides got as far as their handshake before the kill
    assert figures["exit_after_end_s"] is not None and figures["exit_after_end_s"] <= 60


def test_a_restart_after_the_trainer_finished_says_how_and_starts_nothing(ridelog):
    db = ridelog.path
    with VirtualBoard(speed=SPEED) as board:
        first = ride(db, board.port, "--work", "1")
        # Killed in the cool-down (3 min: what is left of the session fits in the ring)
        wait_for(lambda: ridelog.sessions() and any(s.state == "C" for s in ridelog.samples(1, decimate_to=100)))
        first.kill()
        first.wait()
        with Link(board.port) as watcher:  # away from ride: the trainer finishes the session
            def finished():
                latest = watcher.latest()
                if latest is not None and latest["state"] == "P":
                    watcher.command("RESUME")  # the pause for ride's silence, as a rider would
                return latest is not None and latest["state"] in ("D", "I")
            wait_for(finished, timeout=120)
        second = ride(db, board.port, "--work", "1")
        out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, out
    found = [line for line in out.splitlines() if line.startswith("found: ")]
    assert found == ["found: session 1 ended while softcrank was away: done; nothing more to record (softcrank "
                     "ride --new starts another session)"], out
    assert "started" not in out and len(ridelog.sessions()) == 1


def test_new_starts_another_session_after_the_one_that_ended_while_away(ridelog):
    with VirtualBoard(speed=SPEED) as board:
        ended = ridelog.start_session(1, "sim-0001", 0, [1, 15, 25, 10], [20, 15, 30, 250, 5, 300, 180, 250])
        lines = []
        result = record_session(ridelog, 1, board.port, work_min=1, every_s=600, speed=SPEED,
                                write=lines.append, new=True, confirm_caps=on_defaults(ridelog))
    assert any(line.startswith("found: session %d ended while softcrank was away" % ended) and
               line.endswith("starting a new session (--new)") for line in lines), lines
    assert result["session"] != ended and result["end_state"] == "D"


def test_an_outage_longer_than_the_ring_stops_the_unexplained_pause_and_ride_ends(ridelog):
    db = ridelog.path
    with VirtualBoard(speed=SPEED) as board:
        first = ride(db, board.port, "--work", "5")
        wait_for(lambda: ridelog.sessions())
        time.sleep(1)
        first.kill()
        first.wait()
        outran_ring(db, board.port, 1.3 * RING_RECORDS)  # 400 virtual s: the ring holds 307
        began = time.monotonic()
        second = ride(db, board.port)
        out, _ = second.communicate(timeout=60)
        took = time.monotonic() - began
    assert second.returncode == 1, out  # records are missing: said, and the status says so
    assert took < 60
    (gap,) = ridelog.missing_recs(1)
    lost = [line for line in out.splitlines() if "could not be fetched" in line]
    assert lost == ["link: records %d-%d (%d) could not be fetched: the trainer no longer held them"
                    % (gap.first, gap.last, gap.length)], out
    assert "found: session 1 was paused while softcrank was away and the trainer no longer holds why" in out
    assert ridelog.session(1)["ended_at"] is not None
    assert [e.event for e in ridelog.events(1)][-1] == "STOP"
    assert "telemetry records were lost" not in out  # the firmware's LOST events: one line per gap is the link's


def test_goals_the_caps_cut_are_named_before_the_ride_starts(ridelog):
    lines = []
    with VirtualBoard(speed=SPEED) as board:
        link = Link(board.port)
        with link:
            caps = link.info["C"]
        record_session(ridelog, 1, board.port, work_min=20, every_s=600, speed=SPEED, write=lines.append,
                       confirm_caps=on_defaults(ridelog))
    cut = "the trainer's caps cut the plan: work 10 min instead of 20 (the session cap is 15 min, with 5 min of warm-up)"
    assert caps["max_dur_min"] == 15
    assert cut in lines and lines.index(cut) < next(i for i, line in enumerate(lines) if "started" in line)


def test_clamped_names_every_cut_goal_and_nothing_else():
    from softcrank.frames import parse
    caps = parse(P.encode("C", 0, [20, 15, 30, 250, 5, 300, 180, 250, 0, 0]))  # protocol 3: limits, patient, counter
    got = parse(P.encode("G", 0, [10, 20, 30, 20]))
    assert clamped({"dur_min": 10, "cad_lo_rpm": 20, "cad_hi_rpm": 30, "res_pct": 20}, got, caps) is None
    line = clamped({"dur_min": 20, "cad_lo_rpm": 20, "cad_hi_rpm": 40, "res_pct": 35}, got, caps)
    assert "work 10 min instead of 20" in line and "up to 30 rpm instead of 40" in line and "20 % instead of 35" in line


def test_lost_words_name_the_true_first_and_last_record():
    assert Lost(5738, 264, "overwritten").words().startswith("records 5738-6001 (264) could not be fetched")
    assert Lost(P.REC_MODULO - 2, 4, "overwritten").last == 1  # across the wrap
    assert "from 5738 on" in Lost(5738, None, "restart").words()
