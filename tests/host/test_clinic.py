"""The clinic store: laptops sync to one PostgreSQL (a real server), and every reader works on it."""

import io
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import redirect_stdout

import psycopg
import pytest

from softcrank.cli import main
from softcrank.store.opening import open_store
from softcrank.store.pglog import PgRideLog
from softcrank.store.ridelog import RideLog, RideLogError
from softcrank.store.sync import sync
from softcrank.verify.clinicdata import CAPS, GOALS, laptop_log

SAMPLES = 600  # a minute at 10 Hz per session: enough to cut a sync in the middle of one


def run(*argv, env=None):
    """`softcrank ARGV` in this process; returns (status, stdout)."""
    out = io.StringIO()
    old = dict(os.environ)
    try:
        if env:
            os.environ.update(env)
        with redirect_stdout(out):
            status = main(list(argv))
    finally:
        os.environ.clear()
        os.environ.update(old)
    return status, out.getvalue()


@pytest.fixture
def laptops(tmp_path):
    """Two laptops' logs; "Ann B" was added on both (as "ann b" on the second)."""
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    laptop_log(a, "trainer-a", ["Ann B", "Carl D"], sessions=6, samples=SAMPLES, seed=1)
    laptop_log(b, "trainer-b", ["ann b", "Eve F"], sessions=5, samples=SAMPLES, seed=2)
    return a, b


def sessions_lines(db):
    """`softcrank sessions` without the id column (ids are each store's own)."""
    status, out = run("sessions", "--db", str(db))
    assert status == 0
    return sorted(line[6:] for line in out.splitlines())


def clinic_state(url):
    """Everything sync should have put in the clinic, independent of the order it arrived in."""
    with psycopg.connect(url) as db:
        return {
            "patients": db.execute("SELECT uid, name FROM patients ORDER BY uid").fetchall(),
            "sessions": db.execute("SELECT s.uid, p.uid, s.started_at, s.start_rec, s.ended_at, s.sync_fingerprint "
                                   "FROM sessions s JOIN patients p ON p.id = s.patient_id ORDER BY s.uid").fetchall(),
            "samples": db.execute("SELECT s.uid, COUNT(*), SUM(x.cad_drpm), MIN(x.pos), MAX(x.pos) FROM samples x "
                                  "JOIN sessions s ON s.id = x.session_id GROUP BY s.uid ORDER BY s.uid").fetchall(),
            "events": db.execute("SELECT s.uid, x.rec, x.event FROM events x JOIN sessions s ON s.id = x.session_id "
                                 "ORDER BY 1, 2").fetchall(),
            "caps": db.execute("SELECT uid FROM caps_history ORDER BY uid").fetchall(),
            "plans": db.execute("SELECT uid FROM plans ORDER BY uid").fetchall(),
            "audit": db.execute("SELECT uid FROM auth_audit ORDER BY uid").fetchall(),
        }


def test_two_laptops_sync_to_one_store_every_session_once_with_the_same_figures(laptops, pg_url):
    a, b = laptops
    expected = sorted(sessions_lines(a) + sessions_lines(b))
    for laptop in (a, b):
        status, out = run("sync", "--db", str(laptop), "--to", pg_url)
        assert status == 0, out
    assert "patients: 1 pushed, 1 matched by name to the clinic's, 1 pulled" in out  # "ann b" is "Ann B"
    assert "sessions: 5 pushed (3000 samples, 10 events)" in out
    with PgRideLog(pg_url) as clinic:
        assert sorted(p["name"] for p in clinic.patients()) == ["Ann B", "Carl D", "Eve F"]
        assert len(clinic.sessions()) == 11
    assert [line.lower() for line in sessions_lines(pg_url)] == sorted(line.lower() for line in expected)
    # ... and the same figures: each session's summary, as `show` prints it, matched by trainer and start
    with RideLog(a) as la, RideLog(b) as lb, PgRideLog(pg_url) as clinic:
        there = {(s["device_id"], s["started_at"]): s["id"] for s in clinic.sessions()}
        for laptop, log in ((a, la), (b, lb)):
            for s in log.sessions():
                mine = run("show", str(s["id"]), "--db", str(laptop))[1].lower()
                theirs = run("show", str(there[s["device_id"], s["started_at"]]), "--db", pg_url)[1].lower()
                assert mine.split("\n")[1:] == theirs.split("\n")[1:] and "cadence" in mine
    # The second laptop now knows every clinic patient, under the clinic's identity.
    with RideLog(a) as la, RideLog(b) as lb:
        assert {p["uid"] for p in lb.patients()} == {p["uid"] for p in la.patients()} | {
            p["uid"] for p in lb.patients() if p["name"] == "Eve F"}


