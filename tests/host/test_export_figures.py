"""What every export says of its session, and the figures agreeing across tools: the start
time, how the ride ended, the versions that made it, a partial export only when asked for,
the same share, cadence, time in band and riding time in `show`, CSV, FIT and TCX (within
their rounding), backward pedalling as docs/host.md says, and failures that are failures: a
full disk behind standard output, a stream that takes only part of a file.

The ride, the decoders and the readers are test_exports.py's (one ride for both files)."""

import io
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from tcxreader.tcxreader import TCXReader

import softcrank
from softcrank import exports
from softcrank.cli import logs as logcmds
from softcrank.cli import main
from softcrank.exports import fit as fit_export
from softcrank.exports.timeline import session_start
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import summarize, whole
from softcrank_fw import protocol as P
from test_exports import (CAPS, GOALS, _frame, decode_fit, legend_value, log, read_csv, ridden,  # noqa: F401
                          small, tcx_schema)

def test_every_export_says_when_it_started_how_it_ended_and_which_versions_made_it(log, ridden, tmp_path):
    session = ridden[1]
    row = log.session(session)
    assert row["firmware"] and row["protocol"] == P.PROTOCOL_VERSION and row["app_version"] == softcrank.__version__
    started = session_start(row).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = {fmt: tmp_path / ("ride." + fmt) for fmt in exports.FORMATS}
    for fmt, path in paths.items():
        exports.export_file(log, session, fmt, path)
    legend, _ = read_csv(paths["csv"])
    assert legend_value(legend, "started") == started and legend_value(legend, "ended") == "done"
    assert legend_value(legend, "firmware") == row["firmware"]
    assert legend_value(legend, "protocol") == str(P.PROTOCOL_VERSION)
    assert legend_value(legend, "recorded by") == legend_value(legend, "exported by") == "softcrank " + softcrank.__version__
    notes = TCXReader().read(str(paths["tcx"]), only_gps=False)
    text = paths["tcx"].read_text()
    assert "started: %s" % started in text and "ended: done" in text and "firmware: %s" % row["firmware"] in text
    assert notes.activity_type == "Biking"
    fit = decode_fit(paths["fit"].read_bytes())
    developer = fit["session_mesgs"][0]["developer_fields"]
    assert developer[fit_export.RIDE_END] == "done" and developer[fit_export.FIRMWARE] == row["firmware"]
    assert developer[fit_export.PROTOCOL] == P.PROTOCOL_VERSION
    assert developer[fit_export.RECORDED_BY] == softcrank.__version__
    major, minor = softcrank.__version__.split(".")[:2]
    assert fit["device_info_mesgs"][0]["software_version"] == pytest.approx(float("%s.%s" % (major, minor)))
    assert fit["session_mesgs"][0]["start_time"] == session_start(row)


def test_show_csv_fit_and_tcx_give_the_same_figures_for_the_same_session(log, ridden, tmp_path):
    """Share of the work (work phase), average cadence and its rounding, time in band, riding
    time: each read back from every output, equal within that output's rounding."""
    session = ridden[1]
    s = summarize(log, session)
    shown = io.StringIO()
    logcmds.show(log, SimpleNamespace(session=str(session)), out=shown)
    show = {line[:28].strip(): line[28:].strip() for line in shown.getvalue().splitlines()[1:]}
    left, right = whole(s.share_l_pct), 100 - whole(s.share_l_pct)
    assert show["share of work (work phase)"] == "left %d %%, right %d %%" % (left, right)
    assert "average %.1f rpm" % s.cadence_avg_rpm in show["cadence (pedalling)"]
    assert show["in band (pedalling)"] == "%.0f s (%d %%)" % (s.in_band_s, whole(s.in_band_pct))
    assert show["pedalling"] == "warm-up, work and cool-down"
    for fmt in exports.FORMATS:
        exports.export_file(log, session, fmt, tmp_path / ("ride." + fmt))
    legend, _ = read_csv(tmp_path / "ride.csv")
    tcx = (tmp_path / "ride.tcx").read_text()
    for text in (legend_value(legend, "share of the work"), tcx):
        assert "left %d %%, right %d %% (work phase)" % (left, right) in text
    for text in (legend_value(legend, "average cadence"), tcx):
        assert "%.1f rpm (%d whole)" % (s.cadence_avg_rpm, whole(s.cadence_avg_rpm)) in text
    for text in (legend_value(legend, "time in band"), tcx):
        assert "%.1f s, %d %%" % (s.in_band_s, whole(s.in_band_pct)) in text
    assert "<TotalTimeSeconds>%.3f</TotalTimeSeconds>" % s.riding_s in tcx
    assert "<Cadence>%d</Cadence>" % whole(s.cadence_avg_rpm) in tcx
    fit = decode_fit((tmp_path / "ride.fit").read_bytes())["session_mesgs"][0]
    assert fit["avg_cadence"] == whole(s.cadence_avg_rpm)
    assert whole((fit["left_right_balance"] & 0x3FFF) / 100) == right
    assert fit["total_timer_time"] == pytest.approx(s.riding_s, abs=0.001)
    assert fit["developer_fields"][fit_export.TIME_IN_BAND] == pytest.approx(s.in_band_s, rel=1e-6)
    assert whole(s.riding_s) // 60 == int(show["duration"].split("riding ")[1].split(":")[0])


