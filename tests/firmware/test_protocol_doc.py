"""docs/protocol.md, *Questions a client author asks*: one test per answer, driving the firmware
exactly as the answer's example exchange does (the Link on a Bench: the real control code in
virtual time, on CPython and on MicroPython). The 0x03 answer needs the real interpreter behind
a pseudo-terminal: tests/host/test_protocol_doc_pty.py has it.

Each test is named after its question; keep the docs' examples and these in step.
"""

from softcrank_fw import protocol as P
from softcrank_fw.capsauth import load_key
from softcrank_fw.control import COOLDOWN, EV_HOST_LOST, EV_PAUSE, PAUSED, WORK
from softcrank_fw.crc import crc16
from support import TEST_KEY, Bench, Wire

# Caps a test session can use: no warm-up (straight into work), the fastest ramp (30 %/min).
FAST_CAPS = [20, 15, 30, 250, 30, 0, 180, 250]  # protocol 3: eight limits (the right leg's threshold last)


def framed(body):
    """A frame with a correct CRC around any body, valid or not."""
    return b"$%s*%04X\n" % (body, crc16(body))


def answer(frames):
    """The closing A or N of an answer, as (type, fields)."""
    return frames[-1][0], frames[-1][2]


def records(wire):
    """The record numbers of everything the link has to send now (frames read and dropped
    batch by batch: thousands of decoded frames would not fit MicroPython's test heap)."""
    recs = []
    while True:
        del wire.sent[:]
        if not wire.link.pump(64):
            return recs
        for frame in wire.sent:
            type_, _, values = P.decode(frame)
            if type_ == "T" or type_ == "E":
                recs.append(values[0])


def riding_at(wire, res_pct=10, seconds=30):
    """A session in its work phase with the brake ramped up: caps with no warm-up, goals with
    `res_pct`, START, then `seconds` of riding with the host's heartbeat."""
    assert answer(wire.caps(FAST_CAPS))[0] == "A"
    assert answer(wire.command("GOALS", 10, 10, 30, res_pct))[0] == "A"
    assert answer(wire.command("START"))[0] == "A"
    for _ in range(seconds):
        wire.bench.run(1)
        wire.command("PING")  # the heartbeat
    assert wire.bench.ctl.state == WORK


# 1. Which fields are integers and which are tokens -------------------------------------------

def test_q1_integers_and_tokens():
    tokens = sorted((t, name) for table in (P.DEVICE_MESSAGES, P.HOST_MESSAGES) for t, fields in table.items()
                    for name, kind in fields if kind == P.TOKEN)
    assert tokens == sorted([("H", "fw"), ("H", "device"), ("H", "state"), ("T", "state"), ("E", "state"),
                             ("E", "event"), ("N", "code"), ("CAL", "side"), ("CAL", "tag"), ("CAPS", "tag"),
                             ("L", "tag")])
    wire = Wire()
    assert answer(wire.raw(framed(b"RATE,1,ten"))) == ("N", [1, "ARGS"])  # a token where an integer goes
    assert answer(wire.raw(framed(b"RATE,2,010"))) == ("N", [2, "ARGS"])  # no leading zeros
    assert answer(wire.raw(framed(b"RATE,3,+10"))) == ("N", [3, "ARGS"])  # no plus sign
    assert answer(wire.raw(framed(b"CAL,4,10,100,1,AAAA"))) == ("N", [4, "AUTH"])  # well-formed ("10" is a token); unsigned
    assert answer(wire.raw(framed(b"CAL,5,L,1e2,1,AAAA"))) == ("N", [5, "ARGS"])
    assert answer(wire.raw(framed(b"RATE,6,25"))) == ("A", [6])
    assert wire.bench.ctl.sample_period_ms == 40


# 2. The NAK for a bad SEQ; BADCRC carries ref -1 --------------------------------------------

def test_q2_a_bad_seq_is_syntax_and_badcrc_carries_ref_minus_1():
    wire = Wire()
    before = wire.state()
    assert answer(wire.raw(framed(b"PING,65536"))) == ("N", [-1, "SYNTAX"])  # above 65535
    assert answer(wire.raw(framed(b"PING,007"))) == ("N", [-1, "SYNTAX"])  # leading zeros
    assert answer(wire.raw(framed(b"PING,-1"))) == ("N", [-1, "SYNTAX"])
    assert answer(wire.raw(b"$PING,5*0000\n")) == ("N", [-1, "BADCRC"])  # seq 5 is readable, and not trusted
    assert answer(wire.raw(framed(b"PING,5"))) == ("A", [5])
    assert wire.state() == before


# 3. What to ACK after a gap REPLAY cannot fill ----------------------------------------------

def _lapped(wire):
    """A host that stored and acknowledged up to some record, then stopped reading while the
    ring (3072 records) lapped it: 100 s at 50 Hz. Returns the last record it had."""
    wire.command("RATE", 50)
    wire.bench.run(1)
    have = records(wire)[-1]
    wire.command("ACK", have)
    wire.accept = False  # the host stops reading
    wire.bench.run(100)
    wire.accept = True
    return have


