"""The wire protocol against its golden vectors, on CPython and MicroPython alike."""

import json

from softcrank_fw import protocol as P
from softcrank_fw.crc import crc16
from support import raises

_dir = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
with open(_dir + "/../golden/frames.json") as f:
    GOLDEN = json.load(f)


def test_crc16_matches_the_golden_values():
    for case in GOLDEN["crc16"]:
        assert crc16(case["data"].encode()) == case["crc"], case
    assert crc16(b"123456789") == 0x29B1


def test_every_golden_frame_decodes_to_its_fields():
    for case in GOLDEN["valid"]:
        assert P.decode(case["frame"].encode()) == (case["type"], case["seq"], case["values"]), case


def test_every_golden_frame_encodes_byte_for_byte():
    for case in GOLDEN["valid"]:
        assert P.encode(case["type"], case["seq"], case["values"]) == case["frame"].encode(), case


def test_every_invalid_golden_frame_is_refused_with_its_reason():
    for case in GOLDEN["invalid"]:
        try:
            P.decode(case["frame"].encode())
        except P.FrameError as e:
            assert P.NAK_CODES[e.code] == case["error"], (case, P.NAK_CODES[e.code])
        else:
            assert False, case


def test_frames_are_printable_ascii_and_never_carry_repl_control_bytes():
    for case in GOLDEN["valid"]:
        frame = case["frame"].encode()
        assert all(0x20 <= b <= 0x7E for b in frame[:-1]) and frame[-1] == 0x0A
        for ctrl in (1, 2, 3, 4):
            assert ctrl not in frame


def test_a_carriage_return_before_the_newline_is_accepted():
    assert P.decode(b"$PING,0*E6B3\r\n") == ("PING", 0, [])


def test_a_telemetry_frame_at_its_longest_fits_a_third_of_115200_baud_at_50_hz():
    worst = P.encode("T", 65535, [P.INT_MAX, P.INT_MAX, "W", -1500, -32768, -32768, 1000, 32767, 15])
    budget = 115200 // 10 // 3 // 50  # 8N1: 10 bits a byte; a third of the line; 50 Hz
    assert len(worst) <= budget, (len(worst), budget)


def test_encode_refuses_what_it_could_not_decode():
    assert raises(ValueError, P.encode, "T", 0, [1, 2, "W"])
    assert raises(ValueError, P.encode, "CAL", 0, ["L R", 100, 1, "A" * 22])
    assert raises(ValueError, P.encode, "ACK", 0, [1 << 31])
    assert raises(ValueError, P.encode, "ACK", 70000, [1])
    assert raises(ValueError, P.encode, "NOPE", 0, [])


def test_the_writer_builds_frames_without_allocating_a_new_buffer():
    w = P.Writer()
    buf = w.buf
    w.begin("A", 7)
    w.int(-12)
    n = w.end()
    assert w.buf is buf and bytes(buf[:n]) == P.encode("A", 7, [-12])


def test_every_message_and_field_list_is_defined_once_for_both_sides():
    for table in (P.DEVICE_MESSAGES, P.HOST_MESSAGES):
        for type_, fields in table.items():
            assert P.spec(type_) is fields
            names = [name for name, kind in fields]
            assert len(names) == len(set(names)), type_
    for type_ in P.DEVICE_MESSAGES:
        assert type_ not in P.HOST_MESSAGES


def test_the_firmware_codes_name_the_protocol_events_and_states():
    from softcrank_fw import control

    for name in dir(control):
        if name.startswith("EV_"):
            assert P.EVENTS[getattr(control, name)] == name[3:], name
    states = ("IDLE", "WARMUP", "WORK", "COOLDOWN", "DONE", "PAUSED", "REST", "ESTOP", "FAULT")
    for i, name in enumerate(states):
        assert getattr(control, name) == i
    assert len(states) == len(P.STATES) == len(P.STATE_NAMES)
