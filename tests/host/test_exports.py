"""Exports round-trip: a session ridden on the virtual trainer (the real firmware, over the
pseudo-terminal and the host's link, into the ride log by the Recorder) is exported as FIT,
TCX and CSV, and read back with independent readers: every FIT file with Garmin's FIT SDK
decoder, fitdecode and fitparse (errors and warnings fail the test); every TCX file validated
against TrainingCenterDatabase v2's structure (tests/host/tcx/, with xmlschema) and parsed by
tcxreader; CSV with the csv module, its legend lines read as well.

What each format keeps, and so what is checked:
- CSV: every sample; its re-read totals (revolutions, work) are the summary's within the
  0.1 rpm / 0.01 W printing resolution;
- FIT: one record per second covered by samples (timeline.py); each record's cadence as
  whole rpm half up and exact in a developer field, power within 0.5 W and balance within
  0.5 % of the second's samples; the last
  record's running work and revolutions and the session's totals are the summary's, rounded
  to whole joules and revolutions (and milliseconds for times);
- TCX: the same seconds as trackpoints, cadence and watts rounded to whole numbers.
"""

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import fitdecode
import fitparse
import pytest
import xmlschema
from garmin_fit_sdk import Decoder, Profile, Stream
from tcxreader.tcxreader import TCXReader

from softcrank import exports
from softcrank.cli import main
from softcrank.sim.demo import DEMO_KEY, signed_demo_caps
from softcrank.exports import fit as fit_export
from softcrank.exports.timeline import session_start, timeline
from softcrank.trainer.link import Link
from softcrank.trainer.recorder import Recorder
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import CRANK_LENGTH_M, MAX_SAMPLE_STEP_MS, pedal_power_w, summarize, whole
from softcrank.sim.virtual_board import VirtualBoard
from softcrank_fw import protocol as P

SPEED = 20  # virtual time runs 20 times real time: the 3.5-minute ride takes about 11 s
RATE_HZ = 25  # several samples a second, so the one-second points really aggregate
CAPS = [20, 15, 30, 250, 5, 60, 60, 250]  # 1 min warm-up, 1 min cool-down
GOALS = [1, 15, 25, 15]  # 1 min of work
SCENARIO = {"format": 1, "name": "export", "description": "a spasm in the work phase",
            "rider": {"cadence_rpm": 18},
            "events": [{"at_s": 75, "spasm": {"side": "left", "force_n": 400, "duration_s": 1}}]}


def ride_on_the_virtual_trainer(tmp_path, log: RideLog) -> int:
    """Ride one session (warm-up, work with a spasm and a pause, cool-down), recorded into the
    ride log by the Recorder, as `softcrank ride` does."""
    scenario = tmp_path / "export.json"
    scenario.write_text(json.dumps(SCENARIO))
    ended = threading.Event()

    def on_session(session, what):
        if what == "ended":
            ended.set()

    recorder = Recorder(log, log.add_patient("Ann B", "right"), on_session=on_session)
    timings = dict(heartbeat_s=0.5 / SPEED, silence_s=9 / SPEED, answer_timeout_s=max(6 / SPEED, 0.1))
    with VirtualBoard(scenario=str(scenario), speed=SPEED, key=DEMO_KEY) as board:
        with Link(board.port, **recorder.link_callbacks(), **timings) as link:
            link.command("CAPS", *signed_demo_caps(link, CAPS))
            link.command("GOALS", *GOALS)
            link.command("RATE", RATE_HZ)
            link.command("START")
            paused = False
            deadline = time.monotonic() + 4 * 240 / SPEED
            while not ended.is_set() and time.monotonic() < deadline:
                t = link.wait_latest(0.5)
                if t is not None and not paused and t["state"] == "W" and t["left_s"] <= 30:
                    link.command("PAUSE")  # the rider needs a break
                    time.sleep(5 / SPEED)
                    link.command("RESUME")
                    paused = True
            assert ended.is_set(), "the session did not finish"
    assert recorder.last_session_id is not None and recorder.lost == []
    return recorder.last_session_id


