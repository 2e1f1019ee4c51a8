"""What the Pico keeps on flash: the raw sensor recording (softcrank_pico/recorder.py) and the
load-cell calibration (softcrank_fw/calibration.py).
"""

import json

import fake_machine as fm

fm.install()

import fake_rp2  # noqa: E402
from softcrank_fw.compat import heap_lock, heap_unlock  # noqa: E402
from softcrank_fw.control import Inputs  # noqa: E402
from softcrank_pico import board as board_mod  # noqa: E402
from softcrank_fw import calibration  # noqa: E402
from softcrank_pico import pins, quadrature, ticker  # noqa: E402
from softcrank_pico.board import PicoBoard  # noqa: E402
from softcrank_pico.recorder import EDGE, ESTOP, LEFT, RIGHT, Recorder  # noqa: E402

T0 = (1 << 30) - 400_000  # the recording crosses the ticks wrap


def fresh():
    root = fm.scratch()
    return root, root + "recording.txt"


# ----- the recording ---------------------------------------------------------------------------


def test_the_recording_has_the_exact_format_and_is_written_once_a_second():
    root, path = fresh()
    rec = Recorder(path, T0, (24, 1200, -340, 1000, -998))
    head = "softcrank-recording 1\nc 24 1200 -340 1000 -998\n"
    assert fm.read(path) == head  # the header at once
    rec.add(ESTOP, T0 + 1, 0)
    rec.add(EDGE, T0 + 2_500, 1)
    rec.add(LEFT, T0 + 10_000, -8388608)
    rec.add(RIGHT, T0 + 10_000, 8388607)
    rec.add(EDGE, 123, 0)  # after the wrap
    rec.add(ESTOP, 10_000, 1)
    assert rec.flush(T0 + 999_999) is False  # not a second yet: nothing written
    assert fm.read(path) == head
    assert rec.flush((T0 + 1_000_000) & ((1 << 30) - 1)) is True
    assert fm.read(path) == head + (
        "x %d 0\ne %d 1\nl %d -8388608\nr %d 8388607\ne 123 0\nx 10000 1\n"
        % (T0 + 1, T0 + 2_500, T0 + 10_000, T0 + 10_000)
    )
    assert rec.size == len(fm.read(path))


def test_adding_an_event_allocates_nothing():
    root, path = fresh()
    rec = Recorder(path, 0)
    if heap_lock is not None:
        heap_lock()
    try:
        for i in range(100):
            rec.add(EDGE, i * 1000, i & 1)
    finally:
        if heap_unlock is not None:
            heap_unlock()
    rec.flush(0, force=True)
    assert len(fm.read(path).splitlines()) == 101


def test_a_full_buffer_drops_events_and_says_so():
    root, path = fresh()
    rec = Recorder(path, 0, capacity=4)
    for i in range(6):
        rec.add(LEFT, i, i)
    rec.flush(1_000_000)
    lines = fm.read(path).splitlines()
    assert lines[1:] == ["l 0 0", "l 1 1", "l 2 2", "l 3 3", "# 2 events dropped: more than 4 in a second"]


def test_recording_stops_at_its_size_limit_and_says_so():
    root, path = fresh()
    rec = Recorder(path, 0, limit=2048)
    t = 0
    for second in range(5):
        for i in range(80):  # a second of one load cell
            rec.add(LEFT, t, 1_000_000 + i)
            t += 12_500
        rec.flush(t)
    text = fm.read(path)
    assert not rec.active
    assert text.endswith("# recording stopped: the file reached its 2 KB limit\n")
    second = 80 * len("l 1000000 1000000\n")
    assert 2048 <= len(text) < 2048 + second + 60  # at most one flush past the limit
    rec.add(LEFT, t, 5)
    assert rec.flush(t + 2_000_000, force=True) is False and fm.read(path) == text


def test_a_new_recording_keeps_the_previous_one():
    root, path = fresh()
    fm.write(path, "softcrank-recording 1\ne 5 1\n")
    Recorder(path, 0)
    assert fm.read(path + ".old") == "softcrank-recording 1\ne 5 1\n"
    assert fm.read(path) == "softcrank-recording 1\n"


def make_board(root):
    fm.clear()
    fake_rp2.clear()
    clock = fm.Clock(T0)
    fm.use_clock(clock, board_mod, ticker, quadrature)
    gpio, edges = pins.parse(fm.PINMAP)
    return PicoBoard(gpio, edges, root, fm.Host()), clock


def test_the_board_records_what_it_senses_without_allocating():
    root, path = fresh()
    board, clock = make_board(root)
    rec = board.start_recording()
    inp = Inputs()
    a, estop = fm.PINS[2], fm.PINS[10]
    left = fake_rp2.MACHINES[0]
    clock.advance(1_000)
    a.drive(1)  # a forward edge
    edge_t = clock.t
    left.push(0xFFFFFE)

    def sense():
        if heap_lock is not None:
            heap_lock()
        try:
            board.sense(inp, 0)
        finally:
            if heap_unlock is not None:
                heap_unlock()

    sense()
    now1 = clock.t
    clock.advance(10_000)
    estop.drive(1)
    sense()
    now2 = clock.t
    clock.advance(10_000)
    sense()  # nothing new
    rec.flush(0, force=True)
    assert fm.read(path).splitlines()[2:] == [
        "e %d 1" % edge_t, "l %d -2" % now1, "x %d 0" % now1, "x %d 1" % now2,
    ]


# ----- calibration -----------------------------------------------------------------------------


def test_calibration_round_trip():
    root, _ = fresh()
    path = root + calibration.FILE
    assert calibration.load(path) is None
    calibration.save(-120_000, 45_000, 1_234, -987, path)
    assert calibration.load(path) == (-120_000, 45_000, 1_234, -987)
    board, clock = make_board(root)
    assert board.calibration() == (-120_000, 45_000, 1_234, -987)


def test_a_calibration_the_firmware_would_not_accept_is_none():
    root, _ = fresh()
    path = root + calibration.FILE
    good = {"format": 1, "tare": [0, 0], "cpn": [1000, 1000]}
    fm.write(path, json.dumps(good))
    assert calibration.load(path) == (0, 0, 1000, 1000)
    for key, value in (
        ("format", 2), ("tare", [0]), ("tare", [0, 1 << 24]), ("tare", [0, 1.5]),
        ("cpn", [5, 1000]), ("cpn", [1000, 0]), ("cpn", [True, 1000]), ("cpn", "1000"),
    ):
        doc = dict(good)
        doc[key] = value
        fm.write(path, json.dumps(doc))
        assert calibration.load(path) is None, (key, value)
    fm.write(path, '{"format": 1, "tare": [0,')
    assert calibration.load(path) is None


def test_the_simulator_replays_what_the_recorder_writes():
    from softcrank_sim.replay import Replay

    root, path = fresh()
    rec = Recorder(path, T0, (24, 1200, -340, 1000, -998))
    rec.add(ESTOP, T0, 0)
    rec.add(EDGE, T0 + 2_500, 1)
    rec.add(LEFT, 100, -8388608)
    rec.add(RIGHT, 100, 8388607)
    rec.flush(0, force=True)
    rec._stop("# recording stopped: the file reached its 512 KB limit\n")
    replay = Replay.load(path)
    assert list(replay.remaining()) == [("x", T0, 0), ("e", T0 + 2_500, 1), ("l", 100, -8388608), ("r", 100, 8388607)]
    assert replay.edges_per_rev == 24 and tuple(replay.tare) == (1200, -340) and tuple(replay.cpn) == (1000, -998)
