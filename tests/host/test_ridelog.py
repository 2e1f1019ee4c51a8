"""The ride log keeps every record exactly once, survives a crash, and refuses what it cannot trust.

One suite, two back ends: every test that takes `log` or `target` runs on a SQLite file and on
a PostgreSQL clinic store (a real server, tests/conftest.py's pg_server). The tests that take
only `path` are about the file itself (SQLite's header, WAL, PRAGMA user_version)."""

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from softcrank.store import ridelog as R
from softcrank.frames import Frame, parse
from softcrank.store.opening import open_store
from softcrank.store.ridelog import Gap, RideLog, RideLogError, default_path
from softcrank_fw import protocol as P

CAPS = [20, 15, 30, 250, 5, 300, 180, 250]  # the firmware's defaults
GOALS = [10, 15, 25, 10]
WRAP = P.REC_MODULO  # record numbers wrap here


def sample(rec, t_ms=None, state="W", cad=200, left=1000, right=1000, res=100, left_s=60, flags=0):
    """A T frame as the link receives it (encoded and decoded by the protocol module)."""
    t_ms = rec * 100 % WRAP if t_ms is None else t_ms
    return parse(P.encode("T", rec % P.SEQ_MODULO, [rec, t_ms, state, cad, left, right, res, left_s, flags]))


def event(rec, name, t_ms=None, state="W", arg=0):
    t_ms = rec * 100 % WRAP if t_ms is None else t_ms
    return parse(P.encode("E", rec % P.SEQ_MODULO, [rec, t_ms, state, name, arg]))


def recs(first, count):
    return [(first + i) % WRAP for i in range(count)]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ride.sqlite"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, path):
    """The store under test: a SQLite file, or a fresh database on the PostgreSQL test server."""
    return str(path) if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def log(target):
    with open_store(target, batch_size=10, max_delay_s=3600) as log:  # commits by count only, unless a test says
        yield log


def count_samples(target):
    """What another connection sees committed."""
    with open_store(target) as other:
        return other._read("SELECT COUNT(*) FROM samples")[0][0]


@pytest.fixture
def patient(log):
    return log.add_patient("P-001", "left", "foot drop after a stroke")


def new_session(log, patient, start_rec=1000, device="e6614103e7452d2f"):
    return log.start_session(patient, device, start_rec, GOALS, CAPS)


def stored_recs(log, session):
    return [s.rec for s in log.samples(session)]


# --- the file -------------------------------------------------------------------------------

