"""The summary the ride log keeps as records arrive is exactly the full computation's.

Random sample streams (every state, backward pedalling, negative forces, the in-band flag,
irregular steps, steps longer than the cap and the device clock's wrap), stored in random
batch sizes, in random order (a replay fills gaps later), some records twice: after every
flush, summary_kept() must equal summarize(), field for field, to the last bit. No
tolerance: the sums are integers, so any difference is a bug.
"""

import dataclasses

from hypothesis import HealthCheck, given, settings, strategies as st

from softcrank.clinical.summary import Stretch, summarize, summary_kept, summary_of
from softcrank.frames import Frame
from softcrank.store.ridelog import RideLog
from softcrank.store.sums import SUMS_BLOCK
from softcrank_fw import protocol as P

CAPS = [20, 15, 30, 250, 5, 300, 180, 250]
GOALS = [10, 15, 25, 10]
T_NAMES = [name for name, _ in P.DEVICE_MESSAGES["T"]]
E_NAMES = [name for name, _ in P.DEVICE_MESSAGES["E"]]

samples = st.lists(st.tuples(
    st.sampled_from("UWWWCRPD"),  # mostly work: the thirds have something to split
    st.integers(-300, 1200),  # cadence, 0.1 rpm; negative: backward
    st.integers(-500, 3000), st.integers(-500, 3000),  # forces, 0.1 N; negative: a foot lifting
    st.integers(0, 1000),  # resistance, per mille
    st.sampled_from([0, P.FLAG_IN_BAND, P.FLAG_IN_BAND | P.FLAG_RAMPING, P.FLAG_OVERSPEED]),
    st.sampled_from([0, 7, 20, 20, 20, 100, 999, 1000, 1001, 5000]),  # the step to the next, ms
), min_size=0, max_size=120)


def frames(stream, start_rec, t0, spread):
    """START, then the samples; `spread` spaces record numbers out so blocks are crossed."""
    out = [Frame("E", 0, dict(zip(E_NAMES, [start_rec, t0, "U", "START", 0])))]
    rec, t = start_rec, t0
    for state, cad, left, right, res, flags, step in stream:
        rec = (rec + spread) % P.REC_MODULO
        out.append(Frame("T", rec % P.SEQ_MODULO, dict(zip(T_NAMES, [rec, t, state, cad, left, right, res, 0, flags]))))
        t = (t + step) % P.REC_MODULO
    return out


def same(kept, full):
    assert kept is not None
    assert dataclasses.asdict(kept) == dataclasses.asdict(full)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=samples, start_rec=st.sampled_from([0, 5, P.REC_MODULO - 40]),
       t0=st.sampled_from([0, 123, P.REC_MODULO - 900]), spread=st.sampled_from([1, 1, 37, SUMS_BLOCK // 3]),
       order=st.randoms(use_true_random=False), batches=st.lists(st.integers(1, 40), min_size=1, max_size=8),
       again=st.integers(0, 10))
def test_kept_equals_full_after_every_batch(tmp_path_factory, stream, start_rec, t0, spread, order, batches, again):
    path = tmp_path_factory.mktemp("kept") / "ride.sqlite"
    with RideLog(path, batch_size=10_000) as log:
        patient = log.add_patient("P", "left")
        session = log.start_session(patient, "dev", start_rec, GOALS, CAPS)
        records = frames(stream, start_rec, t0, spread)
        records += order.sample(records, min(again, len(records)))  # some arrive twice
        order.shuffle(records)  # out of order: replays fill what came late
        i = 0
        for n in batches * (len(records) // max(sum(batches), 1) + 1):
            if i >= len(records):
                break
            log.add_records(session, records[i:i + n])
            log.flush()
            i += n
            same(summary_kept(log, session), summarize(log, session))
        log.end_session(session, "D")
        same(summary_kept(log, session), summarize(log, session))
        assert summary_of(log, session) == summarize(log, session)


def test_a_replay_into_an_ended_session_keeps_the_sums_right(tmp_path):
    """The live ride loses a stretch; the replay brings it after the session ended."""
    stream = [("W", 200 + i % 50, 1000 + i, 900, 300, 8, 20) for i in range(3000)]
    records = frames(stream, 10, 0, 1)
    lost = records[1200:1500]
    with RideLog(tmp_path / "ride.sqlite") as log:
        session = log.start_session(log.add_patient("P", "left"), "dev", 10, GOALS, CAPS)
        log.add_records(session, records[:1200] + records[1500:])
        log.end_session(session, "D")
        before = summary_kept(log, session)
        assert before.records_missing == 300 and before == summarize(log, session)
        log.add_records(session, lost)
        log.flush()
        after = summary_kept(log, session)
        assert after.records_missing == 0 and after.samples == 3000
        assert after == summarize(log, session) and after != before


def test_a_writer_without_the_keeper_leaves_the_session_to_the_full_computation(tmp_path):
    """A RideLog that keeps no sums (or keeps another version) must not leave stale ones."""
    stream = [("W", 200, 1000, 900, 300, 8, 20)] * 200
    records = frames(stream, 0, 0, 1)
    path = tmp_path / "ride.sqlite"
    with RideLog(path) as log:
        session = log.start_session(log.add_patient("P", "left"), "dev", 0, GOALS, CAPS)
        log.add_records(session, records[:100])
    with RideLog(path, keep_sums=False) as other:
        other.add_records(session, records[100:])
    with RideLog(path) as log:
        assert summary_kept(log, session) is None  # not kept any more, so never stale
        full = summarize(log, session)
        assert full.samples == 200 and summary_of(log, session) == full
        assert full.first_third != Stretch(None, None)
