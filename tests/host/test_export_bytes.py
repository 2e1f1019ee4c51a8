"""The exports, made faster, write exactly the bytes they wrote before (issue 16, item 4).

The fixed session (fixed_ride.py) was exported as CSV, FIT and TCX by the code before the
speed-up (commit 541158a), and the SHA-256 of each file is written down here. The exports
must match to the byte: the same figures, rounded the same way, in the same order. The
versions an export names are pinned, so a release does not change these.
"""

import hashlib
import time

import pytest

import fixed_ride
from softcrank.exports import about, export_file, fit, tcx
from softcrank.store import sessions
from softcrank.store.ridelog import RideLog
from softcrank.clinical.summary import summarize, summary_kept

BEFORE = {
    "csv": (1014884, "2c0b6350184806f97209312ee413b60b1d16aa58c5dfbe15e94b34db67e2f1fe"),
    "fit": (22724, "4cdbfc271241601881aee7602106126725685bb33d4cc51ad40aea87caf78392"),
    "tcx": (115744, "8aed4e34d890faf427e729319b05e5ff94e2a78fec2e97ec8e6062f7097db94e"),
}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for module in (about, fit, tcx):
        mp.setattr(module, "__version__", "0.1.0")
    mp.setattr(sessions, "_APP_VERSION", "0.1.0")
    mp.setenv("TZ", "UTC")  # FIT's local_timestamp is the computer's
    time.tzset()
    path = tmp_path_factory.mktemp("fixed") / "ride.sqlite"
    yield path, fixed_ride.build(path)
    mp.undo()
    time.tzset()


@pytest.mark.parametrize("fmt", sorted(BEFORE))
def test_each_export_is_byte_for_byte_what_it_was(fixed, tmp_path, fmt):
    path, session = fixed
    out = tmp_path / ("ride." + fmt)
    with RideLog(path) as log:
        export_file(log, session, fmt, out)
    data = out.read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == BEFORE[fmt]


def test_the_fixed_session_has_what_it_should_test(fixed):
    """Every rate, state, a gap, backward pedalling: and its kept figures are the full ones."""
    path, session = fixed
    with RideLog(path) as log:
        s = summarize(log, session)
        assert summary_kept(log, session) == s
        assert s.records_missing == 77 and s.backward_s == 30 and s.paused_s == 40 and s.rest_s == 20
        assert {row[2] for rows in log.sample_rows(session) for row in rows} == set("UWRPC")