def test_a_second_sync_moves_nothing_and_a_replay_filled_later_is_added(laptops, pg_url):
    a, _ = laptops
    assert run("sync", "--db", str(a), "--to", pg_url)[0] == 0
    before = clinic_state(pg_url)
    status, out = run("sync", "--db", str(a), "--to", pg_url)
    assert status == 0 and "sessions: 0 pushed (0 samples, 0 events), 6 already there" in out
    assert clinic_state(pg_url) == before
    with RideLog(a) as log:  # a REPLAY after the sync fills a record of an ended session
        session = log.sessions()[0]["id"]
        log._db.execute("DELETE FROM samples WHERE session_id = ? AND pos = 7", (session,))
    with RideLog(a) as log, PgRideLog(pg_url) as clinic:
        report = sync(log, clinic)  # the fingerprint changed: the session is merged, nothing doubles
        assert report.sessions_pushed == 1 and report.sessions_current == 5
    assert clinic_state(pg_url)["samples"] == before["samples"]


CHILD = """
import sys
from softcrank.store.ridelog import RideLog
from softcrank.store.pglog import PgRideLog
from softcrank.store.sync import sync
with RideLog(sys.argv[1]) as local, PgRideLog(sys.argv[2]) as clinic:
    print("ready", flush=True)
    sync(local, clinic)
"""


def test_a_sync_killed_at_random_points_ten_times_then_rerun_leaves_the_same_result(laptops, pg_server):
    """Each run is killed (SIGKILL, no cleanup) a random time after it is ready; the next
    carries on. After a final complete run, the store equals one synced in one go."""
    a, b = laptops
    once, cut = pg_server.create_database("once"), pg_server.create_database("cut")
    for laptop in (a, b):
        assert run("sync", "--db", str(laptop), "--to", once)[0] == 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    rng = random.Random(18)
    kills = 0
    for attempt in range(10):
        laptop = (a, b)[attempt % 2]
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(laptop), cut], stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.1))  # a small store syncs fast on a quiet machine: cut early
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
    assert kills >= 3  # runs were cut, not only finished (how many depends on the machine's speed)
    for laptop in (a, b):
        assert run("sync", "--db", str(laptop), "--to", cut)[0] == 0
    assert clinic_state(cut) == clinic_state(once)
    assert sessions_lines(cut) == sessions_lines(once)


def test_review_show_and_export_read_the_clinic_store_as_the_file(laptops, pg_url, tmp_path):
    a, _ = laptops
    assert run("sync", "--db", str(a), "--to", pg_url)[0] == 0
    with RideLog(a) as local, PgRideLog(pg_url) as clinic:
        pairs = list(zip(local.sessions(), clinic.sessions()))
        for mine, theirs in pairs:
            assert list(local.samples(mine["id"])) == list(clinic.samples(theirs["id"]))
            assert list(local.samples(mine["id"], decimate_to=50)) == list(clinic.samples(theirs["id"], decimate_to=50))
            assert local.events(mine["id"]) == clinic.events(theirs["id"])
    mine, theirs = pairs[2]
    assert run("show", str(mine["id"]), "--db", str(a))[1] == run("show", str(theirs["id"]), "--db", pg_url)[1]
    for fmt in ("csv", "tcx"):
        run("export", str(mine["id"]), "--db", str(a), "--format", fmt, "-o", str(tmp_path / ("a." + fmt)))
        run("export", str(theirs["id"]), "--db", pg_url, "--format", fmt, "-o", str(tmp_path / ("c." + fmt)))
        assert (tmp_path / ("a." + fmt)).read_bytes() == (tmp_path / ("c." + fmt)).read_bytes()