def test_a_new_file_gets_the_current_schema_in_wal_mode(path):
    RideLog(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION == len(R.MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA application_id").fetchone()[0] == R.APPLICATION_ID
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"patients", "caps_history", "sessions", "samples", "events"} <= tables


def test_the_tables_store_every_field_the_protocol_defines(path):
    """A new field in T, E, CAPS or GOALS fails here until a migration stores it."""
    RideLog(path).close()
    db = sqlite3.connect(path)

    def columns(table):
        return [row[1] for row in db.execute("PRAGMA table_info(%s)" % table)]

    assert columns("samples") == ["session_id", "rec", "pos"] + [n for n, _ in P.DEVICE_MESSAGES["T"] if n != "rec"]
    assert columns("events") == ["session_id", "rec", "pos"] + [n for n, _ in P.DEVICE_MESSAGES["E"] if n != "rec"]
    caps = [name for name, _ in P.CAPS_FIELDS if name != "patient"]  # whose: the row's patient_id
    assert [c for c in columns("caps_history") if c in caps] == caps
    assert [c for c in columns("sessions") if c in caps] == caps
    goals = [name for name, _ in P.GOALS_FIELDS]
    assert [c for c in columns("sessions") if c in goals] == goals


def test_foreign_keys_are_enforced(log):
    with pytest.raises(RideLogError, match="no patient 99"):
        log.start_session(99, "dev", 0, GOALS, CAPS)
    with pytest.raises(sqlite3.IntegrityError):  # the database itself refuses too
        log._db.execute("INSERT INTO caps_history (patient_id, set_at, set_by, %s) VALUES (99, '', 'x', %s)"
                        % (", ".join(R.CAP_NAMES), ", ".join(map(str, CAPS))))


def test_an_older_file_is_upgraded_in_place_and_keeps_its_data(path):
    """A version 1 file with two unfinished sessions on one device (v2 allows only one)."""
    db = sqlite3.connect(path, isolation_level=None)
    R.MIGRATIONS[0](db, "2025-01-01T00:00:00.000+00:00")
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO patients VALUES (1, 'Anna', 'right', '', '2025-01-01')")
    for session in (1, 2):
        db.execute("INSERT INTO sessions (id, patient_id, device_id, started_at, start_rec, %s, %s) "
                   "VALUES (?, 1, 'dev', '2025-01-0%d', 0, %s)"
                   % (", ".join(R.GOAL_NAMES), ", ".join(R.CAP_NAMES[:7]), session, ", ".join(map(str, GOALS + CAPS[:7]))),
                   (session,))
    db.execute("INSERT INTO samples VALUES (2, 5, 5, 500, 'W', 200, 1000, 900, 100, 60, 8)")
    db.close()

    with RideLog(path, clock=lambda: "2025-02-01T00:00:00.000+00:00") as log:
        assert log.patients()[0]["name"] == "Anna"
        first, second = log.sessions()
        assert first["ended_at"] == "2025-02-01T00:00:00.000+00:00" and first["end_state"] is None
        assert log.open_session("dev")["id"] == second["id"] == 2
        assert [s.rec for s in log.samples(2)] == [5]
        assert log.session(2)["caps"]["spasm_r_n"] == CAPS[3]  # v6: the one threshold became both legs'
        assert log.session(2)["notes"] == ""  # v11: notes, empty for every older session
        with pytest.raises(RideLogError, match="still has session 2 open"):
            log.start_session(1, "dev", 10, GOALS, CAPS)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION


def test_a_migration_that_fails_leaves_the_file_at_its_old_version(path, monkeypatch):
    RideLog(path).close()
    before = path.read_bytes()

    def broken(db, now):
        db.execute("ALTER TABLE patients ADD COLUMN height_cm INTEGER")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(R, "MIGRATIONS", R.MIGRATIONS + (broken,))
    monkeypatch.setattr(R, "SCHEMA_VERSION", len(R.MIGRATIONS))
    with pytest.raises(RideLogError, match="upgrading the ride log .*disk I/O error"):
        RideLog(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION - 1
    assert "height_cm" not in [row[1] for row in db.execute("PRAGMA table_info(patients)")]
    db.close()
    assert path.read_bytes() == before


def test_a_file_from_a_newer_softcrank_is_refused_and_left_as_it_is(path):
    RideLog(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = %d" % (R.SCHEMA_VERSION + 1))
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(RideLogError, match="newer softcrank.*upgrade softcrank"):
        RideLog(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [
    b"name,side\nAnna,left\n",  # a CSV saved under the wrong name
    b"SQLite format 3\x00" + bytes(range(256)) * 16,  # the right header, then garbage
], ids=["not-sqlite", "damaged"])
def test_a_file_that_is_not_a_sound_sqlite_database_is_refused_and_left_as_it_is(path, content):
    path.write_bytes(content)
    with pytest.raises(RideLogError, match="not a SQLite database.*left as it is"):
        RideLog(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_another_programs_database_is_refused_and_left_as_it_is(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE recipes (name TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(RideLogError, match="not a softcrank ride log"):
        RideLog(path)
    assert path.read_bytes() == before


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(RideLogError, match="is a folder"):
        RideLog(tmp_path)


@pytest.mark.parametrize("platform, environ, expected", [
    ("linux", {}, "/home/u/.local/share/softcrank/ridelog.sqlite"),
    ("linux", {"XDG_DATA_HOME": "/data"}, "/data/softcrank/ridelog.sqlite"),
    ("linux", {"XDG_DATA_HOME": "relative"}, "/home/u/.local/share/softcrank/ridelog.sqlite"),
    ("darwin", {}, "/home/u/Library/Application Support/softcrank/ridelog.sqlite"),
    ("win32", {"APPDATA": "/roaming"}, "/roaming/softcrank/ridelog.sqlite"),
])
def test_the_default_path_is_the_platforms_user_data_folder(platform, environ, expected):
    assert default_path(platform, environ, Path("/home/u")) == Path(expected)


def test_the_default_folder_is_created_on_first_use(tmp_path):
    path = default_path("linux", {"XDG_DATA_HOME": str(tmp_path)})
    RideLog(path).close()
    assert path.is_file()


# --- patients and caps ----------------------------------------------------------------------

def test_patient_names_are_unique_ignoring_case(log, patient):
    with pytest.raises(RideLogError, match="already a patient named 'p-001'"):
        log.add_patient("p-001", "right")
    assert [p["name"] for p in log.patients()] == ["P-001"]


@pytest.mark.parametrize("name, side", [("", "left"), ("   ", "left"), ("Bo", "up"), ("Bo", None)])
def test_a_patient_needs_a_name_and_a_known_affected_side(log, name, side):
    with pytest.raises(RideLogError):
        log.add_patient(name, side)
    assert log.patients() == []


def test_caps_keep_an_audit_trail_and_the_latest_are_current(log, patient):
    assert log.current_caps(patient) == dict(zip(R.CAP_NAMES, CAPS))  # the firmware's defaults
    log.set_caps(patient, [25, 20, 30, 250, 5, 300, 180, 250], "dr. Rossi", "three good sessions")
    log.set_caps(patient, dict(zip(R.CAP_NAMES, [30, 20, 30, 250, 5, 300, 180, 250])), "dr. Rossi", "")
    history = log.caps_history(patient)
    assert [(h["set_by"], h["caps"]["max_res_pct"], h["reason"]) for h in history] == [
        ("dr. Rossi", 25, "three good sessions"), ("dr. Rossi", 30, "")]
    assert log.current_caps(patient)["max_res_pct"] == 30


@pytest.mark.parametrize("caps, why", [
    ([101, 15, 30, 250, 5, 300, 180, 250], "max_res_pct must be 0..100, got 101"),
    ([20, 5, 30, 250, 5, 300, 180, 250], "300 s warm-up leaves under 60 s of work in 5 minutes"),
    ([20, 15, 30, 250, 5, 300], "need 8 values"),
    ([20, 15, 30, 250, 5, 300, True, 250], "cooldown_s must be an integer"),
    ({"max_res_pct": 20}, "need exactly max_res_pct, max_dur_min"),
])
def test_caps_the_firmware_would_refuse_are_refused_and_change_nothing(log, patient, caps, why):
    with pytest.raises(RideLogError, match=why):
        log.set_caps(patient, caps, "dr. Rossi", "typo")
    assert log.caps_history(patient) == []


def test_caps_need_a_known_patient_and_someone_who_set_them(log, patient):
    with pytest.raises(RideLogError, match="no patient 7"):
        log.set_caps(7, CAPS, "dr. Rossi")
    with pytest.raises(RideLogError, match="who set the caps"):
        log.set_caps(patient, CAPS, " ")


# --- sessions -------------------------------------------------------------------------------

def test_a_session_stores_the_goals_and_caps_in_force_at_its_start(log, patient):
    caps = parse(P.encode("C", 1, CAPS + [7, 3]))  # the device's own frames (patient 7, counter 3) (with their counter) are accepted as they are
    session = log.start_session(patient, "dev", 1000, parse(P.encode("G", 2, GOALS)), caps)
    stored = log.session(session)
    assert stored["goals"] == dict(zip(R.GOAL_NAMES, GOALS)) and stored["caps"] == dict(zip(R.CAP_NAMES, CAPS))
    assert (stored["start_rec"], stored["ended_at"]) == (1000, None)
    assert [s["id"] for s in log.sessions(patient)] == [session]


def test_goals_beyond_the_caps_are_refused(log, patient):
    with pytest.raises(RideLogError, match="exceed the caps"):
        log.start_session(patient, "dev", 0, [10, 15, 40, 10], CAPS)  # band above max_cad_rpm
    assert log.sessions() == []


def test_a_restarted_host_resumes_the_devices_open_session(target, patient, log):
    session = new_session(log, patient)
    log.add_records(session, [sample(1000), sample(1001)])
    log.close()
    with open_store(target) as again:
        assert again.open_session("e6614103e7452d2f")["id"] == session
        assert again.open_session("another-device") is None
        assert again.last_committed_rec(session) == 1001
        again.end_session(session, "D")
        assert again.open_session("e6614103e7452d2f") is None
        assert again.session(session)["end_state"] == "D"
        with pytest.raises(RideLogError, match="already ended"):
            again.end_session(session, "D")


def test_a_sessions_notes_are_kept_replaced_and_bad_ones_refused(log, patient):
    """Schema 11 (the clinic store's 2): the therapist's notes on a session, and when written."""
    session = new_session(log, patient)
    assert log.session(session)["notes"] == ""
    log.set_notes(session, "  left shoe strap loose  ")
    assert log.session(session)["notes"] == "left shoe strap loose"
    written = log._read("SELECT notes_at FROM sessions WHERE id = ?", (session,))[0][0]
    assert written is not None
    log.set_notes(session, "")
    assert log.session(session)["notes"] == ""
    for bad, why in ((None, "notes must be text"), ("x" * 2001, "notes must be text"), ("fine", "no session 999")):
        with pytest.raises(RideLogError, match=why):
            log.set_notes(999 if why.startswith("no session") else session, bad)
    assert log.session(session)["notes"] == ""  # nothing changed by the refusals


def test_a_device_has_one_open_session_at_a_time(log, patient):
    session = new_session(log, patient)
    with pytest.raises(RideLogError, match="still has session %d open: end it first" % session):
        new_session(log, patient)
    log.end_session(session, None)  # the end was never seen: the device rebooted
    assert new_session(log, patient) != session


def test_end_state_must_be_a_state_letter(log, patient):
    session = new_session(log, patient)
    with pytest.raises(RideLogError, match="state letter"):
        log.end_session(session, "finished")
    assert log.session(session)["ended_at"] is None


# --- records --------------------------------------------------------------------------------

def test_the_same_records_twice_are_stored_once(log, patient):
    session = new_session(log, patient)
    frames = [event(1000, "START", state="U")] + [sample(rec) for rec in recs(1001, 20)]
    log.add_records(session, frames)
    log.add_records(session, frames)
    log.flush()
    assert stored_recs(log, session) == recs(1001, 20)
    assert [e.event for e in log.events(session)] == ["START"]


def test_a_replay_overlapping_what_is_stored_adds_only_the_new_records(log, patient):
    session = new_session(log, patient)
    log.add_records(session, [sample(rec) for rec in recs(1000, 30)])
    log.add_records(session, [sample(rec) for rec in recs(1020, 30)])  # REPLAY 1020: 10 known, 20 new
    log.flush()
    assert stored_recs(log, session) == recs(1000, 50)


def test_records_are_committed_in_batches_and_only_committed_ones_are_acked(target, log, patient):
    session = new_session(log, patient)
    for rec in recs(1000, 25):  # batch_size is 10 in these tests
        log.add_records(session, [sample(rec)])
    assert log.pending == 5 and log.last_committed_rec(session) == 1019
    assert count_samples(target) == 20  # another connection sees exactly what is committed
    assert log.flush() == 5 and log.pending == 0 and log.last_committed_rec(session) == 1024
    assert count_samples(target) == 25


def test_a_record_waits_at_most_max_delay_s_for_its_commit(log, patient, monkeypatch):
    """At 1 Hz a batch of 10 takes 10 s to fill; the once-a-second ACK should not wait that long."""
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    log.max_delay_s = 1.0
    session = new_session(log, patient)
    log.add_records(session, [sample(1000)])
    now[0] += 0.5
    log.add_records(session, [sample(1001)])
    assert log.pending == 2 and log.last_committed_rec(session) is None
    now[0] += 0.5
    log.add_records(session, [sample(1002)])
    assert log.pending == 0 and log.last_committed_rec(session) == 1002


def test_one_thread_stores_while_another_asks_what_to_ack(log, patient):
    """The link stores from its reader thread and asks committed() from its supervisor."""
    session = new_session(log, patient)
    acked, errors = [], []

    def ack_loop():
        try:
            while True:
                acked.append(log.last_committed_rec(session))
                if done.is_set():
                    break
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    done = threading.Event()
    acker = threading.Thread(target=ack_loop)
    acker.start()
    for rec in recs(1000, 500):
        log.add_records(session, [sample(rec)])
    done.set()
    acker.join()
    assert errors == [] and len(acked) > 0
    assert [a for a in acked if a is not None] == sorted(a for a in acked if a is not None)  # never backwards
    assert log.last_committed_rec(session) == 1499


def test_a_host_killed_mid_batch_loses_nothing_it_committed(target, patient, log):
    """The child adds 120 records in batches of 50 and dies without closing: 100 are safe,
    and the 20 it never ACKed come back with a replay."""
    session = new_session(log, patient)
    log.close()
    child = textwrap.dedent("""
        import os, sys
        from softcrank.frames import Frame
        from softcrank.store.opening import open_store
        from softcrank.store.ridelog import SAMPLE_FIELDS
        log = open_store(sys.argv[1], batch_size=50, max_delay_s=3600)
        for rec in range(1000, 1120):
            values = [rec, rec * 100, "W", 200, 1000, 1000, 100, 60, 0]
            log.add_records(int(sys.argv[2]), [Frame("T", 0, dict(zip(SAMPLE_FIELDS, values)))])
        assert log.pending == 20
        os._exit(0)  # no flush, no close: as if the laptop's power cord were pulled from the process
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", child, target, str(session)], check=True, env=env, timeout=60)
    with open_store(target, batch_size=50) as again:
        assert again.last_committed_rec(session) == 1099
        assert stored_recs(again, session) == recs(1000, 100)
        assert again.open_session("e6614103e7452d2f")["id"] == session
        again.add_records(session, [sample(rec) for rec in recs(1100, 20)])  # REPLAY 1100
        again.flush()
        assert stored_recs(again, session) == recs(1000, 120) and again.missing_recs(session) == []


@pytest.mark.parametrize("bad", [
    parse(P.encode("A", 0, [3])),  # not a record
    Frame("T", 0, {"rec": 5}),  # fields missing
    Frame("T", 0, {**sample(5).fields, "rec": WRAP}),  # record number out of range
    Frame("E", 0, {**event(5, "START").fields, "arg": "x"}),  # a token where an int belongs
    "$T,1,2*0000",
])
def test_bad_records_are_refused_before_anything_is_kept(log, patient, bad):
    session = new_session(log, patient)
    with pytest.raises(RideLogError):
        log.add_records(session, [sample(1000), bad])
    assert log.pending == 0 and log.flush() == 0 and stored_recs(log, session) == []


def test_records_need_a_known_session(log):
    with pytest.raises(RideLogError, match="no session 3"):
        log.add_records(3, [sample(1)])


def test_missing_recs_lists_the_gaps_between_the_first_and_last_stored(log, patient):
    session = new_session(log, patient)
    kept = recs(1000, 5) + recs(1008, 2) + recs(1020, 1)  # 1005-1007 and 1010-1019 missing
    log.add_records(session, [event(1000, "START")] + [sample(rec) for rec in kept[1:]])
    log.flush()
    assert log.missing_recs(session) == [Gap(1005, 1007, 3), Gap(1010, 1019, 10)]


def test_record_numbers_that_wrap_at_2_30_keep_their_order_and_gaps(log, patient):
    start = WRAP - 5
    session = new_session(log, patient, start_rec=start)
    kept = [r for r in recs(start, 12) if r not in (WRAP - 1, 0, 1)]  # three lost across the wrap
    log.add_records(session, [sample(rec) for rec in reversed(kept)])
    log.flush()
    assert stored_recs(log, session) == kept
    assert log.missing_recs(session) == [Gap(WRAP - 1, 1, 3)]
    assert log.last_committed_rec(session) == 6


def test_decimation_returns_at_most_n_points_in_time_order(log, patient):
    session = new_session(log, patient, start_rec=WRAP - 500)  # across the wrap, for good measure
    frames = [sample(rec, cad=100 + (i % 2) * 100) for i, rec in enumerate(recs(WRAP - 500, 1000))]
    log.add_records(session, frames)
    log.flush()
    order = {rec: i for i, rec in enumerate(recs(WRAP - 500, 1000))}
    for n in (1, 7, 37, 999):
        points = list(log.samples(session, decimate_to=n))
        assert 0 < len(points) <= n
        assert [order[p.rec] for p in points] == sorted(order[p.rec] for p in points)
    points = list(log.samples(session, decimate_to=100))
    assert len(points) == 100 and {p.cad_drpm for p in points} == {150}  # buckets of 10, averaged
    assert len(list(log.samples(session, decimate_to=5000))) == 1000  # fewer samples than points: all


def test_decimating_an_empty_session_gives_nothing(log, patient):
    session = new_session(log, patient)
    assert list(log.samples(session, decimate_to=10)) == [] and log.missing_recs(session) == []
    assert log.last_committed_rec(session) is None
    with pytest.raises(RideLogError, match="decimate_to"):
        log.samples(session, decimate_to=0)
