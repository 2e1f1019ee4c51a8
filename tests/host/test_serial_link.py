"""The host's serial link: against the real firmware on the virtual trainer, and against a small
fake trainer on a pseudo-terminal for what the real one cannot be made to do (speak another
protocol version, lose one answer, be overwritten, wrap its record numbers, vanish).

Virtual time runs `speed` times faster than real time, and the firmware's host timeouts
(3 s hold, 10 s pause) are virtual, so each test scales the link's timings the same way."""

import os
import select
import threading
import time
import tty

import pytest

from softcrank.sim.demo import DEMO_KEY, signed_demo_caps
from softcrank.trainer.link import CommandRefused, Latest, Link, LinkError, Lost, ProtocolMismatch
from softcrank.sim.virtual_board import VirtualBoard
from softcrank_fw import protocol as P
from softcrank_fw.ring import rec_diff

RIDE_CAPS = [20, 15, 30, 250, 5, 60, 60, 250]  # 1 min warm-up, 1 min cool-down


def scaled(speed, **kw):
    """Link timings in virtual seconds, turned into real ones: a beat every 0.5 virtual s,
    lost after 9 virtual s of silence (the trainer pauses at 10), answers within 6."""
    timings = dict(heartbeat_s=0.5 / speed, silence_s=9 / speed, answer_timeout_s=max(6 / speed, 0.1))
    return dict(timings, **kw)


class Sink:
    """What the ride log will be: records stored by rec, the newest contiguous one committed."""

    def __init__(self):
        self.recs = {}
        self.order = []
        self.done = threading.Event()

    def store(self, frames):
        for f in frames:
            self.recs[f["rec"]] = f
            self.order.append(f["rec"])
            if f.type == "E" and f["event"] == "DONE":
                self.done.set()

    def events(self):
        return [(self.recs[r]["event"], self.recs[r]["arg"]) for r in sorted(self.recs) if self.recs[r].type == "E"]

    def missing(self):
        first, last = min(self.recs), max(self.recs)
        return sorted(set(range(first, last + 1)) - set(self.recs))


class States(list):
    def __call__(self, state, detail):
        self.append((time.monotonic(), state, detail))

    def names(self):
        """The states in order, a repeated one once."""
        names = [s for _, s, _ in self]
        return [s for i, s in enumerate(names) if i == 0 or names[i - 1] != s]


# ----- against the real firmware -------------------------------------------------------------

def test_connects_with_a_handshake_and_commands_are_answered_or_refused_with_the_code():
    sink, states = Sink(), States()
    with VirtualBoard(speed=10, key=DEMO_KEY) as board:
        with Link(board.port, store=sink.store, on_state=states, **scaled(10)) as link:
            assert link.state == "connected"
            assert link.info["H"]["proto"] == P.PROTOCOL_VERSION and set(link.info) == {"H", "C", "G", "K"}
            answer = link.command("GOALS", 12, 15, 25, 15)
            assert [f.type for f in answer] == ["G"] and answer[0]["dur_min"] == 10  # clamped by the caps
            assert [f.type for f in link.command("CAPS", *signed_demo_caps(link, RIDE_CAPS))] == ["C", "G"]
            with pytest.raises(CommandRefused, match="RESUME: STATE") as refused:
                link.command("RESUME")  # nothing is paused
            assert refused.value.code == "STATE"
            with pytest.raises(CommandRefused) as refused:
                link.command("RATE", 99)
            assert refused.value.code == "RANGE"
            with pytest.raises(ValueError):
                link.command("REPLAY", 0)  # the link's own business
            time.sleep(0.5)
    assert states.names() == ["connecting", "connected", "closed"]
    assert len(sink.recs) >= 40 and sink.missing() == []


@pytest.mark.parametrize("beats", [True, False])
def test_the_heartbeat_keeps_a_started_session_from_pausing(beats):
    speed = 10
    sink = Sink()
    timings = scaled(speed) if beats else scaled(speed, heartbeat_s=60, silence_s=60)
    with VirtualBoard(speed=speed) as board:
        with Link(board.port, store=sink.store, **timings) as link:
            link.command("START")
            time.sleep(25 / speed)  # 25 s of virtual time
            state = link.latest()["state"]
    events = [name for name, _ in sink.events()]
    if beats:
        assert state == "U" and "PAUSE" not in events and "HOST_LOST" not in events
    else:  # the control: without the heartbeat the trainer holds, then pauses by itself
        assert state == "P" and ("PAUSE", P.PAUSE_HOST_SILENT) in sink.events() and "HOST_LOST" in events


