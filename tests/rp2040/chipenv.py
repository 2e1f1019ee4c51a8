"""Where the emulated-chip tests find the two files the project does not ship."""

import os

FIRMWARE = os.environ.get("SOFTCRANK_RP2_FIRMWARE", "")
BOOTROM = os.environ.get("SOFTCRANK_RP2_BOOTROM", "")
SKIP = ("set SOFTCRANK_RP2_FIRMWARE to MicroPython's RPI_PICO .uf2 (v1.28.0, from "
        "micropython.org/download/RPI_PICO) and SOFTCRANK_RP2_BOOTROM to the RP2040 B1 bootrom (b1.bin "
        "built from Raspberry Pi's pico-bootrom repository, or rp2040js's demo/bootrom.ts); docs/firmware.md, "
        "The emulated RP2040")


def have_files() -> bool:
    return bool(FIRMWARE and BOOTROM and os.path.isfile(FIRMWARE) and os.path.isfile(BOOTROM))