@pytest.fixture(scope="session")
def ridden(tmp_path_factory):
    """(ride log path, session id): one real ride, shared by the round-trip tests here and in
    test_export_figures.py."""
    folder = tmp_path_factory.mktemp("ride")
    path = folder / "ridelog.sqlite"
    with RideLog(path) as log:
        session = ride_on_the_virtual_trainer(folder, log)
    return path, session


@pytest.fixture
def log(ridden):
    with RideLog(ridden[0]) as log:
        yield log


def by_second(log, session):
    """What the one-second points should hold, worked out here from the samples themselves."""
    seconds = defaultdict(list)
    for sample, elapsed_ms, _ in timeline(log, session):
        seconds[elapsed_ms // 1000].append(sample)
    return {k: {"cadence": sum(abs(s.cad_drpm) for s in v) / 10 / len(v),
                "force_l": sum(s.force_l_dn for s in v) / 10 / len(v),
                "force_r": sum(s.force_r_dn for s in v) / 10 / len(v),
                "left": sum(pedal_power_w(s)[0] for s in v) / len(v),
                "right": sum(pedal_power_w(s)[1] for s in v) / len(v)}
            for k, v in sorted(seconds.items())}


def decode_fit(data: bytes):
    """Garmin's decoder's messages, once fitdecode and fitparse read the file too: each must
    read every message without an error or a warning, and see what Garmin's sees."""
    assert Decoder(Stream.from_byte_array(bytearray(data))).is_fit()
    assert Decoder(Stream.from_byte_array(bytearray(data))).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fitdecode and fitparse warn about what they cannot read
        with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE,
                                 error_handling=fitdecode.ErrorHandling.RAISE) as reader:
            fd = [frame for frame in reader if isinstance(frame, fitdecode.FitDataMessage)]
        fp = list(fitparse.FitFile(data, check_crc=True).get_messages())
    for decoded in (fd, fp):
        names = [m.name for m in decoded]
        assert names.count("record") == len(messages["record_mesgs"])
        assert names.count("session") == names.count("lap") == names.count("activity") == 1
    session_fd = next(m for m in fd if m.name == "session")
    session_fp = next(m for m in fp if m.name == "session").get_values()
    for name in ("ride_end", "total_timer_time", "avg_cadence", "total_work"):
        if name in messages["session_mesgs"][0] or name == "ride_end":
            assert session_fd.get_value(name) == session_fp[name]
    return messages


TCX_SCHEMA_DIR = Path(__file__).parent / "tcx"


def tcx_schema() -> xmlschema.XMLSchema:
    """TrainingCenterDatabase v2 with Garmin's ActivityExtension v2: the elements the export
    writes, as Garmin's schemas define them (tcx/README.md says why these are not Garmin's files)."""
    schema = xmlschema.XMLSchema(str(TCX_SCHEMA_DIR / "tcx_v2.xsd"), build=False)
    schema.import_schema("http://www.garmin.com/xmlschemas/ActivityExtension/v2",
                         str(TCX_SCHEMA_DIR / "activity_extension_v2.xsd"))
    schema.build()
    return schema


