"""The wire protocol under random values, random bytes and mutated frames."""

import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from softcrank_fw import protocol as P
from softcrank_fw.crc import crc16
from support import Wire

TOKEN = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=24)
INT = st.integers(P.INT_MIN, P.INT_MAX)


def message(type_):
    fields = P.spec(type_)
    return st.tuples(st.just(type_), st.integers(0, P.SEQ_MODULO - 1),
                     st.tuples(*[INT if kind == P.INT else TOKEN for _, kind in fields]).map(list))


ANY_MESSAGE = st.sampled_from(sorted(P.DEVICE_MESSAGES) + sorted(P.HOST_MESSAGES)).flatmap(message)
COMMAND = st.sampled_from(sorted(P.HOST_MESSAGES)).flatmap(message)


@given(st.binary(max_size=200))
def test_crc16_is_the_standard_crc_ccitt_false(data):
    assert crc16(data) == binascii.crc_hqx(data, 0xFFFF)


@given(ANY_MESSAGE)
def test_every_message_round_trips_when_it_fits_a_frame(msg):
    type_, seq, values = msg
    try:
        frame = P.encode(type_, seq, values)
    except ValueError:
        return  # too long for MAX_FRAME: refused on encode, never sent
    assert len(frame) <= P.MAX_FRAME
    assert all(0x20 <= b <= 0x7E for b in frame[:-1]) and frame.endswith(b"\n")
    assert P.decode(frame) == (type_, seq, values)


def answers(wire, data):
    """Feed bytes to a fresh-state check; return the frames and whether state changed."""
    before = wire.state()
    frames = wire.raw(data)
    return frames, wire.state() != before


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_link_and_change_nothing(data):
    wire = Wire()
    wire.command("START")
    frames, changed = answers(wire, data + b"\n")
    assert not changed
    assert all(f[0] == "N" for f in frames)


@settings(max_examples=300)
@given(COMMAND, st.data())
def test_a_corrupted_command_is_refused_and_changes_nothing(msg, data):
    type_, seq, values = msg
    try:
        frame = bytearray(P.encode(type_, seq, values))
    except ValueError:
        return
    how = data.draw(st.sampled_from(["flip", "truncate", "insert", "oversize"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(frame) - 2))
        frame[i] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        frame = frame[: data.draw(st.integers(1, len(frame) - 2))] + b"\n"  # (a blank line is ignored)
    elif how == "insert":
        i = data.draw(st.integers(1, len(frame) - 2))
        frame[i:i] = bytes([data.draw(st.integers(0, 255).filter(lambda b: b != 0x0A))])
    else:
        frame = frame[:-1] + b"7" * P.MAX_FRAME + b"\n"
    wire = Wire()
    wire.command("START")
    frames, changed = answers(wire, bytes(frame))
    if frames and frames[0][0] == "A":
        # A one-byte change that still passes CRC-16 would be a valid frame: CRC-16 detects
        # every 1-byte error, so this never happens. Fail loudly if it did.
        assert False, frame
    lines = [part for part in bytes(frame).split(b"\n") if part not in (b"", b"\r")]
    assert not changed and [f[0] for f in frames] == ["N"] * len(lines)  # a flip can make a newline


@settings(max_examples=300)
@given(COMMAND)
def test_valid_crc_commands_out_of_range_change_nothing(msg):
    type_, seq, values = msg  # random ints: almost always outside what the firmware accepts
    try:
        frame = P.encode(type_, seq, values)
    except ValueError:
        return
    wire = Wire()
    frames, changed = answers(wire, frame)
    assert frames, frame
    if frames[-1][0] == "N":
        assert not changed or type_ == "HELLO", frame
