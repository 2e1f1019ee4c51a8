"""softcrank firmware core: pure MicroPython-compatible logic, no `machine` import.

Everything in this package runs unchanged on a Raspberry Pi Pico, on the MicroPython unix
port and on CPython, so the same tests prove it on all three.
"""

FIRMWARE_VERSION = "0.1.0"
