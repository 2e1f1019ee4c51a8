"""The CLI's bad paths (issue 16 item 3, issue 20 item 4): each gives one line naming what the
user gave, a non-zero exit and nothing half-written; a closed pipe is a quiet exit 0."""

import os
import sqlite3
import subprocess
import sys

import pytest

from softcrank.cli import main
from softcrank.exports import remove_leftovers

from test_logcmds import db  # noqa: F401  (the fixture: one patient, one 60 s session)


def one_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_db_on_a_missing_file_is_refused_and_nothing_is_created(tmp_path, capsys):
    missing = tmp_path / "typo.sqlite"
    for argv in (["sessions"], ["show", "1"], ["export", "1", "--format", "csv"], ["patients"],
                 ["ride", "--patient", "Ann B", "--port", "loop://"]):
        assert main([*argv, "--db", str(missing)]) == 1, argv
        line = one_line(capsys.readouterr().err)
        assert "no ride log at %s" % missing in line and "nothing was created" in line
        assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_patients_add_creates_the_log_it_is_given(tmp_path, capsys):
    new = tmp_path / "new.sqlite"
    assert main(["patients", "--db", str(new), "--add", "Ann B", "--side", "right"]) == 0
    assert new.exists() and "added patient 1" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["show", "export"])
def test_a_20_digit_session_number_is_a_clear_error(db, command, capsys):  # noqa: F811
    number = "9" * 20
    argv = [command, number, "--db", db] + (["--format", "csv"] if command == "export" else [])
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert number in line and "Traceback" not in line


def test_a_locked_log_is_called_locked_not_damaged(db, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr("softcrank.store.ridelog._BUSY_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["sessions", "--db", db]) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = one_line(capsys.readouterr().err)
    assert "is locked by another program" in line and db in line and "damaged" not in line


def test_a_read_only_log_is_called_read_only_not_damaged(db, tmp_path, capsys, monkeypatch):  # noqa: F811
    os.chmod(db, 0o444)
    os.chmod(tmp_path, 0o555)
    if os.geteuid() == 0:  # permissions do not stop root: SQLite's own read-only mode, as for a user
        connect = sqlite3.connect
        monkeypatch.setattr("softcrank.store.ridelog.sqlite3.connect",
                            lambda path, **kw: connect("file:%s?mode=ro" % path, uri=True, **kw))
    try:
        assert main(["sessions", "--db", db]) == 0  # reading a read-only log works
        assert "Ann B" in capsys.readouterr().out
        assert main(["patients", "--db", db, "--add", "Bo C", "--side", "left"]) == 1
    finally:
        os.chmod(tmp_path, 0o755)
    line = one_line(capsys.readouterr().err)
    assert "is read-only" in line and db in line and "damaged" not in line


def test_a_write_error_names_the_users_path_not_the_temporary_file(db, tmp_path, capsys):  # noqa: F811
    target = tmp_path / "no-such-folder" / "ride.csv"
    assert main(["export", "1", "--db", db, "--format", "csv", "-o", str(target)]) == 1
    line = one_line(capsys.readouterr().err)
    assert str(target) in line and ".part" not in line


def test_output_on_a_symlink_writes_through_it_and_keeps_the_link(db, tmp_path):  # noqa: F811
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert main(["export", "1", "--db", db, "--format", "csv", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("#") or "cad" in real.read_text()
    assert real.read_text() != "old\n" and not list(tmp_path.glob(".*.part"))


def test_an_export_removes_what_killed_exports_left_and_only_that(db, tmp_path):  # noqa: F811
    out = tmp_path / "ride.csv"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftovers = [tmp_path / (".ride.csv.%d.abc123_x.part" % dead.pid), tmp_path / ".ride.csv.k2j3h4_9.part"]
    running = tmp_path / (".ride.csv.%d.zzzzzzzz.part" % os.getppid())  # a live process's export
    other = tmp_path / ".other.csv.1.abcdefgh.part"  # another file's: not ours to touch
    for path in leftovers + [running, other]:
        path.write_text("half")
    assert main(["export", "1", "--db", db, "--format", "csv", "-o", str(out)]) == 0
    assert out.exists() and not any(p.exists() for p in leftovers)
    assert running.exists() and other.exists()
    assert remove_leftovers(out) == []


def test_an_export_killed_while_writing_leaves_a_leftover_the_next_one_removes(db, tmp_path):  # noqa: F811
    out = tmp_path / "ride.fit"
    code = ("import os, signal, sys\n"
            "from softcrank import exports\n"
            "real = exports.FORMATS['fit']\n"
            "def dying(*a):\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "exports.FORMATS['fit'] = dying\n"
            "from softcrank.cli import main\n"
            "main(['export', '1', '--db', sys.argv[1], '--format', 'fit', '-o', sys.argv[2]])\n")
    killed = subprocess.run([sys.executable, "-c", code, db, str(out)])
    assert killed.returncode == -9
    assert len(list(tmp_path.glob(".ride.fit.*.part"))) == 1 and not out.exists()
    assert main(["export", "1", "--db", db, "--format", "fit", "-o", str(out)]) == 0
    assert out.exists() and list(tmp_path.glob(".ride.fit.*.part")) == []


@pytest.mark.parametrize("argv", [["show", "1"], ["sessions"], ["export", "1", "--format", "csv"]])
def test_a_closed_pipe_is_a_quiet_exit_0(db, argv):  # noqa: F811
    command = "%s -m softcrank %s --db %s | head -c 1 >/dev/null" % (sys.executable, " ".join(argv), db)
    out = subprocess.run(["bash", "-c", "set -o pipefail; " + command], capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr == "", out
