"""The firmware's end of the wire: commands answered with ACK or NAK, bad input changes nothing."""

from softcrank_fw import protocol as P
from softcrank_fw.control import PAUSED, WARMUP
from softcrank_fw.crc import crc16
from softcrank_fw import capsauth
from support import TEST_KEY, Bench, Wire


def framed(body):
    """A frame with a correct CRC around any body, valid or not."""
    return b"$%s*%04X\n" % (body, crc16(body))


def types(frames):
    return [f[0] for f in frames]


def test_hello_answers_with_the_handshake_caps_goals_and_calibration():
    wire = Wire()
    frames = wire.command("HELLO", P.PROTOCOL_VERSION)
    assert types(frames) == ["H", "C", "G", "K", "A"]
    proto, fw, device, edges, rate, state, next_rec, patient = frames[0][2]
    assert proto == P.PROTOCOL_VERSION and device == "test" and edges == 24 and rate == 10 and state == "I"
    assert patient == 0  # caps set for no one in particular: the defaults
    assert frames[1][2] == [20, 15, 30, 250, 5, 300, 180, 250, 0, 0]  # the caps, no patient, no counter yet


def test_the_caps_say_whom_they_were_set_for_in_c_and_in_the_handshake():
    wire = Wire()
    frames = wire.caps([10, 15, 30, 250, 5, 300, 180, 180], counter=3, patient=42)
    assert frames[0][2] == [10, 15, 30, 250, 5, 300, 180, 180, 42, 3]
    assert wire.command("HELLO", P.PROTOCOL_VERSION)[0][2][7] == 42


def test_cal_is_authenticated_like_caps_and_uses_up_the_counter():
    wire = Wire(Bench(rpm=0.0))
    assert types(wire.cal("L", 98, key=bytes(32))) == ["N"]  # not the trainer's key
    assert types(wire.cal("L", 98, counter=4)) == ["A"]
    assert wire.link.caps_counter == 4
    assert wire.cal("L", 98, counter=4)[0][2][1] == "STALE"  # a recorded CAL replayed
    assert wire.cal("L", 0, counter=5)[0][2][1] == "RANGE" and wire.link.caps_counter == 4


def test_hello_from_another_protocol_version_is_answered_then_refused():
    wire = Wire()
    frames = wire.command("HELLO", P.PROTOCOL_VERSION + 1)
    assert types(frames) == ["H", "C", "G", "K", "N"] and frames[-1][2] == [0, "VERSION"]


def test_set_caps_is_acknowledged_and_the_new_caps_and_goals_are_sent():
    wire = Wire()
    frames = wire.caps([10, 15, 30, 250, 5, 300, 180, 250], counter=7)
    assert types(frames) == ["C", "G", "A"]
    assert frames[0][2] == [10, 15, 30, 250, 5, 300, 180, 250, 0, 7]  # the new caps and their counter
    assert frames[1][2][3] == 10  # work resistance clamped too


def test_goals_are_answered_with_the_clamped_goals():
    wire = Wire()
    frames = wire.command("GOALS", 30, 10, 50, 90)
    assert types(frames) == ["G", "A"] and frames[0][2] == [10, 10, 30, 20]


def test_session_commands_drive_the_state_machine():
    wire = Wire()
    assert types(wire.command("START")) == ["A"] and wire.bench.ctl.state == WARMUP
    assert types(wire.command("PAUSE")) == ["A"] and wire.bench.ctl.state == PAUSED
    assert types(wire.command("RESUME")) == ["A"] and wire.bench.ctl.state == WARMUP
    assert wire.command("START")[0][2] == [3, "STATE"]


def test_bad_frames_are_answered_with_nak_and_change_nothing():
    wire = Wire()
    wire.command("START")
    wire.bench.run(5)
    before = wire.state()
    cases = [
        (b"$CAPS,9,100,90,120,1500,30,0,0,1,AAAAAAAAAAAAAAAAAAAAAA*0000\n", "BADCRC"),  # a corrupted raise
        (b"garbage\n", "SYNTAX"),
        (b"$" + b"9" * 200 + b"\n", "TOOLONG"),
        (P.encode("A", 9, [1]), "UNKNOWN"),  # a device frame sent to the device
        (P.encode("CAPS", 10, [100, 90, 120, 1500, 30, 0, 5000, 1500, 0, 1, "A" * 22]), "AUTH"),
        (framed(b"CAPS,10,100,90,120,1500,30,0,0"), "ARGS"),  # protocol 1's CAPS: no counter, no tag
        (framed(b"CAPS,10,100,90,120,1500,30,0,0,1,AAAAAAAAAAAAAAAAAAAAAA"), "ARGS"),  # protocol 2's
        (P.encode("CAL", 13, ["L", 98, 1, "A" * 22]), "AUTH"),  # an unsigned calibration
        (framed(b"CAL,13,L,98"), "ARGS"),  # protocol 2's CAL: no counter, no tag
        (P.encode("GOALS", 11, [10, 30, 20, 10]), "RANGE"),
        (P.encode("RATE", 12, [51]), "RANGE"),
        (P.encode("CAL", 13, ["X", 100, 1, capsauth.cal_tag(TEST_KEY, "test", 1, "X", 100)]), "RANGE"),
        (P.encode("ACK", 14, [wire.bench.ctl.ring.next_rec + 5]), "RANGE"),
        (P.encode("REPLAY", 15, [wire.bench.ctl.ring.next_rec + 5]), "RANGE"),
        (P.encode("TARE", 16, []), "STATE"),
    ]
    for frame, code in cases:
        frames = wire.raw(frame)
        assert types(frames) == ["N"] and frames[0][2][1] == code, (frame, frames)
        assert wire.state() == before, frame