def read_csv(path):
    """(legend lines without their "# ", rows as dicts): the csv module reads the rows."""
    with open(path, newline="", encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    legend = [line[2:].rstrip("\r\n") for line in lines if line.startswith(exports.csvfile.LEGEND_PREFIX)]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    return legend, rows


def legend_value(legend, name):
    return next(line.split(": ", 1)[1] for line in legend if line.startswith(name + ": "))


# ----- the ride itself -----------------------------------------------------------------------

def test_the_ride_has_every_phase_a_spasm_and_a_pause(log, ridden):
    session = ridden[1]
    s = summarize(log, session)
    states = {sample.state for sample in log.samples(session)}
    assert {"U", "W", "R", "P", "C"} <= states
    assert s.records_missing == 0 and s.events["SPASM"] >= 1 and s.events["PAUSE"] == 1
    assert s.samples > 180 * RATE_HZ  # 3 minutes and more at 25 Hz
    assert s.work_l_j > s.work_r_j > 0  # the virtual rider's right leg is the weaker


# ----- FIT -----------------------------------------------------------------------------------

def test_fit_decodes_with_garmins_sdk_and_keeps_every_second(log, ridden, tmp_path):
    session = ridden[1]
    path = tmp_path / "ride.fit"
    records = exports.export_file(log, session, "fit", path)
    fit = decode_fit(path.read_bytes())
    expected = by_second(log, session)
    start = session_start(log.session(session))

    assert [len(fit[m]) for m in ("file_id_mesgs", "device_info_mesgs", "lap_mesgs", "session_mesgs",
                                  "activity_mesgs")] == [1, 1, 1, 1, 1]
    assert fit["file_id_mesgs"][0]["type"] == "activity"
    assert (fit["session_mesgs"][0]["sport"], fit["session_mesgs"][0]["sub_sport"]) == ("cycling", "indoor_cycling")
    assert records == len(fit["record_mesgs"]) == len(expected)  # one record per second covered
    for record, (k, want) in zip(fit["record_mesgs"], expected.items()):
        assert record["timestamp"] == start + timedelta(seconds=k)
        assert record["cadence"] == whole(want["cadence"])  # half up, as TCX and show round
        assert record["developer_fields"][fit_export.CADENCE] == pytest.approx(want["cadence"], rel=1e-6)
        power = want["left"] + want["right"]
        assert abs(record["power"] - power) <= 0.5
        if power > 0:
            assert record["left_right_balance"] & 0x80  # FIT's "right" bit: the low 7 bits are the right's %
            assert abs((record["left_right_balance"] & 0x7F) - 100 * want["right"] / power) <= 0.5
        else:
            assert "left_right_balance" not in record
        forces = record["developer_fields"]  # float32: 7 significant digits
        assert (forces[fit_export.FORCE_LEFT], forces[fit_export.FORCE_RIGHT]) == (
            pytest.approx(want["force_l"], rel=1e-6, abs=1e-4), pytest.approx(want["force_r"], rel=1e-6, abs=1e-4))
    names = {d["field_definition_number"]: (d["field_name"], d.get("units", "")) for d in fit["field_description_mesgs"]}
    assert names == {number: (f["field_description_mesg"]["field_name"], f["field_description_mesg"]["units"])
                     for number, f in fit_export.DEVELOPER_FIELDS.items()}
    assert names[fit_export.SYMMETRY_INDEX] == ("work_phase_symmetry_index", "%")  # the phase in the name
    # The FIT profile's fit_base_type values (float32 is 136), which fitdecode and fitparse look up.
    profile = Profile["types"]["fit_base_type"]
    assert {profile.get(d["fit_base_type_id"]) for d in fit["field_description_mesgs"]} == {"float32", "string", "uint8"}
    assert any(r["power"] > 0 and r["developer_fields"][fit_export.CADENCE] % 1 for r in fit["record_mesgs"])


def test_fit_totals_are_the_summarys(log, ridden):
    session = ridden[1]
    out = io.BytesIO()
    exports.export(log, session, "fit", out)
    fit = decode_fit(out.getvalue())
    s = summarize(log, session)
    work = s.work_l_j + s.work_r_j
    last = fit["record_mesgs"][-1]
    assert last["accumulated_power"] == whole(work) and last["total_cycles"] == whole(s.revolutions)
    for totals in fit["session_mesgs"][0], fit["lap_mesgs"][0]:
        assert totals["total_elapsed_time"] == pytest.approx(s.duration_s, abs=0.001)
        assert totals["total_timer_time"] == pytest.approx(s.riding_s, abs=0.001)
        assert totals["total_work"] == whole(work) and totals["total_cycles"] == whole(s.revolutions)
        assert totals["avg_cadence"] == whole(s.cadence_avg_rpm) and totals["max_cadence"] == whole(s.cadence_peak_rpm)
        assert "avg_fractional_cadence" not in totals  # FIT adds it to a cadence rounded down
        assert totals["avg_power"] == whole(work / s.riding_s)
        assert totals["max_power"] == max(r["power"] for r in fit["record_mesgs"])
        assert totals["left_right_balance"] & 0x8000  # the work phase's share, as show has it
        assert (totals["left_right_balance"] & 0x3FFF) / 100 == pytest.approx(s.share_r_pct, abs=0.005)
    developer = fit["session_mesgs"][0]["developer_fields"]
    assert developer[fit_export.SYMMETRY_INDEX] == pytest.approx(s.symmetry_index, rel=1e-6)
    assert developer[fit_export.SHARE_LEFT] == pytest.approx(s.share_l_pct, rel=1e-6)
    assert developer[fit_export.AVG_CADENCE] == pytest.approx(s.cadence_avg_rpm, rel=1e-6)
    assert developer[fit_export.TIME_IN_BAND] == pytest.approx(s.in_band_s, rel=1e-6)
    assert developer[fit_export.RIDE_END] == "done"
    assert fit["activity_mesgs"][0]["num_sessions"] == 1


def test_fit_stops_the_timer_for_the_pause(log, ridden):
    session = ridden[1]
    out = io.BytesIO()
    exports.export(log, session, "fit", out)
    timer = [(e["event_type"], e["timestamp"]) for e in decode_fit(out.getvalue())["event_mesgs"]
             if e["event"] == "timer"]
    assert [kind for kind, _ in timer] == ["start", "stop", "start", "stop_all"]
    assert 3 <= (timer[2][1] - timer[1][1]).total_seconds() <= 7  # the 5 s pause, to whole seconds


# ----- TCX -----------------------------------------------------------------------------------

def test_tcx_validates_against_training_center_v2s_structure(log, ridden):
    out = io.BytesIO()
    exports.export(log, ridden[1], "tcx", out)
    schema = tcx_schema()
    schema.validate(io.BytesIO(out.getvalue()))
    # The check can fail: a cadence above CadenceValue_t's 254, an element out of order.
    text = out.getvalue().decode()
    assert not schema.is_valid(text.replace("<Cadence>", "<Cadence>9", 1))
    assert not schema.is_valid(text.replace("<Intensity>Active</Intensity>\n", "").replace(
        "<Calories>0</Calories>", "<Calories>0</Calories><Intensity>Active</Intensity><Intensity>Active</Intensity>"))


def test_tcx_parses_with_tcxreader_with_a_trackpoint_a_second(log, ridden, tmp_path):
    session = ridden[1]
    path = tmp_path / "ride.tcx"
    points = exports.export_file(log, session, "tcx", path)
    tcx_schema().validate(str(path))
    tcx = TCXReader().read(str(path), only_gps=False)
    expected = by_second(log, session)
    s = summarize(log, session)
    assert tcx.activity_type == "Biking" and len(tcx.laps) == 1
    assert points == len(tcx.trackpoints) == len(expected)
    start = session_start(log.session(session)).replace(tzinfo=None)
    for point, (k, want) in zip(tcx.trackpoints, expected.items()):
        assert point.time.replace(tzinfo=None) == start + timedelta(seconds=k)
        assert point.cadence == whole(want["cadence"])
        assert point.tpx_ext["Watts"] == whole(want["left"] + want["right"])
    assert tcx.duration == list(expected)[-1] - list(expected)[0]
    lap = tcx.laps[0].lx_ext
    assert lap["AvgWatts"] == whole((s.work_l_j + s.work_r_j) / s.riding_s)
    assert lap["MaxWatts"] == max(p.tpx_ext["Watts"] for p in tcx.trackpoints)
    assert lap["MaxBikeCadence"] == whole(s.cadence_peak_rpm)


# ----- CSV -----------------------------------------------------------------------------------

def test_csv_has_every_sample_with_units_and_its_totals_are_the_summarys(log, ridden, tmp_path):
    session = ridden[1]
    path = tmp_path / "ride.csv"
    assert exports.export_file(log, session, "csv", path) == summarize(log, session).samples
    legend, rows = read_csv(path)
    s = summarize(log, session)
    # The legend explains every code the rows use: each state letter and each flag bit.
    states = {line.split(":")[0].split()[1] for line in legend if line.startswith("state ")}
    assert {r["state"] for r in rows} <= states
    bits = {int(line.split(":")[0].split()[1]) for line in legend if line.startswith("flag ")}
    assert all(int(r["flags"]) & ~sum(bits) == 0 for r in rows) and any(int(r["flags"]) for r in rows)
    assert {line.split(":")[0].split()[1] for line in legend if line.startswith("column ")} == set(rows[0])
    events = {line.split(":")[0].split()[1] for line in legend if line.startswith("event ")}
    assert events == {e.event for e in log.events(session)}
    assert len(rows) == s.samples
    assert list(rows[0]) == list(exports.csvfile.COLUMNS)
    assert [int(r["rec"]) for r in rows] == [sample.rec for sample in log.samples(session)]
    times = [float(r["time_s"]) for r in rows]
    steps = [min(b - a, MAX_SAMPLE_STEP_MS / 1000) for a, b in zip(times, times[1:])]
    steps.append(steps[-1])  # the last sample stands for as long as the one before it
    revolutions = sum(abs(float(r["cadence_rpm"])) / 60 * dt for r, dt in zip(rows, steps))
    work = sum((float(r["power_left_w"]) + float(r["power_right_w"])) * dt for r, dt in zip(rows, steps))
    assert revolutions == pytest.approx(s.revolutions, abs=1e-6)  # cadence is exact at 0.1 rpm
    assert work == pytest.approx(s.work_l_j + s.work_r_j, abs=0.005 * len(rows) / RATE_HZ)


# ----- edge cases ----------------------------------------------------------------------------

@pytest.fixture
def small(tmp_path):
    """A ride log with an empty session (1) and a 3-second one (2) that crosses the 2**30 ms wrap."""
    path = tmp_path / "small.sqlite"
    with RideLog(path) as log:
        patient = log.add_patient("Bo C", "left")
        log.end_session(log.start_session(patient, "dev-a", 0, GOALS, CAPS), None)
        t0 = P.REC_MODULO - 1500
        session = log.start_session(patient, "dev-b", 7, GOALS, CAPS)
        frames = [_frame("E", 7, t0, "U", "START", 0)]
        for i in range(1, 31):
            frames.append(_frame("T", 7 + i, (t0 + 100 * i) % P.REC_MODULO, "U", 200, 600, 300, 100, 60, 0))
        log.add_records(session, frames)
        log.end_session(session, "D")
    return str(path)


def files(folder):
    """The files in a folder, less the ride log's."""
    return sorted(name for name in os.listdir(folder) if not name.startswith("small.sqlite"))


def _frame(type_, rec, *values):
    from softcrank.frames import parse

    return parse(P.encode(type_, rec % P.SEQ_MODULO, [rec, *values]))


def test_time_crossing_the_device_clock_wrap_runs_on(small, tmp_path):
    with RideLog(small) as log:
        times = [elapsed for _, elapsed, _ in timeline(log, 2)]
        out = io.BytesIO()
        exports.export(log, 2, "fit", out)
    assert times == [100 * i for i in range(1, 31)]
    records = decode_fit(out.getvalue())["record_mesgs"]
    assert len(records) == 4  # seconds 0 (9 samples), 1, 2 (10 each) and 3 (the last one)
    assert [r["cadence"] for r in records] == [20] * 4


@pytest.mark.parametrize("fmt", ["fit", "tcx"])
def test_an_empty_session_is_a_clear_error_as_fit_or_tcx_and_writes_nothing(small, tmp_path, capsys, fmt):
    out = tmp_path / ("empty." + fmt)
    assert main(["export", "1", "--db", small, "--format", fmt, "-o", str(out)]) == 2
    assert "session 1 has no samples" in capsys.readouterr().err
    assert not out.exists() and not [name for name in os.listdir(tmp_path) if name.endswith(".part")]


def test_an_empty_session_as_csv_is_the_header_alone(small, tmp_path):
    out = tmp_path / "empty.csv"
    assert main(["export", "1", "--db", small, "--format", "csv", "-o", str(out)]) == 0
    legend, rows = read_csv(out)
    assert rows == [] and out.read_text().splitlines()[-1] == ",".join(exports.csvfile.COLUMNS)
    assert legend_value(legend, "ended") == "link lost"  # ended without its end seen


@pytest.mark.parametrize("key", ["42", "x"])
def test_a_session_that_does_not_exist_is_a_clear_error_and_no_file(small, tmp_path, capsys, key):
    out = tmp_path / "none.fit"
    assert main(["export", key, "--db", small, "--format", "fit", "-o", str(out)]) == 2
    assert "no session %r" % key in capsys.readouterr().err
    assert not out.exists()


def test_an_unwritable_path_is_a_clear_error_and_leaves_nothing(small, tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    for target in (tmp_path / "a-file" / "ride.fit", tmp_path / "no-such-folder" / "ride.tcx", tmp_path):
        assert main(["export", "2", "--db", small, "--format", "fit", "-o", str(target)]) == 1
        assert "softcrank export:" in capsys.readouterr().err
    assert files(tmp_path) == ["a-file"]  # no temporary file left


def test_a_failed_export_keeps_the_old_file_whole(small, tmp_path, monkeypatch):
    out = tmp_path / "ride.fit"
    out.write_bytes(b"the export of last week")

    def broken(ridelog, session_id, stream, partial):
        stream.write(b"half a fi")
        raise OSError("disk full")

    monkeypatch.setitem(exports.FORMATS, "fit", broken)  # a disk that fills up mid-write
    with RideLog(small) as log, pytest.raises(OSError, match="disk full"):
        exports.export_file(log, 2, "fit", out)
    assert out.read_bytes() == b"the export of last week"
    assert files(tmp_path) == ["ride.fit"]


def test_fit_to_a_terminal_is_refused_and_text_formats_go_to_stdout(small):
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "softcrank", "export", "2", "--db", small, "--format", "fit"],
                              stdout=slave, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2 and "give -o FILE" in proc.stderr
    piped = subprocess.run([sys.executable, "-m", "softcrank", "export", "2", "--db", small, "--format", "fit"],
                           capture_output=True, timeout=60)
    assert piped.returncode == 0 and len(decode_fit(piped.stdout)["record_mesgs"]) == 4
    tcx = subprocess.run([sys.executable, "-m", "softcrank", "export", "2", "--db", small, "--format", "tcx"],
                         capture_output=True, text=True, timeout=60)
    assert tcx.returncode == 0 and tcx.stdout.count("<Trackpoint>") == 4


def test_the_cli_offers_exactly_the_formats_there_are():
    from softcrank.cli import build_parser

    export = build_parser()._subparsers._group_actions[0].choices["export"]
    fmt = next(a for a in export._actions if a.dest == "format")
    assert list(fmt.choices) == list(exports.FORMATS)
    text = export.format_help()
    assert all(name in text for name in ("csv", "fit", "tcx", "estimate", "%.2f m crank" % CRANK_LENGTH_M))


def test_the_docs_name_the_csv_columns_and_the_crank_length_the_code_uses():
    text = (Path(__file__).resolve().parents[2] / "docs" / "host.md").read_text()
    assert "`%s`" % ", ".join(exports.csvfile.COLUMNS) in text
    assert "CRANK_LENGTH_M = %.2f m" % CRANK_LENGTH_M in text

