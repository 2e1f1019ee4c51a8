"""Regenerate frames.json, the protocol's golden vectors (CPython only).

The CRCs here come from the standard library's binascii.crc_hqx (CRC-CCITT with init 0xFFFF,
the same CRC-16/CCITT-FALSE), not from the firmware's own crc16, so the vectors are an
independent check of it. Run from the repository root:  python tests/golden/make_frames.py
"""

import binascii
import json
import pathlib


def frame(body):
    return "$%s*%04X\n" % (body, binascii.crc_hqx(body.encode(), 0xFFFF))


VALID = [
    ("PING,0", "PING", 0, []),
    ("HELLO,1,2", "HELLO", 1, [2]),
    ("CAPS,2,20,15,30,250,5,300,180,200,42,1,q1-_Zm9vYmFyAAECAwQFBg", "CAPS", 2,
     [20, 15, 30, 250, 5, 300, 180, 200, 42, 1, "q1-_Zm9vYmFyAAECAwQFBg"]),
    ("GOALS,3,10,15,25,10", "GOALS", 3, [10, 15, 25, 10]),
    ("START,4", "START", 4, []),
    ("CAL,5,L,100,2,Zm9vYmFyAAECAwQFBgcICQ", "CAL", 5, ["L", 100, 2, "Zm9vYmFyAAECAwQFBgcICQ"]),
    ("REPLAY,6,1234", "REPLAY", 6, [1234]),
    ("ACK,65535,1073741823", "ACK", 65535, [1073741823]),
    ("RATE,7,50", "RATE", 7, [50]),
    ("H,0,3,0.1.0,e6614103e7452d2f,24,10,I,0,42", "H", 0, [3, "0.1.0", "e6614103e7452d2f", 24, 10, "I", 0, 42]),
    ("C,1,20,15,30,250,5,300,180,200,42,7", "C", 1, [20, 15, 30, 250, 5, 300, 180, 200, 42, 7]),
    ("G,2,10,15,25,10", "G", 2, [10, 15, 25, 10]),
    ("K,3,81000,-52000,1000,-998", "K", 3, [81000, -52000, 1000, -998]),
    ("T,17,4242,123456,W,215,1234,-56,150,421,12", "T", 17, [4242, 123456, "W", 215, 1234, -56, 150, 421, 12]),
    ("T,18,4243,123556,W,-1500,0,0,0,0,0", "T", 18, [4243, 123556, "W", -1500, 0, 0, 0, 0, 0]),
    ("E,19,4244,123560,R,SPASM,1", "E", 19, [4244, 123560, "R", "SPASM", 1]),
    ("A,20,3", "A", 20, [3]),
    ("N,21,-1,BADCRC", "N", 21, [-1, "BADCRC"]),
    ("CAPSLOG,22", "CAPSLOG", 22, []),  # protocol 4
    ("L,23,12,3605,9f86d081884c7d65", "L", 23, [12, 3605, "9f86d081884c7d65"]),
]

INVALID = [
    ("$PING,0*0000\n", "BADCRC"),
    (frame("PING,0").replace("$", ""), "SYNTAX"),
    ("$PING,0\n", "SYNTAX"),
    (frame("PING,0").lower().replace("$ping", "$PING"), "SYNTAX"),
    (frame("PING,0")[:-3] + "\n", "SYNTAX"),
    (frame("ACK,1,5").replace("5*", "\u0003*"), "SYNTAX"),
    (frame("ACK,1,5").replace(",5", ",\u0003"), "SYNTAX"),
    (frame("PING,70000"), "SYNTAX"),
    (frame("PING,"), "SYNTAX"),
    (frame("PING,-1"), "SYNTAX"),
    (frame("PING,007"), "SYNTAX"),
    (frame("FOO,1"), "UNKNOWN"),
    (frame("CAPS,2,20,15"), "ARGS"),
    (frame("CAPS,2,20,15,30,250,5,300,180"), "ARGS"),  # protocol 1's CAPS: no counter, no tag
    (frame("CAPS,2,20,15,30,250,5,300,180,1,q1-_Zm9vYmFyAAECAwQFBg"), "ARGS"),  # protocol 2's
    (frame("CAL,5,L,100"), "ARGS"),  # protocol 2's CAL: not signed
    (frame("CAPS,2,20,15,30,250,5,300,180,250,0,1,not+a/token"), "ARGS"),
    (frame("ACK,3,12a"), "ARGS"),
    (frame("ACK,3,007"), "ARGS"),
    (frame("ACK,3,+5"), "ARGS"),
    (frame("ACK,3,-0"), "ARGS"),
    (frame("ACK,3,1073741824"), "ARGS"),
    (frame("ACK,3,"), "ARGS"),
    (frame("CAL,4,L R,100"), "ARGS"),
    (frame("CAL,4,%s,100" % ("L" * 25)), "ARGS"),
    (frame("ACK,3," + "1" * 120), "TOOLONG"),
]

doc = {
    "crc16": [{"data": d, "crc": binascii.crc_hqx(d.encode(), 0xFFFF)} for d in ("123456789", "", "$", "T,1,2")],
    "valid": [{"frame": frame(body), "type": t, "seq": s, "values": v} for body, t, s, v in VALID],
    "invalid": [{"frame": f, "error": e} for f, e in INVALID],
}
path = pathlib.Path(__file__).with_name("frames.json")
path.write_text(json.dumps(doc, indent=1) + "\n")
print("wrote", path)