def test_rounding_is_half_up_everywhere():
    assert [whole(x) for x in (19.5, 19.94, 20.5, 0.49, 2.5)] == [20, 20, 21, 0, 3]  # round() gives 20 and 2


@pytest.fixture
def unfinished(tmp_path):
    """A ride log whose one session is still in progress (no end yet)."""
    path = tmp_path / "open.sqlite"
    with RideLog(path) as log:
        patient = log.add_patient("Cy D", "right")
        session = log.start_session(patient, "dev-c", 7, GOALS, CAPS, "0.1.0", P.PROTOCOL_VERSION)
        frames = [_frame("E", 7, 5000, "U", "START", 0)]
        frames += [_frame("T", 7 + i, 5000 + 100 * i, "U", 150, 500, 400, 100, 60, 0) for i in range(1, 21)]
        log.add_records(session, frames)
    return str(path)


@pytest.mark.parametrize("fmt", ["csv", "fit", "tcx"])
def test_a_session_in_progress_exports_only_with_partial_and_says_so(unfinished, tmp_path, capsys, fmt):
    out = tmp_path / ("open." + fmt)
    assert main(["export", "1", "--db", unfinished, "--format", fmt, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "session 1 is still in progress" in err and "--partial" in err
    assert not out.exists() and os.listdir(tmp_path) == ["open.sqlite"]
    assert main(["export", "1", "--db", unfinished, "--format", fmt, "-o", str(out), "--partial"]) == 0
    if fmt == "csv":
        assert legend_value(read_csv(out)[0], "ended").startswith("in progress (partial export")
    elif fmt == "fit":
        ride_end = decode_fit(out.read_bytes())["session_mesgs"][0]["developer_fields"][fit_export.RIDE_END]
        assert ride_end.startswith("in progress (partial export")
    else:
        tcx_schema().validate(str(out))
        assert "ended: in progress (partial export" in out.read_text()


@pytest.mark.parametrize("fmt", ["csv", "fit", "tcx"])
def test_standard_output_on_a_full_disk_is_one_line_and_a_failure(small, fmt):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "softcrank", "export", "2", "--db", small, "--format", fmt],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "No space left on device" in proc.stderr


def test_a_stream_that_takes_only_part_of_the_file_is_an_error_not_a_short_file(log, ridden):
    """A raw pipe that is full writes short (here: non-blocking, nobody reading, 4 KiB): the
    export raises instead of leaving a FIT file cut short that looks whole."""
    import fcntl

    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
        os.set_blocking(write_end, False)
        with open(write_end, "wb", buffering=0, closefd=False) as raw:
            with pytest.raises(OSError):
                exports.export(log, ridden[1], "fit", raw)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_backward_pedalling_is_exported_as_docs_host_md_says(tmp_path):
    """3 s forward at 20 rpm, then 3 s backward at 10 rpm, in the work phase: FIT and TCX carry
    |cadence| and its power, CSV keeps the sign, and every file says how long it lasted."""
    path = tmp_path / "back.sqlite"
    with RideLog(path) as log:
        session = log.start_session(log.add_patient("Di E", "left"), "dev-d", 0, GOALS, CAPS)
        frames = [_frame("E", 0, 1000, "W", "START", 0)]
        for i in range(1, 61):
            cad = 200 if i <= 30 else -100
            frames.append(_frame("T", i, 1000 + 100 * i, "W", cad, 500, 400, 100, 60, 0))
        log.add_records(session, frames)
        log.end_session(session, "D")
        s = summarize(log, session)
        assert s.backward_s == pytest.approx(3.0)
        for fmt in exports.FORMATS:
            exports.export_file(log, session, fmt, tmp_path / ("back." + fmt))
    legend, rows = read_csv(tmp_path / "back.csv")
    assert [float(r["cadence_rpm"]) for r in rows] == [20.0] * 30 + [-10.0] * 30
    assert legend_value(legend, "backward pedalling").startswith("3.0 s, counted as pedalling")
    fit = decode_fit((tmp_path / "back.fit").read_bytes())
    assert [r["cadence"] for r in fit["record_mesgs"]][-2:] == [10, 10]
    assert all(r["power"] > 0 for r in fit["record_mesgs"])  # backward pedalling has its power
    assert fit["session_mesgs"][0]["developer_fields"][fit_export.BACKWARD] == pytest.approx(3.0)
    tcx = (tmp_path / "back.tcx").read_text()
    assert "<Cadence>10</Cadence>" in tcx and "backward pedalling: 3.0 s" in tcx
