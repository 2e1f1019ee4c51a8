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
from softcrank.verify.clinicdata import laptop_log

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


def test_a_summary_the_laptop_kept_travels_with_its_session_and_is_the_stores_own(laptops, pg_url):
    from softcrank.clinical.summary import SUMMARY_VERSION, summary_of

    def kept(log, session):
        return log.cached_summary(session, "v%d|%s" % (SUMMARY_VERSION, log.summary_fingerprint(session)))

    a, _ = laptops
    with RideLog(a) as log:
        first = log.sessions()[0]
        mine = summary_of(log, first["id"])
        assert kept(log, first["id"]) is not None
    assert run("sync", "--db", str(a), "--to", pg_url)[0] == 0
    with PgRideLog(pg_url) as clinic:
        theirs = [s for s in clinic.sessions() if s["started_at"] == first["started_at"]][0]["id"]
        assert kept(clinic, theirs) is not None  # computed on the laptop, valid for the store's identical records
        assert summary_of(clinic, theirs) == mine


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
