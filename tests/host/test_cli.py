"""The `softcrank` command line: help that tells the truth, clear errors for bad input."""

import os
import re
import select
import subprocess
import sys
import time

import pytest

from softcrank.cli import main
from softcrank_fw import protocol as P


def test_decode_prints_each_frame_and_says_why_a_line_is_not_one(tmp_path, capsys):
    capture = tmp_path / "capture.log"
    capture.write_bytes(P.encode("T", 5, [42, 1000, "W", 215, 1234, -56, 150, 421, 12]) + b"\n"
                        + b"$T,5,42*0000\n" + b"hello\n")
    assert main(["decode", str(capture)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1: T #5 rec=42 t_ms=1000 state=W cad_drpm=215 force_l_dn=1234 force_r_dn=-56 res_pm=150 left_s=421 flags=12"
    assert out[1].startswith("3: not a valid frame (BADCRC)")
    assert out[2].startswith("4: not a valid frame (SYNTAX)")


def test_decode_of_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["decode", str(tmp_path / "nope.log")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["demo", "--work", "0"], ["demo", "--speed", "-1"], ["demo", "--seed", "x"], ["fly"],
                                  ["safety", "--frames", "-1"], ["safety", "--soak-hours", "nan"]])
def test_bad_arguments_are_refused_with_a_message(args, capsys):
    with pytest.raises(SystemExit) as exit:
        main(args)
    assert exit.value.code == 2 and "error" in capsys.readouterr().err


def test_the_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit.value.code == 0 and "demo" in out and "app" in out


class Terminal:
    """A softcrank command running in a pseudo-terminal, as a person starts it: what it drew
    (escape sequences removed), keys typed into it."""

    def __init__(self, args, env):
        import pty

        self.master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30", **env)
        self.proc = subprocess.Popen([sys.executable, "-m", "softcrank", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.raw = b""

    def text(self):
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.raw.decode("utf-8", "replace"))

    def wait_for(self, *words, timeout=60):
        deadline = time.monotonic() + timeout
        while not all(w in self.text() for w in words) and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.5)[0]:
                self.raw += os.read(self.master, 65536)
        missing = [w for w in words if w not in self.text()]
        assert not missing, "never drew %s; last drawn: %r" % (missing, self.text()[-400:])

    def type(self, keys):
        os.write(self.master, keys)

    def exit_status(self, timeout=60):
        """Wait for the command to end, reading what it draws meanwhile (a full terminal blocks it)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:  # the other side closed
                    break
        return self.proc.wait(timeout=5)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        os.close(self.master)


def test_without_a_command_the_app_opens_on_the_users_ride_log_and_ctrl_q_closes_it(tmp_path):
    """The real thing in a pseudo-terminal: `softcrank` draws the app; ctrl+q ends it with 0."""
    term = Terminal([], {"XDG_DATA_HOME": str(tmp_path)})
    try:
        term.wait_for("Connect", "Therapist")
        term.type(b"\x11")  # ctrl+q
        assert term.exit_status() == 0
    finally:
        term.close()
    assert (tmp_path / "softcrank" / "ridelog.sqlite").exists()  # the user's ride log, opened (here: a temp one)


def test_the_demo_opens_the_app_on_the_virtual_trainer_and_s_starts_a_session(tmp_path):
    """The README's first command: the app, connected to the virtual trainer, the demo patient
    chosen; s starts the warm-up; ctrl+q ends it with 0, leaves the user's ride log alone and
    takes its temporary one away."""
    term = Terminal(["demo"], {"XDG_DATA_HOME": str(tmp_path), "TMPDIR": str(tmp_path)})
    try:
        term.wait_for("connected", "Demo", "Press s to start")
        assert "warm-up" not in term.text()
        term.type(b"s")
        term.wait_for("warm-up")
        term.type(b"\x11")
        assert term.exit_status() == 0
    finally:
        term.close()
    assert not (tmp_path / "softcrank" / "ridelog.sqlite").exists()
    assert list(tmp_path.rglob("demo.sqlite")) == []  # the demo's own ride log went with it


def test_the_app_demo_refuses_speed_zero(capsys):
    assert main(["demo", "--speed", "0"]) == 2
    assert "--console" in capsys.readouterr().err


def test_sim_without_the_interpreter_says_how_to_get_it(monkeypatch, capsys):
    import softcrank.boardfiles.interpreter

    monkeypatch.setattr(softcrank.boardfiles.interpreter.shutil, "which", lambda *args, **kw: None)
    assert main(["sim"]) == 1
    assert "pip install 'softcrank[sim]'" in capsys.readouterr().err


def test_sim_refuses_a_bad_scenario_before_starting_anything(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "events": [{"at_s": 5}]}')
    assert main(["sim", "--scenario", str(bad)]) == 2
    assert "events[0] must have exactly one of" in capsys.readouterr().err
