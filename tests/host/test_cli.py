"""The `softcrank` command line: help that tells the truth, clear errors for bad input."""

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


def test_without_a_command_the_help_is_shown(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_sim_without_the_interpreter_says_how_to_get_it(monkeypatch, capsys):
    import softcrank.interpreter

    monkeypatch.setattr(softcrank.interpreter.shutil, "which", lambda *args, **kw: None)
    assert main(["sim"]) == 1
    assert "pip install 'softcrank[sim]'" in capsys.readouterr().err


def test_sim_refuses_a_bad_scenario_before_starting_anything(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "events": [{"at_s": 5}]}')
    assert main(["sim", "--scenario", str(bad)]) == 2
    assert "events[0] must have exactly one of" in capsys.readouterr().err
