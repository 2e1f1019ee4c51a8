"""The docs tell the truth: every example frame in docs/protocol.md decodes as shown."""

import pathlib
import re

from softcrank_fw import protocol as P

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def test_every_frame_in_the_protocol_example_is_valid():
    text = (DOCS / "protocol.md").read_text()
    frames = re.findall(r"^(host|device) +(\$\S+)$", text, re.MULTILINE)
    assert len(frames) >= 10
    for (side, frame), (_, reply) in zip(frames, frames[1:] + [("", "")]):
        try:
            type_, _, _ = P.decode(frame.encode())
        except P.FrameError as e:  # a frame shown refused on purpose: its N says why
            assert side == "host" and P.decode(reply.encode())[2][1] == str(e), frame
            continue
        table = P.HOST_MESSAGES if side == "host" else P.DEVICE_MESSAGES
        assert type_ in table, frame


def test_the_documented_caps_table_matches_the_firmware():
    from softcrank_fw.limits import CAP_LIMITS

    text = (DOCS / "protocol.md").read_text()
    for (name, _), (default, lo, hi) in zip(P.CAPS_FIELDS, CAP_LIMITS):
        assert re.search(r"\| `%s` \| %d \| %d\.\.%d \|" % (name, default, lo, hi), text), name
