"""What the emulated chip is given: the flash's filesystem and the two files the user brings.

The filesystem tests run everywhere (littlefs-python reads back what fsimage wrote); the
harness tests need Node.js and the two files, like the rest of tests/rp2040."""

import json
import pathlib
import tempfile

import pytest

from softcrank.chipsim import fsimage
from softcrank.chipsim.board import ChipBoard, check_files
from softcrank.chipsim.node import ChipSimError

from chipenv import BOOTROM, FIRMWARE


def _mount(img):
    from littlefs import LittleFS

    fs = LittleFS(block_size=fsimage.BLOCK_SIZE, block_count=fsimage.BLOCK_COUNT, read_size=fsimage.READ_SIZE,
                  prog_size=fsimage.PROG_SIZE, lookahead_size=fsimage.LOOKAHEAD, mount=False)
    fs.context.buffer[:] = img
    fs.mount()
    return fs


def _files(fs, top="/"):
    found = {}
    for root, _dirs, names in fs.walk(top):
        for name in names:
            path = (root.rstrip("/") + "/" + name).lstrip("/")
            with fs.open(path, "rb") as f:
                found[path] = f.read()
    return found


def test_the_flash_holds_exactly_what_deploy_copies():
    img = fsimage.build({"device.key": b"00" * 32 + b"\n"})
    assert len(img) == 1408 * 1024 and fsimage.FS_OFFSET + len(img) == 2 * 1024 * 1024  # to the flash's end
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        expected = {p.relative_to(root).as_posix(): p.read_bytes() for p in fsimage.deploy_files(root)}
    expected["device.key"] = b"00" * 32 + b"\n"
    assert _files(_mount(img)) == expected
    assert json.loads(expected["config.json"]) == {"board": "pico"}
    assert {"main.py", "pinmap.json", "softcrank_pico/board.mpy", "softcrank_fw/loop.mpy"} <= set(expected)
    assert not any(p.startswith("softcrank_sim/") for p in expected)  # the Pico's packages only


def test_missing_or_wrong_files_are_named_with_where_to_get_them(tmp_path):
    with pytest.raises(ChipSimError, match="--firmware .*nope.uf2: no such file.*micropython.org/download/RPI_PICO"):
        check_files(tmp_path / "nope.uf2", tmp_path / "rom.bin")
    notuf2 = tmp_path / "firmware.bin"
    notuf2.write_bytes(b"\x00" * 1024)
    with pytest.raises(ChipSimError, match="is not a UF2 file"):
        check_files(notuf2, tmp_path / "rom.bin")
    uf2 = tmp_path / "fw.uf2"
    uf2.write_bytes(b"UF2\n" + b"\x00" * 508)
    with pytest.raises(ChipSimError, match="--bootrom .*rom.bin: no such file.*pico-bootrom"):
        check_files(uf2, tmp_path / "rom.bin")


@pytest.mark.needs_chip
def test_a_wrong_bootrom_is_refused_with_what_was_expected(tmp_path):
    rom = tmp_path / "rom.bin"
    rom.write_bytes(b"\x00" * 1000)
    with pytest.raises(ChipSimError, match="not an RP2040 bootrom: expected a 16384-byte binary"):
        ChipBoard(FIRMWARE, rom).start()


def test_without_node_or_npm_it_says_what_is_missing(tmp_path, monkeypatch):
    from softcrank.chipsim import node

    monkeypatch.setenv("PATH", str(tmp_path))  # neither node nor npm on it
    monkeypatch.setenv("SOFTCRANK_CACHE", str(tmp_path / "cache"))  # and rp2040js not installed yet
    with pytest.raises(ChipSimError, match=r"needs Node.js 18 or later \(`node` is not on PATH\)"):
        node.node()
    with pytest.raises(ChipSimError, match=r"needs rp2040js 1.4.1 from npm, and `npm` is not on PATH"):
        node.rp2040js()
    assert not (tmp_path / "cache" / "rp2040js-1.4.1" / "node_modules").exists()