def test_a_ten_minute_ride_with_the_cable_out_for_30_s_loses_no_record():
    speed = 50
    sink, states = Sink(), States()
    with VirtualBoard(speed=speed, key=DEMO_KEY) as board:
        with Link(board.port, store=sink.store, on_state=states, **scaled(speed)) as link:
            link.command("CAPS", *signed_demo_caps(link, RIDE_CAPS))
            link.command("GOALS", 8, 15, 25, 10)  # 1 + 8 + 1 = 10 minutes
            link.command("START")
            unplugged_at = None
            deadline = time.monotonic() + 3 * 600 / speed
            while not sink.done.is_set() and time.monotonic() < deadline:
                t = link.wait_latest(0.5)
                if t is None:
                    continue
                if unplugged_at is None and t["state"] == "W" and t["left_s"] <= 5 * 60:
                    unplugged_at = t["rec"]
                    board.unplug(30 / speed)  # half-way: the cable is out for 30 virtual seconds
                elif t["state"] == "P" and link.state == "connected":
                    try:
                        link.command("RESUME")  # the rider finds the trainer paused, and resumes
                    except (CommandRefused, LinkError):
                        pass  # already resumed (telemetry lags a little), or lost again
            assert sink.done.is_set(), "the session did not finish"
    assert sink.missing() == []
    # Lost once at least (a loaded machine can miss a beat more), and back at the end.
    names = states.names()
    assert names[:3] == ["connecting", "connected", "lost"] and names[-2:] == ["connected", "closed"]
    # The trainer paused itself while the cable was out: that record came only by REPLAY.
    paused = [r for r in sorted(sink.recs) if sink.recs[r].type == "E" and sink.recs[r]["event"] == "PAUSE"
              and sink.recs[r]["arg"] == P.PAUSE_HOST_SILENT and r > unplugged_at]
    assert paused
    assert ("RESUME", 0) in sink.events() and link.lost == []
    assert len(sink.recs) > 600 * 10  # ten minutes at 10 Hz, and then some


def test_latest_has_the_newest_telemetry_and_nobody_reading_it_slows_nothing():
    speed = 20
    sink, taken = Sink(), []
    with VirtualBoard(speed=speed) as board:
        with Link(board.port, store=sink.store, **scaled(speed)) as link:
            link.command("RATE", 50)  # 1000 samples a real second
            time.sleep(2)  # nobody takes from latest
            for _ in range(4):  # a slow screen: takes one, then is busy for 0.2 s
                taken.append(link.wait_latest(1)["rec"])
                time.sleep(0.2)
        newest = max(r for r, f in sink.recs.items() if f.type == "T")
        assert link.latest()["rec"] == newest
    assert sink.missing() == [] and len(sink.recs) > 1500
    assert all(b - a > 50 for a, b in zip(taken, taken[1:]))  # it skipped ahead: never a backlog


def test_the_latest_slot_keeps_only_the_newest_value():
    slot = Latest()
    assert slot.take(0.01) is None
    for i in range(1000):
        slot.put(i)
    assert slot.peek() == 999 and slot.take(0) == 999
    assert slot.take(0.01) is None and slot.peek() == 999  # taken once; still readable
    threading.Timer(0.05, slot.put, args=(1000,)).start()
    assert slot.take(2) == 1000


# ----- against a fake trainer ----------------------------------------------------------------

