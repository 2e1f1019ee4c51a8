"""The emulated RP2040: MicroPython's RPI_PICO firmware on rp2040js, the project's files in its
flash, the virtual trainer's riders on its pins (`softcrank sim --chip`; docs/firmware.md).

board.py drives it (ChipBoard, behind a pseudo-terminal), world.py turns riders into pin
events, fsimage.py builds the LittleFS image, node.py finds Node.js and installs rp2040js,
harness.mjs is the emulator's side. The project ships neither the firmware nor the bootrom.
"""
