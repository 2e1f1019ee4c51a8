"""The emulated Pico's filesystem: exactly the files `softcrank deploy` copies, in a LittleFS
image for flash offset 0xA0000.

MicroPython's RPI_PICO build keeps its filesystem in the last 1408 KB of the 2 MB flash
(MICROPY_HW_FLASH_STORAGE_BYTES): 352 blocks of 4096 bytes from offset 2048 - 1408 = 640 KB =
0xA0000, mounted by its _boot.py as LittleFS v2 with progsize=256 (readsize and lookahead at
MicroPython's defaults, 32). The image is built with littlefs-python (PyPI), which wraps the
same littlefs C library MicroPython uses.
"""

from __future__ import annotations

import json
import pathlib
import tempfile

from ..boardfiles import image
from ..boardfiles import pinmap as pinmap_file
from .node import ChipSimError

FS_OFFSET = 0xA0000
BLOCK_SIZE = 4096
BLOCK_COUNT = 352  # 1408 KB
READ_SIZE = 32
PROG_SIZE = 256
LOOKAHEAD = 32


def deploy_files(target: pathlib.Path) -> list[pathlib.Path]:
    """Write what `softcrank deploy` copies onto a Pico into target (deploy.py does the same):
    main.py, softcrank_fw and softcrank_pico as .mpy, pinmap.json, config.json."""
    files = image.build(target, "pico")
    (target / "pinmap.json").write_bytes(pinmap_file().read_bytes())
    (target / "config.json").write_text(json.dumps({"board": "pico"}) + "\n")
    return files + [target / "pinmap.json", target / "config.json"]


def build(extra: dict[str, bytes] | None = None) -> bytes:
    """The LittleFS image (BLOCK_SIZE x BLOCK_COUNT bytes) holding the deployed files, plus
    `extra` {path: content} (a test's device.key, say)."""
    try:
        from littlefs import LittleFS
    except ImportError:
        raise ChipSimError("the emulated RP2040 needs littlefs-python to build its flash: "
                           "pip install 'softcrank[chip]'")
    fs = LittleFS(block_size=BLOCK_SIZE, block_count=BLOCK_COUNT, read_size=READ_SIZE, prog_size=PROG_SIZE,
                  lookahead_size=LOOKAHEAD)
    with tempfile.TemporaryDirectory(prefix="softcrank-chipfs-") as tmp:
        root = pathlib.Path(tmp)
        for path in sorted(deploy_files(root)):
            rel = path.relative_to(root).as_posix()
            if "/" in rel:
                parent = rel.rsplit("/", 1)[0]
                try:
                    fs.makedirs(parent, exist_ok=True)
                except FileExistsError:
                    pass
            with fs.open(rel, "wb") as f:
                f.write(path.read_bytes())
    for rel, content in (extra or {}).items():
        with fs.open(rel, "wb") as f:
            f.write(content)
    return bytes(fs.context.buffer)