class FakeTrainer:
    """Just enough of the firmware's link on a pseudo-terminal, with real frames: records every
    `period_s` from `first_rec`, HELLO (with `proto`), PING, ACK, GOALS and REPLAY, resends
    answered without being applied again. `drop_answer`: command types whose first A is lost;
    `drop_recs`: records whose first sending is lost; records before `first_rec` are gone.
    Records start at the first HELLO, so no test depends on how fast the link connects."""

    def __init__(self, proto=P.PROTOCOL_VERSION, first_rec=0, period_s=0.01, drop_answer=(), drop_recs=(),
                 backlog=0):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.slave = slave
        self.port = os.ttyname(slave)
        self.proto, self.period_s = proto, period_s
        self.next_rec = self.oldest = self.cursor = first_rec
        self.drop_answer, self.drop_recs = set(drop_answer), set(drop_recs)
        self.backlog = backlog  # records from its BOOT on it had not sent yet when the host came
        self.log = []  # (type, seq, values) received
        self.applied = {}
        self.seq = 0
        self._last = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def vanish(self):
        """The device node disappears, as a Pico's does when its cable is pulled."""
        self._stop.set()
        self._thread.join()
        for fd in (self.master, self.slave):
            os.close(fd)

    def close(self):
        if not self._stop.is_set():
            self.vanish()

    def send(self, type_, *values):
        os.write(self.master, P.encode(type_, self.seq, list(values)))
        self.seq = (self.seq + 1) % P.SEQ_MODULO

    def _run(self):
        buf, due = b"", None
        while not self._stop.is_set():
            wait = 0.1 if due is None else max(0, due - time.monotonic())
            readable, _, _ = select.select([self.master], [], [], wait)
            if readable:
                buf += os.read(self.master, 4096)
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    self._handle(P.decode(line))
                if due is None and self.log:
                    due = time.monotonic()
            if due is not None and time.monotonic() >= due:
                due += self.period_s
                self.next_rec = (self.next_rec + 1) % P.REC_MODULO
                while self.cursor != self.next_rec:
                    if self.cursor in self.drop_recs:
                        self.drop_recs.discard(self.cursor)  # lost on the wire, this once
                    else:
                        self.send("T", self.cursor, 0, "I", 0, 0, 0, 0, 0, 0)
                    self.cursor = (self.cursor + 1) % P.REC_MODULO

    def _handle(self, frame):
        type_, seq, values = frame
        self.log.append(frame)
        if type_ == "HELLO":
            self._last = None
            self.send("H", self.proto, "9.9.9", "fake-1", 24, 100, "I", self.next_rec, 0)
            self.send("C", 20, 15, 30, 250, 5, 300, 180, 250, 0, 0)
            self.send("G", 10, 15, 25, 10)
            self.send("K", 0, 0, 1000, 1000)
            return self._answer(seq, "VERSION" if values[0] != self.proto else None)
        if self._last and self._last[:2] == (seq, type_):
            return self._answer(seq, self._last[2])  # a resend: answer again, apply nothing
        self.applied[type_] = self.applied.get(type_, 0) + 1
        code = None
        if type_ == "GOALS":
            self.send("G", *values)
        elif type_ == "REPLAY":
            first, self.backlog = self.next_rec - self.backlog, 0
            if first < self.next_rec:  # the backlog went out, from the BOOT on, until this REPLAY
                self.send("E", first, 0, "I", "BOOT", 0)
                for rec in range(first + 1, self.next_rec):
                    self.send("T", rec, 0, "I", 0, 0, 0, 0, 0, 0)
            if 0 <= rec_diff(values[0], self.oldest) and rec_diff(values[0], self.next_rec) <= 0:
                self.cursor = values[0]
            elif rec_diff(values[0], self.next_rec) > 0:
                code = "RANGE"
            else:
                self.cursor, code = self.oldest, "GONE"
        self._last = (seq, type_, code)
        if type_ in self.drop_answer:
            self.drop_answer.discard(type_)  # this answer is lost on the wire
            return
        self._answer(seq, code)

    def _answer(self, seq, code):
        if code:
            self.send("N", seq, code)
        else:
            self.send("A", seq)


@pytest.fixture
def fake(request):
    trainers = []

    def make(**kw):
        trainers.append(FakeTrainer(**kw))
        return trainers[-1]

    yield make
    for t in trainers:
        t.close()


def test_a_trainer_speaking_another_protocol_is_refused_with_both_versions_named(fake):
    trainer = fake(proto=P.PROTOCOL_VERSION + 1)
    states = States()
    link = Link(trainer.port, on_state=states)
    with pytest.raises(ProtocolMismatch) as e:
        link.open(wait=5)
    assert str(e.value) == ("the trainer speaks protocol %d, this softcrank speaks %d: update softcrank (pip install -U "
                            "softcrank)" % (P.PROTOCOL_VERSION + 1, P.PROTOCOL_VERSION))
    assert link.state == "closed" and states[-1][1:] == ("closed", str(e.value))
    assert [f[0] for f in trainer.log] == ["HELLO"]  # no retrying: that cannot help
    with pytest.raises(LinkError, match="not connected"):
        link.command("PING")


