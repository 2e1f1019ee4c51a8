"""Authenticated caps on the firmware: HMAC-SHA256 itself, the tag, check(), the link's
refusals and their events, and caps.json on flash. Runs on CPython and on MicroPython."""

import binascii
import os

from softcrank_fw import capstore
from softcrank_fw import protocol as P
from softcrank_fw.capsauth import TAG_CHARS, check, load_key, message, tag
from softcrank_fw.control import EV_CAPS, EV_CAPS_DEFAULTS, EV_CAPS_REFUSED
from softcrank_fw.hmac256 import b64url, equal, hmac_sha256
from support import TEST_KEY, Wire, skip

H = binascii.unhexlify

# RFC 4231 section 4: (key, data, HMAC-SHA-256); case 5's result is truncated to 128 bits.
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. The key "
     b"needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]
CAPS = [30, 20, 40, 300, 6, 120, 120, 200, 42]  # per-leg thresholds, for patient 42


def test_hmac_sha256_gives_the_rfc_4231_test_vectors():
    for key, data, want in RFC4231:
        got = hmac_sha256(key, data)[: len(want) // 2]
        assert got == H(want), (key[:4], data[:10])


def test_hmac_sha256_agrees_with_cpythons_hmac_module():
    try:
        import hashlib
        import hmac
    except ImportError:
        skip("no hmac module on this interpreter (MicroPython): the RFC vectors stand for it")
    for n in (0, 1, 31, 32, 63, 64, 65, 200):
        key = bytes((7 * i + n) & 0xFF for i in range(n))
        msg = bytes(range(n % 256)) * 3
        assert hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest(), n


def test_base64url_matches_rfc_4648_without_padding():
    assert b64url(b"") == ""
    assert b64url(b"f") == "Zg" and b64url(b"fo") == "Zm8" and b64url(b"foo") == "Zm9v"
    assert b64url(b"foobar") == "Zm9vYmFy"
    assert b64url(b"\xfb\xff\xbf") == "-_-_"  # the url-safe letters, not '+' and '/'
    assert len(b64url(bytes(16))) == TAG_CHARS == 22


def test_equal_compares_whole_values():
    assert equal("abc", "abc") and equal(b"\x00\x01", b"\x00\x01")
    assert not equal("abc", "abd") and not equal("abc", "ab") and not equal("xbc", "abc")


def test_the_tag_covers_the_domain_the_device_the_counter_and_every_value():
    assert message("pico-01", 7, CAPS) == b"softcrank-caps-v1|pico-01|7|30,20,40,300,6,120,120,200,42"
    base = tag(TEST_KEY, "pico-01", 7, CAPS)
    assert len(base) == TAG_CHARS and P.encode("CAPS", 0, CAPS + [7, base])  # one valid token
    others = [tag(TEST_KEY, "pico-02", 7, CAPS), tag(TEST_KEY, "pico-01", 8, CAPS),
              tag(bytes(32), "pico-01", 7, CAPS)]
    for i in range(len(CAPS)):
        changed = list(CAPS)
        changed[i] += 1
        others.append(tag(TEST_KEY, "pico-01", 7, changed))
    assert base not in others and len(set(others)) == len(others)


def test_the_worst_case_caps_frame_fits_max_frame():
    highest = [100, 90, 120, 1500, 30, 1200, 1200, 1500, P.INT_MAX]  # every cap at its highest accepted value
    frame = P.encode("CAPS", P.SEQ_MODULO - 1, highest + [P.INT_MAX, "-" * TAG_CHARS])
    assert len(frame) <= P.MAX_FRAME, len(frame)
    c = P.encode("C", P.SEQ_MODULO - 1, highest + [P.INT_MAX])
    assert len(c) <= P.MAX_FRAME


def test_check_takes_only_an_authentic_frame_with_a_new_counter():
    good = tag(TEST_KEY, "d", 6, CAPS)
    assert check(TEST_KEY, 5, "d", CAPS, 6, good) == (0, 0)
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert check(TEST_KEY, 5, "d", CAPS, 6, flipped) == (P.NAK_AUTH, P.REFUSED_TAG)
    assert check(TEST_KEY, 5, "d", CAPS, 6, good[:-1]) == (P.NAK_AUTH, P.REFUSED_TAG)
    assert check(TEST_KEY, 5, "e", CAPS, 6, good) == (P.NAK_AUTH, P.REFUSED_TAG)  # signed for another trainer
    assert check(TEST_KEY, 5, "d", CAPS, 5, tag(TEST_KEY, "d", 5, CAPS)) == (P.NAK_STALE, P.REFUSED_STALE)
    assert check(TEST_KEY, 5, "d", CAPS, 4, tag(TEST_KEY, "d", 4, CAPS)) == (P.NAK_STALE, P.REFUSED_STALE)
    assert check(None, 5, "d", CAPS, 6, good) == (P.NAK_NOKEY, P.REFUSED_NOKEY)


def refusal(wire, frames, code, reason):
    """The answer is N `code`, the caps stayed, and the ring got CAPS_REFUSED `reason`."""
    assert [f[0] for f in frames] == ["N"] and frames[0][2][1] == code, frames
    assert wire.bench.events(EV_CAPS_REFUSED)[-1:] == [reason]


def test_the_link_refuses_forged_replayed_and_older_caps_with_an_event_each():
    wire = Wire()
    before = list(wire.bench.ctl.caps.values)
    refusal(wire, wire.caps(CAPS, tag="A" * 22), "AUTH", P.REFUSED_TAG)  # a made-up tag
    refusal(wire, wire.caps(CAPS, key=bytes(32)), "AUTH", P.REFUSED_TAG)  # another key
    assert wire.bench.ctl.caps.values == before and wire.link.caps_counter == 0
    assert [f[0] for f in wire.caps(CAPS, counter=3)] == ["C", "G", "A"]
    assert wire.bench.ctl.caps.values == CAPS and wire.bench.events(EV_CAPS) == [0]
    lower = [20, 15, 30, 250, 5, 300, 180, 250]
    refusal(wire, wire.caps(lower, counter=3), "STALE", P.REFUSED_STALE)  # the same counter again
    refusal(wire, wire.caps(lower, counter=2), "STALE", P.REFUSED_STALE)  # an older one
    assert wire.bench.ctl.caps.values == CAPS and wire.link.caps_counter == 3
    assert len(wire.bench.events(EV_CAPS_REFUSED)) == 4


def test_a_recorded_frame_replayed_later_is_refused_but_a_resend_is_answered_again():
    wire = Wire()
    frame = P.encode("CAPS", 40, CAPS + [1, tag(TEST_KEY, "test", 1, CAPS)])
    assert [f[0] for f in wire.raw(frame)] == ["C", "G", "A"]
    assert [f[0] for f in wire.raw(frame)] == ["A"]  # the host resent it: answered, not applied again
    assert len(wire.bench.events(EV_CAPS)) == 1 and wire.bench.events(EV_CAPS_REFUSED) == []
    wire.command("PING", seq=41)
    refusal(wire, wire.raw(frame), "STALE", P.REFUSED_STALE)  # the same bytes, replayed later


def test_a_trainer_without_a_key_takes_no_caps():
    wire = Wire(key=None)
    refusal(wire, wire.caps(CAPS), "NOKEY", P.REFUSED_NOKEY)
    assert wire.bench.ctl.caps.values == [20, 15, 30, 250, 5, 300, 180, 250, 0]


def test_authentic_caps_out_of_range_are_refused_and_do_not_use_up_the_counter():
    wire = Wire()
    frames = wire.caps([100, 90, 120, 1500, 30, 0, 5000, 1500], counter=9)
    assert frames[0][2][1] == "RANGE" and wire.link.caps_counter == 0
    assert [f[0] for f in wire.caps(CAPS, counter=9)] == ["C", "G", "A"]


def test_caps_are_saved_with_their_counter_before_they_apply():
    saved = []
    wire = Wire(save_caps=lambda counter, values: saved.append((counter, list(values))))
    wire.caps(CAPS, counter=4)
    assert saved == [(4, CAPS)]

    def full(counter, values):
        raise OSError(28, "no space left")

    wire = Wire(save_caps=full)
    refusal(wire, wire.caps(CAPS, counter=4), "UNSAVED", P.REFUSED_UNSAVED)
    assert wire.bench.ctl.caps.values != CAPS and wire.link.caps_counter == 0


def tmp_path(name):
    path = "/tmp/softcrank-test-%s-%d" % (name, os.getpid() if hasattr(os, "getpid") else 0)
    for p in (path, path + ".tmp"):
        try:
            os.remove(p)
        except OSError:
            pass
    return path


def test_caps_round_trip_through_the_flash_file():
    path = tmp_path("caps")
    assert capstore.load(path) == (P.DEFAULTS_MISSING, 0, None)
    capstore.save(12, CAPS, path)
    assert capstore.load(path) == (0, 12, CAPS)
    capstore.save(13, [20, 15, 30, 250, 5, 300, 180, 250], path)
    assert capstore.load(path) == (0, 13, [20, 15, 30, 250, 5, 300, 180, 250])
    os.remove(path)


def test_a_corrupt_caps_file_means_defaults():
    path = tmp_path("corrupt")
    capstore.save(12, CAPS, path)
    with open(path) as f:
        good = f.read()
    bad = [
        good.replace("[30,", "[90,").replace("[30, ", "[90, "),  # a cap raised by hand: the check fails
        good[: len(good) // 2],  # half written
        "",
        "\x00\xff garbage",
        good.replace('"format": 2', '"format": 3').replace('"format":2', '"format":3'),  # a format it does not know
        good.replace('[[12, ', '[[11, ').replace('[[12,', '[[11,'),  # the history edited by hand: the check fails
        '{"format": 1, "counter": 1, "caps": [20, 15, 30, 250, 5, 300, 5000, 250], "check": "%s"}'
        % capstore.digest(1, [20, 15, 30, 250, 5, 300, 5000, 250]),  # checks out, but out of range
        '{"format": 1, "counter": -1, "caps": %s, "check": "%s"}' % (CAPS, capstore.digest(-1, CAPS)),
        "[1, 2, 3]",
    ]
    assert bad[0] != good and bad[5] != good
    for text in bad:
        with open(path, "w") as f:
            f.write(text)
        assert capstore.load(path) == (P.DEFAULTS_CORRUPT, 0, None), text
    os.remove(path)


def test_the_caps_file_keeps_a_short_history_of_accepted_caps():
    """Protocol 4: each save adds (counter, s since boot, digest) and keeps the newest 8; a
    format-1 file (protocol 3) still loads, with no history."""
    path = tmp_path("history")
    with open(path, "w") as f:
        f.write('{"format": 1, "counter": 3, "caps": %s, "check": "%s"}' % (CAPS, capstore.digest(3, CAPS)))
    assert capstore.load(path) == (0, 3, CAPS) and capstore.load_history(path) == []
    for counter in range(4, 4 + capstore.HISTORY_LEN + 2):
        capstore.save(counter, CAPS, path)
    capstore.save(counter, CAPS, path)  # the same counter again (a CAL's save after its CAPS): one entry
    history = capstore.load_history(path)
    assert [e[0] for e in history] == list(range(6, 14)) and capstore.HISTORY_LEN == 8
    assert all(e[2] == capstore.digest(e[0], CAPS) and e[1] >= 0 for e in history)
    assert capstore.load(path) == (0, 13, CAPS)
    os.remove(path)


def test_a_key_file_must_hold_exactly_64_hex_digits():
    path = tmp_path("key")
    assert load_key(path) is None
    for text, want in (("00" * 32 + "\n", bytes(32)), ("0001" * 16, bytes([0, 1] * 16)),
                       ("AB" * 32, b"\xab" * 32), ("00" * 31, None), ("zz" * 32, None), ("00" * 33, None)):
        with open(path, "w") as f:
            f.write(text)
        assert load_key(path) == want, text
    os.remove(path)


def test_a_command_that_finds_no_memory_is_dropped_not_a_crash():
    from softcrank_fw.compat import heap_lock, heap_unlock

    if heap_lock is None:
        skip("no micropython.heap_lock on this interpreter")
    wire = Wire()
    frame = P.encode("CAPS", 5, CAPS + [1, tag(TEST_KEY, "test", 1, CAPS)])
    before, sent = wire.state(), len(wire.sent)
    heap_lock()  # every allocation now fails, as on a heap with no room left
    try:
        for b in frame:
            wire.link.feed(b)
    finally:
        heap_unlock()
    assert wire.state() == before and len(wire.sent) == sent  # nothing applied, nothing half-sent
    assert [f[0] for f in wire.raw(frame)] == ["C", "G", "A"]  # the host's resend, once there is room
