"""`softcrank demo` end to end: the real firmware on MicroPython, the real host code, a pipe."""

import io

from softcrank.sim.demo import run_demo


def test_the_demo_rides_a_whole_session_with_no_record_missing():
    out = io.StringIO()
    result = run_demo(work_min=1, speed=0, every_s=60, out=out)
    text = out.getvalue()
    assert result["missing"] == 0 and result["received"] > 9 * 60 * 10  # 9 min at 10 Hz
    for words in ("warm-up done", "cool-down", "session complete"):
        assert words in text, words
    assert "1 min work" in text  # the goals the firmware confirmed, not the ones asked for
    assert max(len(line) for line in text.splitlines()) <= 80


def test_softcrank_demo_console_prints_the_ride_as_text(capfd):
    from softcrank.cli import main

    assert main(["demo", "--console", "--work", "1", "--speed", "0", "--every", "120"]) == 0
    out = capfd.readouterr().out
    assert "session complete" in out and "0 missing" in out
