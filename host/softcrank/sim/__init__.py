"""The virtual trainer: the firmware on the MicroPython interpreter behind a pseudo-terminal,
and the demo that rides it."""