def test_control_bytes_in_a_line_are_refused_not_obeyed():
    wire = Wire()
    before = wire.state()
    frames = wire.raw(b"$START,0\x03*1234\n\x01\x02\x04\n")
    assert types(frames) == ["N", "N"] and wire.state() == before


def test_a_resent_command_is_answered_again_but_applied_once():
    wire = Wire()
    wire.command("START", seq=7)
    wire.command("PAUSE", seq=8)
    events = len(wire.bench.events())
    assert types(wire.command("PAUSE", seq=8)) == ["A"]
    assert len(wire.bench.events()) == events


def test_a_restarted_host_starting_again_from_seq_0_is_not_taken_for_a_resend():
    wire = Wire()
    wire.command("HELLO", 1, seq=0)
    wire.command("START", seq=1)
    wire.command("STOP", seq=2)
    wire.command("STOP", seq=3)
    wire.command("HELLO", 1, seq=0)
    wire.command("START", seq=1)
    assert wire.bench.ctl.state == WARMUP


def test_telemetry_streams_every_record_in_order():
    wire = Wire()
    wire.command("START")
    wire.bench.run(3)
    sent = len(wire.sent)
    while wire.link.pump():
        pass
    frames = [P.decode(f) for f in wire.sent[sent:]]
    recs = [f[2][0] for f in frames]
    assert recs == list(range(recs[0], recs[0] + len(recs))) and len(recs) >= 30
    assert "E" in types(frames) and "T" in types(frames)


def test_a_port_that_takes_nothing_stalls_the_stream_without_losing_records():
    wire = Wire()
    wire.bench.run(2)
    wire.accept = False
    assert wire.link.pump() == 0
    wire.accept = True
    first = wire.link.send_rec
    while wire.link.pump():
        pass
    assert P.decode(wire.sent[0])[2][0] == first == 0


def test_replay_resends_from_any_record_the_ring_holds():
    wire = Wire()
    wire.bench.run(5)
    while wire.link.pump():
        pass
    assert types(wire.command("REPLAY", 10)) == ["A"]
    start = len(wire.sent)
    wire.link.pump(3)
    assert [P.decode(f)[2][0] for f in wire.sent[start:]] == [10, 11, 12]


def test_replay_of_records_already_overwritten_says_gone_and_sends_the_oldest():
    wire = Wire()
    wire.bench.ctl.set_rate(50)
    wire.bench.run(100)  # 5000 records > 3072
    frames = wire.command("REPLAY", 0)
    assert frames[0][2][1] == "GONE"
    assert wire.link.send_rec == wire.bench.ctl.ring.oldest()


def test_acknowledged_records_are_not_counted_lost_when_overwritten():
    wire = Wire()
    wire.bench.ctl.set_rate(50)
    for _ in range(10):
        wire.bench.run(10)
        while wire.link.pump(64):
            pass
        wire.command("ACK", (wire.link.send_rec - 1) & (P.REC_MODULO - 1))
    assert wire.bench.ctl.ring.lost == 0


def test_echoed_device_frames_do_not_count_as_the_host_being_alive():
    wire = Wire(Bench(host=False))
    wire.command("START")
    echo = P.encode("T", 1, [1, 2, "W", 200, 0, 0, 0, 0, 0])
    for _ in range(20):
        wire.bench.run(1)
        wire.raw(echo)  # a loopback or a tty echoing the device's own output
    assert wire.bench.ctl.state == PAUSED  # the host was silent: the session paused


def test_a_failed_calibration_is_reported_as_an_event_frame():
    bench = Bench(rpm=0.0)
    bench.rider.foot_weight_n = 0.0  # nothing at all on the pedals
    wire = Wire(bench)
    assert types(wire.cal("L", 100)) == ["A"]  # "100 N on the left pedal": there is not
    wire.bench.run(1)
    start = len(wire.sent)
    while wire.link.pump():
        pass
    events = [P.decode(f)[2][3] for f in wire.sent[start:] if f.startswith(b"$E")]
    assert "CAL_FAILED" in events



def _drain(wire):
    """Pump everything out: (first rec, last rec, the LOST events' args), decoding as it goes
    (a small heap holds no list of thousands of frames)."""
    first = last = None
    lost = []
    del wire.sent[:]
    while wire.link.pump(64):
        for f in wire.sent:
            type_, _, v = P.decode(f)
            if type_ in ("T", "E"):
                first = v[0] if first is None else first
                last = v[0]
                if type_ == "E" and v[3] == "LOST":
                    lost.append(v[4])
        del wire.sent[:]
    return first, last, lost


def test_a_gap_is_reported_once_with_its_true_size_whatever_the_host_acks_after_it():
    wire = Wire()
    wire.bench.ctl.set_rate(50)
    wire.bench.run(1)
    _, before, _ = _drain(wire)
    wire.command("ACK", before)  # a host that stored everything so far
    wire.accept = False  # then the port takes nothing for 100 s: 5,000 records > the ring's 3,072
    for _ in range(100):
        wire.bench.run(1)
        wire.link.pump(64)
    wire.accept = True
    after, _, lost = _drain(wire)
    gap = after - before - 1  # the records the host never got
    assert gap > 1500
    assert lost == [gap]  # once, its true size
    for _ in range(20):  # a host that keeps ACKing its highest gap-free record
        wire.command("ACK", before)
        wire.bench.run(1)
        assert _drain(wire)[2] == []  # no LOST after every sample