def test_a_trainer_still_sending_its_boot_backlog_after_the_handshake_is_not_taken_for_a_restart(fake):
    """The trainer booted before the host opened the port and kept its first records (its BOOT
    first) queued: they come after the handshake, before the REPLAY moves its cursor on."""
    trainer = fake(first_rec=40, backlog=40)
    sink, states = Sink(), States()
    with Link(trainer.port, store=sink.store, on_state=states) as link:
        link.command("GOALS", 10, 15, 25, 10)
        time.sleep(0.3)
    assert [type_ for type_, _, _ in trainer.log].count("HELLO") == 1  # one handshake: never dropped
    assert states.names() == ["connecting", "connected", "closed"] and link.lost == []
    assert min(sink.recs) == 40 and sink.missing() == []


def test_a_lost_answer_is_resent_with_the_same_seq_and_applied_once(fake):
    trainer = fake(drop_answer={"GOALS"})
    with Link(trainer.port, answer_timeout_s=0.2) as link:
        answer = link.command("GOALS", 12, 15, 25, 15)
    goals = [(seq, values) for type_, seq, values in trainer.log if type_ == "GOALS"]
    assert len(goals) == 2 and goals[0] == goals[1]  # the same frame twice
    assert trainer.applied["GOALS"] == 1
    assert [f.type for f in answer] == ["G"] and answer[0]["dur_min"] == 12  # the G from the first try


def test_a_dropped_line_is_fetched_again_also_across_the_record_wrap(fake):
    first = P.REC_MODULO - 40
    trainer = fake(first_rec=first, drop_recs={P.REC_MODULO - 5, 3})
    sink = []
    with Link(trainer.port, store=lambda frames: sink.extend(f["rec"] for f in frames)) as link:
        deadline = time.monotonic() + 5
        while (not sink or rec_diff(sink[-1], 10) < 0) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sink[-1] != P.REC_MODULO - 1 and rec_diff(sink[-1], 10) >= 0  # it wrapped
    assert sink == [(sink[0] + i) % P.REC_MODULO for i in range(len(sink))]  # in order, none missing
    replays = [values[0] for type_, _, values in trainer.log if type_ == "REPLAY"]
    assert replays[1:] == [P.REC_MODULO - 5, 3]  # after the one every connection starts with
    assert link.lost == []


def test_records_the_trainer_no_longer_holds_are_reported_never_skipped_silently(fake):
    trainer = fake(first_rec=100)
    stored, lost = [], []
    committed = lambda: stored[-1] if stored else 10  # a log kept up to record 10, earlier
    with Link(trainer.port, store=lambda fs: stored.extend(f["rec"] for f in fs), committed=committed,
              on_lost=lost.append, heartbeat_s=0.05) as link:
        time.sleep(0.3)
    assert lost == [Lost(11, 89, "overwritten")] and link.lost == lost
    assert stored[0] == 100 and stored == list(range(100, 100 + len(stored)))
    acks = [values[0] for type_, _, values in trainer.log if type_ == "ACK"]
    assert acks and acks[-1] > 100  # only what the sink committed


def test_a_vanished_port_is_reported_lost_and_retried_with_back_off(fake):
    trainer = fake()
    states = States()
    with Link(trainer.port, on_state=states) as link:
        trainer.vanish()
        time.sleep(3.5)
        assert link.state == "connecting"
    lost = [i for i, (_, s, _) in enumerate(states) if s == "lost"]
    assert len(lost) == 1 and "failed" in states[lost[0]][2]
    retries = [(t, d) for t, s, d in states[lost[0]:] if "trying again" in d]
    assert [d.rsplit("in ", 1)[1] for _, d in retries[:4]] == ["0.2 s", "0.4 s", "0.8 s", "1.6 s"]
    gaps = [b[0] - a[0] for a, b in zip(retries, retries[1:])]
    assert gaps[0] == pytest.approx(0.2, abs=0.15) and gaps[2] == pytest.approx(0.8, abs=0.15)
    assert states[-1][1] == "closed"