def test_connection_details_come_from_the_environment_and_a_pgpass_file(laptops, pg_server, tmp_path):
    a, _ = laptops
    url = pg_server.create_database("fromenv")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE ROLE envuser LOGIN SUPERUSER PASSWORD 'secret'")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("127.0.0.1:%d:fromenv:envuser:secret\n" % pg_server.port)
    pgpass.chmod(0o600)
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(pg_server.port), "PGUSER": "envuser", "PGDATABASE": "fromenv",
           "PGPASSFILE": str(pgpass), "SOFTCRANK_CLINIC": "postgresql://"}
    status, out = run("sync", "--db", str(a), env=env)
    assert status == 0 and "sessions: 6 pushed" in out
    status, out = run("sessions", env=dict(env, SOFTCRANK_DB="postgresql://"))  # no --db: SOFTCRANK_DB
    assert status == 0 and len(out.splitlines()) == 6


def test_roles_a_ride_laptop_records_but_cannot_change_plans_or_caps(laptops, pg_url):
    a, b = laptops
    assert run("clinic", "init", "--db", pg_url)[0] == 0
    for name, role in (("laptop1", "ride"), ("thera", "therapist")):
        assert run("clinic", "user", name, "--role", role, "--no-password", "--db", pg_url)[0] == 0
    ride_url = pg_url.replace("postgres@", "laptop1@")
    status, out = run("sync", "--db", str(a), "--to", ride_url)
    assert status == 0, out
    assert "sessions: 6 pushed" in out
    assert "plans: 1 not pushed" in out and "caps changes: 1 not pushed" in out
    with psycopg.connect(ride_url, autocommit=True) as db:
        for refused in ("INSERT INTO plans (patient_id, set_at, set_by, dur_min, cad_lo_rpm, cad_hi_rpm, res_pct, "
                        "sessions_per_week) SELECT id, 'x', 'x', 30, 40, 55, 20, 3 FROM patients LIMIT 1",
                        "DELETE FROM caps_history", "UPDATE patients SET notes = 'x'", "SELECT * FROM device_keys"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(refused)
    thera_url = pg_url.replace("postgres@", "thera@")
    status, out = run("sync", "--db", str(a), "--to", thera_url)
    assert status == 0 and "plans: 1 pushed" in out and "caps changes: 1 pushed" in out


def test_two_laptops_editing_one_plan_offline_the_last_set_is_in_force_everywhere(laptops, pg_url):
    a, b = laptops
    for laptop in (a, b):
        assert run("sync", "--db", str(laptop), "--to", pg_url)[0] == 0
    with RideLog(a, clock=lambda: "2026-10-02T09:00:00.000+00:00") as la:
        ann = [p["id"] for p in la.patients() if p["name"] == "Ann B"][0]
        la.set_plan(ann, [30, 40, 55, 20], 4, "therapist on a")
    with RideLog(b, clock=lambda: "2026-10-01T09:00:00.000+00:00") as lb:  # set earlier, synced later
        ann_b = [p["id"] for p in lb.patients() if p["name"] == "ann b"][0]
        lb.set_plan(ann_b, [25, 40, 55, 20], 2, "therapist on b")
    for laptop in (a, b, a):
        assert run("sync", "--db", str(laptop), "--to", pg_url)[0] == 0
    for db in (a, b, pg_url):
        with open_store(str(db)) as log:
            patient = [p["id"] for p in log.patients() if p["name"].lower() == "ann b"][0]
            plan = log.current_plan(patient)
            assert (plan["set_by"], plan["sessions_per_week"]) == ("therapist on a", 4)
    with PgRideLog(pg_url) as clinic:
        assert clinic._read("SELECT COUNT(*) FROM plans")[0][0] == 4  # both edits kept in the history


def test_bad_targets_are_one_line_errors_that_change_nothing(laptops, tmp_path):
    a, _ = laptops
    for argv in (("sync", "--db", str(a), "--to", "http://example.org/"),
                 ("sync", "--db", "postgresql://x/y", "--to", "postgresql://x/y"),
                 ("clinic", "init", "--db", str(a))):
        assert run(*argv)[0] == 2
    with pytest.raises(RideLogError, match="cannot open the clinic store postgresql://u:\\*\\*\\*@127.0.0.1:1/x"):
        PgRideLog("postgresql://u:pw@127.0.0.1:1/x")


def test_a_database_of_another_program_is_refused_and_left_as_it_is(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(RideLogError, match="not a softcrank clinic store"):
        PgRideLog(pg_url)
    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 1



def test_the_apps_worker_syncs_when_a_clinic_is_configured_and_shrugs_off_a_network_that_is_down(laptops, pg_url):
    from softcrank.app.clinicsync import clinic_url, sync_once

    a, _ = laptops
    with RideLog(a) as log:
        assert clinic_url(log, {}) is None
        assert clinic_url(log, {"SOFTCRANK_CLINIC": pg_url}) == pg_url
    with PgRideLog(pg_url) as clinic:
        assert clinic_url(clinic, {"SOFTCRANK_CLINIC": pg_url}) is None  # the app already works on the store
    ok, line = sync_once(a, "postgresql://postgres@127.0.0.1:1/nowhere")
    assert not ok and "will try again" in line
    with RideLog(a) as log:
        assert len(log.sessions()) == 6  # nothing lost, nothing changed
    ok, line = sync_once(a, pg_url)
    assert ok and "6 sessions, 3600 samples sent" in line


def test_a_summary_the_laptop_kept_travels_with_its_session_and_is_the_stores_own(tmp_path, pg_url):
    from softcrank.clinical.summary import SUMMARY_VERSION, summary_of

    def kept(log, session):
        return log.cached_summary(session, "v%d|%s" % (SUMMARY_VERSION, log.summary_fingerprint(session)))

    a = tmp_path / "old.sqlite"  # sessions stored without running sums (before schema 9): summaries are kept
    laptop_log(a, "trainer-old", ["Ann B"], sessions=2, samples=SAMPLES, seed=3, sums=False)
    with RideLog(a) as log:
        first = log.sessions()[0]
        mine = summary_of(log, first["id"])
        assert kept(log, first["id"]) is not None
    assert run("sync", "--db", str(a), "--to", pg_url)[0] == 0
    with PgRideLog(pg_url) as clinic:
        theirs = [s for s in clinic.sessions() if s["started_at"] == first["started_at"]][0]["id"]
        assert kept(clinic, theirs) is not None  # computed on the laptop, valid for the store's identical records
        assert summary_of(clinic, theirs) == mine


def pairs_of(local, clinic):
    there = {(s["device_id"], s["started_at"]): s["id"] for s in clinic.sessions()}
    return [(s["id"], there[s["device_id"], s["started_at"]]) for s in local.sessions()]


@pytest.mark.parametrize("laptop_sums", [True, False], ids=["laptop-kept-sums", "laptop-without-sums"])
def test_the_kept_sums_travel_and_the_store_gives_the_laptops_figures_without_reading_every_sample(
        tmp_path, pg_url, laptop_sums):
    """The laptop's running sums (or, for a session stored without them, sums made from its
    samples as sync sends it) reach the store, and every way of reading a summary there gives
    exactly the laptop's full computation: one session, many at once, Progress."""
    from softcrank.clinical.summary import summaries_of, summarize, summary_kept, summary_of
    from softcrank.clinical.trends import session_points

    path = tmp_path / "laptop.sqlite"
    names = laptop_log(path, "trainer-s", ["Ann B", "Carl D"], sessions=4, samples=2500, seed=5, sums=laptop_sums)
    assert run("sync", "--db", str(path), "--to", pg_url)[0] == 0
    with RideLog(path) as local, PgRideLog(pg_url) as clinic:
        pairs = pairs_of(local, clinic)
        for mine, theirs in pairs:
            full = summarize(local, mine)
            assert (summary_kept(local, mine) is not None) == laptop_sums
            kept = summary_kept(clinic, theirs)  # from the store's kept sums: no summary was kept anywhere
            assert kept is not None and kept == full
            assert summary_of(clinic, theirs) == full
        assert clinic._read("SELECT COUNT(*) FROM summaries")[0][0] == 0
        many = summaries_of(clinic, [theirs for _, theirs in pairs])
        assert [many[theirs] for _, theirs in pairs] == [summarize(local, mine) for mine, _ in pairs]
        ann = [p["id"] for p in clinic.patients() if p["name"] == "Ann B"][0]
        assert [(p.duration_min, p.cadence_avg_rpm, p.symmetry_index, p.work_kj, p.in_band_pct, p.res_avg_pct)
                for p in session_points(clinic, ann)] == [
            (p.duration_min, p.cadence_avg_rpm, p.symmetry_index, p.work_kj, p.in_band_pct, p.res_avg_pct)
            for p in session_points(local, names["Ann B"])]


def test_a_store_synced_before_it_kept_sums_gets_them_at_the_next_sync_and_loses_them_when_it_holds_more(
        laptops, pg_url):
    from softcrank.clinical.summary import summarize, summary_kept

    a, _ = laptops
    assert run("sync", "--db", str(a), "--to", pg_url)[0] == 0
    with psycopg.connect(pg_url, autocommit=True) as db:  # as a store of version 1 had them
        db.execute("DELETE FROM sample_sums")
        db.execute("UPDATE sessions SET sums_kept = NULL")
    status, out = run("sync", "--db", str(a), "--to", pg_url)
    assert status == 0 and "6 already there" in out
    with RideLog(a) as local, PgRideLog(pg_url) as clinic:
        pairs = pairs_of(local, clinic)
        assert all(summary_kept(clinic, theirs) == summarize(local, mine) for mine, theirs in pairs)
        mine, theirs = pairs[0]
        local._db.execute("DELETE FROM samples WHERE session_id = ? AND pos = 7", (mine,))  # the laptop lost one
    with RideLog(a) as local, PgRideLog(pg_url) as clinic:
        assert sync(local, clinic).sessions_pushed == 1
        assert summary_kept(clinic, theirs) is None  # the store holds a record the laptop's sums lack
        assert clinic._read("SELECT COUNT(*) FROM samples WHERE session_id = ?", (theirs,))[0][0] == SAMPLES
        assert summary_kept(clinic, pairs[1][1]) is not None


def test_an_older_clinic_store_is_upgraded_to_keep_sums_and_its_roles_get_the_table(pg_url):
    from softcrank.store.pgconn import Connection
    from softcrank.store.pgschema import MIGRATIONS
    from softcrank.store.records import CAP_NAMES, GOAL_NAMES

    with psycopg.connect(pg_url, autocommit=True) as raw:  # the store as softcrank made it at its version 1
        db = Connection(raw)
        db.execute("CREATE TABLE softcrank_schema (version INTEGER NOT NULL, at TEXT NOT NULL)")
        MIGRATIONS[0](db, "2026-11-01T00:00:00.000+00:00")
        db.execute("INSERT INTO softcrank_schema VALUES (1, 'then')")
        if raw.execute("SELECT 1 FROM pg_roles WHERE rolname = 'softcrank_ride'").fetchone() is None:
            raw.execute("CREATE ROLE softcrank_ride NOLOGIN")
        raw.execute("INSERT INTO patients (name, affected_side, created_at) VALUES ('P', 'left', 'then')")
        raw.execute("INSERT INTO sessions (patient_id, device_id, started_at, start_rec, %s) SELECT id, 'dev', 'then', "
                    "5, %s FROM patients" % (", ".join(GOAL_NAMES + CAP_NAMES), ", ".join(map(str, GOALS + CAPS))))
        raw.execute("INSERT INTO samples SELECT s.id, 5 + i, i, 100 * i, 'W', 400, 900, 900, 200, 0, 0 "
                    "FROM sessions s, generate_series(0, 99) i")
    with PgRideLog(pg_url) as clinic:
        assert clinic.schema_version == len(MIGRATIONS) == 3  # 2: kept sums, re-keyed samples; 3: notes
        assert clinic._read("SELECT has_table_privilege('softcrank_ride', 'sample_sums', 'INSERT')")[0][0]
        session = clinic.sessions()[0]["id"]
        assert len(list(clinic.samples(session))) == 100 and clinic.missing_recs(session) == []  # rows kept
        assert clinic._read("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'samples'")[0][0] == 1  # the key alone
        with pytest.raises(psycopg.errors.UniqueViolation):  # a record stored once, as before
            clinic.raw.execute("INSERT INTO samples SELECT * FROM samples LIMIT 1")


def test_a_session_recorded_straight_into_the_store_keeps_its_sums_there_as_on_a_file(pg_url, tmp_path):
    """The clinic store keeps the summary's running sums as records arrive, as a file does:
    a ride with a lost stretch, ended, then the stretch replayed; every reading equals the
    full computation, and the file's."""
    from softcrank.clinical.summary import summaries_of, summarize, summary_kept
    from softcrank.frames import Frame
    from softcrank_fw import protocol as P

    t_names = [name for name, _ in P.DEVICE_MESSAGES["T"]]
    e_names = [name for name, _ in P.DEVICE_MESSAGES["E"]]
    records = [Frame("E", 0, dict(zip(e_names, [10, 0, "U", "START", 0])))]
    for i in range(3000):  # warm-up, work, cool-down: the thirds of the work phase cross blocks
        state = "U" if i < 300 else "W" if i < 2700 else "C"
        records.append(Frame("T", (11 + i) % P.SEQ_MODULO, dict(zip(t_names, [
            11 + i, 100 * (i + 1), state, 400 + i % 70, 900 + i % 30, 800 + i % 50, 200, 0, P.FLAG_IN_BAND * (i % 3 == 0)]))))
    lost = records[1200:1500]
    figures = []
    for target in (pg_url, str(tmp_path / "ride.sqlite")):
        with open_store(target) as log:
            session = log.start_session(log.add_patient("P", "left"), "dev", 10, GOALS, CAPS)
            log.add_records(session, records[:1200] + records[1500:])
            log.end_session(session, "D")
            before = summary_kept(log, session)
            assert before is not None and before.records_missing == 300 and before == summarize(log, session)
            log.add_records(session, lost)
            log.flush()
            after = summary_kept(log, session)
            assert after.records_missing == 0 and after.samples == 3000 and after == summarize(log, session)
            assert summaries_of(log, [session])[session] == after
            figures.append(after)
    assert figures[0] == figures[1]


def test_many_sessions_are_read_in_batches_on_both_stores(tmp_path, pg_url):
    """More sessions than one statement takes (sums.py's _BATCH: SQLite's limit on a compound
    SELECT is 500 arms), some with kept sums and some without: every figure is the full one."""
    from softcrank.clinical.summary import summaries_of, summarize
    from softcrank.store import sums

    path = tmp_path / "many.sqlite"
    laptop_log(path, "trainer-m", ["Ann B"], sessions=sums._BATCH + 30, samples=4, seed=7)
    laptop_log(path, "trainer-n", ["Ann B"], sessions=5, samples=4, seed=8, sums=False)
    assert run("sync", "--db", str(path), "--to", pg_url)[0] == 0
    with RideLog(path) as local, PgRideLog(pg_url) as clinic:
        pairs = pairs_of(local, clinic)
        assert len(pairs) == sums._BATCH + 35
        full = {mine: summarize(local, mine) for mine, _ in pairs}
        here = summaries_of(local, [mine for mine, _ in pairs])
        there = summaries_of(clinic, [theirs for _, theirs in pairs])
        assert all(here[mine] == full[mine] == there[theirs] for mine, theirs in pairs)


def test_notes_written_after_a_sync_travel_and_the_later_wins(laptops, pg_url):
    """A therapist's notes on a session (schema 11; the clinic store's 2): pushed with it, and
    when written later on either side, the later ones win on both at the next sync."""
    a, _ = laptops
    key = lambda s: (s["device_id"], s["started_at"])  # noqa: E731 (ids are each store's own)
    with RideLog(a) as log:
        first, second = [s["id"] for s in log.sessions()[:2]]
        log.set_notes(first, "tired; shorter warm-up next time")
    with RideLog(a) as log, PgRideLog(pg_url) as clinic:
        report = sync(log, clinic)
        there = {key(s): s for s in clinic.sessions()}
        one, two = there[key(log.session(first))], there[key(log.session(second))]
        assert one["notes"] == "tired; shorter warm-up next time" and two["notes"] == ""  # with the session
        assert report.notes_pushed == 0 and report.notes_pulled == 0  # already there
        log.set_notes(second, "new shoes")  # after the sync, on the laptop
        clinic.set_notes(one["id"], "checked: fine")  # and in the clinic, later than the laptop's
        report = sync(log, clinic)
        assert (report.notes_pushed, report.notes_pulled) == (1, 1)
        assert "session notes: 1 pushed, 1 pulled" in report.lines()
        assert log.session(first)["notes"] == "checked: fine"
        assert clinic.session(two["id"])["notes"] == "new shoes"
        report = sync(log, clinic)
        assert (report.notes_pushed, report.notes_pulled) == (0, 0)  # settled: nothing moves twice
