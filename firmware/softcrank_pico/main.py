"""The firmware on a Pico: `from softcrank_pico.main import main; main()` (the board's main.py).

main() loads the pin map, builds the board and runs softcrank_fw.loop over it. However the
loop ends, the brake is at zero before anything else happens (loop.run zeroes it too; this is
the second line, and safe_stop also stops the tick's timer first and turns the pin into a
plain low output):

- Ctrl-C (KeyboardInterrupt, how mpremote breaks in; only while no session is under way,
  softcrank_fw/loop.py): brake off, watchdog stopped, reason INTERRUPTED recorded, and the
  exception goes on to the REPL, which stays usable.
- any other exception: brake off, reason EXCEPTION recorded with its text. If the firmware had
  been running for RESET_AFTER_TICKS (60 s), it resets: a rare fault should not leave the
  trainer dead, and it comes back idle (brake off until a new START from the host). If it
  failed sooner, it is failing at start-up and a reset would only loop: the watchdog is
  stopped and the exception goes to the REPL for someone to read, brake off.
- anything else (SystemExit, a loop that returned): brake off, watchdog stopped.

If the file record.flag exists, raw sensor events are recorded to recording.txt (recorder.py).
"""

import os

import machine

from softcrank_fw import loop
from softcrank_fw.compat import const
from softcrank_pico import pins, recorder, resetlog
from softcrank_pico.board import PicoBoard

PINMAP = "pinmap.json"
RESET_AFTER_TICKS = const(6000)  # 60 s at 100 Hz: sooner than this an exception means a start-up fault
_EMERGENCY_BUF = const(100)  # bytes for an exception raised in an IRQ handler (its traceback)
_HELLO_HZ = const(2700)
_HELLO_MS = const(80)  # a short beep: the firmware is up


def main(root="", run=None, host=None):
    """root: where pinmap.json and the board's files are; run and host: for tests."""
    try:
        import micropython

        micropython.alloc_emergency_exception_buf(_EMERGENCY_BUF)
    except (ImportError, AttributeError):  # CPython, in tests
        pass
    reason = root + resetlog.FILE
    board = None
    try:
        gpio, edges = pins.load(root + PINMAP)
        board = PicoBoard(gpio, edges, root, host)
        if _exists(root + recorder.FLAG):
            board.start_recording()
        board.beep(_HELLO_HZ, _HELLO_MS)
        (run or loop.run)(board)
    except KeyboardInterrupt:
        _stop(board)
        resetlog.record(resetlog.INTERRUPTED, "KeyboardInterrupt", reason)
        raise
    except Exception as e:
        _stop(board, keep_watchdog=True)
        resetlog.record(resetlog.EXCEPTION, describe(e), reason)
        if board is not None and board.uptime_ticks() >= RESET_AFTER_TICKS:
            machine.reset()
        if board is not None:
            board.stop_watchdog()
        raise
    finally:
        _stop(board)


def describe(e):
    """'ValueError: the message', short enough for the reset record."""
    return "%s: %s" % (type(e).__name__, e)


def _stop(board, keep_watchdog=False):
    if board is None:
        return  # the brake pin was never set up: at reset it is an input, the gate pulled down
    board.safe_stop()
    if not keep_watchdog:
        board.stop_watchdog()
    else:
        board.flash_window()  # the reset record goes to flash next: erases of up to 400 ms
    if board.recorder is not None:
        board.recorder.flush(0, force=True)  # keep the last second of a recording


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False
