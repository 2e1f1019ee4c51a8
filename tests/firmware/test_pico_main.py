"""softcrank_pico.main on the fake machine: however the loop ends, the brake is off before the
REPL takes over, and the reason is recorded for the next start (softcrank_pico/resetlog.py).
"""

import json

import fake_machine as fm

fm.install()

import fake_rp2  # noqa: E402
from softcrank_fw import loop  # noqa: E402
from softcrank_fw import protocol as P  # noqa: E402
from softcrank_fw.control import Inputs  # noqa: E402
from softcrank_pico import board as board_mod  # noqa: E402
from softcrank_pico import main as main_mod  # noqa: E402
from softcrank_pico import pins, quadrature, resetlog, ticker  # noqa: E402
from softcrank_pico.board import PicoBoard  # noqa: E402
from support import raises  # noqa: E402

BRAKE = 14


def setup(pinmap=True):
    """A fresh fake Pico whose flash is a scratch directory; returns (root, clock)."""
    clock = fm.fresh_pico(board_mod, ticker, quadrature)
    clock.fires_timers = True  # the tick's timer fires as the clock passes its due times
    root = fm.scratch()
    if pinmap:
        fm.write(root + "pinmap.json", json.dumps(fm.PINMAP))
    return root, clock


def record(root):
    with open(root + resetlog.FILE) as f:
        return json.load(f)


def brake_is_off():
    pwm, pin = fm.PWMS[BRAKE], fm.PINS[BRAKE]
    return pwm.duty_u16() == 0 and pin.mode == fm.Pin.OUT and pin.level == 0


def ride(ticks, then=None):
    """A run() for main: `ticks` ticks with the brake on, then raise `then` (if given)."""
    inputs = Inputs()

    boards = []

    def tick(now):
        board = boards[0]
        board.sense(inputs, 0)
        board.set_brake(600_000)

    def run(board):
        boards.append(board)
        board.start_ticks(tick, 10_000)
        for _ in range(ticks):
            board.service()
        assert fm.PWMS[BRAKE].duty_u16() > 0
        if then is not None:
            raise then

    return run


# ----- main(): the way out ---------------------------------------------------------------------


def test_an_exception_leaves_the_brake_off_records_2_and_goes_to_the_repl():
    root, clock = setup()
    run = ride(20, ValueError("boom"))
    assert raises(ValueError, main_mod.main, root, run, fm.Host())
    assert brake_is_off()
    assert record(root) == {"code": resetlog.EXCEPTION, "text": "ValueError: boom"}
    assert fm.RESETS == []  # 0.2 s after start: a start-up fault, resetting would only loop
    assert fm.MEM32 == {0x4005B000: 1 << 30}  # the watchdog stopped: the REPL stays up


def test_an_exception_after_a_minute_resets_the_board():
    root, clock = setup()

    def run(board):
        ride(5)(board)
        board._ticker.ticks = main_mod.RESET_AFTER_TICKS  # as if it had run for a minute
        raise OSError(5)

    assert raises(fm.Reset, main_mod.main, root, run, fm.Host())
    assert fm.RESETS == [1]
    assert fm.WDTS[-1].timeout == ticker.FLASH_WDT_MS  # widened for the record's flash write
    assert brake_is_off()
    assert record(root)["code"] == resetlog.EXCEPTION
    assert record(root)["text"].startswith("OSError")


def test_ctrl_c_leaves_the_brake_off_records_4_and_goes_on_to_the_repl():
    root, clock = setup()
    assert raises(KeyboardInterrupt, main_mod.main, root, ride(10, KeyboardInterrupt()), fm.Host())
    assert brake_is_off()
    assert record(root)["code"] == resetlog.INTERRUPTED
    assert fm.RESETS == []
    assert fm.MEM32 == {0x4005B000: 1 << 30}


def test_a_missing_pin_map_is_a_start_up_fault_with_nothing_driven():
    root, clock = setup(pinmap=False)
    assert raises(OSError, main_mod.main, root, ride(1), fm.Host())
    assert record(root)["code"] == resetlog.EXCEPTION
    assert fm.RESETS == [] and fm.PWMS == {}


def test_main_runs_the_firmware_loop_on_the_pico_board():
    root, clock = setup()
    fm.write(root + resetlog.FILE, json.dumps({"code": resetlog.DEPLOY, "text": "deploy"}))
    host = fm.Host(b"$PING,0*E6B3\n")
    main_mod.main(root, lambda board: loop.run(board, 30), host)
    frames = [P.decode(f) for f in host.sent]
    assert any(t == "A" and v == [0] for t, s, v in frames)  # the PING was answered
    boots = [v for t, s, v in frames if t == "E" and v[3] == "BOOT"]
    assert len(boots) == 1 and boots[0][4] == resetlog.DEPLOY
    assert brake_is_off()
    assert fm.WDTS[0].feeds >= 29
    assert fm.PWMS[18].duty_u16() == 0  # the start-up beep ended on a later tick


def test_record_flag_turns_on_recording_and_the_last_second_is_kept():
    root, clock = setup()
    fm.write(root + "record.flag", "")

    def run(board):
        loop.run(board, 5)
        fake_rp2.MACHINES[0].push(0x000123)
        loop.run(board, 1)

    main_mod.main(root, run, fm.Host())
    lines = fm.read(root + "recording.txt").splitlines()
    assert lines[0] == "softcrank-recording 1"
    assert lines[1] == "c 24 0 0 1000 1000"
    assert lines[2].startswith("x ") and lines[2].endswith(" 0")  # the e-stop's first level
    assert lines[3].startswith("l ") and lines[3].endswith(" 291")


# ----- the reset record ------------------------------------------------------------------------


def test_reset_record_round_trip():
    root, clock = setup()
    path = root + resetlog.FILE
    assert resetlog.record(resetlog.EXCEPTION, "ZeroDivisionError: x", path)
    fm.state["reset_cause"] = fm.WDT_RESET  # how machine.reset() looks on rp2
    assert resetlog.take(path) == (resetlog.EXCEPTION, "ZeroDivisionError: x")
    assert resetlog.take(path) == (resetlog.WATCHDOG, "watchdog")  # the record was used up
    fm.state["reset_cause"] = fm.PWRON_RESET
    assert resetlog.take(path) == (resetlog.POWER_ON, "power on")


def test_a_deliberate_reset_is_not_mistaken_for_the_watchdog():
    root, clock = setup()
    path = root + resetlog.FILE
    assert raises(fm.Reset, resetlog.reset_now, "deploy", path)
    assert fm.RESETS == [1]
    fm.state["reset_cause"] = fm.WDT_RESET
    gpio, edges = pins.parse(fm.PINMAP)
    board = PicoBoard(gpio, edges, root, fm.Host())
    assert board.reset_cause() == resetlog.DEPLOY and board.reset_text == "deploy"


def test_a_corrupt_or_strange_record_is_ignored():
    root, clock = setup()
    path = root + resetlog.FILE
    for text in ('{"code": 2, "te', '[2]', '{"code": 9}', '{"code": true}', '{"code": "2"}'):
        fm.write(path, text)
        assert resetlog.take(path) == (resetlog.POWER_ON, "power on")


def test_the_record_keeps_a_short_text():
    root, clock = setup()
    path = root + resetlog.FILE
    resetlog.record(resetlog.EXCEPTION, "x" * 500, path)
    assert len(record(root)["text"]) == resetlog.TEXT_MAX
    assert resetlog.record(resetlog.EXCEPTION, "x", root + "no/such/dir/reset.json") is False