def test_q3_after_a_gap_replay_cannot_fill_ack_the_newest_record_stored():
    wire = Wire()
    have = _lapped(wire)
    ring = wire.bench.ctl.ring
    assert answer(wire.command("REPLAY", have + 1)) == ("N", [wire.seq - 1, "GONE"])
    got = records(wire)
    assert got[0] == ring.oldest() > have + 1  # from the oldest the ring holds: the rest is gone
    lost = ring.lost
    assert answer(wire.command("ACK", got[-1]))[0] == "A"  # the newest stored, past the gap
    for _ in range(60):  # then the usual: store, ACK the newest, every second
        wire.bench.run(1)
        wire.command("ACK", records(wire)[-1])
    assert ring.lost == lost  # nothing more counted lost

    stuck = Wire()  # a host that keeps ACKing the record before the gap, waiting for it
    have = _lapped(stuck)
    stuck.command("REPLAY", have + 1)
    records(stuck)
    lost = stuck.bench.ctl.ring.lost
    for _ in range(100):
        stuck.bench.run(1)
        records(stuck)
        stuck.command("ACK", have)  # accepted (not in the future) but it moves nothing
    assert stuck.bench.ctl.ring.lost > lost  # every record the ring reuses counts as lost again


# 4. REPLAY on first connection --------------------------------------------------------------

def test_q4_a_host_replays_on_first_connection():
    wire = Wire()
    wire.bench.run(3)
    records(wire)  # the trainer sent these before the port was opened: the opening drops them
    hello = wire.command("HELLO", P.PROTOCOL_VERSION)
    next_rec = hello[0][2][6]
    assert next_rec == wire.bench.ctl.ring.next_rec > 0
    wire.bench.run(0.5)
    first = records(wire)[0]
    assert first == next_rec  # without a REPLAY the stream goes on from where it was...
    assert answer(wire.command("REPLAY", 0))[0] == "A"  # ... so ask for what you lack
    assert records(wire)[:3] == [0, 1, 2]


# 5. rec and SEQ restart at 0 after a reboot -------------------------------------------------

def test_q5_after_a_reboot_rec_and_seq_start_again_from_0():
    before = Wire()
    before.bench.run(20)
    records(before)
    stored = before.bench.ctl.ring.next_rec - 1  # the newest record the host stored
    before.command("ACK", stored)
    rebooted = Wire()  # the same trainer after a reboot: a new controller, ring and link
    hello = rebooted.command("HELLO", P.PROTOCOL_VERSION)
    assert rebooted.sent and P.decode(rebooted.sent[0])[1] == 0  # the device's SEQ starts at 0
    assert hello[0][2][6] < stored  # H's next_rec is behind what the host stored: a restart
    assert answer(rebooted.command("ACK", stored))[1][1] == "RANGE"  # the old numbers mean nothing now
    rebooted.bench.run(1)
    assert answer(rebooted.command("REPLAY", 0))[0] == "A"
    assert records(rebooted)[0] == 0  # its records, from 0 (on a board: BOOT first)


# 6. Host silence: ramp-down first, then PAUSE -----------------------------------------------

def test_q6_on_host_silence_the_brake_ramps_down_and_then_the_session_pauses():
    wire = Wire()
    riding_at(wire, res_pct=10)
    ctl = wire.bench.ctl
    assert ctl.brake == 100_000  # 10 % in parts per million
    wire.bench.host = False
    wire.bench.ticks = 1  # silence from now: 0.01 s after the last heartbeat
    trace = []  # (tick, brake, state, new events)
    seen = len(wire.bench.events())
    for tick in range(1200):
        wire.bench.tick()
        events = wire.bench.events()
        trace.append((tick, ctl.brake, ctl.state, events[seen:]))
        seen = len(events)
    lost_at = next(t for t, _, _, ev in trace if (EV_HOST_LOST, 0) in ev)
    pause_at = next(t for t, _, _, ev in trace if (EV_PAUSE, P.PAUSE_HOST_SILENT) in ev)
    ramp_at = next(t for t, b, _, _ in trace if b < 100_000)
    assert 295 <= lost_at <= 300  # 3 s: HOST_LOST, the brake held
    assert 995 <= ramp_at <= 1000  # 10 s: the ramp-down begins
    assert trace[pause_at - 1][1] == 0 or trace[pause_at][1] == 0  # the PAUSE once the brake is at zero
    assert pause_at - ramp_at >= 50 - 2  # 10 % at 20 % a second: 0.5 s, 50 ticks
    assert [b for _, b, _, _ in trace[ramp_at:pause_at]] == sorted([b for _, b, _, _ in trace[ramp_at:pause_at]],
                                                                  reverse=True)
    assert trace[-1][2] == PAUSED


# 7. Which frames count as a heartbeat -------------------------------------------------------

def test_q7_a_well_formed_refused_command_is_a_heartbeat_and_a_malformed_one_is_not():
    wire = Wire(Bench(host=False))
    riding_at(wire)
    for _ in range(15):
        wire.bench.run(1)
        assert answer(wire.command("START"))[1][1] == "STATE"  # refused: a session is under way
    assert wire.bench.ctl.state == WORK and not wire.bench.events(EV_HOST_LOST)
    for bad in (b"$PING,99*0000\n", framed(b"RATE,98,ten"), framed(b"WHAT,97")):
        cut = Wire(Bench(host=False))
        riding_at(cut)
        for _ in range(12):
            cut.bench.run(1)
            assert answer(cut.raw(bad))[0] == "N"
        assert cut.bench.events(EV_HOST_LOST) == [0], bad
        assert cut.bench.ctl.state == PAUSED, bad


# 8. A different command reusing the last seq ------------------------------------------------

def test_q8_a_different_command_reusing_the_last_seq_is_answered_but_not_applied():
    wire = Wire()
    assert [f[0] for f in wire.command("GOALS", 10, 15, 25, 10, seq=40)] == ["G", "A"]
    again = wire.command("GOALS", 20, 5, 30, 15, seq=40)  # new values, the same seq and type
    assert [f[0] for f in again] == ["A"] and again[0][2] == [40]  # the old answer, no G
    assert list(wire.bench.ctl.goals.values) == [10, 15, 25, 10]  # not applied
    assert [f[0] for f in wire.command("GOALS", 20, 5, 30, 15, seq=41)] == ["G", "A"]  # a new seq: applied
    assert list(wire.bench.ctl.goals.values) == [10, 5, 30, 15]
    assert answer(wire.command("START", seq=42)) == ("A", [42])
    assert answer(wire.command("PAUSE", seq=42)) == ("A", [42])  # another type with the same seq: applied
    assert wire.bench.ctl.state == PAUSED


# 9. STOP when idle, GOALS mid-session, RATE across a reconnect -------------------------------

def test_q9_stop_when_idle_goals_mid_session_and_rate_across_a_reconnect():
    wire = Wire()
    events = len(wire.bench.events())
    assert answer(wire.command("STOP")) == ("A", [wire.seq - 1])  # idle: accepted, nothing happens
    assert len(wire.bench.events()) == events and wire.bench.ctl.state == 0

    riding_at(wire, res_pct=10, seconds=70)
    assert wire.bench.ctl.target == 100_000
    frames = wire.command("GOALS", 1, 10, 30, 5)  # mid-session: 1 minute of work, 5 %
    assert [f[0] for f in frames] == ["G", "A"] and frames[0][2] == [1, 10, 30, 5]
    wire.bench.run(0.02)
    assert wire.bench.ctl.state == COOLDOWN  # 70 s of work already: past the new 1 minute, at once

    assert answer(wire.command("RATE", 25))[0] == "A"
    hello = wire.command("HELLO", P.PROTOCOL_VERSION)  # a reconnect: RATE holds
    assert hello[0][2][4] == 25
    assert Wire().command("HELLO", P.PROTOCOL_VERSION)[0][2][4] == 10  # a reboot: back to 10


# 11. A caps key, obtained legitimately ------------------------------------------------------

KEY_PATH = "/tmp/softcrank-protocol-doc-device.key"


def _sha256(data):
    import hashlib

    return hashlib.sha256(data).digest()


def _hmac_sha256(key, message):
    """RFC 2104 written out here, as a third party would, not taken from the firmware."""
    block = bytes(key) + bytes(64 - len(key))
    inner = _sha256(bytes(b ^ 0x36 for b in block) + message)
    return _sha256(bytes(b ^ 0x5C for b in block) + inner)


def _tag(key, device, counter, caps):
    import binascii

    text = "softcrank-caps-v1|%s|%d|%s" % (device, counter, ",".join(str(v) for v in caps))
    raw = binascii.b2a_base64(_hmac_sha256(key, text.encode())[:16]).strip().decode()
    return raw.replace("+", "-").replace("/", "_").rstrip("=")


def test_q11_a_third_party_provisions_its_own_key_and_signs_caps_with_it():
    from softcrank_fw.link import Link

    import os

    mine = bytes((7 * i + 3) & 0xFF for i in range(32))  # the clinic's own 32 random bytes
    with open(KEY_PATH, "w") as f:
        f.write("".join("%02x" % b for b in mine) + "\n")  # device.key: 64 hex digits
    try:
        key = load_key(KEY_PATH)
    finally:
        os.remove(KEY_PATH)
    assert key == mine
    wire = Wire()
    wire.link = Link(wire.bench.ctl, wire._write, "test", 24, key=key, caps_counter=7)  # the trainer, rebooted
    hello = wire.command("HELLO", P.PROTOCOL_VERSION)
    device, counter = hello[0][2][2], hello[1][2][9]
    caps = [30, 20, 40, 300, 6, 120, 120, 280, 0]  # the eight limits and the patient (0: no one named)
    frames = wire.command("CAPS", *(caps + [counter + 1, _tag(mine, device, counter + 1, caps)]))
    assert [f[0] for f in frames] == ["C", "G", "A"] and frames[0][2] == caps + [counter + 1]
    old = wire.caps([20, 15, 30, 250, 5, 300, 180, 250], counter=counter + 2, key=TEST_KEY)  # softcrank's old key
    assert answer(old)[1][1] == "AUTH"
